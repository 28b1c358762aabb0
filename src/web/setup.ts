import type Koa from 'koa';
import qrcode from 'qrcode-generator';
import type { ServerDeps } from '../dav/context.js';
import type { DeviceSetup } from './api-types.js';
import { encodeSegment, principalHref } from '../dav/paths.js';


/** The public origin and path: BASE_URL when set, else what the browser used to reach us. */
export function publicBase(koa: Koa.Context, deps: ServerDeps, prefix: string): URL {
  return deps.config.baseUrl ? new URL(deps.config.baseUrl.href) : new URL(`${koa.protocol}://${koa.host}${prefix}`);
}

export function deviceSetup(koa: Koa.Context, deps: ServerDeps, prefix: string, userName: string): DeviceSetup {
  const base = publicBase(koa, deps, prefix);
  const ssl = base.protocol === 'https:';
  const port = base.port ? Number(base.port) : ssl ? 443 : 80;
  const path = base.pathname;
  const files = `${path}dav/files/${encodeSegment(userName)}/`;
  // DAVx⁵ opens caldav:// (http) and caldavs:// (https) links in its login screen (its manual,
  // "Integration"); the user name travels in the user-info part, never the password.
  const davx5Link = `${ssl ? 'caldavs' : 'caldav'}://${encodeURIComponent(userName)}@${base.host}${path}`;
  return {
    serverUrl: base.href,
    host: base.hostname,
    port,
    ssl,
    userName,
    principalPath: principalHref(path, userName),
    filesUrl: `${base.origin}${files}`,
    filesDavUrl: `${ssl ? 'davs' : 'dav'}://${base.host}${files}`,
    davx5Link,
    davx5Qr: qrDataUrl(davx5Link),
  };
}

/** A QR code (error correction M, the size chosen for the text) as an SVG data URL. */
export function qrDataUrl(text: string): string {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const svg = qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}
