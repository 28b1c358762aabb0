/** Files: a big body streamed both ways with memory watched, many small files, their folder listed and moved. */
import { bodies, memberNames } from '../dav.js';
import { inParallel } from '../http.js';
import { expectSameSet, expectStatus, outcomeOf, repeat, timed, timedAnswer, WrongAnswer } from '../outcome.js';
import { residentBytes } from './resources.js';
import { davSession, measure, type SuiteContext } from './suite.js';

const FILE_ROWS = ['file-put', 'file-get', 'file-memory', 'small-put', 'small-propfind', 'small-move'];

export async function filesSuite(ctx: SuiteContext): Promise<void> {
  const folder = ctx.target.filesFolder;
  if (!folder) {
    for (const row of FILE_ROWS) ctx.record(row, { kind: 'absent' });
    return;
  }
  const { sizes } = ctx;
  const size = sizes.bigFileBytes;
  const big = `${folder}bench-big.bin`;
  // Three runs at most: each moves the whole body twice.
  const runs = Math.min(ctx.runs, 3);

  const before = residentBytes(ctx.target.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(ctx.target.pid))), 20);
  const putOk = await measure(ctx, 'file-put', (budget) =>
    repeat(runs, budget, async () => {
      const { ms, answer: status } = await timedAnswer(() => ctx.client.putStream(big, size, budget.signal));
      expectStatus(status, [200, 201, 204], 'PUT');
      return size / 1e6 / (ms / 1000);
    }),
  );
  if (putOk) {
    await measure(ctx, 'file-get', (budget) =>
      repeat(runs, budget, async () => {
        const { ms, answer } = await timedAnswer(() => ctx.client.getCounted(big, budget.signal));
        expectStatus(answer.status, [200], 'GET');
        if (answer.bytes !== size) throw new WrongAnswer(`got ${answer.bytes} bytes, want ${size}`);
        return size / 1e6 / (ms / 1000);
      }),
    );
  } else {
    ctx.record('file-get', { kind: 'failed', message: 'no file from the PUT workload' });
  }
  clearInterval(sampler);
  ctx.record('file-memory', { kind: 'value', value: (peak - before) / 1e6, runs: 1 });

  // Each file its own content, as real uploads are: identical bodies would be stored once.
  const small = (run: number, name: string) => `${run} ${name} `.padEnd(4096, 'b');
  const names = Array.from({ length: sizes.smallFiles }, (_, i) => `f${i}.txt`);
  let listed: string | undefined;
  await measure(ctx, 'small-put', (budget) =>
    repeat(ctx.runs, budget, async (run) => {
      const dav = davSession(ctx.client, budget.signal);
      const dir = `${folder}bench-many-${run}/`;
      await dav.send('MKCOL', dir, [201], 'MKCOL');
      const ms = await timed(() => inParallel(names, 8, (name) => dav.put(dir + name, small(run, name), 'text/plain', 'PUT')));
      listed ??= dir;
      return names.length / (ms / 1000);
    }),
  );
  if (!listed) {
    for (const row of ['small-propfind', 'small-move']) ctx.record(row, { kind: 'failed', message: 'no folder from the PUT workload' });
    return;
  }
  const dir = listed;
  const want = new Set(names);
  await measure(ctx, 'small-propfind', (budget) => {
    const dav = davSession(ctx.client, budget.signal);
    return repeat(ctx.runs, budget, async () => {
      const { ms, answer } = await dav.timedMultistatus('PROPFIND', dir, bodies.propfindFiles, '1', 'PROPFIND');
      expectSameSet(memberNames(answer), want);
      return ms;
    });
  });

  // Moved away and back in turn; afterwards the folder must still hold every file.
  let at = dir;
  const moved = await measure(ctx, 'small-move', (budget) => {
    const dav = davSession(ctx.client, budget.signal);
    const away = `${folder}bench-moved/`;
    return repeat(ctx.runs, budget, async () => {
      const to = at === dir ? away : dir;
      const ms = await timed(() => dav.send('MOVE', at, [201], 'MOVE', { Destination: to, Overwrite: 'F' }));
      at = to;
      return ms;
    });
  });
  if (moved) {
    try {
      const answer = await davSession(ctx.client).multistatus('PROPFIND', at, bodies.propfindFiles, '1', 'PROPFIND after MOVE');
      expectSameSet(memberNames(answer), want);
    } catch (error) {
      const outcome = outcomeOf(error);
      ctx.record('small-move', outcome.kind === 'wrong' ? { kind: 'wrong', detail: `after the moves: ${outcome.detail}` } : outcome);
    }
  }
}
