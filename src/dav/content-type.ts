import mime from 'mime-types';

/** Types DAV clients expect that the generic table gets wrong or lacks. */
const OVERRIDES: Record<string, string> = {
  ics: 'text/calendar; charset=utf-8',
  ifb: 'text/calendar; charset=utf-8',
  vcf: 'text/vcard; charset=utf-8',
  vcard: 'text/vcard; charset=utf-8',
};

/** The type to serve for a file: what the client stored, else a guess from the name. */
export function contentTypeFor(name: string, stored: string | null): string {
  if (stored) return stored;
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : '';
  return OVERRIDES[ext] ?? (mime.contentType(ext) || 'application/octet-stream');
}

/**
 * The type worth storing from a PUT: the client's, unless it only said "bytes" (many clients
 * send application/octet-stream for everything), in which case the name decides on GET.
 */
export function storedContentType(header: string | undefined): string | null {
  const value = header?.trim();
  if (!value || /^application\/octet-stream\s*(;|$)/i.test(value)) return null;
  return value.length > 255 ? null : value;
}
