/** Contacts: a PUT rate, then searches and a multiget on a big address book, each answer checked. */
import { bodies, memberNames } from '../dav.js';
import { cardSearches, generateCards, type GeneratedCard } from '../generate.js';
import { inParallel } from '../http.js';
import { expectSameSet, repeat, timed } from '../outcome.js';
import { createCollection, davSession, hrefPath, load, measure, type SuiteContext } from './suite.js';

const VCF = 'text/vcard; charset=utf-8';

export async function carddavSuite(ctx: SuiteContext): Promise<void> {
  const { sizes } = ctx;
  const fresh = generateCards(sizes.putCards, 0, 'p');
  await measure(ctx, 'put-cards', (budget) =>
    repeat(ctx.runs, budget, async (run) => {
      const url = await createCollection(ctx, 'addressbook', `bench-book-put-${run}`, budget.signal);
      const dav = davSession(ctx.client, budget.signal);
      const ms = await timed(() => inParallel(fresh, 8, (c) => dav.create(url + c.name, c.text, VCF, 'PUT')));
      return fresh.length / (ms / 1000);
    }),
  );

  const cards = generateCards(sizes.cards);
  const searches = cardSearches(cards);
  let book: string;
  try {
    book = await createCollection(ctx, 'addressbook', 'bench-book');
    ctx.progress(`loading ${cards.length} cards`);
    await load(ctx, book, cards, VCF);
  } catch (error) {
    for (const row of [...searches.map((s) => `card-query-${s.property}`), 'card-multiget']) ctx.record(row, { kind: 'failed', message: `loading failed: ${(error as Error).message}` });
    return;
  }

  for (const { property, text, want } of searches) {
    ctx.progress(`addressbook-query ${property} contains "${text}" expects ${want.size} cards`);
    await measure(ctx, `card-query-${property}`, (budget) => {
      const dav = davSession(ctx.client, budget.signal);
      const body = bodies.containsQuery(property, text);
      return repeat(ctx.runs, budget, async () => {
        const { ms, answer } = await dav.timedMultistatus('REPORT', book, body, '1', 'addressbook-query');
        expectSameSet(memberNames(answer), want);
        return ms;
      });
    });
  }

  await measure(ctx, 'card-multiget', (budget) => {
    const dav = davSession(ctx.client, budget.signal);
    const wanted: readonly GeneratedCard[] = cards.slice(0, 100);
    const uidOf = new Map(wanted.map((c) => [c.name, c.uid]));
    const body = bodies.addressbookMultiget(wanted.map((c) => hrefPath(book, c.name)));
    return repeat(ctx.runs, budget, async () => {
      const { ms, answer } = await dav.timedMultistatus('REPORT', book, body, '1', 'addressbook-multiget');
      const complete = answer.entries.filter((e) => e.ok && e.data?.includes(`UID:${uidOf.get(e.name)}`));
      expectSameSet(complete.map((e) => e.name), new Set(uidOf.keys()));
      return ms;
    });
  });
}
