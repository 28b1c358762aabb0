/** pg's conversion of a JavaScript value to a statement parameter (pg ships no types for it). */
declare module 'pg/lib/utils.js' {
  export function prepareValue(value: unknown): string | Buffer | null;
}
