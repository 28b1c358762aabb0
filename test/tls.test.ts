import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { HSTS_VALUE, isLoopback, loadTls, plainHttpWarning } from '../src/ops/tls.js';
import { ensureWebAssets } from './helpers/browser.js';
import { runServerToExit } from './helpers/process.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// The page at / is the web pages' shell: built as `npm run build` would (a fresh clone has none).
before(() => ensureWebAssets());

// A self-signed certificate for 127.0.0.1, made for this run.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-tls-'));
const certFile = path.join(dir, 'cert.pem');
const keyFile = path.join(dir, 'key.pem');
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
  '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
], { stdio: 'ignore' });
const ca = fs.readFileSync(certFile);

let server: TestServer | undefined;
after(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  httpVersion: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request over TLS from a client that trusts only our certificate. */
function secureRequest(url: string, options: { method?: string; headers?: Record<string, string>; trust?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: options.method ?? 'GET', headers: options.headers, ...(options.trust === false ? {} : { ca }) }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, httpVersion: response.httpVersion, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

test('with TLS_CERT and TLS_KEY the server speaks HTTPS/1.1, with HSTS on pages only', async () => {
  server = await startTestServer({ env: { TLS_CERT: certFile, TLS_KEY: keyFile } });
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);

  const page = await secureRequest(server.at('/'));
  assert.equal(page.status, 200);
  assert.equal(page.httpVersion, '1.1');
  assert.equal(page.headers['strict-transport-security'], HSTS_VALUE);

  const dav = await secureRequest(server.at('/dav/files/alice/'), {
    method: 'PROPFIND',
    headers: { Authorization: server.users[0]!.authorization, Depth: '0' },
  });
  assert.equal(dav.status, 207);
  assert.match(dav.body, /<d:multistatus|multistatus/);
  assert.equal(dav.headers['strict-transport-security'], undefined);

  // A client that does not trust the certificate refuses it.
  await assert.rejects(secureRequest(server.at('/'), { trust: false }), /self-signed|self signed|unable to verify/i);
  // Plain HTTP to the TLS port gets no answer.
  await assert.rejects(fetch(server.at('/').replace('https:', 'http:')));
});

test('HSTS is sent behind an https BASE_URL, and not on plain HTTP without one', async () => {
  const behindProxy = await startTestServer({ users: [], env: { BASE_URL: 'https://cloud.example.org/' } });
  try {
    const response = await fetch(behindProxy.at('/'));
    assert.equal(response.headers.get('strict-transport-security'), HSTS_VALUE);
    const dav = await fetch(behindProxy.at('/dav/'), { method: 'PROPFIND' });
    assert.equal(dav.headers.get('strict-transport-security'), null);
  } finally {
    await behindProxy.close();
  }
  const plain = await startTestServer({ users: [] });
  try {
    const response = await fetch(plain.at('/'));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('strict-transport-security'), null);
  } finally {
    await plain.close();
  }
});

test('TLS configuration mistakes are ConfigErrors with one clear line', () => {
  assert.throws(() => loadConfig({ TLS_CERT: certFile }), (e: Error) => e instanceof ConfigError && /TLS_CERT and TLS_KEY must be set together/.test(e.message));
  assert.throws(() => loadConfig({ TLS_KEY: keyFile }), ConfigError);

  const missing = path.join(dir, 'missing.pem');
  assert.throws(() => loadTls({ certFile: missing, keyFile }), (e: Error) => e instanceof ConfigError && e.message.includes('TLS_CERT cannot be read') && e.message.includes('ENOENT'));
  assert.throws(() => loadTls({ certFile, keyFile: missing }), /TLS_KEY cannot be read/);

  const garbage = path.join(dir, 'garbage.pem');
  fs.writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  assert.throws(() => loadTls({ certFile: garbage, keyFile }), (e: Error) => e instanceof ConfigError && /TLS_CERT is not a PEM certificate/.test(e.message));
  // The files swapped.
  assert.throws(() => loadTls({ certFile: keyFile, keyFile: certFile }), /TLS_CERT is not a PEM certificate/);
  assert.throws(() => loadTls({ certFile, keyFile: garbage }), /TLS_KEY is not an unencrypted PEM private key/);

  const otherKey = path.join(dir, 'other-key.pem');
  fs.writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  assert.throws(() => loadTls({ certFile, keyFile: otherKey }), /TLS_KEY does not belong to the certificate/);

  const material = loadTls({ certFile, keyFile });
  assert.ok(material.cert.length > 0 && material.key.length > 0);
});

test('a bad certificate stops start-up with one line, before the store is opened', async () => {
  const garbage = path.join(dir, 'garbage.pem');
  fs.writeFileSync(garbage, 'hello\n');
  const dataDir = path.join(dir, 'never-created');
  const result = await runServerToExit({ DATA_DIR: dataDir, TLS_CERT: garbage, TLS_KEY: keyFile });
  assert.equal(result.code, 1);
  assert.equal(result.output.trim(), `davenport: TLS_CERT is not a PEM certificate: ${garbage}`);
  assert.equal(fs.existsSync(dataDir), false);
});

test('plain HTTP on a non-loopback address warns that passwords travel in clear', () => {
  assert.match(plainHttpWarning({ host: '0.0.0.0', tls: undefined, baseUrl: undefined })!, /plain HTTP on 0\.0\.0\.0: passwords travel in clear/);
  assert.match(
    plainHttpWarning({ host: '192.168.1.5', tls: undefined, baseUrl: new URL('https://cloud.example.org/') })!,
    /passwords travel in clear over the network \(between the reverse proxy and this server\)/,
  );
  assert.equal(plainHttpWarning({ host: '0.0.0.0', tls: { certFile, keyFile }, baseUrl: undefined }), undefined);
  assert.equal(plainHttpWarning({ host: '127.0.0.1', tls: undefined, baseUrl: undefined }), undefined);
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopback(host), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.org', '::ffff:10.0.0.1']) assert.equal(isLoopback(host), false, host);
});
