/**
 * `npm run user -- <command>`: manage users and app passwords from a shell on the server.
 * Passwords come from a hidden prompt, or from the first line of standard input when it is not
 * a terminal — never from the command line, where other users could read them in `ps`.
 */
import path from 'node:path';
import readline from 'node:readline';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { FileBlobStore } from '../store/blobs.js';
import { createAppPassword, listAppPasswords, revokeAppPassword } from '../store/credentials.js';
import type { Database } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { openDatabase } from '../store/open.js';
import {
  createUser,
  deleteUser,
  findUserByName,
  listUsers,
  setEmail,
  setPassword,
  setQuota,
  validatePassword,
  validateUserName,
  type User,
} from '../store/users.js';

const USAGE = `usage: npm run user -- <command>
  add <name> [--admin] [--email <addr>]   create a user; asks for the password
  passwd <name>                           change a user's password
  delete <name> [--yes]                   delete a user and all their data
  list                                    list the users
  email <name> <addr|none>                set or clear a user's email address
  quota <name> <bytes|none>               set or remove a quota (e.g. 5000000000, 5G, 500MiB)
  app-password add <name> <device-name>   create an app password; it is shown once
  app-password list <name>                list a user's app passwords
  app-password revoke <name> <id>         revoke an app password
Passwords are read from the terminal, or from the first line of standard input.
DATA_DIR or DATABASE_URL choose the store, as for the server.`;

/** A mistake on the command line or in the input: printed as one line, exit status 1. */
class CliError extends Error {}

interface Options {
  admin: boolean;
  email: string | undefined;
  yes: boolean;
}

function parseCommandLine(argv: string[]): { words: string[]; options: Options; help: boolean } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      admin: { type: 'boolean', default: false },
      email: { type: 'string' },
      yes: { type: 'boolean', short: 'y', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return { words: positionals, options: { admin: values.admin, email: values.email, yes: values.yes }, help: values.help };
}

/** The store the server uses, migrated; blobs live under DATA_DIR in both configurations. */
async function openStore(config: Config): Promise<{ db: Database; blobs: FileBlobStore }> {
  const db = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, embeddedCacheMb: config.embeddedCacheMb });
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return { db, blobs: new FileBlobStore(path.join(config.dataDir, 'blobs')) };
}

async function requireUser(db: Database, name: string): Promise<User> {
  const user = await findUserByName(db, name);
  if (!user) throw new CliError(`no user named "${name}"`);
  return user;
}

function expectWords(words: string[], count: number, form: string): void {
  if (words.length !== count) throw new CliError(`usage: npm run user -- ${form}`);
}

function refuseOptions(options: Options, command: string, allowed: Array<keyof Options>): void {
  for (const key of ['admin', 'email', 'yes'] as const) {
    const given = key === 'email' ? options.email !== undefined : options[key];
    if (given && !allowed.includes(key)) throw new CliError(`--${key} does not apply to "${command}"`);
  }
}

async function run(words: string[], options: Options, config: Config): Promise<void> {
  const [command, ...args] = words;
  switch (command) {
    case 'add': {
      expectWords(args, 1, 'add <name> [--admin] [--email <addr>]');
      refuseOptions(options, command, ['admin', 'email']);
      const name = args[0]!;
      validateUserName(name);
      return withStore(config, async ({ db }) => {
        if (await findUserByName(db, name)) throw new CliError(`a user named "${name}" already exists`);
        const password = await readNewPassword();
        const user = await createUser(db, { name, password, email: options.email ?? null, isAdmin: options.admin });
        print(`created user ${user.name}${user.isAdmin ? ' (administrator)' : ''}`);
      });
    }
    case 'passwd': {
      expectWords(args, 1, 'passwd <name>');
      refuseOptions(options, command, []);
      return withStore(config, async ({ db }) => {
        const user = await requireUser(db, args[0]!);
        await setPassword(db, user.id, await readNewPassword());
        // A running server may accept the old password for up to a minute (its login cache).
        print(`changed the password of ${user.name}`);
      });
    }
    case 'delete': {
      expectWords(args, 1, 'delete <name> [--yes]');
      refuseOptions(options, command, ['yes']);
      return withStore(config, async ({ db, blobs }) => {
        const user = await requireUser(db, args[0]!);
        if (process.stdin.isTTY && !options.yes) await confirmDeletion(user.name);
        await deleteUser(db, blobs, user.id);
        print(`deleted user ${user.name} and all their data`);
      });
    }
    case 'list': {
      expectWords(args, 0, 'list');
      refuseOptions(options, command, []);
      return withStore(config, async ({ db }) => {
        const users = await listUsers(db);
        if (users.length === 0) return print('(no users)');
        const rows = users.map((u) => [
          u.name,
          u.isAdmin ? 'admin' : '-',
          u.email ?? '-',
          `${formatBytes(u.usedBytes)} / ${u.quotaBytes === null ? 'no quota' : formatBytes(u.quotaBytes)}`,
        ]);
        for (const line of columns(rows)) print(line);
      });
    }
    case 'email': {
      expectWords(args, 2, 'email <name> <addr|none>');
      refuseOptions(options, command, []);
      const email = args[1] === 'none' ? null : args[1]!;
      return withStore(config, async ({ db }) => {
        const user = await requireUser(db, args[0]!);
        await setEmail(db, user.id, email);
        print(email === null ? `cleared the email address of ${user.name}` : `set the email address of ${user.name} to ${email}`);
      });
    }
    case 'quota': {
      expectWords(args, 2, 'quota <name> <bytes|none>');
      refuseOptions(options, command, []);
      const bytes = args[1] === 'none' ? null : parseBytes(args[1]!);
      return withStore(config, async ({ db }) => {
        const user = await requireUser(db, args[0]!);
        await setQuota(db, user.id, bytes);
        print(bytes === null ? `removed the quota of ${user.name}` : `set the quota of ${user.name} to ${formatBytes(bytes)} (${bytes} bytes)`);
      });
    }
    case 'app-password':
      refuseOptions(options, command, []);
      return runAppPassword(args, config);
    default:
      throw new CliError(`unknown command "${command}"; see npm run user -- --help`);
  }
}

async function runAppPassword(args: string[], config: Config): Promise<void> {
  const [action, ...rest] = args;
  switch (action) {
    case 'add':
      expectWords(rest, 2, 'app-password add <name> <device-name>');
      return withStore(config, async ({ db }) => {
        const user = await requireUser(db, rest[0]!);
        const created = await createAppPassword(db, user.id, rest[1]!);
        // The secret alone on standard output (easy to capture in a script); the note on stderr.
        process.stderr.write(`app password ${created.id} "${created.name}" for ${user.name}; it is shown only this once:\n`);
        print(created.secret);
      });
    case 'list':
      expectWords(rest, 1, 'app-password list <name>');
      return withStore(config, async ({ db }) => {
        const user = await requireUser(db, rest[0]!);
        const list = await listAppPasswords(db, user.id);
        if (list.length === 0) return print(`(no app passwords for ${user.name})`);
        const rows = list.map((p) => [
          String(p.id),
          p.name,
          `created ${formatDate(p.createdAt)}`,
          p.lastUsedAt ? `last used ${formatDate(p.lastUsedAt)}` : 'never used',
        ]);
        for (const line of columns(rows)) print(line);
      });
    case 'revoke': {
      expectWords(rest, 2, 'app-password revoke <name> <id>');
      const id = /^\d{1,15}$/.test(rest[1]!) ? Number(rest[1]) : undefined;
      if (id === undefined) throw new CliError(`an app password id is a number, got "${rest[1]}"`);
      return withStore(config, async ({ db }) => {
        const user = await requireUser(db, rest[0]!);
        if (!(await revokeAppPassword(db, user.id, id))) throw new CliError(`${user.name} has no app password ${id}`);
        print(`revoked app password ${id} of ${user.name}`);
      });
    }
    default:
      throw new CliError('usage: npm run user -- app-password add|list|revoke …');
  }
}

async function withStore(config: Config, work: (store: { db: Database; blobs: FileBlobStore }) => Promise<void>): Promise<void> {
  const store = await openStore(config);
  try {
    await work(store);
  } finally {
    await store.db.close();
  }
}

function print(line: string): void {
  process.stdout.write(line + '\n');
}

// --- Reading passwords -------------------------------------------------------------------------

async function readNewPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const line = await readFirstLine();
    if (line === undefined) throw new CliError('no password: type it at the prompt, or give it as the first line of standard input');
    validatePassword(line);
    return line;
  }
  const password = await promptHidden('New password: ');
  validatePassword(password);
  if ((await promptHidden('Repeat it: ')) !== password) throw new CliError('the two passwords differ; nothing changed');
  return password;
}

async function readFirstLine(): Promise<string | undefined> {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  try {
    for await (const line of lines) return line;
    return undefined;
  } finally {
    lines.close();
    // The rest of the input is not ours to wait for.
    process.stdin.destroy();
  }
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  // Echo off before the prompt appears, so nothing typed right after it is shown.
  input.setRawMode(true);
  input.setEncoding('utf8');
  process.stderr.write(question);
  input.resume();
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || (char === '\u0004' && text === '')) return finish(new CliError('cancelled'));
        if (char === '\u007f' || char === '\b') text = [...text].slice(0, -1).join('');
        else if (char === '\u001b') return; // an arrow or function key: drop the rest of its escape sequence
        else if (char >= ' ') text += char;
      }
    };
    input.on('data', onData);
  });
}

async function confirmDeletion(name: string): Promise<void> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`This deletes ${name} with all their files, calendars and contacts. Type the name to confirm: `);
    if (answer.trim() !== name) throw new CliError('not confirmed; nothing deleted');
  } finally {
    prompt.close();
  }
}

// --- Formatting ----------------------------------------------------------------------------------

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1).replace(/\.0$/, '')} ${UNITS[unit]}`;
}

/** "5000", "5G", "5 GiB", "500MB" (binary units whatever the spelling): bytes. */
function parseBytes(text: string): number {
  const match = /^(\d+)\s*(?:([kmgtp])(?:i?b)?|b)?$/i.exec(text.trim());
  const exponent = match?.[2] ? 'kmgtp'.indexOf(match[2].toLowerCase()) + 1 : 0;
  const bytes = match ? Number(match[1]) * 1024 ** exponent : NaN;
  if (!Number.isSafeInteger(bytes)) throw new CliError(`a quota is a number of bytes like 5000000000, 5G or 500MiB, or "none"; got "${text}"`);
  return bytes;
}

function formatDate(date: Date): string {
  return date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

// --- Entry point ---------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const { words, options, help } = parseCommandLine(argv);
  if (help) return print(USAGE);
  if (words.length === 0) {
    process.stderr.write(USAGE + '\n');
    process.exitCode = 1;
    return;
  }
  await run(words, options, loadConfig());
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  // One line, no stack: every error here is either the user's to fix or the store's to report.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = 1;
}
