/**
 * HTTPS served directly (TLS_CERT and TLS_KEY), Strict-Transport-Security on the web pages,
 * and the start-up warning when passwords would cross the network in clear.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type Koa from 'koa';
import { ConfigError, type Config } from '../config.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** PEM text as node:https takes it. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

function readPem(file: string, name: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${name} cannot be read: ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/**
 * Reads and checks the certificate (chain) and its private key; every problem is a ConfigError,
 * so start-up stops with one line instead of failing at the first handshake.
 */
export function loadTls(files: TlsFiles): TlsMaterial {
  const cert = readPem(files.certFile, 'TLS_CERT');
  const key = readPem(files.keyFile, 'TLS_KEY');
  let certificate: X509Certificate;
  try {
    // The first PEM block is the server's own certificate; the rest of a chain file follows it.
    certificate = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`TLS_CERT is not a PEM certificate: ${files.certFile}`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(`TLS_KEY is not an unencrypted PEM private key: ${files.keyFile}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(`TLS_KEY does not belong to the certificate in TLS_CERT (${files.keyFile}, ${files.certFile})`);
  }
  try {
    tls.createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(`TLS_CERT and TLS_KEY are not usable together: ${(error as Error).message}`);
  }
  return { cert, key };
}

/** Whether `host` (a HOST setting) only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  const v6 = host.replace(/^\[|\]$/g, '').toLowerCase();
  return v6 === '::1' || v6.startsWith('::ffff:127.');
}

/**
 * The line start-up prints when the server speaks plain HTTP to the network: Basic credentials
 * are then readable by anyone on the path. Undefined on loopback or with TLS.
 */
export function plainHttpWarning(config: Pick<Config, 'host' | 'tls' | 'baseUrl'>): string | undefined {
  if (config.tls || isLoopback(config.host)) return undefined;
  const behindProxy = config.baseUrl?.protocol === 'https:' ? ' (between the reverse proxy and this server)' : '';
  return (
    `WARNING: serving plain HTTP on ${config.host}: passwords travel in clear over the network${behindProxy}. ` +
    'Set TLS_CERT and TLS_KEY, or listen on 127.0.0.1 behind an HTTPS reverse proxy.'
  );
}

/** One year, the usual preload-list minimum; subdomains are left alone (they may be other sites). */
export const HSTS_VALUE = 'max-age=31536000';

/**
 * RFC 6797: tells browsers to use HTTPS only. Sent on the web pages (everything outside the DAV
 * tree), when this server speaks TLS itself or its public address (BASE_URL) is https.
 */
export function strictTransportSecurity(config: Pick<Config, 'tls' | 'baseUrl'>, davPrefix: string): Koa.Middleware {
  const enabled = Boolean(config.tls) || config.baseUrl?.protocol === 'https:';
  return async (koa, next) => {
    if (enabled && !koa.path.startsWith(davPrefix)) koa.set('Strict-Transport-Security', HSTS_VALUE);
    await next();
  };
}
