// CardDAV (RFC 6352): registers its properties, reports, stored text, collections and placement rules.
import { addressObjectData, createAddressBook, findCardUidOwner, relocateAddressObject } from '../../store/addressbooks.js';
import { DavError } from '../errors.js';
import { collectionFactories } from '../methods/mkcol.js';
import { textSources } from '../object-text.js';
import { placementRules } from '../placement.js';
import { CARDDAV } from '../xml/names.js';
import './properties.js';
import './reports.js';

textSources.set('address-object', addressObjectData);
collectionFactories.set('addressbook', () => (tx, parent, name) => createAddressBook(tx, parent.userId, parent.id, name));

// COPY/MOVE: address books stay in the home; cards go only into address books, UIDs unique there.
placementRules.set('addressbook', { fits: ({ parent, segments }) => parent.parentId === null && segments.length === 1, copyable: false });
placementRules.set('address-object', {
  fits: ({ parent }) => parent.kind === 'addressbook',
  copyable: true,
  async landed(tx, source, landed, { parent }, copied) {
    const [row] = await tx.query<{ uid: string }>('SELECT uid FROM address_objects WHERE user_id = $1 AND node_id = $2', [source.userId, source.id]);
    if (!row) return;
    if ((await findCardUidOwner(tx, source.userId, parent.id, row.uid, copied ? landed.id : source.id)) !== undefined) {
      throw new DavError(403, { condition: 'no-uid-conflict', ns: CARDDAV, message: `UID ${row.uid} is already used in that address book` });
    }
    await relocateAddressObject(tx, source.userId, source.id, landed.id, parent.id);
  },
});
