/**
 * Phone numbers as addressbook-query compares them: digit to digit, and in E.164 where the
 * number's country can be known, so "020 7946 0958" (written in the UK) and
 * "+44 20 7946 0958" are the same number.
 */
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/** A text-match value made only of phone characters: compared as a phone number too. */
export const PHONE_PATTERN = /^[+\d\s().\-/]*\d[\d\s().\-/]*$/;

/** The number part of a TEL value: a `tel:` URI's parameters (RFC 3966) dropped. */
function numberPart(value: string): string {
  const v = value.trim();
  return /^tel:/i.test(v) ? v.slice(4).split(';')[0]! : v;
}

/**
 * A phone number reduced to its digits with a leading + kept: "+1 (555) 123-4567" →
 * "+15551234567", "tel:+1-555-0100;ext=2" → "+15550100".
 * No country inference: numbers written without a country code stay national.
 */
export function telDigits(value: string): string {
  const v = numberPart(value);
  const digits = v.replace(/\D/g, '');
  return v.startsWith('+') ? `+${digits}` : digits;
}

/** Whether `region` is an ISO 3166 country code the phone-number metadata knows. */
export function isPhoneRegion(region: string): boolean {
  return isSupportedCountry(region);
}

/**
 * The E.164 form of a phone number ("+442079460958") when it can be known: written with its
 * country code, or nationally in `region` (the server's PHONE_REGION). Undefined otherwise, or
 * when the digits cannot be a number of that country.
 */
export function telE164(value: string, region?: string): string | undefined {
  const v = numberPart(value);
  if (!/\d/.test(v)) return undefined;
  const country = region && isSupportedCountry(region) ? (region as CountryCode) : undefined;
  const phone = parsePhoneNumberFromString(v, country ? { defaultCountry: country } : {});
  return phone?.isPossible() ? phone.number : undefined;
}
