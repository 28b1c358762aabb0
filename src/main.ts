import path from 'node:path';
import { ensureInitialAdmin } from './auth/bootstrap.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';
import { collectAllBlobs, FileBlobStore } from './store/blobs.js';
import { analyze, migrate } from './store/migrate.js';
import { openDatabase, StoreBusyError } from './store/open.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const db = await openDatabase(config);
  const applied = await migrate(db);
  if (applied.length > 0) log.info('schema migrated', { versions: applied });
  if (db.kind === 'pglite') await analyze(db);
  const blobs = new FileBlobStore(path.join(config.dataDir, 'blobs'));
  // Left by a crash: half-received uploads, and bodies nothing references any more.
  await blobs.sweepTemporary(0);
  await collectAllBlobs(db, blobs);
  await ensureInitialAdmin(db, log, (text) => process.stdout.write(text));

  const running = await startServer({ config, db, blobs, log });
  const base = config.baseUrl?.href ?? `${running.url}/`;
  // Always shown, whatever LOG_LEVEL says: where to point clients.
  const store = config.databaseUrl ? 'PostgreSQL' : `embedded store in ${config.dataDir}`;
  process.stdout.write(`Davenport listening on ${running.url} (${store}); files at ${base}dav/files/<user>/\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    await running.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StoreBusyError) {
    process.stderr.write(`davenport: ${error.message}\n`);
  } else {
    process.stderr.write(`davenport: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  }
  process.exit(1);
});
