import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProgressReport } from '../../src/contract.ts';
import { createProgressReceiver, createProgressTokens, parseReport, type ProgressReceiver } from '../../src/controller/progress.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { silentLog } from '../support/fake-transcoder-runs.ts';

const SECRET = Buffer.alloc(32, 7);

// ── tokens ─────────────────────────────────────────────────────────────────────────────────────

const tokens = suite('progress tokens');

tokens('a token issued for a job verifies for that job, under the same secret', () => {
  const a = createProgressTokens(SECRET);
  const token = a.issue('vcs-1-1');
  assert.ok(a.verify('vcs-1-1', token));
  assert.ok(createProgressTokens(SECRET).verify('vcs-1-1', token), 'deterministic for a secret');
  assert.match(token, /^[A-Za-z0-9_-]{43}$/, 'base64url of an HMAC-SHA256: safe in a header');
});

tokens('wrong token, wrong job, tampered token, other secret: refused', () => {
  const t = createProgressTokens(SECRET);
  const token = t.issue('vcs-1-1');
  const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
  const cases: [what: string, job: string, token: string][] = [
    ['empty', 'vcs-1-1', ''],
    ['garbage', 'vcs-1-1', 'not-a-token'],
    ['same length, other bytes', 'vcs-1-1', 'x'.repeat(token.length)],
    ['wrong job', 'vcs-1-2', token],
    ['another video', 'vcs-11-1', token],
    ['tampered (last character)', 'vcs-1-1', flipped],
    ['truncated', 'vcs-1-1', token.slice(0, -1)],
    ['extended', 'vcs-1-1', `${token}A`],
  ];
  for (const [what, job, given] of cases) assert.not.ok(t.verify(job, given), what);
  assert.not.ok(createProgressTokens(Buffer.alloc(32, 8)).verify('vcs-1-1', token), 'other secret');
  assert.not.ok(createProgressTokens().verify('vcs-1-1', createProgressTokens().issue('vcs-1-1')), 'random secrets differ');
});

tokens.run();

// ── parseReport ────────────────────────────────────────────────────────────────────────────────

const parse = suite('parseReport');

const VALID = { jobName: 'vcs-1-1', videoId: 1, step: 'compressing', progress: 42, etaSeconds: 30 };

parse('a valid report: progress rounded down, ETA kept, extra fields dropped', () => {
  assert.equal(parseReport({ ...VALID, progress: 42.9, extra: 'x' }), { jobName: 'vcs-1-1', videoId: 1, step: 'compressing', progress: 42, etaSeconds: 30 });
  assert.is(parseReport({ ...VALID, progress: 0 })?.progress, 0);
  assert.is(parseReport({ ...VALID, progress: 100, step: 'completed' })?.progress, 100);
});

parse('ETA: missing, negative or not a number becomes null; the report stays valid', () => {
  const { etaSeconds: _drop, ...noEta } = VALID;
  const cases: [what: string, body: object, eta: number | null][] = [
    ['missing', noEta, null],
    ['null', { ...VALID, etaSeconds: null }, null],
    ['negative', { ...VALID, etaSeconds: -1 }, null],
    ['a string', { ...VALID, etaSeconds: '30' }, null],
    ['zero', { ...VALID, etaSeconds: 0 }, 0],
    ['fractional', { ...VALID, etaSeconds: 12.5 }, 12.5],
    // A date past what Date can hold made the public GET /api/post/:id answer 500.
    ['absurdly large', { ...VALID, etaSeconds: 1e300 }, null],
    ['past thirty days', { ...VALID, etaSeconds: 30 * 24 * 3600 + 1 }, null],
    ['thirty days', { ...VALID, etaSeconds: 30 * 24 * 3600 }, 30 * 24 * 3600],
  ];
  for (const [what, body, eta] of cases) assert.is(parseReport(body)?.etaSeconds, eta, what);
});

parse('invalid reports are null', () => {
  const without = (key: keyof typeof VALID) => Object.fromEntries(Object.entries(VALID).filter(([k]) => k !== key));
  const cases: [what: string, body: unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['a string', JSON.stringify(VALID)],
    ['a number', 42],
    ['an array', []],
    ['an empty object', {}],
    ['no jobName', without('jobName')],
    ['jobName not a string', { ...VALID, jobName: 7 }],
    ['no videoId', without('videoId')],
    ['videoId a string', { ...VALID, videoId: '1' }],
    ['videoId fractional', { ...VALID, videoId: 1.5 }],
    ['videoId unsafe', { ...VALID, videoId: 2 ** 53 }],
    ['no step', without('step')],
    ['unknown step', { ...VALID, step: 'encoding' }],
    ['step not a string', { ...VALID, step: 4 }],
    ['no progress', without('progress')],
    ['progress a string', { ...VALID, progress: '42' }],
    ['progress below 0', { ...VALID, progress: -1 }],
    ['progress above 100', { ...VALID, progress: 100.5 }],
    ['progress far above 100', { ...VALID, progress: 101 }],
    ['progress infinite (JSON 1e999)', JSON.parse('{"jobName":"vcs-1-1","videoId":1,"step":"compressing","progress":1e999}')],
  ];
  for (const [what, body] of cases) assert.is(parseReport(body), null, what);
});

parse('a chunk’s part: index below count, count 2 or more, fraction 0–1, only in the compressing step', () => {
  const part = (p: unknown, step = 'compressing') => parseReport({ ...VALID, step, part: p });
  assert.equal(part({ index: 2, count: 3, fraction: 0.5 })?.part, { index: 2, count: 3, fraction: 0.5 });
  const bad: [string, unknown, string?][] = [
    ['null', null],
    ['a number', 3],
    ['index = count', { index: 3, count: 3, fraction: 0 }],
    ['negative index', { index: -1, count: 3, fraction: 0 }],
    ['fractional index', { index: 0.5, count: 3, fraction: 0 }],
    ['one chunk', { index: 0, count: 1, fraction: 0 }],
    ['absurd count', { index: 0, count: 1e9, fraction: 0 }],
    ['fraction above 1', { index: 0, count: 3, fraction: 1.01 }],
    ['fraction a string', { index: 0, count: 3, fraction: '0.5' }],
    ['another step', { index: 0, count: 3, fraction: 0.5 }, 'finalizing'],
  ];
  for (const [what, p, step] of bad) assert.is(part(p, step), null, what);
});

parse.run();

// ── the receiver ───────────────────────────────────────────────────────────────────────────────

interface ReceiverCtx {
  dir: string;
  store: JobStore;
  clock: { now: number };
  receiver: ProgressReceiver;
}

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const tokenOf = createProgressTokens(SECRET).issue;

const receive = suite<ReceiverCtx>('progress receiver', {} as ReceiverCtx);

receive.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-progress-'));
  ctx.clock = { now: T0 };
  ctx.store = createSqliteStore({ file: path.join(ctx.dir, 'jobs.sqlite'), now: () => ctx.clock.now });
  await ctx.store.init();
  ctx.receiver = createProgressReceiver({ store: ctx.store, tokens: createProgressTokens(SECRET), log: silentLog(), now: () => ctx.clock.now });
  for (const id of [1, 2, 3]) await ctx.store.create({ wp_post_id: id, title: `Video ${id}`, original_video_url: `https://wp.example/uploads/${id}.mp4` });
  // 1: processing on attempt 1; 2: still pending; 3: processing on attempt 2.
  await ctx.store.transition(1, 'processing', { job_name: 'vcs-1-1' });
  await ctx.store.transition(3, 'processing', { job_name: 'vcs-3-2' });
});

receive.after.each(async (ctx) => {
  await ctx.store.close();
  await rm(ctx.dir, { recursive: true, force: true });
});

const report = (over: Partial<ProgressReport> = {}): ProgressReport => ({ jobName: 'vcs-1-1', videoId: 1, step: 'compressing', progress: 40, etaSeconds: 60, ...over });

/** Sends `body` with the token of its own job name. */
const send = (ctx: ReceiverCtx, body: ProgressReport) => ctx.receiver.receive(body, tokenOf(body.jobName));

async function stepOf(ctx: ReceiverCtx, id: number): Promise<[string | null | undefined, number | undefined]> {
  const video = await ctx.store.get(id);
  return [video?.compression_step, video?.compression_progress];
}

receive('unauthorized: no token, or the token of another job; nothing is written', async (ctx) => {
  assert.is(await ctx.receiver.receive(report(), undefined), 'unauthorized');
  assert.is(await ctx.receiver.receive(report(), ''), 'unauthorized');
  assert.is(await ctx.receiver.receive(report(), tokenOf('vcs-3-2')), 'unauthorized');
  assert.is(await ctx.receiver.receive(report(), createProgressTokens(Buffer.alloc(32, 1)).issue('vcs-1-1')), 'unauthorized');
  assert.equal(await stepOf(ctx, 1), ['queued', 0]);
  assert.is(ctx.receiver.eta(1), undefined);
});

receive('invalid: a malformed body is refused before the token is looked at', async (ctx) => {
  assert.is(await ctx.receiver.receive({ ...report(), step: 'encoding' }, tokenOf('vcs-1-1')), 'invalid');
  assert.is(await ctx.receiver.receive({ ...report(), progress: 101 }, tokenOf('vcs-1-1')), 'invalid');
  assert.is(await ctx.receiver.receive(null, undefined), 'invalid');
  assert.equal(await stepOf(ctx, 1), ['queued', 0]);
});

receive('ignored: a video not in processing, an unknown video, or a superseded attempt', async (ctx) => {
  assert.is(await send(ctx, report({ jobName: 'vcs-2-1', videoId: 2 })), 'ignored', 'pending');
  assert.is(await send(ctx, report({ jobName: 'vcs-404-1', videoId: 404 })), 'ignored', 'unknown');
  assert.is(await send(ctx, report({ jobName: 'vcs-3-1', videoId: 3 })), 'ignored', 'the video is on vcs-3-2');
  assert.is(await send(ctx, report({ jobName: 'vcs-1-1', videoId: 3 })), 'invalid', 'a token moves only its own video');
  assert.equal(await stepOf(ctx, 2), ['queued', 0]);
  assert.equal(await stepOf(ctx, 3), ['queued', 0]);
  await ctx.store.transition(1, 'completed', { compression_step: 'completed', compression_progress: 100 });
  assert.is(await send(ctx, report()), 'ignored', 'completed');
  assert.equal(await stepOf(ctx, 1), ['completed', 100]);
});

receive('chunks reporting at once: the run’s progress is the mean of their shares, never lower than recorded, each chunk’s end always written', async (ctx) => {
  const part = (index: number, fraction: number) => report({ progress: 0, etaSeconds: null, part: { index, count: 4, fraction } });
  assert.is(await send(ctx, part(0, 0.5)), 'recorded');
  assert.equal(await stepOf(ctx, 1), ['compressing', 27]); // 18 + 77 × 0.5/4
  ctx.clock.now += 500;
  assert.is(await send(ctx, part(1, 0.5)), 'throttled', 'within the interval: kept, not written');
  ctx.clock.now += 500;
  assert.is(await send(ctx, part(2, 1)), 'recorded', 'a chunk’s end is written at once');
  assert.equal(await stepOf(ctx, 1), ['compressing', 56]); // 18 + 77 × 2/4: the throttled share counts
  ctx.clock.now += 3000;
  assert.is(await send(ctx, part(1, 0)), 'recorded', 'index 1 retried from 0');
  assert.equal(await stepOf(ctx, 1), ['compressing', 56], 'never lower than recorded');
  ctx.clock.now += 3000;
  for (const i of [0, 1, 3]) await send(ctx, part(i, 1));
  assert.equal(await stepOf(ctx, 1), ['compressing', 95]);
  const eta = ctx.receiver.eta(1);
  assert.ok(eta === undefined || eta.etaSeconds >= 0);
  assert.is(ctx.receiver.remembered().chunkedRuns, 1);
  await ctx.store.update(1, { compression_step: 'finalizing', compression_progress: 96 });
  ctx.clock.now += 3000;
  assert.is(await send(ctx, part(3, 1)), 'ignored', 'a late chunk report after the assemble phase began');
  assert.equal(await stepOf(ctx, 1), ['finalizing', 96]);
  ctx.clock.now += 6 * 60_000;
  await send(ctx, report({ jobName: 'vcs-3-2', videoId: 3 }));
  assert.is(ctx.receiver.remembered().chunkedRuns, 0, 'forgotten once it stops reporting');
});

receive('chunks: an ETA from the rate of all chunks together', async (ctx) => {
  const part = (index: number, fraction: number) => report({ progress: 0, etaSeconds: null, part: { index, count: 2, fraction } });
  await send(ctx, part(0, 0));
  ctx.clock.now += 10_000;
  await send(ctx, part(0, 0.5));
  ctx.clock.now += 10_000;
  await send(ctx, part(1, 0.5)); // half of the whole in 20 s: 20 s to go
  assert.is(ctx.receiver.eta(1)?.etaSeconds, 20);
});

receive('recorded: the step and progress are written to the video', async (ctx) => {
  ctx.clock.now += 500;
  assert.is(await send(ctx, report({ step: 'downloading', progress: 7 })), 'recorded');
  const video = await ctx.store.get(1);
  assert.equal([video?.compression_step, video?.compression_progress, video?.compression_status], ['downloading', 7, 'processing']);
  assert.is(video?.updated_at, new Date(T0 + 500).toISOString());
  assert.is(await send(ctx, report({ jobName: 'vcs-3-2', videoId: 3, progress: 20 })), 'recorded');
  assert.equal(await stepOf(ctx, 3), ['compressing', 20]);
});

receive('throttle: one write per 2 s per job for the same step; a step change is written at once', async (ctx) => {
  assert.is(await send(ctx, report({ progress: 20 })), 'recorded');
  ctx.clock.now = T0 + 1999;
  assert.is(await send(ctx, report({ progress: 30 })), 'throttled');
  assert.equal(await stepOf(ctx, 1), ['compressing', 20]);
  assert.is(await send(ctx, report({ jobName: 'vcs-3-2', videoId: 3, progress: 5 })), 'recorded', 'another job has its own throttle');

  assert.is(await send(ctx, report({ step: 'finalizing', progress: 95 })), 'recorded', 'step change within 2 s');
  assert.equal(await stepOf(ctx, 1), ['finalizing', 95]);
  ctx.clock.now = T0 + 1999 + 1999;
  assert.is(await send(ctx, report({ step: 'finalizing', progress: 96 })), 'throttled', 'the step change restarted the interval');
  ctx.clock.now = T0 + 1999 + 2000;
  assert.is(await send(ctx, report({ step: 'finalizing', progress: 97 })), 'recorded', '2 s after the last write');
  assert.equal(await stepOf(ctx, 1), ['finalizing', 97]);
});

receive('eta(): the last ETA and its time are kept, throttled reports included; a report without one keeps it', async (ctx) => {
  assert.is(ctx.receiver.eta(1), undefined);
  assert.is(await send(ctx, report({ etaSeconds: 60 })), 'recorded');
  assert.equal(ctx.receiver.eta(1), { etaSeconds: 60, at: T0 });
  ctx.clock.now = T0 + 1000;
  assert.is(await send(ctx, report({ etaSeconds: 50 })), 'throttled');
  assert.equal(ctx.receiver.eta(1), { etaSeconds: 50, at: T0 + 1000 });
  ctx.clock.now = T0 + 3000;
  assert.is(await send(ctx, report({ etaSeconds: null })), 'recorded');
  assert.equal(ctx.receiver.eta(1), { etaSeconds: 50, at: T0 + 1000 });
  assert.is(ctx.receiver.eta(3), undefined);
});

receive('intervalMs: the throttle interval can be set', async (ctx) => {
  const fast = createProgressReceiver({ store: ctx.store, tokens: createProgressTokens(SECRET), log: silentLog(), now: () => ctx.clock.now, intervalMs: 100 });
  assert.is(await fast.receive(report(), tokenOf('vcs-1-1')), 'recorded');
  ctx.clock.now += 99;
  assert.is(await fast.receive(report(), tokenOf('vcs-1-1')), 'throttled');
  ctx.clock.now += 1;
  assert.is(await fast.receive(report(), tokenOf('vcs-1-1')), 'recorded');
});

receive('the memories forget runs that stopped reporting: they stay as small as the runs reporting now', async (ctx) => {
  // Many runs of many videos over a day: each reports once, then is never heard of again.
  for (let id = 10; id < 400; id++) {
    await ctx.store.create({ wp_post_id: id, title: `v${id}`, original_video_url: `https://wp.example/${id}.mp4` });
    await ctx.store.transition(id, 'processing', { job_name: `vcs-${id}-1` });
    assert.is(await send(ctx, report({ jobName: `vcs-${id}-1`, videoId: id })), 'recorded');
    ctx.clock.now += 60_000;
  }
  const { runs, etas } = ctx.receiver.remembered();
  // Nothing older than five minutes is kept (and pruning runs at most every five minutes).
  assert.ok(runs <= 10 && etas <= 10, `remembered ${runs} runs and ${etas} ETAs`);
  assert.ok(ctx.receiver.eta(399) !== undefined, 'the latest report is still there');
  assert.is(ctx.receiver.eta(10), undefined, 'an hours-old one is not');
});

receive.run();
