/** CardDAV figures: 5 000 contacts loaded by 8 clients, then searches and a multiget, each answer checked. */
import { median, textClient, type Row } from './http.js';


export function generateCards(count: number): Array<{ name: string; text: string; email: string; tel: string }> {
  return Array.from({ length: count }, (_, i) => {
    const email = `person${i}@${i % 7 === 0 ? 'orchard' : 'example'}.org`;
    const tel = `+1 (555) ${String(100 + (i % 900)).padStart(3, '0')}-${String(i).padStart(4, '0')}`;
    const text = ['BEGIN:VCARD', 'VERSION:3.0', `UID:bench-card-${i}`, `FN:Person ${i}`, `N:${i};Person;;;`, `EMAIL;type=INTERNET:${email}`, `item1.TEL;type=CELL:${tel}`, 'item1.X-ABLabel:mobile', `ORG:Company ${i % 50}`, 'END:VCARD', ''].join('\r\n');
    return { name: `c${i}.vcf`, text, email, tel };
  });
}

export async function carddavBench(base: string, auth: string, count = 5_000): Promise<Row[]> {
  const client = textClient(auth);
  const { request } = client;
  const book = `${base}/dav/addressbooks/admin/bench/`;
  const rows: Row[] = [];
  const made = await request(book, 'MKCOL', `<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`, { 'Content-Type': 'application/xml' });
  if (made.status !== 201) throw new Error(`MKCOL address book: ${made.status}`);
  const cards = generateCards(count);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < cards.length; i = next++) {
        const { status } = await request(book + cards[i]!.name, 'PUT', cards[i]!.text, { 'Content-Type': 'text/vcard' });
        if (status !== 201) throw new Error(`PUT answered ${status}`);
      }
    }),
  );
  rows.push([`PUT ${count} vCards, 8 clients (cards/s)`, (count / ((performance.now() - started) / 1000)).toFixed(0)]);

  const searches: Array<[string, string, number]> = [
    ['EMAIL', 'orchard', cards.filter((c) => c.email.includes('orchard')).length],
    ['TEL', '0042', cards.filter((c) => c.tel.replace(/\D/g, '').includes('0042')).length],
  ];
  for (const [prop, value, expected] of searches) {
    const body = `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><CR:filter><CR:prop-filter name="${prop}"><CR:text-match match-type="contains">${value}</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>`;
    const ms: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      const { status, text } = await request(book, 'REPORT', body, { Depth: '1' });
      ms.push(performance.now() - t);
      const n = text.split('<D:response>').length - 1;
      if (status !== 207 || n !== expected) throw new Error(`addressbook-query ${prop}: ${n} matches, expected ${expected}`);
    }
    rows.push([`addressbook-query contains on ${prop}, ${count} cards (${expected} matches) (ms, median of 15)`, median(ms).toFixed(1)]);
  }
  const hrefs = cards.slice(0, 100).map((c) => `<D:href>/dav/addressbooks/admin/bench/${c.name}</D:href>`).join('');
  const ms: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    const { status, text } = await request(book, 'REPORT', `<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop>${hrefs}</CR:addressbook-multiget>`);
    ms.push(performance.now() - t);
    if (status !== 207 || text.split('BEGIN:VCARD').length - 1 !== 100) throw new Error('addressbook-multiget: wrong answer');
  }
  rows.push(['addressbook-multiget of 100 (ms, median of 15)', median(ms).toFixed(1)]);
  client.close();
  return rows;
}
