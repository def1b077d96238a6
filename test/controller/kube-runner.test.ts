/**
 * `vcs controller` with RUNNER=kubernetes end to end, on the protocol-level API server and the
 * simulated cluster (test/support/kube-*.ts), driven by the real @kubernetes/client-node: pending
 * video → Job → the real transcoder in a "pod" → completed with URLs; exit 2 fails at once;
 * retryable failures end at the backoffLimit; a disruption is retried; a deleted video deletes its Job.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeClip } from '../support/media.ts';
import { NAMESPACE, poke, startKubeHarness, type ControllerProcess, type KubeHarness } from '../support/kube-harness.ts';
import { waitFor } from '../support/service.ts';

const test = suite('kube runner');
let tmp = '';
let h: KubeHarness;
let controller: ControllerProcess;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-kube-'));
  const clip = await readFile(await makeClip(path.join(tmp, 'clip.mp4'), { width: 320, height: 240, seconds: 2, audio: 2 }));
  const long = await readFile(await makeClip(path.join(tmp, 'long.mp4'), { width: 320, height: 240, seconds: 8, audio: 2 }));
  h = await startKubeHarness(tmp, { '/clip.mp4': clip, '/long.mp4': long, '/text.mp4': Buffer.from('this is not a video\n'.repeat(100)), '/busy.mp4': 503 });
  controller = await h.startController(await h.controllerEnv('controller-a', { JOB_BACKOFF_LIMIT: '1' }));
});

test.after(async () => {
  await h?.close();
  await rm(tmp, { recursive: true, force: true });
});

const video = async (id: number) => (await h.store.get(id))!;
const jobsOf = (id: number) => h.jobNames().filter((n) => n.startsWith(`vcs-${id}-`));
const podsOf = (job: string) => h.cluster.pods.filter((p) => p.job === job);

test('a pending video becomes one Job whose pod runs the transcoder; the video completes with its URLs', async () => {
  await h.store.create({ wp_post_id: 101, title: 'Clip', original_video_url: `${h.source.url}/clip.mp4` });
  await poke(controller);
  const done = await waitFor(async () => ((await video(101)).compression_status === 'completed' ? video(101) : null), 40_000, 'video 101 completed');
  assert.equal(jobsOf(101), ['vcs-101-1']);
  assert.is(done.job_name, 'vcs-101-1');
  assert.is(done.master_playlist_url, 'https://cdn.example.com/storage/hls/101/master.m3u8');
  assert.is(done.poster_url, 'https://cdn.example.com/storage/hls/101/poster.jpg');
  assert.ok((done.total_size ?? 0) > 0);
  assert.ok(Math.abs((done.duration_seconds ?? 0) - 2) < 0.2);
  assert.equal([done.compression_step, done.compression_progress, done.retry_count], ['completed', 100, 0]);
  const master = await readFile(path.join(h.storage, 'hls', '101', 'master.m3u8'), 'utf8');
  assert.match(master, /#EXT-X-STREAM-INF/);
  // The Job as created: labels, the restricted pod, the failure policy.
  const create = h.api.requests.find((r) => r.method === 'POST' && r.path.endsWith('/jobs') && r.status === 201);
  assert.is(create?.token, 'token-controller-a');
  const job = h.api.store.get('jobs', NAMESPACE, 'vcs-101-1')!;
  assert.is(job.metadata.labels?.['vcs/wp-post-id'], '101');
  assert.is(job.status.conditions.at(-1).type, 'Complete');
  assert.equal(podsOf('vcs-101-1').map((p) => p.exitCode), [0]);
});

test('exit 2 (the input can never succeed) fails the Job at once, without a retry, and the video permanently', async () => {
  await h.store.create({ wp_post_id: 102, title: 'Not a video', original_video_url: `${h.source.url}/text.mp4` });
  await poke(controller);
  const failed = await waitFor(async () => ((await video(102)).compression_status === 'failed' ? video(102) : null), 30_000, 'video 102 failed');
  assert.equal(podsOf('vcs-102-1').map((p) => p.exitCode), [2]);
  const job = h.api.store.get('jobs', NAMESPACE, 'vcs-102-1')!;
  assert.equal(job.status.conditions.map((c: any) => [c.type, c.reason]), [['FailureTarget', 'PodFailurePolicy'], ['Failed', 'PodFailurePolicy']]);
  assert.is(failed.retryable, false);
  assert.ok(failed.error_code?.startsWith('VCS_ERR_'), failed.error_code ?? 'no code');
  assert.is.not(failed.error_code, 'VCS_ERR_RUN_FAILED');
  assert.ok(failed.failed_at_step && failed.failed_at_step !== 'queued', `failed at ${failed.failed_at_step}`);
  assert.ok(failed.error_message);
  // Passes go on; nothing retries it.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(jobsOf(102), ['vcs-102-1']);
  assert.is(podsOf('vcs-102-1').length, 1);
  assert.is((await video(102)).retry_count, 0);
});

test('retryable failures are retried by the Job up to its backoffLimit, then the video fails retryably with the reason', async () => {
  await h.store.create({ wp_post_id: 105, title: 'Source busy', original_video_url: `${h.source.url}/busy.mp4` });
  await poke(controller);
  const failed = await waitFor(async () => ((await video(105)).compression_status === 'failed' ? video(105) : null), 30_000, 'video 105 failed');
  assert.equal(podsOf('vcs-105-1').map((p) => p.exitCode), [1, 1]); // JOB_BACKOFF_LIMIT=1: one retry
  assert.equal(jobsOf(105), ['vcs-105-1']);
  const job = h.api.store.get('jobs', NAMESPACE, 'vcs-105-1')!;
  assert.equal([job.status.failed, job.status.conditions.at(-1).reason], [2, 'BackoffLimitExceeded']);
  assert.equal([failed.retryable, failed.error_code, failed.failed_at_step], [true, 'VCS_ERR_SOURCE_UNAVAILABLE', 'downloading']);
  assert.match(failed.error_message ?? '', /^Job failed \(BackoffLimitExceeded: Job has reached the specified backoff limit\); last attempt: source temporarily unavailable: .* answered 503$/);
});

test('a disrupted pod (eviction) is retried by the Job without counting as a failure; the video completes', async () => {
  await h.store.create({ wp_post_id: 103, title: 'Evicted', original_video_url: `${h.source.url}/long.mp4` });
  await poke(controller);
  const first = await waitFor(() => h.cluster.running().find((p) => p.startsWith('vcs-103-1-')), 20_000, 'a running pod of vcs-103-1');
  await h.cluster.disrupt(first);
  const done = await waitFor(async () => ((await video(103)).compression_status === 'completed' ? video(103) : null), 40_000, 'video 103 completed');
  assert.equal(jobsOf(103), ['vcs-103-1']);
  const pods = podsOf('vcs-103-1');
  assert.is(pods.length, 2);
  assert.is(pods[0]!.exitCode, 143);
  assert.is(pods[1]!.exitCode, 0);
  assert.is(h.api.store.get('jobs', NAMESPACE, 'vcs-103-1')!.status.failed, undefined);
  assert.is(done.retry_count, 0);
});

test('deleting a video deletes its running Job (propagationPolicy Background) and stops the pod', async () => {
  await h.store.create({ wp_post_id: 104, title: 'Deleted', original_video_url: `${h.source.url}/long.mp4` });
  await poke(controller);
  const pod = await waitFor(() => h.cluster.running().find((p) => p.startsWith('vcs-104-1-')), 20_000, 'a running pod of vcs-104-1');
  await h.store.transition(104, 'deleted');
  await poke(controller);
  await waitFor(() => !h.jobNames().includes('vcs-104-1'), 10_000, 'vcs-104-1 deleted');
  const deletes = h.api.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith('/jobs/vcs-104-1'));
  assert.is(deletes.length, 1);
  assert.is(deletes[0]!.query.propagationPolicy, 'Background');
  await waitFor(() => !h.cluster.running().includes(pod), 10_000, 'the pod stopped');
  assert.is(h.api.store.list('pods', NAMESPACE, 'batch.kubernetes.io/job-name=vcs-104-1').length, 0);
  assert.is((await video(104)).compression_status, 'deleted');
});

test.run();
