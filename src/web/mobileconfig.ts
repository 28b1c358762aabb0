import { createHash } from 'node:crypto';
import type { DeviceSetup } from './api-types.js';

/**
 * An Apple configuration profile (a property list) that adds the CalDAV and CardDAV accounts
 * in one tap on iOS and macOS. Payload keys as in Apple's "Configuration Profile Reference"
 * (com.apple.caldav.account, com.apple.carddav.account). The password is the device's new app
 * password: the profile is made once, right after the device was created, and never stored.
 */
export function mobileConfig(setup: DeviceSetup, device: { id: number; name: string; password: string }): string {
  const reverseHost = setup.host.split('.').reverse().join('.').replace(/[^A-Za-z0-9.-]/g, '-');
  const identifier = `${reverseHost}.davenport.${setup.userName}.device-${device.id}`;
  // Stable per device and payload, so installing the profile again replaces rather than duplicates.
  const uuid = (part: string) => uuidFrom(`${identifier}/${part}`);
  const account = (kind: 'CalDAV' | 'CardDAV', type: string, description: string) => ({
    [`${kind}AccountDescription`]: `${description} (${setup.host})`,
    [`${kind}HostName`]: setup.host,
    [`${kind}Port`]: setup.port,
    [`${kind}PrincipalURL`]: setup.principalPath,
    [`${kind}UseSSL`]: setup.ssl,
    [`${kind}Username`]: setup.userName,
    [`${kind}Password`]: device.password,
    PayloadDescription: `${description} from Davenport`,
    PayloadDisplayName: description,
    PayloadIdentifier: `${identifier}.${kind.toLowerCase()}`,
    PayloadType: type,
    PayloadUUID: uuid(kind),
    PayloadVersion: 1,
  });
  const profile = {
    PayloadContent: [account('CalDAV', 'com.apple.caldav.account', 'Calendars'), account('CardDAV', 'com.apple.carddav.account', 'Contacts')],
    PayloadDescription: `Calendars and contacts of ${setup.userName} on ${setup.host}, for ${device.name}`,
    PayloadDisplayName: `Davenport (${setup.userName})`,
    PayloadIdentifier: identifier,
    PayloadRemovalDisallowed: false,
    PayloadType: 'Configuration',
    PayloadUUID: uuid('profile'),
    PayloadVersion: 1,
  };
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
    `<plist version="1.0">\n${plistValue(profile, '')}\n</plist>\n`
  );
}

type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

function plistValue(value: PlistValue, indent: string): string {
  if (typeof value === 'string') return `${indent}<string>${escape(value)}</string>`;
  if (typeof value === 'number') return `${indent}<integer>${Math.trunc(value)}</integer>`;
  if (typeof value === 'boolean') return `${indent}<${value}/>`;
  const inner = indent + '  ';
  if (Array.isArray(value)) return `${indent}<array>\n${value.map((v) => plistValue(v, inner)).join('\n')}\n${indent}</array>`;
  const entries = Object.entries(value).map(([k, v]) => `${inner}<key>${escape(k)}</key>\n${plistValue(v, inner)}`);
  return `${indent}<dict>\n${entries.join('\n')}\n${indent}</dict>`;
}

function escape(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** A name-based UUID (RFC 9562 §5.5, version 5 layout over SHA-1 of the name). */
function uuidFrom(name: string): string {
  const bytes = createHash('sha1').update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
