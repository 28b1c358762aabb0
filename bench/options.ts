/** Command-line options of `npm run bench`, with the older environment variables still honoured. */
import { parseArgs } from 'node:util';
import { FULL, QUICK, type Group, type Sizes } from './rows.js';

export type PeerName = 'radicale' | 'xandikos';

export interface Options {
  quick: boolean;
  sizes: Sizes;
  peers: PeerName[];
  databaseUrl?: string;
  groups: Array<Exclude<Group, 'resources'>>;
  runs: number;
  budgetMs: number;
  out?: string;
}

export const USAGE = `npm run bench -- [options]
  --quick               small sizes (a minute on Davenport alone), for CI
  --peers LIST          also measure radicale,xandikos (apt-get install -y radicale xandikos)
  --database-url URL    Davenport on PostgreSQL: a fresh database is made on this server and dropped
                        (default: BENCH_DATABASE_URL or TEST_DATABASE_URL; else PGlite)
  --only LIST           caldav,carddav,files (default: all)
  --runs N              runs per workload, the median is shown (default 5, --quick 3)
  --budget SECONDS      time allowed per workload and server (default 60)
  --out FILE            also write the table to FILE
Environment (older names): BENCH_EVENTS, BENCH_CARDS, BENCH_ONLY.`;

const GROUPS = ['caldav', 'carddav', 'files'] as const;
const PEERS: readonly PeerName[] = ['radicale', 'xandikos'];

export class UsageError extends Error {}

function list<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new UsageError(`unknown ${what} "${item}" (known: ${allowed.join(', ')})`);
  return items as T[];
}

function positive(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive whole number, not "${value}"`);
  return n;
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      peers: { type: 'string' },
      'database-url': { type: 'string' },
      only: { type: 'string' },
      runs: { type: 'string' },
      budget: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageError('');
  const quick = values.quick ?? false;
  const sizes = { ...(quick ? QUICK : FULL) };
  if (env.BENCH_EVENTS) sizes.events = positive(env.BENCH_EVENTS, 'BENCH_EVENTS');
  if (env.BENCH_CARDS) sizes.cards = positive(env.BENCH_CARDS, 'BENCH_CARDS');
  const only = values.only ?? env.BENCH_ONLY;
  const databaseUrl = values['database-url'] ?? (env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || undefined);
  const options: Options = {
    quick,
    sizes,
    peers: values.peers ? list(values.peers, PEERS, 'peer') : [],
    groups: only ? list(only, GROUPS, 'workload group') : [...GROUPS],
    runs: values.runs ? positive(values.runs, '--runs') : quick ? 3 : 5,
    budgetMs: (values.budget ? positive(values.budget, '--budget') : 60) * 1000,
  };
  if (databaseUrl) options.databaseUrl = databaseUrl;
  if (values.out) options.out = values.out;
  return options;
}
