import { DAV } from './xml/names.js';
import { davDocument, el, escapeXml } from './xml/write.js';

export interface DavErrorOptions {
  /** A precondition or postcondition element name in `ns` (RFC 4918 §16), written into DAV:error. */
  condition?: string;
  /** Namespace of the condition element (DAV: unless CalDAV/CardDAV). */
  ns?: string;
  /** Inner XML of the condition element, e.g. the hrefs of lock-token-submitted. */
  conditionBody?: string;
  /** Safe to show to the client. */
  message?: string;
  headers?: Record<string, string>;
  /** A whole XML body instead of DAV:error, e.g. the 207 of a DELETE that hit locked members (RFC 4918 §9.6.1). */
  document?: string;
}

/** Every failure a DAV request can answer with: a status, an optional DAV:error condition, a safe message. */
export class DavError extends Error {
  readonly status: number;
  readonly options: DavErrorOptions;

  constructor(status: number, options: DavErrorOptions = {}) {
    super(options.message ?? options.condition ?? `HTTP ${status}`);
    this.status = status;
    this.options = options;
  }

  /** The response body: a DAV:error document for conditions, plain text otherwise. */
  body(): { type: string; text: string } {
    const { condition, ns = DAV, conditionBody, message, document } = this.options;
    if (document !== undefined) return { type: 'application/xml; charset=utf-8', text: document };
    if (condition) {
      const description = message ? `<D:responsedescription>${escapeText(message)}</D:responsedescription>` : '';
      return { type: 'application/xml; charset=utf-8', text: davDocument('error', el(ns, condition, conditionBody) + description) };
    }
    return { type: 'text/plain; charset=utf-8', text: (message ?? defaultMessage(this.status)) + '\n' };
  }
}

/** A write that would take the user past their quota: 507 with RFC 4331 §6's DAV:quota-not-exceeded. */
export function quotaExceeded(): DavError {
  return new DavError(507, { condition: 'quota-not-exceeded', message: 'quota exceeded' });
}

/** The disk has no room for a write: 507 (RFC 4918 §11.5) with RFC 4331 §6's DAV:sufficient-disk-space. */
export function insufficientStorage(): DavError {
  return new DavError(507, { condition: 'sufficient-disk-space', message: 'insufficient storage' });
}

function escapeText(text: string): string {
  // A message may quote the client's data, control characters included: escapeXml makes it safe.
  return escapeXml(text);
}

function defaultMessage(status: number): string {
  return STATUS_TEXT[status] ?? 'Error';
}

export const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  207: 'Multi-Status',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  423: 'Locked',
  424: 'Failed Dependency',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

/** The status line text used inside multistatus bodies. */
function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}`.trimEnd();
}

const STATUS_ELEMENTS = new Map<number, string>();

/** `<D:status>` with the status line: made once per status, as a listing repeats it per member. */
export function statusElement(status: number): string {
  let element = STATUS_ELEMENTS.get(status);
  if (element === undefined) {
    element = `<D:status>${statusLine(status)}</D:status>`;
    STATUS_ELEMENTS.set(status, element);
  }
  return element;
}
