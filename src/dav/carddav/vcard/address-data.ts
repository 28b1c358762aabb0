/**
 * CARDDAV:address-data in a REPORT (RFC 6352 §10.4): the media type and version asked for,
 * and which properties to return. Output works on the stored content lines as sent: selected
 * lines keep their bytes (folding, grouping, parameter case); only converted lines are rewritten.
 */
import type { Element } from '@xmldom/xmldom';
import { CARDDAV } from '../../xml/names.js';
import { children, namespaceOf } from '../../xml/parse.js';
import { convertLines } from './convert.js';
import { bareName, contentLines } from './lines.js';

export interface AddressDataRequest {
  props?: string[] /* CARDDAV:prop names; undefined = all (allprop) */;
  version?: '3.0' | '4.0';
  contentType?: string;
}

/**
 * An address-data request the server cannot serve: `condition` names the CARDDAV: precondition
 * (RFC 6352 §8.6/§8.7 supported-address-data) when there is one, else it is a plain 400.
 */
export class AddressDataRequestError extends Error {
  constructor(
    readonly condition: 'supported-address-data' | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'AddressDataRequestError';
  }
}

/** Properties every partial result keeps, so the result is still a vCard of its resource. */
const ALWAYS = new Set(['BEGIN', 'END', 'VERSION', 'UID']);

/**
 * The CARDDAV:address-data element of a REPORT body (RFC 6352 §10.4): `(allprop | prop*)`,
 * content-type text/vcard only, version 3.0 or 4.0. RFC 6352 gives version a default of 3.0;
 * an absent attribute is left undefined here and means "as stored" — clients that omit it
 * (every one tried) want the card they wrote. CARDDAV:prop novalue="yes" is accepted and
 * returns the value anyway (more than asked, never less).
 */
export function parseAddressDataRequest(el: Element): AddressDataRequest {
  const request: AddressDataRequest = {};
  const type = el.getAttribute('content-type');
  if (type) {
    if (type.split(';')[0]!.trim().toLowerCase() !== 'text/vcard') {
      throw new AddressDataRequestError('supported-address-data', `address data as ${type} is not supported (text/vcard is)`);
    }
    request.contentType = type;
  }
  const version = el.getAttribute('version');
  if (version) {
    if (version !== '3.0' && version !== '4.0') throw new AddressDataRequestError('supported-address-data', `vCard version ${version} is not supported`);
    request.version = version;
  }
  let allprop = false;
  const props: string[] = [];
  for (const child of children(el).filter((c) => namespaceOf(c) === CARDDAV)) {
    if (child.localName === 'allprop') allprop = true;
    else if (child.localName === 'prop') {
      const name = child.getAttribute('name');
      if (!name) throw new AddressDataRequestError(undefined, 'CARDDAV:prop needs a name');
      props.push(bareName(name));
    } else throw new AddressDataRequestError(undefined, `unexpected ${child.localName} in address-data`);
  }
  if (allprop && props.length) throw new AddressDataRequestError(undefined, 'address-data takes allprop or prop elements, not both');
  if (props.length) request.props = props;
  return request;
}

/** The version a stored card says it is (null when it names none). */
export function versionOf(text: string): '3.0' | '4.0' | null {
  const v = contentLines(text).find((l) => l.name === 'VERSION')?.value.trim();
  return v === '3.0' || v === '4.0' ? v : null;
}

/**
 * With no selection and the same version: the text UNCHANGED, byte for byte. With prop
 * selection: only those properties (plus BEGIN/END/VERSION/UID always), as raw content lines.
 * With another version: converted as convert.ts documents (best effort), then selected.
 */
export function renderAddressData(text: string, request: AddressDataRequest): string {
  const stored = versionOf(text);
  const convert = request.version !== undefined && stored !== null && request.version !== stored;
  if (!convert && request.props === undefined) return text;
  let lines = contentLines(text);
  let raws = lines.map((l) => l.raw);
  if (convert) {
    raws = convertLines(lines, text, request.version!);
    lines = contentLines(raws.join(''));
    raws = lines.map((l) => l.raw);
  }
  if (request.props !== undefined) {
    const wanted = new Set(request.props.map(bareName));
    raws = lines.filter((l) => ALWAYS.has(l.name) || wanted.has(l.name)).map((l) => l.raw);
  }
  return raws.join('');
}
