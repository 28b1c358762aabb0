import { properties, type PropertyDefinition, type PropertyTarget } from '../properties/registry.js';
import { CARDDAV } from '../xml/names.js';

/** Largest vCard accepted (RFC 6352 §6.2.3); photos inline make cards large. */
export const MAX_CARD_SIZE = 5 * 1024 * 1024;

const isBook = (t: PropertyTarget) => t.node?.kind === 'addressbook';

const addressBookProperties: PropertyDefinition[] = [
  {
    // RFC 6352 §6.2.2: both vCard versions are accepted and can be asked for.
    ns: CARDDAV,
    local: 'supported-address-data',
    inAllprop: false,
    get: (t) =>
      isBook(t)
        ? ['3.0', '4.0'].map((v) => `<address-data-type xmlns="${CARDDAV}" content-type="text/vcard" version="${v}"/>`).join('')
        : undefined,
  },
  { ns: CARDDAV, local: 'max-resource-size', inAllprop: false, get: (t) => (isBook(t) ? String(MAX_CARD_SIZE) : undefined) },
  { ns: CARDDAV, local: 'addressbook-description', inAllprop: false, writable: true, get: () => undefined },
];

properties.register(...addressBookProperties);
