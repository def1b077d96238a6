/**
 * Reading a Job and its pods (src/controller/job-outcome.ts), table-tested: finished only on
 * Complete/Failed, the result from the termination message, and how each failure reason reads.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIndexes, parseResult, runStatusOf } from '../../src/controller/job-outcome.ts';

const test = suite('job outcome');

const T = '2025-01-01T00:05:00Z';
const job = (conditions: [string, string][] = [], extra: Partial<V1Job['status']> = {}): V1Job => ({
  metadata: { name: 'vcs-123-2', creationTimestamp: new Date('2025-01-01T00:00:00Z') },
  status: { startTime: '2025-01-01T00:00:01Z' as unknown as Date, conditions: conditions.map(([type, reason]) => ({ type, status: 'True', reason, message: `${reason} message`, lastTransitionTime: T as unknown as Date })), ...extra },
});
const pod = (exitCode: number, message: string, finishedAt: string, disrupted = false): V1Pod => ({
  metadata: { name: `vcs-123-2-${finishedAt.slice(-3, -1)}` },
  status: {
    containerStatuses: [{ name: 'transcoder', image: 'x', imageID: 'x', ready: false, restartCount: 0, state: { terminated: { exitCode, message, finishedAt: finishedAt as unknown as Date } } }],
    conditions: disrupted ? [{ type: 'DisruptionTarget', status: 'True' }] : [],
  },
});
const ok = JSON.stringify({ ok: true, jobName: 'vcs-123-2', videoId: 123, step: 'completed', output: { renditions: [], posterBytes: 1, totalBytes: 99, durationSeconds: 2 }, timings: {} });
const failure = (code: string, permanent: boolean, step = 'probing') =>
  JSON.stringify({ ok: false, jobName: 'vcs-123-2', videoId: 123, step, error: { step, code, message: `${code} happened`, permanent }, timings: {} });

test('running until Complete or Failed: interim SuccessCriteriaMet / FailureTarget still run', () => {
  for (const conditions of [[], [['SuccessCriteriaMet', 'CompletionsReached']], [['FailureTarget', 'BackoffLimitExceeded']], [['Suspended', 'JobSuspended']]] as [string, string][][]) {
    const s = runStatusOf(job(conditions))!;
    assert.equal([s.jobName, s.videoId, s.phase, s.startedAt], ['vcs-123-2', 123, 'running', Date.parse('2025-01-01T00:00:01Z')]);
  }
  assert.is(runStatusOf({ metadata: { name: 'someone-else' } }), null);
});

test('Complete: the succeeded pod’s result; without one, no result and a reason', () => {
  const done = runStatusOf(job([['SuccessCriteriaMet', 'CompletionsReached'], ['Complete', 'CompletionsReached']], { completionTime: T as unknown as Date }), [pod(143, '', '2025-01-01T00:01:00Z', true), pod(0, ok, '2025-01-01T00:04:00Z')])!;
  assert.equal([done.phase, done.result?.ok, done.finishedAt, done.exitCode], ['succeeded', true, Date.parse(T), 0]);
  const bare = runStatusOf(job([['Complete', 'CompletionsReached']]), [])!;
  assert.equal([bare.phase, bare.result, bare.reason], ['succeeded', undefined, 'CompletionsReached: the pod left no result']);
});

test('failures: each reason as the video will read it', () => {
  const rows: { name: string; reason: string; pods: V1Pod[]; want: { permanent?: boolean; code?: string; message: RegExp; step?: string } }[] = [
    {
      name: 'exit 2 with the transcoder’s permanent error',
      reason: 'PodFailurePolicy',
      pods: [pod(2, failure('VCS_ERR_NOT_A_VIDEO', true), '2025-01-01T00:01:00Z')],
      want: { permanent: true, code: 'VCS_ERR_NOT_A_VIDEO', message: /^VCS_ERR_NOT_A_VIDEO happened$/, step: 'probing' },
    },
    {
      name: 'exit 2 without a result: the Job reason and the log tail',
      reason: 'PodFailurePolicy',
      pods: [pod(2, 'Error: boom\n    at main', '2025-01-01T00:01:00Z')],
      want: { permanent: true, message: /^PodFailurePolicy: PodFailurePolicy message; last log: Error: boom/ },
    },
    {
      name: 'backoff limit: the Job reason with the last attempt’s error, its code and step',
      reason: 'BackoffLimitExceeded',
      pods: [pod(1, failure('VCS_ERR_DOWNLOAD_FAILED', false, 'downloading'), '2025-01-01T00:01:00Z'), pod(1, failure('VCS_ERR_FFMPEG_FAILED', false, 'compressing'), '2025-01-01T00:03:00Z')],
      want: { code: 'VCS_ERR_FFMPEG_FAILED', message: /^Job failed \(BackoffLimitExceeded: BackoffLimitExceeded message\); last attempt: VCS_ERR_FFMPEG_FAILED happened$/, step: 'compressing' },
    },
    {
      name: 'deadline: the SIGTERM’s cancellation is not the cause',
      reason: 'DeadlineExceeded',
      pods: [pod(143, failure('VCS_ERR_CANCELLED', false, 'compressing'), '2025-01-01T00:03:00Z')],
      want: { message: /^DeadlineExceeded: DeadlineExceeded message$/ },
    },
    {
      name: 'an index failed by FailIndex (exit 2) in the encode phase: permanent, the culprit’s error rather than the siblings’ SIGTERM',
      reason: 'MaxFailedIndexesExceeded',
      pods: [pod(2, failure('VCS_ERR_BAD_JOB', true, 'compressing'), '2025-01-01T00:01:00Z'), pod(143, failure('VCS_ERR_CANCELLED', false, 'compressing'), '2025-01-01T00:01:02Z')],
      want: { permanent: true, code: 'VCS_ERR_BAD_JOB', message: /^VCS_ERR_BAD_JOB happened$/, step: 'compressing' },
    },
    {
      name: 'an index out of its own retries (backoffLimitPerIndex): retryable, the last attempt’s error',
      reason: 'MaxFailedIndexesExceeded',
      pods: [
        pod(1, failure('VCS_ERR_FFMPEG_FAILED', false, 'compressing'), '2025-01-01T00:01:00Z'),
        pod(137, 'Killed', '2025-01-01T00:02:00Z'),
        pod(143, failure('VCS_ERR_CANCELLED', false, 'compressing'), '2025-01-01T00:02:01Z'),
      ],
      want: { message: /^MaxFailedIndexesExceeded: MaxFailedIndexesExceeded message; last log: Killed$/ },
    },
    {
      name: 'failed indexes once every index ended (no maxFailedIndexes): the same reading',
      reason: 'FailedIndexes',
      pods: [pod(2, failure('VCS_ERR_BAD_JOB', true, 'compressing'), '2025-01-01T00:01:00Z'), pod(0, '{"ok":true,"phase":"encode","chunk":0}', '2025-01-01T00:02:00Z')],
      want: { permanent: true, code: 'VCS_ERR_BAD_JOB', message: /^VCS_ERR_BAD_JOB happened$/, step: 'compressing' },
    },
    {
      name: 'pods already gone',
      reason: 'BackoffLimitExceeded',
      pods: [],
      want: { message: /^BackoffLimitExceeded: BackoffLimitExceeded message$/ },
    },
  ];
  for (const { name, reason, pods, want } of rows) {
    const s = runStatusOf(job([['FailureTarget', reason], ['Failed', reason]]), pods)!;
    assert.is(s.phase, 'failed', name);
    assert.is(s.permanent ?? false, want.permanent ?? false, name);
    if (want.code) {
      assert.ok(s.result && !s.result.ok, name);
      if (s.result && !s.result.ok) {
        assert.is(s.result.error.code, want.code, name);
        assert.match(s.result.error.message, want.message, name);
        assert.is(s.result.error.step, want.step, name);
      }
    } else {
      assert.is(s.result, undefined, name);
      assert.match(s.reason ?? '', want.message, name);
    }
  }
});

test('an Indexed Job’s culprit is a pod of a failed index (status.failedIndexes), even when a stopped sibling was killed later', () => {
  const indexed = (p: V1Pod, index: number): V1Pod => ({ ...p, metadata: { ...p.metadata, labels: { 'batch.kubernetes.io/job-completion-index': String(index) } } });
  const pods = [
    indexed(pod(2, failure('VCS_ERR_BAD_JOB', true, 'compressing'), '2025-01-01T00:01:00Z'), 1),
    // The sibling stopped by the failing Job, SIGKILLed past its grace period: later, not the cause.
    indexed(pod(137, 'Killed', '2025-01-01T00:01:40Z'), 0),
  ];
  const s = runStatusOf(job([['FailureTarget', 'MaxFailedIndexesExceeded'], ['Failed', 'MaxFailedIndexesExceeded']], { failedIndexes: '1' }), pods)!;
  assert.equal([s.permanent, s.result?.ok === false && s.result.error.code], [true, 'VCS_ERR_BAD_JOB']);
  assert.equal([...parseIndexes('0-3,5,7-8')], [0, 1, 2, 3, 5, 7, 8]);
  assert.equal([...parseIndexes('1,2')], [1, 2]);
  assert.equal([...parseIndexes(undefined)], []);
  assert.equal([...parseIndexes('x,-1,3')], [3]);
});

test('a phase Job reads as its run: <run>-encode and <run>-assemble report the run’s name and video', () => {
  for (const name of ['vcs-123-2-encode', 'vcs-123-2-assemble']) {
    const s = runStatusOf({ ...job([['SuccessCriteriaMet', 'CompletionsReached'], ['Complete', 'CompletionsReached']]), metadata: { name } }, [pod(0, ok, T)])!;
    assert.equal([s.jobName, s.videoId, s.phase, s.result?.ok], ['vcs-123-2', 123, 'succeeded', true], name);
  }
  assert.is(runStatusOf({ ...job(), metadata: { name: 'vcs-123-2-other' } }), null);
});

test('termination messages: only the transcoder’s result JSON is a result', () => {
  assert.is(parseResult(ok)?.ok, true);
  assert.is(parseResult(failure('VCS_ERR_X', false))?.ok, false);
  for (const text of [undefined, '', 'ffmpeg: crashed', '{"ok":true}', '{"ok":false,"error":{"code":1}}', '[1]', 'null', '{"ok":true,"phase":"prepare","chunks":3}']) assert.is(parseResult(text), undefined, String(text));
});

test.run();
