import { addressObjectRows, CARD_UID_KEY, findCardUidOwner, type AddressObjectIndex } from '../../store/addressbooks.js';
import { cardBatcher } from '../../store/card-batches.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { putTextObject, type TextObjectKind } from '../methods/put-text.js';
import { CARDDAV } from '../xml/names.js';
import { MAX_CARD_SIZE } from './properties.js';
import { parseVCard, VCardDataError, type VCardInfo } from './vcard/card.js';
import { foldForCollation } from './vcard/filter.js';
import { telE164 } from './vcard/phone.js';

export const VCARD_CONTENT_TYPE = 'text/vcard; charset=utf-8';

/** The values addressbook-query can find through the index (RFC 6352 §8.6, the properties clients search). */
export function cardIndex(info: VCardInfo, phoneRegion: string | undefined): AddressObjectIndex {
  const values: AddressObjectIndex['values'] = [];
  const add = (prop: string, list: Array<string | null>) => {
    for (const value of list) if (value) values.push({ prop, value, folded: foldForCollation(value, 'i;unicode-casemap') });
  };
  add('FN', [info.fn]);
  add('N', [info.n]);
  add('NICKNAME', info.nicknames);
  add('EMAIL', info.emails);
  add('TEL', info.tels);
  // Digits only as well: a search for "4085550100" must find "+1 (408) 555-0100" (filter.ts
  // compares phone numbers digit to digit).
  add('TEL', info.telDigits.map((d) => d.replace(/^\+/, '')));
  // And in E.164 where the country is known, so "+44 20 7946 0958" finds "020 7946 0958".
  add('TEL', info.tels.map((t) => telE164(t, phoneRegion) ?? null));
  add('ORG', info.orgs);
  return { uid: info.uid, version: info.version, kind: info.kind, values };
}

export const vcards: TextObjectKind<AddressObjectIndex> = {
  collectionKind: 'addressbook',
  objectKind: 'address-object',
  ns: CARDDAV,
  contentType: VCARD_CONTENT_TYPE,
  accepts: /^text\/(vcard|x-vcard|directory)\s*(;|$)/i,
  unsupportedCondition: 'supported-address-data',
  maxSize: MAX_CARD_SIZE,
  async validate(_q, _book, text, config) {
    // PostgreSQL text cannot hold NUL, and a vCard never has one (RFC 6350 §3.3).
    if (text.includes('\0')) throw new DavError(403, { condition: 'valid-address-data', ns: CARDDAV, message: 'NUL characters are not allowed in vCards' });
    try {
      return cardIndex(parseVCard(text), config.phoneRegion);
    } catch (error) {
      if (error instanceof VCardDataError) throw new DavError(403, { condition: error.condition, ns: CARDDAV, message: error.message });
      // ical.js decodes values lazily, so a malformed one (e.g. TEL;VALUE=DATE:tel:…) throws a
      // plain Error while the card is read: the data is invalid, the server is not at fault.
      if (error instanceof Error && !(error instanceof DavError)) throw new DavError(403, { condition: 'valid-address-data', ns: CARDDAV, message: `not a valid vCard: ${error.message}` });
      throw error;
    }
  },
  uidKey: CARD_UID_KEY,
  uidOwner: (tx, book, uid, except) => findCardUidOwner(tx, book.userId, book.id, uid, except),
  rows: (book, index, text) => addressObjectRows(book.id, index, text),
  writeBatched: (db, book, name, content, index, data, expected) =>
    cardBatcher(db).write({ userId: book.userId, id: book.id, kind: book.kind }, { name, expected, content, index, data }),
};

/** PUT into an address book (RFC 6352 §6.3.2). */
export const putCard = (req: DavRequest) => putTextObject(req, vcards);
