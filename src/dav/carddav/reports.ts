import { addressCandidates, addressObjectData } from '../../store/addressbooks.js';
import type { Node } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { statusResponse } from '../multistatus.js';
import { parseDepth } from '../methods/propfind.js';
import { multigetObjects, respondWithObjects, splitReportRequest, type ObjectMatch, type ReportRequest } from '../reports/objects.js';
import { reports } from '../reports/registry.js';
import { child, textContent, type Element } from '../xml/parse.js';
import { CARDDAV } from '../xml/names.js';
import { davEl } from '../xml/write.js';
import { PHONE_PATTERN, telDigits, telE164 } from './vcard/phone.js';
import { AddressDataRequestError, parseAddressDataRequest, renderAddressData, type AddressDataRequest } from './vcard/address-data.js';
import { AddressFilterError, foldForCollation, matchesAddressFilter, parseAddressFilter, type AddressFilter } from './vcard/filter.js';

/** The properties whose values the index holds (see put-card.ts). */
const INDEXED = new Set(['FN', 'N', 'NICKNAME', 'EMAIL', 'TEL', 'ORG']);

function splitRequest(body: Element): ReportRequest<AddressDataRequest> {
  return splitReportRequest(body, CARDDAV, 'address-data', (el) => {
    try {
      return parseAddressDataRequest(el);
    } catch (error) {
      // RFC 6352 §8.7: a media type or version this server cannot produce.
      if (error instanceof AddressDataRequestError) {
        throw new DavError(error.condition ? 403 : 400, { ...(error.condition ? { condition: error.condition, ns: CARDDAV } : {}), message: error.message });
      }
      throw error;
    }
  });
}

function respond(req: DavRequest, matches: ObjectMatch[], request: ReportRequest<AddressDataRequest>, missing: string[] = [], extra = ''): Promise<void> {
  const render = (text: string) => renderAddressData(text, request.data!);
  return respondWithObjects(req, req.deps.db, matches, request, { ns: CARDDAV, local: 'address-data', render }, missing, extra);
}

/** addressbook-multiget (RFC 6352 §8.7): the named cards, members of the book found in one query. */
async function addressbookMultiget(req: DavRequest, body: Element): Promise<void> {
  const request = splitRequest(body);
  const { found, missing } = await multigetObjects(req, body, 'address-object');
  await respond(req, found, request, missing);
}

/** Properties whose indexed values are exactly what the matcher compares (TEL adds digits, N joins parts). */
const EXACT = new Set(['FN', 'NICKNAME', 'EMAIL', 'ORG']);

/**
 * Whether the index alone answers the filter: every prop-filter a single "contains" in the
 * default collation on an exactly indexed property, combined by anyof.
 */
function indexIsExact(filter: AddressFilter): boolean {
  return (
    filter.propFilters.length > 0 &&
    (filter.test === 'anyof' || filter.propFilters.length === 1) &&
    filter.propFilters.every((p) => {
      const [m] = p.textMatches;
      return EXACT.has(p.name.toUpperCase()) && !p.isNotDefined && p.paramFilters.length === 0 && p.textMatches.length === 1 && m !== undefined && !m.negate && m.matchType === 'contains' && m.collation === 'i;unicode-casemap';
    })
  );
}

/**
 * The index searches that select a superset of the filter's matches: every branch of an anyof
 * (one of them for an allof) must be a single "contains"-like text-match on an indexed
 * property, else every card is a candidate.
 */
function indexSearches(filter: AddressFilter, phoneRegion: string | undefined): Array<{ prop: string; needle: string }> | undefined {
  const usable = filter.propFilters.map((p) => {
    const name = p.name.toUpperCase();
    const [match] = p.textMatches;
    if (!INDEXED.has(name) || p.isNotDefined || p.textMatches.length !== 1 || !match || match.negate || match.collation === 'i;octet') return undefined;
    if (p.test === 'allof' && p.paramFilters.length > 0) return undefined;
    const needle = foldForCollation(match.value, 'i;unicode-casemap');
    // A phone number is also matched digit to digit (vcard/filter.ts), so its digits are searched too.
    if (name === 'TEL' && PHONE_PATTERN.test(match.value)) {
      // Phone numbers are also matched digit to digit and in E.164 (vcard/filter.ts); the index holds both forms.
      const e164 = telE164(match.value, phoneRegion);
      return [{ prop: name, needle }, { prop: name, needle: telDigits(match.value).replace(/^\+/, '') }, ...(e164 ? [{ prop: name, needle: e164 }] : [])];
    }
    return [{ prop: name, needle }];
  });
  if (filter.propFilters.length === 0) return undefined;
  if (filter.test === 'allof') return usable.find(Boolean);
  return usable.every(Boolean) ? usable.flatMap((u) => u!) : undefined;
}

/** addressbook-query (RFC 6352 §8.6), with CARDDAV:limit/nresults (§8.6.1). */
async function addressbookQuery(req: DavRequest, body: Element): Promise<void> {
  const request = splitRequest(body);
  const filterElement = child(body, CARDDAV, 'filter');
  if (!filterElement) throw new DavError(400, { message: 'addressbook-query needs a filter' });
  let filter: AddressFilter;
  try {
    filter = parseAddressFilter(filterElement);
  } catch (error) {
    if (error instanceof AddressFilterError) throw new DavError(403, { condition: error.condition, ns: CARDDAV, message: error.message });
    throw error;
  }
  const limitText = child(body, CARDDAV, 'limit') && child(child(body, CARDDAV, 'limit')!, CARDDAV, 'nresults');
  const limit = limitText ? Number(textContent(limitText).trim()) : undefined;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new DavError(400, { message: 'nresults must be a positive whole number' });
  // Depth 0 on an address book is read as 1, as for calendar-query (clients differ).
  parseDepth(req.koa.get('Depth') || undefined, 0);

  const node = req.node!;
  const phoneRegion = req.deps.config.phoneRegion;
  const options = phoneRegion ? { phoneRegion } : {};
  const matches: ObjectMatch[] = [];
  if (node.kind === 'address-object') {
    const data = (await addressObjectData(req.deps.db, req.user.id, [node.id])).get(node.id) ?? '';
    if (matchesAddressFilter(data, filter, options)) matches.push({ node, segments: req.segments, data });
  } else if (node.kind === 'addressbook') {
    const exact = indexIsExact(filter);
    // The texts are needed to decide candidates the index cannot, or to return address-data.
    for (const c of await addressCandidates(req.deps.db, req.user.id, node.id, indexSearches(filter, options.phoneRegion), !exact || request.data !== undefined)) {
      if (exact || matchesAddressFilter(c.data, filter, options)) matches.push({ node: c.node, segments: [...req.segments, c.node.name], data: c.data });
    }
  }
  let extra = '';
  if (limit !== undefined && matches.length > limit) {
    matches.length = limit;
    // §8.6.1: the answer was truncated; said with a 507 for the request URI.
    extra = statusResponse(req.koa.path, 507, davEl('number-of-matches-within-limits'));
  }
  await respond(req, matches, request, [], extra);
}

const inAddressBooks = (space: string, node: Node) => space === 'addressbooks' && (node.kind === 'addressbook' || node.kind === 'address-object');

reports.register(
  { ns: CARDDAV, local: 'addressbook-multiget', appliesTo: inAddressBooks, run: addressbookMultiget },
  { ns: CARDDAV, local: 'addressbook-query', appliesTo: inAddressBooks, run: addressbookQuery },
);
