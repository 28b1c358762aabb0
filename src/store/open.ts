import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { PoolDatabase, type Database } from './db.js';

/** The store is held by another live process (PGlite has no lock of its own). */
export class StoreBusyError extends Error {}

export interface StoreLocation {
  dataDir: string;
  databaseUrl?: string | undefined;
}

export async function openDatabase(location: StoreLocation): Promise<Database> {
  if (location.databaseUrl) {
    return new PoolDatabase('postgres', { connectionString: location.databaseUrl, max: 10 });
  }
  return openEmbedded(location.dataDir);
}

async function openEmbedded(dataDir: string): Promise<Database> {
  fs.mkdirSync(dataDir, { recursive: true });
  const release = acquireLock(path.join(dataDir, 'davenport.lock'));
  try {
    const pglite = await PGlite.create(path.join(dataDir, 'pglite'));
    return new PoolDatabase('pglite', createPgConfig(pglite), async () => {
      await pglite.close();
      release();
    });
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * A lock file holding our pid. A file left by a process that died (kill -9) is taken over;
 * one held by a live process refuses the second opener.
 */
function acquireLock(file: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new StoreBusyError(
          `the data directory ${path.dirname(file)} is in use by another Davenport process (pid ${pid}); stop it first or set DATABASE_URL`,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new StoreBusyError(`could not take the lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
