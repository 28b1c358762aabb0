import { DavError } from '../errors.js';

/** One condition of a list (RFC 4918 §10.4.2): a state token or an entity tag, maybe negated. */
export type IfCondition =
  | { not: boolean; kind: 'token'; token: string }
  | { not: boolean; kind: 'etag'; etag: string; weak: boolean };

/** A parenthesised list: true when all its conditions are. `resource` is the tag, if any. */
export interface IfList {
  resource: string | undefined;
  conditions: IfCondition[];
}

/** What a resource looks like to the evaluator; undefined means "not a resource we can judge". */
export interface IfResourceState {
  /** Current entity tag (quotes included); undefined when the URL is unmapped. */
  etag: string | undefined;
  /** Tokens of the current locks covering the resource. */
  lockTokens: ReadonlySet<string>;
}

/** An absolute-URI has a scheme (RFC 3986 §4.3); <DAV:no-lock> qualifies, a bare word does not. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>]+$/;
const MAX_LISTS = 100;

function malformed(why: string): DavError {
  return new DavError(400, { message: `malformed If header: ${why}` });
}

/**
 * Parses an If header value (RFC 4918 §10.4.2):
 *   If = ( 1*No-tag-list | 1*Tagged-list ); Tagged-list = Resource-Tag 1*List;
 *   List = "(" 1*Condition ")"; Condition = ["Not"] (State-token | "[" entity-tag "]").
 * Tagged and untagged lists cannot be mixed. Anything else is a 400.
 */
export function parseIfHeader(value: string): IfList[] {
  let pos = 0;
  const skipSpace = () => {
    while (pos < value.length && /[ \t\r\n]/.test(value[pos]!)) pos++;
  };
  const readUntil = (close: string, what: string): string => {
    const end = value.indexOf(close, pos);
    if (end < 0) throw malformed(`unterminated ${what}`);
    const text = value.slice(pos, end);
    pos = end + 1;
    return text;
  };

  const readCondition = (): IfCondition => {
    let not = false;
    if (value.slice(pos, pos + 3).toLowerCase() === 'not') {
      not = true;
      pos += 3;
      skipSpace();
    }
    const open = value[pos++];
    if (open === '<') {
      const token = readUntil('>', 'state token');
      if (!ABSOLUTE_URI.test(token)) throw malformed('a state token must be an absolute URI');
      return { not, kind: 'token', token };
    }
    if (open === '[') {
      const inner = readUntil(']', 'entity tag').trim();
      const match = /^(W\/)?("[^"]*")$/.exec(inner);
      if (!match) throw malformed('an entity tag must be a quoted string');
      return { not, kind: 'etag', etag: match[2]!, weak: Boolean(match[1]) };
    }
    throw malformed(`expected a state token or an entity tag at offset ${pos - 1}`);
  };

  const readList = (resource: string | undefined): IfList => {
    pos++; // '('
    const conditions: IfCondition[] = [];
    for (;;) {
      skipSpace();
      if (value[pos] === ')') break;
      if (pos >= value.length) throw malformed('unterminated list');
      conditions.push(readCondition());
    }
    pos++;
    if (conditions.length === 0) throw malformed('empty list');
    return { resource, conditions };
  };

  const lists: IfList[] = [];
  let tagged: boolean | undefined;
  let resource: string | undefined;
  let listsForTag = 0;
  for (skipSpace(); pos < value.length; skipSpace()) {
    const c = value[pos];
    if (c === '<') {
      if (tagged === false) throw malformed('tagged and untagged lists cannot be mixed');
      if (tagged && listsForTag === 0) throw malformed('a resource tag needs at least one list');
      tagged = true;
      pos++;
      resource = readUntil('>', 'resource tag').trim();
      if (resource === '' || /\s/.test(resource)) throw malformed('invalid resource tag');
      listsForTag = 0;
    } else if (c === '(') {
      if (tagged === undefined) tagged = false;
      lists.push(readList(resource));
      listsForTag++;
      if (lists.length > MAX_LISTS) throw malformed(`more than ${MAX_LISTS} lists`);
    } else {
      throw malformed(`unexpected "${c}" at offset ${pos}`);
    }
  }
  if (lists.length === 0) throw malformed('no list');
  if (tagged && listsForTag === 0) throw malformed('a resource tag needs at least one list');
  return lists;
}

/**
 * Entity tags in the If header are compared like If-Match; a weak tag from the client is
 * matched by its opaque part, since our tags are strong and some clients send W/ anyway.
 */
function etagMatches(condition: { etag: string; weak: boolean }, current: string): boolean {
  const bare = (tag: string) => tag.replace(/^W\//, '');
  return condition.weak ? condition.etag === bare(current) : condition.etag === current;
}

function conditionHolds(condition: IfCondition, state: IfResourceState): boolean {
  const holds =
    condition.kind === 'token'
      ? state.lockTokens.has(condition.token)
      : state.etag !== undefined && etagMatches(condition, state.etag);
  return condition.not ? !holds : holds;
}

/**
 * RFC 4918 §10.4.3: the header is true when at least one list is; a list is true when every
 * condition holds for the resource it applies to (its tag, or the request URI when untagged).
 * `stateOf` answers undefined for a tag naming something outside the user's tree: that list is false.
 */
export function evaluateIf(lists: readonly IfList[], stateOf: (resource: string | undefined) => IfResourceState | undefined): boolean {
  return lists.some((list) => {
    const state = stateOf(list.resource);
    return state !== undefined && list.conditions.every((c) => conditionHolds(c, state));
  });
}

/**
 * The lock tokens the client submitted (RFC 4918 §6.3, §10.4.1): every state token named
 * without Not, whatever list it is in. A negated token asserts the lock is absent, so it
 * does not count as holding it.
 */
export function submittedTokens(lists: readonly IfList[]): Set<string> {
  const tokens = new Set<string>();
  for (const list of lists) for (const c of list.conditions) if (c.kind === 'token' && !c.not) tokens.add(c.token);
  return tokens;
}

/** Whether any list asks about the entity tag of `resource` (undefined: the request URI). */
export function needsEtag(lists: readonly IfList[], resource: string | undefined): boolean {
  return lists.some((l) => l.resource === resource && l.conditions.some((c) => c.kind === 'etag'));
}
