/**
 * Contacts' telephone numbers indexed again when PHONE_REGION changes. The index keeps each
 * number in E.164 as well (put-card.ts), and a number written nationally ("020 7946 0958") has
 * an E.164 form only under a region: without this, cards stored before PHONE_REGION was set, or
 * under another one, were found by an international search only once re-saved. The region the
 * index was built with is a setting of the store (migration 14); at start-up, a different one
 * re-indexes every stored card, page by page, before the server listens.
 */
import type { Database } from '../../store/db.js';
import { lockCardsAfter, replaceCardValues, type AddressObjectIndex, type StoredCard } from '../../store/addressbooks.js';
import { readSetting, writeSetting } from '../../store/settings.js';
import type { Logger } from '../../log.js';
import { cardIndex } from './put-card.js';
import { parseVCard } from './vcard/card.js';

/** Cards per transaction: their rows are locked while they are parsed. */
const PAGE = 200;

/** Re-indexes every card if the index was built under another region; the number of cards whose values were written. */
export async function reindexPhoneNumbers(db: Database, region: string | undefined, log: Logger): Promise<number> {
  const wanted = region ?? '';
  const stored = await readSetting(db, 'phone_region');
  if (stored === wanted) return 0;
  let after: StoredCard | undefined;
  let cards = 0;
  let unreadable = 0;
  for (;;) {
    const page = await db.transaction(async (tx) => {
      const locked = await lockCardsAfter(tx, after, PAGE);
      const indexed: Array<{ card: StoredCard; values: AddressObjectIndex['values'] }> = [];
      for (const card of locked) {
        try {
          indexed.push({ card, values: cardIndex(parseVCard(card.data), region).values });
        } catch {
          // Accepted when stored, refused by today's parser: its values stay as they were.
          unreadable++;
        }
      }
      await replaceCardValues(tx, indexed);
      return locked;
    });
    // Told at the first page, so a long start-up says why.
    if (cards === 0 && page.length > 0) log.info('re-indexing contacts for PHONE_REGION', { region: wanted || 'none', previously: stored ?? 'unknown' });
    cards += page.length;
    if (page.length < PAGE) break;
    after = page.at(-1);
  }
  await writeSetting(db, 'phone_region', wanted);
  if (cards > 0) log.info('contacts re-indexed for PHONE_REGION', { region: wanted || 'none', cards: cards - unreadable, unreadable });
  return cards - unreadable;
}
