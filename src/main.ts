import path from 'node:path';
import { ensureInitialAdmin } from './auth/bootstrap.js';
import { ConfigError, loadConfig } from './config.js';
import { reindexPhoneNumbers } from './dav/carddav/phone-reindex.js';
import { createLogger } from './log.js';
import { SERVER_NODE_FLAGS, startedWithServerFlags } from './node-flags.js';
import { loadTls, plainHttpWarning } from './ops/tls.js';
import { startServer } from './server.js';
import { collectAllBlobs, FileBlobStore, removeOrphanBodies } from './store/blobs.js';
import { migrate } from './store/migrate.js';
import { analyzeDatabase } from './store/statistics.js';
import { openDatabase, StoreBusyError } from './store/open.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  // `node dist/main.js` by hand, or a service file of one's own (node-flags.ts says what it costs).
  if (!startedWithServerFlags()) log.warn('started without the V8 flags of `npm start`: large uploads run slower, and the embedded store holds more memory', { flags: SERVER_NODE_FLAGS.join(' ') });
  // Read before the store is touched, so a bad certificate stops start-up at once.
  const tls = config.tls ? loadTls(config.tls) : undefined;
  const db = await openDatabase({
    ...config,
    cacheReads: true,
    // PostgreSQL restarts itself after a PANIC; the embedded one recovers at the next start (Docker's
    // restart policy, systemd's Restart=on-failure), so the process ends rather than answer 503 for good.
    onStopped: (error) => {
      log.error('the embedded database stopped; exiting, to recover at the next start', { error: error.message });
      process.exit(1);
    },
  });
  const applied = await migrate(db);
  if (applied.length > 0) log.info('schema migrated', { versions: applied });
  // PGlite runs no autovacuum: statistics are refreshed at start-up, then as writes add up (statistics.ts).
  if (db.kind === 'pglite') await analyzeDatabase(db);
  // Before the first search: numbers indexed under another PHONE_REGION, or none, are indexed again.
  await reindexPhoneNumbers(db, config.phoneRegion, log);
  const blobs = new FileBlobStore(path.join(config.dataDir, 'blobs'));
  // Left by a crash: half-received uploads, and bodies nothing references any more.
  await blobs.sweepTemporary(0);
  await collectAllBlobs(db, blobs);
  // Bodies a crash left without a row. Other processes sharing PostgreSQL may be mid-upload:
  // there, only bodies older than a quarter of an hour are taken for orphans.
  await removeOrphanBodies(db, blobs, config.databaseUrl ? 15 * 60_000 : 0);
  await ensureInitialAdmin(db, log, (text) => process.stdout.write(text));

  const running = await startServer({ config, db, blobs, log }, tls ? { tls } : {});
  const base = config.baseUrl?.href ?? `${running.url}/`;
  // Always shown, whatever LOG_LEVEL says: where to point clients.
  const store = config.databaseUrl ? 'PostgreSQL' : `embedded store in ${config.dataDir}`;
  process.stdout.write(`Davenport listening on ${running.url} (${store}); files at ${base}dav/files/<user>/\n`);
  // Shown whatever LOG_LEVEL says, like the line above.
  const warning = plainHttpWarning(config);
  if (warning) process.stderr.write(`davenport: ${warning}\n`);

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
