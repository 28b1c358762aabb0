/** A signed-in browser, as far as the JSON API sees one: the session cookie and the CSRF token. */
import assert from 'node:assert/strict';

export interface WebRequestOptions {
  json?: unknown;
  body?: RequestInit['body'];
  headers?: Record<string, string>;
  /** Leave out the CSRF token (to test that it is required). */
  noCsrf?: boolean;
}

export class WebClient {
  cookie = '';
  csrf = '';

  /** `base` is the server's URL including any BASE_URL path, ending with '/'. */
  constructor(readonly base: string) {}

  async request(method: string, path: string, options: WebRequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookie) headers.Cookie = this.cookie;
    if (this.csrf && !options.noCsrf && method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = this.csrf;
    let body = options.body;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const init: RequestInit & { duplex?: 'half' } = { method, headers, body: body ?? null, redirect: 'manual' };
    if (body && typeof body === 'object' && 'getReader' in body) init.duplex = 'half';
    return fetch(this.base + path, init);
  }

  async json<T = Record<string, unknown>>(method: string, path: string, options: WebRequestOptions = {}, status = 200): Promise<T> {
    const res = await this.request(method, path, options);
    const text = await res.text();
    assert.equal(res.status, status, `${method} ${path}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Signs in; returns the sign-in response (its cookie and token are kept). */
  async signIn(name: string, password: string): Promise<Response> {
    const res = await this.request('POST', 'api/session', { json: { name, password } });
    if (res.ok) {
      const setCookie = res.headers.get('set-cookie') ?? '';
      this.cookie = setCookie.split(';')[0]!;
      this.csrf = ((await res.clone().json()) as { csrfToken: string }).csrfToken;
    }
    return res;
  }
}
