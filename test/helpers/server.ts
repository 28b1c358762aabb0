/**
 * A real Davenport server on a random loopback port over a fresh store, for protocol tests.
 */
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import type { ServerDeps } from '../../src/dav/context.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { FileBlobStore } from '../../src/store/blobs.js';
import { createUser, type User } from '../../src/store/users.js';
import { openTestStore, type TestStore } from './store.js';

export interface TestUser {
  user: User;
  name: string;
  password: string;
  /** The Authorization header value. */
  authorization: string;
}

export interface RequestOptions {
  /** Whose credentials to send; the first user by default, null for none. */
  as?: TestUser | null;
  headers?: Record<string, string>;
  body?: string | Buffer | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
}

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  store: TestStore;
  deps: ServerDeps;
  running: RunningServer;
  users: TestUser[];
  addUser(name: string, password?: string): Promise<TestUser>;
  /** An absolute URL for a path of this server. */
  at(pathname: string): string;
  request(method: string, pathname: string, options?: RequestOptions): Promise<Response>;
  close(): Promise<void>;
}

export function basicAuthorization(name: string, password: string): string {
  return 'Basic ' + Buffer.from(`${name}:${password}`).toString('base64');
}

/** Starts a server with the given users (default: alice), configured by `env` on top of test defaults. */
export async function startTestServer(options: { users?: string[]; env?: Record<string, string> } = {}): Promise<TestServer> {
  const store = await openTestStore();
  const config = loadConfig({
    DATA_DIR: store.dataDir,
    ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const deps: ServerDeps = {
    config,
    db: store.db,
    blobs: new FileBlobStore(path.join(store.dataDir, 'blobs')),
    log: createLogger(config.logLevel),
  };
  const running = await startServer(deps);
  const users: TestUser[] = [];
  const addUser = async (name: string, password = `${name}-password-1`): Promise<TestUser> => {
    const user = await createUser(store.db, { name, password });
    const entry = { user, name, password, authorization: basicAuthorization(name, password) };
    users.push(entry);
    return entry;
  };
  for (const name of options.users ?? ['alice']) await addUser(name);

  const at = (pathname: string) => running.url + pathname;
  return {
    url: running.url,
    store,
    deps,
    running,
    users,
    addUser,
    at,
    async request(method, pathname, { as, headers = {}, body } = {}) {
      const who = as === undefined ? users[0] : as;
      const init: RequestInit & { duplex?: 'half' } = {
        method,
        headers: { ...(who ? { Authorization: who.authorization } : {}), ...headers },
        redirect: 'manual',
      };
      if (body !== undefined) {
        init.body = body as RequestInit["body"];
        if (typeof body !== 'string' && !Buffer.isBuffer(body)) init.duplex = 'half';
      }
      return fetch(at(pathname), init);
    },
    async close() {
      await running.close();
      await store.close();
    },
  };
}
