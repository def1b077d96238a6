import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Action, Observation, ReconcileSettings } from '../../src/controller/actions.ts';
import { reconcile } from '../../src/controller/reconcile.ts';
import type { RunPhase, RunStatus } from '../../src/controller/runner.ts';
import type { TranscodeOutput, TranscodeResult } from '../../src/contract.ts';
import type { VideoJob } from '../../src/jobs/model.ts';
import { newVideoJob } from '../../src/jobs/model.ts';

// ── clock and settings ─────────────────────────────────────────────────────────────────────────
const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const MIN = 60_000;
/** An ISO timestamp `ms` before NOW. */
const ago = (ms: number): string => new Date(NOW - ms).toISOString();

const SETTINGS: ReconcileSettings = {
  maxConcurrentJobs: 2,
  processingTimeoutMs: 60 * MIN,
  retryFailedAfterMs: 5 * MIN,
  maxRetries: 3,
};

// ── builders ───────────────────────────────────────────────────────────────────────────────────
function video(id: number, over: Partial<VideoJob> = {}): VideoJob {
  return {
    ...newVideoJob({ wp_post_id: id, title: `Video ${id}`, original_video_url: `https://example.com/${id}.mp4` }, ago(MIN)),
    compression_step: null,
    created_at: ago(24 * 60 * MIN - id * 1000), // a larger id is newer unless a test says otherwise
    ...over,
  };
}

const pending = (id: number, over: Partial<VideoJob> = {}): VideoJob => video(id, over);

/** In processing on attempt `attempt`, started a minute ago, compressing. */
const processing = (id: number, attempt = 1, over: Partial<VideoJob> = {}): VideoJob =>
  video(id, { compression_status: 'processing', compression_step: 'compressing', job_name: `vcs-${id}-${attempt}`, started_at: ago(MIN), ...over });

/** A retryable failure ten minutes old, never retried. */
const failed = (id: number, over: Partial<VideoJob> = {}): VideoJob =>
  video(id, {
    compression_status: 'failed',
    error_code: 'VCS_ERR_FFMPEG_FAILED',
    error_message: 'ffmpeg exited with code 1',
    failed_at_step: 'compressing',
    retryable: true,
    failed_at: ago(10 * MIN),
    job_name: `vcs-${id}-1`,
    ...over,
  });

function run(id: number, attempt: number, phase: RunPhase, over: Partial<RunStatus> = {}): RunStatus {
  return { jobName: `vcs-${id}-${attempt}`, videoId: id, phase, startedAt: NOW - MIN, ...over };
}

const OUTPUT: TranscodeOutput = { renditions: [], posterBytes: 100, totalBytes: 1000, durationSeconds: 2 };

const okResult = (id: number, attempt: number): TranscodeResult => ({ ok: true, jobName: `vcs-${id}-${attempt}`, videoId: id, step: 'completed', output: OUTPUT, timings: {} });

const errorResult = (id: number, attempt: number, code: string, permanent: boolean): TranscodeResult => ({
  ok: false,
  jobName: `vcs-${id}-${attempt}`,
  videoId: id,
  step: 'probing',
  error: { step: 'probing', code, message: `${code} happened`, permanent },
  timings: {},
});

function observe(over: Partial<Observation> = {}): Observation {
  return { now: NOW, paused: false, pending: [], processing: [], failed: [], runs: [], ...over };
}

/** One line per action, enough to compare whole passes in a table. */
function summary(actions: Action[]): string[] {
  return actions.map((a) => {
    switch (a.kind) {
      case 'start':
        return `${a.kind} ${a.video.wp_post_id} ${a.jobName}`;
      case 'restart':
        return `${a.kind} ${a.video.wp_post_id} ${a.jobName}${a.counted ? ' counted' : ''}`;
      case 'complete':
      case 'retry':
        return `${a.kind} ${a.video.wp_post_id}`;
      case 'fail':
        return `fail ${a.video.wp_post_id} ${a.code}`;
      case 'stop':
      case 'forget':
        return `${a.kind} ${a.run.jobName}`;
    }
  });
}

const pass = (obs: Partial<Observation>, settings: Partial<ReconcileSettings> = {}): Action[] => reconcile(observe(obs), { ...SETTINGS, ...settings });

function only<K extends Action['kind']>(actions: Action[], kind: K): Extract<Action, { kind: K }> {
  assert.is(actions.length, 1, `one action expected, got ${JSON.stringify(summary(actions))}`);
  const [action] = actions;
  assert.is(action?.kind, kind);
  return action as Extract<Action, { kind: K }>;
}

// ── whole passes, as tables ────────────────────────────────────────────────────────────────────
interface Case {
  name: string;
  obs: Partial<Observation>;
  settings?: Partial<ReconcileSettings>;
  expect: string[];
}

const cases: Case[] = [
  // Queue order
  {
    name: 'FIFO: the oldest pending videos start first, whatever the input order',
    obs: { pending: [pending(3), pending(1), pending(2)] },
    expect: ['start 1 vcs-1-1', 'start 2 vcs-2-1'],
  },
  {
    name: 'high priority skips the queue',
    obs: { pending: [pending(1), pending(2), pending(3, { priority: 'high' })] },
    expect: ['start 3 vcs-3-1', 'start 1 vcs-1-1'],
  },
  {
    name: 'same created_at: the store’s (insertion) order, not the id',
    obs: { pending: [pending(9, { created_at: ago(MIN) }), pending(4, { created_at: ago(MIN) }), pending(7, { created_at: ago(MIN) })] },
    expect: ['start 9 vcs-9-1', 'start 4 vcs-4-1'],
  },
  {
    name: 'created_at is compared as time, not as text (offsets)',
    obs: { pending: [pending(1, { created_at: '2024-05-01T11:30:00Z' }), pending(2, { created_at: '2024-05-01T13:00:00+02:00' })] },
    settings: { maxConcurrentJobs: 1 },
    expect: ['start 2 vcs-2-1'],
  },
  {
    name: 'a re-queued video starts its next attempt, never an old name',
    obs: { pending: [pending(5, { job_name: 'vcs-5-2', retry_count: 1 })] },
    expect: ['start 5 vcs-5-3'],
  },
  // Concurrency
  {
    name: 'processing videos occupy slots',
    obs: { processing: [processing(1)], runs: [run(1, 1, 'running')], pending: [pending(2), pending(3)] },
    expect: ['start 2 vcs-2-1'],
  },
  {
    name: 'no slot left: nothing starts',
    obs: { processing: [processing(1), processing(2)], runs: [run(1, 1, 'running'), run(2, 1, 'running')], pending: [pending(3)] },
    expect: [],
  },
  {
    name: 'more in flight than the limit (limit lowered): nothing starts',
    obs: { processing: [processing(1), processing(2), processing(3)], runs: [run(1, 1, 'running'), run(2, 1, 'running'), run(3, 1, 'running')], pending: [pending(4)] },
    expect: [],
  },
  {
    name: 'restarts count as in flight',
    obs: { processing: [processing(1)], pending: [pending(2), pending(3)] },
    expect: ['restart 1 vcs-1-2', 'start 2 vcs-2-1'],
  },
  {
    name: 'completing frees a slot for a start in the same pass',
    obs: { processing: [processing(1)], runs: [run(1, 1, 'succeeded', { result: okResult(1, 1) })], pending: [pending(2), pending(3)] },
    settings: { maxConcurrentJobs: 1 },
    expect: ['complete 1', 'start 2 vcs-2-1'],
  },
  {
    name: 'failing frees a slot for a start in the same pass',
    obs: { processing: [processing(1)], runs: [run(1, 1, 'failed', { exitCode: 1 })], pending: [pending(2)] },
    settings: { maxConcurrentJobs: 1 },
    expect: ['fail 1 VCS_ERR_RUN_FAILED', 'start 2 vcs-2-1'],
  },
  {
    name: 'a timeout frees a slot too',
    obs: { processing: [processing(1, 1, { started_at: ago(61 * MIN) })], runs: [run(1, 1, 'running')], pending: [pending(2)] },
    settings: { maxConcurrentJobs: 1 },
    expect: ['fail 1 VCS_ERR_PROCESSING_TIMEOUT', 'start 2 vcs-2-1'],
  },
  {
    name: 'maxConcurrentJobs 0 starts nothing',
    obs: { pending: [pending(1)] },
    settings: { maxConcurrentJobs: 0 },
    expect: [],
  },
  // Paused
  {
    name: 'paused: no starts, but finishes, restarts and retries go on',
    obs: {
      paused: true,
      processing: [processing(1), processing(2)],
      runs: [run(1, 1, 'succeeded', { result: okResult(1, 1) })],
      failed: [failed(3)],
      pending: [pending(4)],
    },
    expect: ['complete 1', 'restart 2 vcs-2-2', 'retry 3'],
  },
  // Retries
  {
    name: 'retry: just before RETRY_FAILED_AFTER, not yet',
    obs: { failed: [failed(1, { failed_at: ago(5 * MIN - 1) })] },
    expect: [],
  },
  {
    name: 'retry: exactly at RETRY_FAILED_AFTER',
    obs: { failed: [failed(1, { failed_at: ago(5 * MIN) })] },
    expect: ['retry 1'],
  },
  {
    name: 'retry: after RETRY_FAILED_AFTER',
    obs: { failed: [failed(1, { failed_at: ago(5 * MIN + 1) })] },
    expect: ['retry 1'],
  },
  {
    name: 'retry: the last retry allowed, then none',
    obs: { failed: [failed(1, { retry_count: 2 }), failed(2, { retry_count: 3 }), failed(3, { retry_count: 9 })] },
    expect: ['retry 1'],
  },
  {
    name: 'retry: never a permanent failure',
    obs: {
      failed: [
        failed(1, { retryable: false, error_code: 'VCS_ERR_NOT_A_VIDEO' }),
        failed(2, { retryable: null }),
        failed(3, { retryable: true, error_code: 'VCS_ERR_SOURCE_NOT_FOUND' }), // the document contradicts the catalogue
        failed(4, { retryable: true, error_code: 'VCS_ERR_SOMETHING_NEW' }),
      ],
    },
    expect: ['retry 4'],
  },
  {
    name: 'retry: a failure without failed_at waits',
    obs: { failed: [failed(1, { failed_at: null }), failed(2, { failed_at: 'not a date' })] },
    expect: [],
  },
  // Orphans and lost runs
  {
    name: 'orphans are restarted with attempt + 1, not counted (nothing says their run ever ran)',
    obs: { processing: [processing(5, 2, { retry_count: 3 }), processing(6, 1, { job_name: null })] },
    expect: ['restart 5 vcs-5-3', 'restart 6 vcs-6-1'],
  },
  {
    name: 'lost runs are restarted with attempt + 1, counted',
    obs: { processing: [processing(5, 2)], runs: [run(5, 2, 'lost', { reason: 'pod vanished' })] },
    expect: ['restart 5 vcs-5-3 counted'],
  },
  {
    name: 'a run interrupted by a graceful shutdown is restarted without counting',
    obs: { processing: [processing(5, 2, { retry_count: 3 })], runs: [run(5, 2, 'lost', { interrupted: true })] },
    expect: ['restart 5 vcs-5-3'],
  },
  {
    name: 'a run lost once more than MAX_RETRIES allows fails the video (an encode that keeps killing its host)',
    obs: {
      processing: [processing(5, 4, { retry_count: 3 }), processing(7, 3, { retry_count: 2 })],
      runs: [run(5, 4, 'lost'), run(7, 3, 'lost')],
    },
    expect: ['fail 5 VCS_ERR_RUN_LOST', 'restart 7 vcs-7-4 counted'],
  },
  {
    name: 'a restart goes past a stale run the runner still reports',
    obs: { processing: [processing(5, 2)], runs: [run(5, 3, 'running')] },
    expect: ['stop vcs-5-3', 'restart 5 vcs-5-4'],
  },
  {
    name: 'a running wanted run needs nothing',
    obs: { processing: [processing(5, 2)], runs: [run(5, 2, 'running')] },
    expect: [],
  },
  // Timeouts
  {
    name: 'timeout with a running run',
    obs: { processing: [processing(1, 1, { started_at: ago(60 * MIN + 1) })], runs: [run(1, 1, 'running')] },
    expect: ['fail 1 VCS_ERR_PROCESSING_TIMEOUT'],
  },
  {
    name: 'exactly at the timeout is not yet a timeout',
    obs: { processing: [processing(1, 1, { started_at: ago(60 * MIN) })], runs: [run(1, 1, 'running')] },
    expect: [],
  },
  {
    name: 'a timeout wins over restarting an orphan or a lost run',
    obs: { processing: [processing(1, 1, { started_at: ago(2 * 60 * MIN) }), processing(2, 1, { started_at: ago(2 * 60 * MIN) })], runs: [run(2, 1, 'lost')] },
    expect: ['fail 1 VCS_ERR_PROCESSING_TIMEOUT', 'fail 2 VCS_ERR_PROCESSING_TIMEOUT'],
  },
  {
    name: "a finished run's outcome wins over the timeout",
    obs: {
      processing: [processing(1, 1, { started_at: ago(2 * 60 * MIN) }), processing(2, 1, { started_at: ago(2 * 60 * MIN) })],
      runs: [run(1, 1, 'succeeded', { result: okResult(1, 1) }), run(2, 1, 'failed', { result: errorResult(2, 1, 'VCS_ERR_NOT_A_VIDEO', true) })],
    },
    expect: ['complete 1', 'fail 2 VCS_ERR_NOT_A_VIDEO'],
  },
  {
    name: 'no started_at: no timeout',
    obs: { processing: [processing(1, 1, { started_at: null })], runs: [run(1, 1, 'running')] },
    expect: [],
  },
  // Unwanted runs
  {
    name: 'stop the run of a deleted video',
    obs: { runs: [run(1, 1, 'running')] },
    expect: ['stop vcs-1-1'],
  },
  {
    name: 'stop the run of a re-queued video, which starts its next attempt',
    obs: { pending: [pending(1, { job_name: 'vcs-1-1' })], runs: [run(1, 1, 'running')] },
    expect: ['stop vcs-1-1', 'start 1 vcs-1-2'],
  },
  {
    name: 'stop a superseded attempt, leave the current one running',
    obs: { processing: [processing(1, 3)], runs: [run(1, 2, 'running'), run(1, 3, 'running')] },
    expect: ['stop vcs-1-2'],
  },
  {
    name: 'forget finished runs nobody wants',
    obs: {
      processing: [processing(4, 2)],
      runs: [run(1, 1, 'succeeded', { result: okResult(1, 1) }), run(2, 1, 'failed'), run(3, 1, 'lost'), run(4, 1, 'failed'), run(4, 2, 'running')],
    },
    expect: ['forget vcs-1-1', 'forget vcs-2-1', 'forget vcs-3-1', 'forget vcs-4-1'],
  },
  // One action per video
  {
    name: 'a video listed twice in pending starts once',
    obs: { pending: [pending(1), pending(1), pending(2)] },
    expect: ['start 1 vcs-1-1', 'start 2 vcs-2-1'],
  },
  {
    name: 'a video both processing and pending (stale read) is not started',
    obs: { processing: [processing(1)], runs: [run(1, 1, 'running')], pending: [pending(1), pending(2)] },
    expect: ['start 2 vcs-2-1'],
  },
  {
    name: 'a video both failed and pending is retried, not also started',
    obs: { failed: [failed(1)], pending: [pending(1), pending(2)] },
    expect: ['retry 1', 'start 2 vcs-2-1'],
  },
  {
    name: 'a video both processing and failed is not retried',
    obs: { processing: [processing(1)], runs: [run(1, 1, 'running')], failed: [failed(1)] },
    expect: [],
  },
  {
    name: 'a run reported twice is handled once',
    obs: { processing: [processing(1)], runs: [run(1, 1, 'succeeded', { result: okResult(1, 1) }), run(1, 1, 'succeeded', { result: okResult(1, 1) })] },
    expect: ['complete 1'],
  },
  // Output order
  {
    name: 'finishes, then stop/forget, restarts, retries, starts; each group by id',
    obs: {
      pending: [pending(20), pending(21)],
      failed: [failed(31), failed(30)],
      processing: [processing(12), processing(11), processing(10), processing(13)],
      runs: [run(99, 1, 'running'), run(98, 1, 'failed'), run(13, 1, 'failed'), run(11, 1, 'running'), run(10, 1, 'succeeded', { result: okResult(10, 1) })],
    },
    settings: { maxConcurrentJobs: 3 },
    expect: ['complete 10', 'fail 13 VCS_ERR_RUN_FAILED', 'forget vcs-98-1', 'stop vcs-99-1', 'restart 12 vcs-12-2', 'retry 30', 'retry 31', 'start 20 vcs-20-1'],
  },
];

for (const c of cases) {
  test(c.name, () => {
    assert.equal(summary(pass(c.obs, c.settings)), c.expect);
  });
}

// ── the fields of each action ──────────────────────────────────────────────────────────────────
test('run names carry the installation’s prefix: starts and restarts (attempts of any prefix count)', () => {
  const settings = { ...SETTINGS, jobNamePrefix: 'prod' };
  const obs = observe({ pending: [pending(1)], processing: [processing(2, 1, { job_name: 'vcs-2-1' })], runs: [] });
  assert.equal(summary(reconcile(obs, settings)), ['restart 2 prod-2-2', 'start 1 prod-1-1']);
});

test('complete carries the run and its output', () => {
  const r = run(1, 1, 'succeeded', { result: okResult(1, 1) });
  const action = only(pass({ processing: [processing(1)], runs: [r] }), 'complete');
  assert.equal(action.run, r);
  assert.equal(action.output, OUTPUT);
});

test("a failed run with a result fails with the transcoder's error", () => {
  for (const permanent of [true, false]) {
    const r = run(1, 1, 'failed', { result: errorResult(1, 1, 'VCS_ERR_SOURCE_UNREADABLE', permanent), exitCode: permanent ? 2 : 1 });
    const action = only(pass({ processing: [processing(1)], runs: [r] }), 'fail');
    assert.equal(action, {
      kind: 'fail',
      video: processing(1),
      run: r,
      code: 'VCS_ERR_SOURCE_UNREADABLE',
      message: 'VCS_ERR_SOURCE_UNREADABLE happened',
      step: 'probing',
      retryable: !permanent,
    });
  }
});

test('a failed run without a result fails with VCS_ERR_RUN_FAILED, its reason or exit code, at the current step', () => {
  const table: [Partial<RunStatus>, Partial<VideoJob>, string, string, boolean][] = [
    [{ reason: 'BackoffLimitExceeded' }, {}, 'Run failed: BackoffLimitExceeded', 'compressing', true],
    [{ reason: 'PodFailurePolicy', permanent: true }, {}, 'Run failed: PodFailurePolicy', 'compressing', false],
    [{ exitCode: 137 }, { compression_step: 'downloading' }, 'Run exited with code 137', 'downloading', true],
    [{ exitCode: null }, { compression_step: null }, 'Run failed without a result', 'queued', true],
  ];
  for (const [runOver, videoOver, message, step, retryable] of table) {
    const action = only(pass({ processing: [processing(1, 1, videoOver)], runs: [run(1, 1, 'failed', runOver)] }), 'fail');
    assert.equal({ code: action.code, message: action.message, step: action.step, retryable: action.retryable }, { code: 'VCS_ERR_RUN_FAILED', message, step, retryable }, message);
    assert.ok(action.run, 'the run is attached so the loop forgets it');
  }
});

test('a run that succeeded without a result fails, retryable', () => {
  const action = only(pass({ processing: [processing(1, 1, { compression_step: 'finalizing' })], runs: [run(1, 1, 'succeeded', { exitCode: 0 })] }), 'fail');
  assert.is(action.code, 'VCS_ERR_RUN_FAILED');
  assert.match(action.message, /without a result/);
  assert.is(action.step, 'finalizing');
  assert.is(action.retryable, true);
});

test('a run that succeeded with an error result fails with that error', () => {
  const r = run(1, 1, 'succeeded', { result: errorResult(1, 1, 'VCS_ERR_NOT_A_VIDEO', true) });
  const action = only(pass({ processing: [processing(1)], runs: [r] }), 'fail');
  assert.equal([action.code, action.retryable], ['VCS_ERR_NOT_A_VIDEO', false]);
});

test('a timeout fails with "Processing timeout" at the current step, with the run when there is one', () => {
  const old = ago(3 * 60 * MIN);
  const r = run(1, 1, 'running');
  const withRun = only(pass({ processing: [processing(1, 1, { started_at: old, compression_step: 'downloading' })], runs: [r] }), 'fail');
  assert.equal(withRun, {
    kind: 'fail',
    video: processing(1, 1, { started_at: old, compression_step: 'downloading' }),
    run: r,
    code: 'VCS_ERR_PROCESSING_TIMEOUT',
    message: 'Processing timeout',
    step: 'downloading',
    retryable: true,
  });
  const orphan = only(pass({ processing: [processing(2, 1, { started_at: old, compression_step: null })] }), 'fail');
  assert.not.ok('run' in orphan, 'no run key for an orphan');
  assert.equal([orphan.code, orphan.message, orphan.step, orphan.retryable], ['VCS_ERR_PROCESSING_TIMEOUT', 'Processing timeout', 'queued', true]);
});

test('restart and stop reasons say why', () => {
  assert.match(only(pass({ processing: [processing(1, 2)] }), 'restart').reason, /vcs-1-2 not found/);
  assert.match(only(pass({ processing: [processing(1, 1, { job_name: null })] }), 'restart').reason, /no run was started/);
  const lost = only(pass({ processing: [processing(1, 4, { retry_count: 3 })], runs: [run(1, 4, 'lost', { reason: 'node lost' })] }), 'fail');
  assert.equal([lost.code, lost.retryable, lost.step], ['VCS_ERR_RUN_LOST', false, 'compressing']);
  assert.match(lost.message, /^Run lost 4 times .*out of memory.*node lost/);
  assert.match(only(pass({ processing: [processing(1)], runs: [run(1, 1, 'lost', { reason: 'node lost' })] }), 'restart').reason, /lost: node lost/);
  assert.match(only(pass({ runs: [run(1, 1, 'running')] }), 'stop').reason, /no longer processing/);
  assert.match(only(pass({ processing: [processing(1, 3)], runs: [run(1, 2, 'running'), run(1, 3, 'running')] }), 'stop').reason, /superseded attempt.*vcs-1-3/);
});

test('every video gets at most one video action, in a busy mixed pass', () => {
  const actions = pass(
    {
      processing: [processing(1), processing(2), processing(3, 1, { started_at: ago(5 * 60 * MIN) })],
      runs: [run(1, 1, 'succeeded', { result: okResult(1, 1) }), run(2, 1, 'lost'), run(3, 1, 'running'), run(4, 1, 'running')],
      failed: [failed(1), failed(4), failed(5)],
      pending: [pending(1), pending(2), pending(4), pending(5), pending(6), pending(6)],
    },
    { maxConcurrentJobs: 10 },
  );
  const ids = actions.flatMap((a) => ('video' in a ? [a.video.wp_post_id] : []));
  assert.equal([...ids].sort((a, b) => a - b), [...new Set(ids)].sort((a, b) => a - b), JSON.stringify(summary(actions)));
  assert.equal(summary(actions), ['complete 1', 'fail 3 VCS_ERR_PROCESSING_TIMEOUT', 'stop vcs-4-1', 'restart 2 vcs-2-2 counted', 'retry 4', 'retry 5', 'start 6 vcs-6-1']);
});

test('the same observation in any input order gives the same actions', () => {
  const obs = observe({
    pending: [pending(20), pending(22, { priority: 'high' }), pending(21)],
    failed: [failed(30), failed(31)],
    processing: [processing(10), processing(11), processing(12)],
    runs: [run(10, 1, 'succeeded', { result: okResult(10, 1) }), run(11, 1, 'lost'), run(98, 1, 'failed'), run(99, 1, 'running')],
  });
  const expected = reconcile(obs, { ...SETTINGS, maxConcurrentJobs: 4 });
  const reversed = observe({ pending: [...obs.pending].reverse(), failed: [...obs.failed].reverse(), processing: [...obs.processing].reverse(), runs: [...obs.runs].reverse() });
  assert.equal(reconcile(reversed, { ...SETTINGS, maxConcurrentJobs: 4 }), expected);
  assert.equal(summary(expected), ['complete 10', 'forget vcs-98-1', 'stop vcs-99-1', 'restart 11 vcs-11-2 counted', 'restart 12 vcs-12-2', 'retry 30', 'retry 31', 'start 22 vcs-22-1', 'start 20 vcs-20-1']);
});

test('reconcile does not modify its observation', () => {
  const obs = observe({ pending: [pending(3), pending(1), pending(2)], processing: [processing(5)], runs: [run(5, 1, 'running'), run(4, 1, 'running')] });
  const before = structuredClone(obs);
  reconcile(obs, SETTINGS);
  assert.equal(obs, before);
});

test('10,000 pending videos with maxConcurrentJobs 1: exactly one start, the head of the queue', () => {
  const many = Array.from({ length: 10_000 }, (_, i) => pending(10_000 - i));
  const actions = pass({ pending: many }, { maxConcurrentJobs: 1 });
  assert.equal(summary(actions), ['start 1 vcs-1-1']);
});

test.run();
