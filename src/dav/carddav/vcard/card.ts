/**
 * One address object resource (RFC 6352 §5.1): validation on PUT and the values an index
 * keeps. ical.js (vCard mode) parses; the stored text is always the client's bytes as sent.
 */
import ICAL from 'ical.js';
import { contentLines } from './lines.js';
import { telDigits } from './phone.js';

export interface VCardInfo {
  uid: string;
  version: '3.0' | '4.0';
  /** Values for the index, as they appear (unfolded, unescaped): */
  fn: string | null;
  n: string | null; // the N value joined as written (family;given;…) unescaped
  nicknames: string[];
  emails: string[];
  tels: string[];
  /** TEL values reduced to digits (leading + kept), for phone-number matching */
  telDigits: string[];
  orgs: string[];
  /** 'group' for vCard 4 KIND:group or Apple's X-ADDRESSBOOKSERVER-KIND:group, else 'individual' (or the KIND value) */
  kind: string;
}

/** The CARDDAV: preconditions of a refused PUT (RFC 6352 §6.3.2.1). */
export type VCardDataCondition = 'valid-address-data' | 'supported-address-data';

/** A refusal as RFC 6352 §6.3.2.1 names it; `condition` is the CARDDAV: precondition element name. */
export class VCardDataError extends Error {
  constructor(
    readonly condition: VCardDataCondition,
    message: string,
  ) {
    super(message);
    this.name = 'VCardDataError';
  }
}

export const VCARD_VERSIONS = ['3.0', '4.0'] as const;
export type VCardVersion = (typeof VCARD_VERSIONS)[number];

/** One vCard 3.0 or 4.0 (RFC 6352 §5.1: a single vCard per resource) with a UID; anything else throws. */
export function parseVCard(text: string): VCardInfo {
  // The version is read from the raw lines first: ical.js cannot parse vCard 2.1 (bare
  // parameters such as TEL;CELL:), which is an unsupported version, not invalid data.
  const raw = contentLines(text);
  const begins = raw.filter((l) => l.name === 'BEGIN' && l.value.trim().toUpperCase() === 'VCARD').length;
  if (begins === 1) {
    const version = raw.find((l) => l.name === 'VERSION')?.value.trim();
    checkVersion(version);
  }

  let jcard: unknown;
  try {
    jcard = ICAL.parse(text);
  } catch (error) {
    throw new VCardDataError('valid-address-data', `not a vCard: ${(error as Error).message}`);
  }
  if (!Array.isArray(jcard) || jcard.length === 0) throw new VCardDataError('valid-address-data', 'no vCard in the body');
  // ical.js returns one component, or an array of them when there are several.
  if (Array.isArray(jcard[0])) throw new VCardDataError('valid-address-data', `one vCard per resource, found ${jcard.length} (RFC 6352 §5.1)`);
  if (jcard[0] !== 'vcard') throw new VCardDataError('valid-address-data', `expected a VCARD, found ${String(jcard[0]).toUpperCase()}`);
  const card = new ICAL.Component(jcard);

  const version = checkVersion(textOf(card.getFirstPropertyValue('version')));
  const uid = textOf(card.getFirstPropertyValue('uid')).trim();
  // RFC 6350 §6.7.6 / RFC 6352 §6.3.2.1: the UID identifies the resource; clients (iOS, DAVx5) send one.
  if (!uid) throw new VCardDataError('valid-address-data', 'the vCard has no UID');

  const values = (name: string): string[] =>
    card
      .getAllProperties(name)
      .flatMap((p) => p.getValues().map(joined))
      .filter((v) => v !== '');
  const first = (name: string): string | null => {
    const p = card.getFirstProperty(name);
    return p ? p.getValues().map(joined).join(',') : null;
  };

  const tels = values('tel');
  const kind = (first('kind') ?? first('x-addressbookserver-kind') ?? 'individual').trim().toLowerCase() || 'individual';
  return {
    uid,
    version,
    fn: first('fn'),
    n: first('n'),
    nicknames: values('nickname'),
    emails: values('email'),
    tels,
    telDigits: tels.map(telDigits).filter((d) => d !== '' && d !== '+'),
    orgs: values('org'),
    kind,
  };
}

/** RFC 6352 §6.3.2.1 CARDDAV:supported-address-data: this server stores vCard 3.0 and 4.0. */
function checkVersion(version: string | undefined): VCardVersion {
  if (!version) throw new VCardDataError('supported-address-data', 'the vCard has no VERSION');
  if (!(VCARD_VERSIONS as readonly string[]).includes(version)) throw new VCardDataError('supported-address-data', `vCard version ${version} is not supported (3.0 and 4.0 are)`);
  return version as VCardVersion;
}

/** A value from ical.js: structured values (N, ADR, ORG) joined with ';', lists within with ','. */
function joined(value: unknown): string {
  if (Array.isArray(value)) return value.map((c) => (Array.isArray(c) ? c.map(textOf).join(',') : textOf(c))).join(';');
  return textOf(value);
}

function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return String(value);
}
