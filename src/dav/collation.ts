/** The text-match collations CalDAV and CardDAV require (RFC 4791 §7.5.1, RFC 6352 §8.3), as defined by RFC 4790 and RFC 5051. */

export type Collation = 'i;ascii-casemap' | 'i;octet' | 'i;unicode-casemap';
export type MatchType = 'equals' | 'contains' | 'starts-with' | 'ends-with';

export const COLLATIONS: readonly Collation[] = ['i;ascii-casemap', 'i;octet', 'i;unicode-casemap'];

export function isCollation(name: string): name is Collation {
  return (COLLATIONS as readonly string[]).includes(name);
}

/** The form two strings are compared in under a collation. */
export function fold(text: string, collation: Collation): string {
  switch (collation) {
    case 'i;octet':
      return text;
    case 'i;ascii-casemap':
      // RFC 4790 §9.2: only a-z fold; other characters compare as they are.
      return text.replace(/[a-z]+/g, (s) => s.toUpperCase());
    case 'i;unicode-casemap':
      // RFC 5051: case-fold (upper then lower approximates full folding: ß → ss), then NFKD.
      return text.toUpperCase().toLowerCase().normalize('NFKD');
  }
}

/** Whether `value` matches `pattern` (RFC 4791 §9.7.5: a substring match unless a match type says otherwise). */
export function textMatches(value: string, pattern: string, collation: Collation, matchType: MatchType = 'contains'): boolean {
  const v = fold(value, collation);
  const p = fold(pattern, collation);
  switch (matchType) {
    case 'equals':
      return v === p;
    case 'contains':
      return v.includes(p);
    case 'starts-with':
      return v.startsWith(p);
    case 'ends-with':
      return v.endsWith(p);
  }
}
