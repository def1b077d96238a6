import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JobSpec, TranscodeResult } from '../../src/contract.ts';
import { createLocalRunner } from '../../src/controller/local-runner.ts';
import type { RunPhase, RunStatus } from '../../src/controller/runner.ts';
import {
  FAKE_COMMAND,
  TEST_LADDER,
  fakeEnv,
  processGone,
  readEvents,
  silentLog,
  waitFor,
  type FakeBehaviour,
  type FakeOptions,
} from '../support/fake-transcoder-runs.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PARENT = fileURLToPath(new URL('../support/controller-runner-parent.ts', import.meta.url));

type LocalRunner = ReturnType<typeof createLocalRunner>;

interface Ctx {
  dir: string;
  runsDir: string;
  events: string;
  runners: LocalRunner[];
  /** Processes a test started itself (not through a runner), killed at the end. */
  pids: number[];
}

const test = suite<Ctx>('local-runner', { dir: '', runsDir: '', events: '', runners: [], pids: [] });

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-local-runner-'));
  ctx.runsDir = path.join(ctx.dir, 'runs');
  ctx.events = path.join(ctx.dir, 'events.jsonl');
  ctx.runners = [];
  ctx.pids = [];
});

test.after.each(async (ctx) => {
  for (const runner of ctx.runners) await runner.close();
  for (const pid of ctx.pids) if (!processGone(pid)) process.kill(pid, 'SIGKILL');
  await rm(ctx.dir, { recursive: true, force: true });
});

function makeRunner(ctx: Ctx, behaviour: FakeBehaviour, opts: FakeOptions & { maxRunning?: number; childLog?: (line: string) => void } = {}): LocalRunner {
  const runner = createLocalRunner({
    command: FAKE_COMMAND,
    baseEnv: fakeEnv(behaviour, { log: ctx.events, ...opts }),
    runsDir: ctx.runsDir,
    maxRunning: opts.maxRunning ?? 2,
    log: silentLog(),
    childLog: opts.childLog,
  });
  ctx.runners.push(runner);
  return runner;
}

const resultPath = (ctx: Ctx, jobName: string) => path.join(ctx.runsDir, `${jobName}.result.json`);
const recordPath = (ctx: Ctx, jobName: string) => path.join(ctx.runsDir, `${jobName}.run.json`);

function spec(ctx: Ctx, videoId: number, attempt = 1): JobSpec {
  const jobName = `vcs-${videoId}-${attempt}`;
  return {
    jobName,
    videoId,
    sourceUrl: `https://wp.example/uploads/${videoId}.mp4`,
    outputDir: path.join(ctx.dir, 'hls', String(videoId)),
    workDir: path.join(ctx.dir, 'work', jobName),
    ladder: TEST_LADDER,
    resultPath: resultPath(ctx, jobName),
  };
}

async function runOf(runner: LocalRunner, jobName: string): Promise<RunStatus | undefined> {
  return (await runner.list()).find((r) => r.jobName === jobName);
}

/** Waits until the run has left `running`, and returns it. */
function settled(runner: LocalRunner, jobName: string): Promise<RunStatus> {
  return waitFor(`${jobName} to finish`, async () => {
    const run = await runOf(runner, jobName);
    return run && run.phase !== 'running' && run;
  });
}

/** Waits until the fake of `jobName` has installed its signal handlers (its `start` event). */
function started(ctx: Ctx, jobName: string): Promise<number> {
  return waitFor(`${jobName} to start`, async () => (await readEvents(ctx.events)).find((e) => e.event === 'start' && e.job === jobName)?.pid);
}

const readJson = async (file: string): Promise<unknown> => JSON.parse(await readFile(file, 'utf8'));

/** The pid of a process that has come and gone. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '']);
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });
}

// ── running ────────────────────────────────────────────────────────────────────────────────────

test('start → running → succeeded with the result the transcoder wrote', async (ctx) => {
  const gate = path.join(ctx.dir, 'gate');
  const runner = makeRunner(ctx, 'succeed', { gate });
  const job = spec(ctx, 7);
  await runner.start(job);

  const running = await runOf(runner, job.jobName);
  assert.is(running?.phase, 'running');
  assert.is(running?.videoId, 7);
  assert.type(running?.startedAt, 'number');
  assert.is(running?.result, undefined);
  const record = (await readJson(recordPath(ctx, job.jobName))) as { pid: number; videoId: number; resultPath: string };
  assert.is(record.videoId, 7);
  assert.is(record.resultPath, job.resultPath);
  assert.ok(!processGone(record.pid), 'the recorded pid is the live transcoder');

  await writeFile(gate, '');
  const done = await settled(runner, job.jobName);
  assert.is(done.phase, 'succeeded');
  assert.is(done.exitCode, 0);
  assert.is(done.reason, undefined);
  assert.ok(done.finishedAt! >= done.startedAt);
  assert.equal(done.result, await readJson(job.resultPath));
  assert.is(done.result?.ok, true);
  // The child saw the job contract's environment.
  const [start] = await readEvents(ctx.events);
  assert.equal([start?.event, start?.job, start?.videoId, start?.pid], ['start', 'vcs-7-1', 7, record.pid]);
});

test('a failure ends failed with the exit code (2 permanent, 1 retryable) and the transcoder result', async (ctx) => {
  const cases: [FakeBehaviour, number, string, boolean][] = [
    ['fail-permanent', 2, 'VCS_ERR_NOT_A_VIDEO', true],
    ['fail-retryable', 1, 'VCS_ERR_FFMPEG_FAILED', false],
  ];
  for (const [behaviour, exitCode, code, permanent] of cases) {
    const runner = makeRunner(ctx, behaviour);
    const job = spec(ctx, exitCode);
    await runner.start(job);
    const run = await settled(runner, job.jobName);
    assert.is(run.phase, 'failed', behaviour);
    assert.is(run.exitCode, exitCode, behaviour);
    assert.is(run.reason, undefined, behaviour);
    const result = run.result as Extract<TranscodeResult, { ok: false }>;
    assert.is(result.ok, false, behaviour);
    assert.equal([result.error.code, result.error.permanent], [code, permanent], behaviour);
  }
});

test('a crash without a result ends failed, with a reason naming the exit code', async (ctx) => {
  const runner = makeRunner(ctx, 'crash');
  const job = spec(ctx, 3);
  await runner.start(job);
  const run = await settled(runner, job.jobName);
  assert.is(run.phase, 'failed');
  assert.is(run.exitCode, 3);
  assert.is(run.result, undefined);
  assert.match(run.reason ?? '', /exited with code 3/);
});

test('start removes a result file left by an earlier run of the same name before starting', async (ctx) => {
  const runner = makeRunner(ctx, 'crash');
  const job = spec(ctx, 4);
  await mkdir(ctx.runsDir, { recursive: true });
  await writeFile(job.resultPath, JSON.stringify({ ok: true, jobName: job.jobName, videoId: 4, step: 'completed', output: {}, timings: {} }));
  await runner.start(job);
  const run = await settled(runner, job.jobName);
  assert.is(run.phase, 'failed', 'a stale success must not be read as this run’s outcome');
  assert.is(run.result, undefined);
});

test('start is idempotent by job name: a second start adopts the run, running or finished', async (ctx) => {
  const runner = makeRunner(ctx, 'succeed', { delayMs: 200 });
  const job = spec(ctx, 5);
  await runner.start(job);
  await runner.start(job);
  assert.is((await runner.list()).length, 1);
  await settled(runner, job.jobName);
  await runner.start(job);
  assert.is((await runOf(runner, job.jobName))?.phase, 'succeeded', 'a finished run is not started again');
  const starts = (await readEvents(ctx.events)).filter((e) => e.event === 'start');
  assert.is(starts.length, 1);
});

test('maxRunning: a start beyond the limit is refused and spawns nothing; a stopping run frees its slot', async (ctx) => {
  const runner = makeRunner(ctx, 'hang', { maxRunning: 1 });
  const first = spec(ctx, 1);
  const second = spec(ctx, 2);
  await runner.start(first);
  try {
    await runner.start(second);
    assert.unreachable('the second start should be refused');
  } catch (err) {
    assert.match((err as Error).message, /refusing to start vcs-2-1: .*MAX_CONCURRENT_JOBS=1/);
  }
  assert.equal((await runner.list()).map((r) => r.jobName), ['vcs-1-1']);
  assert.not.ok(existsSync(recordPath(ctx, second.jobName)));

  await started(ctx, first.jobName);
  await runner.stop(first.jobName, 'test');
  await runner.start(second);
  assert.equal((await runner.list()).map((r) => r.jobName).sort(), ['vcs-1-1', 'vcs-2-1']);
  await started(ctx, second.jobName);
  assert.is((await settled(runner, first.jobName)).exitCode, 143);
  assert.equal(
    (await readEvents(ctx.events)).filter((e) => e.event === 'start').map((e) => e.job),
    ['vcs-1-1', 'vcs-2-1'],
    'the refused start spawned nothing',
  );
});

test('stop sends SIGTERM: the run writes its cancellation and ends failed with exit 143', async (ctx) => {
  const runner = makeRunner(ctx, 'hang');
  const job = spec(ctx, 9);
  await runner.start(job);
  const pid = await started(ctx, job.jobName);
  await runner.stop(job.jobName, 'video deleted');
  const run = await settled(runner, job.jobName);
  assert.is(run.phase, 'failed');
  assert.is(run.exitCode, 143);
  assert.is(run.result?.ok, false);
  assert.is(run.result && !run.result.ok && run.result.error.code, 'VCS_ERR_CANCELLED');
  assert.ok(processGone(pid));
  assert.equal(
    (await readEvents(ctx.events)).map((e) => e.event),
    ['start', 'sigterm', 'exit'],
  );
  // Stopping a finished or unknown run is a no-op.
  await runner.stop(job.jobName, 'again');
  await runner.stop('vcs-404-1', 'unknown');
  assert.is((await readEvents(ctx.events)).length, 3);
});

test('forget removes a finished run, its record and its result file; a running run is kept', async (ctx) => {
  const runner = makeRunner(ctx, 'succeed');
  const job = spec(ctx, 11);
  await runner.start(job);
  await settled(runner, job.jobName);
  assert.ok(existsSync(recordPath(ctx, job.jobName)));
  assert.ok(existsSync(job.resultPath));
  await runner.forget(job.jobName);
  assert.equal(await runner.list(), []);
  assert.not.ok(existsSync(recordPath(ctx, job.jobName)));
  assert.not.ok(existsSync(job.resultPath));

  const hanging = makeRunner(ctx, 'hang');
  const other = spec(ctx, 12);
  await hanging.start(other);
  await hanging.forget(other.jobName);
  assert.is((await runOf(hanging, other.jobName))?.phase, 'running');
  assert.ok(existsSync(recordPath(ctx, other.jobName)));
  await runner.forget('vcs-404-1');
});

test('onChange fires when a run finishes, with the finished phase already listed', async (ctx) => {
  const gate = path.join(ctx.dir, 'gate');
  const runner = makeRunner(ctx, 'succeed', { gate });
  const seen: (RunPhase | undefined)[] = [];
  runner.onChange(() => void runner.list().then((runs) => seen.push(runs[0]?.phase)));
  const job = spec(ctx, 13);
  await runner.start(job);
  await started(ctx, job.jobName);
  assert.equal(seen, [], 'starting is not a change of phase');
  await writeFile(gate, '');
  await settled(runner, job.jobName);
  await waitFor('the listener', () => seen.length > 0);
  assert.equal(seen, ['succeeded']);
});

test('childLog receives the child’s stderr lines', async (ctx) => {
  const lines: string[] = [];
  const runner = makeRunner(ctx, 'succeed', { childLog: (line) => lines.push(line) });
  const job = spec(ctx, 14);
  await runner.start(job);
  await settled(runner, job.jobName);
  await waitFor('a log line', () => lines.length > 0);
  assert.equal(JSON.parse(lines[0]!), { level: 30, name: 'transcoder', job: 'vcs-14-1', msg: 'fake transcode started' });
});

test('close sends SIGTERM to live runs and resolves once they have exited', async (ctx) => {
  const runner = makeRunner(ctx, 'hang');
  const job = spec(ctx, 15);
  await runner.start(job);
  const pid = await started(ctx, job.jobName);
  await runner.close();
  assert.ok(processGone(pid));
  assert.ok((await readEvents(ctx.events)).some((e) => e.event === 'sigterm'));
  // Settled before after.each closes the runner again: a close() between a child's exit and the
  // runner reading its result never resolves (see the report on local-runner.ts close()).
  assert.is((await settled(runner, job.jobName)).exitCode, 143);
});

// ── recovery after a restart ───────────────────────────────────────────────────────────────────

const okResult = (jobName: string, videoId: number): TranscodeResult => ({
  ok: true,
  jobName,
  videoId,
  step: 'completed',
  output: { renditions: [], posterBytes: 10, totalBytes: 110, durationSeconds: 2 },
  timings: { total: 1 },
});

const errorResult = (jobName: string, videoId: number, code: string, permanent: boolean): TranscodeResult => ({
  ok: false,
  jobName,
  videoId,
  step: 'probing',
  error: { step: 'probing', code, message: `${code} happened`, permanent },
  timings: {},
});

/** What a previous service process left in the runs folder for `videoId`. */
async function leaveRecord(ctx: Ctx, videoId: number, pid: number, result?: TranscodeResult): Promise<string> {
  const jobName = `vcs-${videoId}-1`;
  await mkdir(ctx.runsDir, { recursive: true });
  await writeFile(recordPath(ctx, jobName), JSON.stringify({ jobName, videoId, pid, startedAt: Date.now() - 60_000, resultPath: resultPath(ctx, jobName) }));
  if (result) await writeFile(resultPath(ctx, jobName), JSON.stringify(result));
  return jobName;
}

test('recover reports what became of runs from before a restart, without running anything again', async (ctx) => {
  const gone = await deadPid();
  const lostRun = await leaveRecord(ctx, 1, gone);
  const succeeded = await leaveRecord(ctx, 2, gone, okResult('vcs-2-1', 2));
  const cancelled = await leaveRecord(ctx, 3, gone, errorResult('vcs-3-1', 3, 'VCS_ERR_CANCELLED', false));
  const permanent = await leaveRecord(ctx, 4, gone, errorResult('vcs-4-1', 4, 'VCS_ERR_NOT_A_VIDEO', true));
  // A live pid that is not this run's transcoder (a recycled pid): this very test process.
  const recycled = await leaveRecord(ctx, 5, process.pid);

  const runner = makeRunner(ctx, 'succeed');
  let changes = 0;
  runner.onChange(() => changes++);
  await runner.recover();
  const runs = await waitFor('every recovered run to settle', async () => {
    const all = await runner.list();
    return all.length === 5 && all.every((r) => r.phase !== 'running') && all;
  });
  const byName = new Map(runs.map((r) => [r.jobName, r]));

  assert.is(byName.get(lostRun)?.phase, 'lost', '(a) process gone, no result');
  assert.match(byName.get(lostRun)?.reason ?? '', /died with the service/);
  assert.is(byName.get(lostRun)?.interrupted, false, 'not a graceful shutdown: its restart counts as a retry');
  assert.is(byName.get(succeeded)?.phase, 'succeeded', '(b) result ok');
  assert.equal(byName.get(succeeded)?.result, okResult('vcs-2-1', 2));
  assert.is(byName.get(cancelled)?.phase, 'lost', '(c) cancelled by the dying service');
  assert.is(byName.get(permanent)?.phase, 'failed', '(d) a real failure');
  assert.equal(byName.get(permanent)?.result, errorResult('vcs-4-1', 4, 'VCS_ERR_NOT_A_VIDEO', true));
  assert.is(byName.get(recycled)?.phase, 'lost', '(e) a recycled pid is not the run');
  assert.equal(
    runs.map((r) => r.videoId).sort(),
    [1, 2, 3, 4, 5],
  );
  assert.is(changes, 5);
  assert.equal(await readEvents(ctx.events), [], 'nothing was encoded again');

  // Recovered runs are forgotten like any other, records and results included.
  await runner.forget(succeeded);
  assert.not.ok(existsSync(recordPath(ctx, succeeded)));
  assert.not.ok(existsSync(resultPath(ctx, succeeded)));
});

test('recover: a live transcoder of another job behind the recorded pid is neither adopted nor signalled', async (ctx) => {
  await mkdir(ctx.runsDir, { recursive: true });
  const other = spawn(process.execPath, FAKE_COMMAND.args, {
    env: { ...fakeEnv('hang', { log: ctx.events }), VCS_JOB_NAME: 'vcs-99-1', VCS_VIDEO_ID: '99', VCS_LADDER: '{}', VCS_RESULT_PATH: resultPath(ctx, 'vcs-99-1') },
    stdio: 'ignore',
  });
  ctx.pids.push(other.pid!);
  await started(ctx, 'vcs-99-1');
  const jobName = await leaveRecord(ctx, 6, other.pid!);

  const runner = makeRunner(ctx, 'succeed');
  await runner.recover();
  const run = await settled(runner, jobName);
  assert.is(run.phase, 'lost');
  await runner.stop(jobName, 'test');
  assert.not.ok(processGone(other.pid!), 'the other job’s process is left alone');
  assert.not.ok((await readEvents(ctx.events)).some((e) => e.event === 'sigterm'));
});

test('recover: a run whose transcoder still lives stays running until it ends; stop signals it by pid', async (ctx) => {
  await mkdir(ctx.runsDir, { recursive: true });
  const jobName = 'vcs-8-1';
  const survivor = spawn(process.execPath, FAKE_COMMAND.args, {
    env: { ...fakeEnv('hang', { log: ctx.events }), VCS_JOB_NAME: jobName, VCS_VIDEO_ID: '8', VCS_LADDER: '{}', VCS_RESULT_PATH: resultPath(ctx, jobName) },
    stdio: 'ignore',
  });
  ctx.pids.push(survivor.pid!);
  await started(ctx, jobName);
  await leaveRecord(ctx, 8, survivor.pid!);

  const runner = makeRunner(ctx, 'succeed');
  await runner.recover();
  await new Promise((resolve) => setTimeout(resolve, 300)); // past one of the runner's 200 ms liveness checks
  assert.is((await runOf(runner, jobName))?.phase, 'running');

  await runner.stop(jobName, 'video deleted');
  const run = await settled(runner, jobName);
  assert.ok(processGone(survivor.pid!));
  assert.is(run.phase, 'lost', 'a cancelled run is reported lost');
  assert.ok((await readEvents(ctx.events)).some((e) => e.event === 'sigterm' && e.job === jobName));
});

test('recover removes an unreadable record and ignores other files', async (ctx) => {
  await mkdir(ctx.runsDir, { recursive: true });
  await writeFile(path.join(ctx.runsDir, 'vcs-1-1.run.json'), '{not json');
  await writeFile(path.join(ctx.runsDir, 'notes.txt'), 'keep');
  const runner = makeRunner(ctx, 'succeed');
  await runner.recover();
  assert.equal(await runner.list(), []);
  assert.not.ok(existsSync(path.join(ctx.runsDir, 'vcs-1-1.run.json')));
  assert.ok(existsSync(path.join(ctx.runsDir, 'notes.txt')));
});

test('recover without a runs folder reports nothing', async (ctx) => {
  const runner = makeRunner(ctx, 'succeed');
  await runner.recover();
  assert.equal(await runner.list(), []);
});

// ── the lifeline ───────────────────────────────────────────────────────────────────────────────

test('lifeline: when the service process is SIGKILLed, its transcoder stops by itself', async (ctx) => {
  await mkdir(ctx.runsDir, { recursive: true });
  const parent = spawn(process.execPath, ['--import', 'tsx', PARENT, ctx.runsDir, ctx.events], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  ctx.pids.push(parent.pid!);
  let out = '';
  parent.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const childPid = await waitFor('the parent to report its transcoder', () => out.includes('\n') && (JSON.parse(out.split('\n')[0]!) as { pid: number }).pid, { timeoutMs: 10_000 });
  ctx.pids.push(childPid);
  await started(ctx, 'vcs-1-1');
  assert.not.ok(processGone(childPid));

  parent.kill('SIGKILL');
  await waitFor('the orphaned transcoder to exit', () => processGone(childPid), { timeoutMs: 5000 });
  const events = (await readEvents(ctx.events)).map((e) => [e.event, e.code]);
  assert.equal(events, [['start', undefined], ['disconnect', undefined], ['exit', 143]]);

  // The next service finds the run cut short by its predecessor's death: lost, to be run again.
  const runner = makeRunner(ctx, 'succeed');
  await runner.recover();
  assert.is((await settled(runner, 'vcs-1-1')).phase, 'lost');
});

test.run();
