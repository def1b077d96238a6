/**
 * Chunked runs on Kubernetes end to end (docs/adr/0022): `vcs controller` on the protocol-level
 * API server with the simulated cluster running the real transcoder in its pods, under the chart's
 * Role. A 30 s clip with CHUNK_DURATION 10 and CHUNK_PARALLELISM 2: the prepare Job, an Indexed
 * Job of three indexes (two pods at once), the assemble Job, the published package; one index
 * killed once is retried alone; a permanent failure in the encode phase fails the video at once;
 * a controller killed mid-encode, or between prepare and encode, is followed by one that goes on;
 * a deleted video's phase Jobs are all deleted; a short source stays one pod.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PREPARED_FILE } from '../../transcoder/phases.ts';
import { assertPackage, exists, SMALL_LADDER, SMALL_RENDITIONS } from '../support/package-asserts.ts';
import { makeClip } from '../support/media.ts';
import { NAMESPACE, poke, startKubeHarness, type ControllerProcess, type KubeHarness } from '../support/kube-harness.ts';
import type { Change } from '../support/kube-objects.ts';
import { waitFor } from '../support/service.ts';

const test = suite('kube chunked runs');
let tmp = '';
let h: KubeHarness;
let controller: ControllerProcess;
let env: Record<string, string>;
/** The most encode pods seen running at once, per Job. */
const concurrency = new Map<string, number>();
/** Progress values the store held while a video was in its compressing step. */
const progressSeen = new Map<number, Set<number>>();
/**
 * While set, creating a Job answers 500 (the API server briefly out of reach): set once a video's
 * prepare Job exists, it holds its encode Job back.
 */
let holdEncodeJobs = false;

const CHUNKS = { ...SMALL_LADDER, CHUNK_PARALLELISM: '2', CHUNK_DURATION: '10', CHUNK_MIN_DURATION: '20', JOB_BACKOFF_LIMIT: '1' };
const RENDITIONS = SMALL_RENDITIONS;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-kube-chunks-'));
  const long = await readFile(await makeClip(path.join(tmp, 'long.mp4'), { width: 320, height: 180, seconds: 30, audio: 2 }));
  const short = await readFile(await makeClip(path.join(tmp, 'short.mp4'), { width: 320, height: 180, seconds: 4, audio: 2 }));
  h = await startKubeHarness(tmp, { '/long.mp4': long, '/short.mp4': short });
  h.api.failNext({ status: 500, count: Number.POSITIVE_INFINITY, match: (r) => holdEncodeJobs && r.method === 'POST' && r.path.endsWith('/jobs') });
  const running = new Map<string, Set<string>>();
  h.api.store.subscribe((c: Change) => {
    if (c.resource !== 'pods') return;
    const job = c.object.metadata.labels?.['batch.kubernetes.io/job-name'] ?? '';
    if (!job.endsWith('-encode')) return;
    const set = running.get(job) ?? new Set<string>();
    if (c.type !== 'DELETED' && c.object.status?.phase === 'Running') set.add(c.object.metadata.name);
    else set.delete(c.object.metadata.name);
    running.set(job, set);
    concurrency.set(job, Math.max(concurrency.get(job) ?? 0, set.size));
  });
  env = await h.controllerEnv('controller-a', CHUNKS);
  controller = await h.startController(env);
});

test.after(async () => {
  await h?.close();
  await rm(tmp, { recursive: true, force: true });
});

const video = async (id: number) => (await h.store.get(id))!;
const jobsOf = (id: number) => h.jobNames().filter((n) => n.startsWith(`vcs-${id}-`));
const podsOf = (job: string) => h.cluster.pods.filter((p) => p.job === job);
const indexesOf = (job: string) => podsOf(job).map((p) => [p.index, p.exitCode]).sort((a, b) => Number(a[0]) - Number(b[0]) || Number(a[1] === 0) - Number(b[1] === 0));
const jobOf = (name: string) => h.api.store.get('jobs', NAMESPACE, name);

async function queue(id: number, file: string): Promise<void> {
  await h.store.create({ wp_post_id: id, title: `Video ${id}`, original_video_url: `${h.source.url}/${file}` });
  await poke(controller);
}

/** Waits for the video's status, sampling its progress meanwhile. */
function settled(id: number, status: string, timeoutMs = 90_000) {
  return waitFor(async () => {
    const v = await video(id);
    if (v.compression_step === 'compressing') progressSeen.set(id, (progressSeen.get(id) ?? new Set()).add(v.compression_progress));
    return v.compression_status === status ? v : null;
  }, timeoutMs, `video ${id} ${status}`);
}

test('pending → prepare Job → Indexed encode Job of three chunks, two pods at once → assemble Job → completed, the package seamless', async () => {
  await queue(201, 'long.mp4');
  const done = await settled(201, 'completed');
  assert.equal(jobsOf(201), ['vcs-201-1', 'vcs-201-1-assemble', 'vcs-201-1-encode']);
  const prepare = jobOf('vcs-201-1')!;
  assert.is(prepare.metadata.labels?.['vcs/phase'], 'prepare');
  const encode = jobOf('vcs-201-1-encode')!;
  assert.equal(
    [encode.spec.completionMode, encode.spec.completions, encode.spec.parallelism, encode.spec.backoffLimitPerIndex, encode.spec.maxFailedIndexes],
    ['Indexed', 3, 2, 1, 0],
  );
  assert.equal(encode.metadata.labels?.['vcs/run'], 'vcs-201-1');
  assert.equal([encode.status.completedIndexes, encode.status.conditions.at(-1).type], ['0-2', 'Complete']);
  assert.equal(indexesOf('vcs-201-1-encode'), [[0, 0], [1, 0], [2, 0]], 'each chunk encoded once');
  assert.is(concurrency.get('vcs-201-1-encode'), 2, 'two chunk pods at once, never more');
  assert.equal(podsOf('vcs-201-1').map((p) => p.exitCode), [0]);
  assert.equal(podsOf('vcs-201-1-assemble').map((p) => p.exitCode), [0]);
  // Every phase's pod ran the one image with the run's contract, only VCS_PHASE differs.
  const envOf = (job: any) => Object.fromEntries(job.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
  const [a, b, c] = [envOf(prepare), envOf(encode), envOf(jobOf('vcs-201-1-assemble'))];
  assert.equal([a.VCS_PHASE, b.VCS_PHASE, c.VCS_PHASE], ['prepare', 'encode', 'assemble']);
  for (const other of [b, c]) assert.equal({ ...other, VCS_PHASE: 'prepare' }, a);

  assert.equal([done.compression_step, done.compression_progress, done.retry_count, done.job_name], ['completed', 100, 0, 'vcs-201-1']);
  assert.ok(Math.abs((done.duration_seconds ?? 0) - 30) < 0.2);
  const dir = path.join(h.storage, 'hls', '201');
  await assertPackage(dir, { renditions: RENDITIONS, audio: true, frameRate: 30, sourceSeconds: 30, poster: { width: 320, height: 180 } });
  const high = await readFile(path.join(dir, 'high', 'playlist.m3u8'), 'utf8');
  assert.is(high.split('\n').filter((l) => l === '#EXTINF:10.000000,').length, 3, 'three 10 s segments, as one pod makes');
  assert.not.ok(await exists(path.join(h.storage, 'temp', 'work', 'vcs-201-1')), 'the work folder is gone');
});

test('one chunk pod killed (SIGKILL) is retried alone, under backoffLimitPerIndex; the video completes with no retry of its own', async () => {
  await queue(202, 'long.mp4');
  // The first pod of index 1, killed while it runs.
  const pod = await waitFor(() => h.cluster.pods.find((p) => p.job === 'vcs-202-1-encode' && p.index === 1 && p.exitCode === undefined)?.name, 60_000, 'a pod of index 1');
  await h.cluster.kill(pod, 'SIGKILL');
  const done = await settled(202, 'completed');
  assert.equal(indexesOf('vcs-202-1-encode'), [[0, 0], [1, 137], [1, 0], [2, 0]], 'index 1 twice, the others once');
  const encode = jobOf('vcs-202-1-encode')!;
  assert.equal([encode.status.failed, encode.status.completedIndexes], [1, '0-2']);
  assert.equal([done.retry_count, done.job_name], [0, 'vcs-202-1']);
});

test('a permanent failure in one index (exit 2, FailIndex) fails the Job at once, without a retry of that index, and the video for good', async () => {
  await queue(203, 'long.mp4');
  await waitFor(() => jobOf('vcs-203-1'), 20_000, 'the prepare Job');
  holdEncodeJobs = true;
  await waitFor(() => jobOf('vcs-203-1')?.status?.conditions?.some((c: any) => c.type === 'Complete'), 60_000, 'the prepare Job complete');
  // The plan on the volume now has two chunks where the Job will have three: index 2 is asked for a
  // chunk the plan lacks (VCS_ERR_BAD_JOB, exit 2) while indexes 0 and 1 encode theirs.
  const prepared = path.join(h.storage, 'temp', 'work', 'vcs-203-1', PREPARED_FILE);
  const state = JSON.parse(await readFile(prepared, 'utf8'));
  await writeFile(prepared, JSON.stringify({ ...state, chunks: state.chunks.slice(0, 2) }));
  holdEncodeJobs = false;
  await poke(controller);
  const failed = await settled(203, 'failed');
  const encode = jobOf('vcs-203-1-encode')!;
  assert.equal([encode.spec.completions, encode.status.conditions.at(-1).reason, encode.status.failedIndexes], [3, 'MaxFailedIndexesExceeded', '2']);
  assert.equal(podsOf('vcs-203-1-encode').filter((p) => p.index === 2).map((p) => p.exitCode), [2], 'index 2 failed once, not retried');
  assert.equal([failed.retryable, failed.error_code, failed.failed_at_step], [false, 'VCS_ERR_BAD_JOB', 'compressing']);
  assert.match(failed.error_message ?? '', /chunk 2 asked for, but the prepared plan of vcs-203-1 has 2 chunks/);
  assert.equal(jobsOf(203), ['vcs-203-1', 'vcs-203-1-encode'], 'no assemble Job');
  await waitFor(async () => !(await exists(path.join(h.storage, 'temp', 'work', 'vcs-203-1'))), 10_000, 'the work folder removed');
});

test('a controller killed between prepare and encode, and another killed mid-encode: each successor goes on where the Jobs are', async () => {
  await queue(204, 'long.mp4');
  await waitFor(() => jobOf('vcs-204-1'), 20_000, 'the prepare Job');
  holdEncodeJobs = true;
  await waitFor(() => jobOf('vcs-204-1')?.status?.conditions?.some((c: any) => c.type === 'Complete'), 60_000, 'the prepare Job complete');
  await controller.kill();
  holdEncodeJobs = false;
  controller = await h.startController(env);
  await poke(controller);
  // The new leader reads the prepare pod's plan and creates the encode Job.
  await waitFor(() => podsOf('vcs-204-1-encode').some((p) => p.exitCode === undefined), 60_000, 'an encode pod running');
  await controller.kill();
  controller = await h.startController(env);
  await poke(controller);
  const done = await settled(204, 'completed');
  assert.equal(jobsOf(204), ['vcs-204-1', 'vcs-204-1-assemble', 'vcs-204-1-encode'], 'no Job duplicated, no new attempt');
  assert.equal(podsOf('vcs-204-1').length, 1, 'prepared once');
  assert.equal(indexesOf('vcs-204-1-encode').map(([i]) => i), [0, 1, 2], 'each chunk encoded once, whoever led');
  assert.equal([done.retry_count, done.job_name], [0, 'vcs-204-1']);
  await assertPackage(path.join(h.storage, 'hls', '204'), { renditions: RENDITIONS, audio: true, frameRate: 30, sourceSeconds: 30, poster: { width: 320, height: 180 } });
});

test('deleting a video mid-encode deletes every phase’s Job and stops their pods; nothing is published', async () => {
  await queue(205, 'long.mp4');
  await waitFor(() => podsOf('vcs-205-1-encode').some((p) => p.exitCode === undefined), 60_000, 'an encode pod running');
  await h.store.transition(205, 'deleted');
  await poke(controller);
  await waitFor(() => jobsOf(205).length === 0, 20_000, 'every Job of video 205 deleted');
  await waitFor(() => !h.cluster.running().some((p) => p.startsWith('vcs-205-')), 20_000, 'no pod of video 205 running');
  const deletes = h.api.requests.filter((r) => r.method === 'DELETE' && r.path.includes('/jobs/vcs-205-1'));
  assert.ok(deletes.some((r) => r.path.endsWith('/vcs-205-1')) && deletes.some((r) => r.path.endsWith('/vcs-205-1-encode')));
  assert.ok(deletes.every((r) => r.query.propagationPolicy === 'Background'));
  assert.not.ok(await exists(path.join(h.storage, 'hls', '205')));
  await waitFor(async () => !(await exists(path.join(h.storage, 'temp', 'work', 'vcs-205-1'))), 20_000, 'the work folder removed');
});

test('a source shorter than CHUNK_MIN_DURATION is one pod: the prepare Job publishes it, no encode Job', async () => {
  await queue(206, 'short.mp4');
  const done = await settled(206, 'completed');
  assert.equal(jobsOf(206), ['vcs-206-1']);
  assert.is(done.compression_progress, 100);
  await assertPackage(path.join(h.storage, 'hls', '206'), { renditions: RENDITIONS, audio: true, frameRate: 30, sourceSeconds: 4, poster: { width: 320, height: 180 } });
});

test('progress while encoding was the sum over the chunks, and the Role was enough for every call', () => {
  const seen = [...(progressSeen.get(201) ?? []), ...(progressSeen.get(202) ?? []), ...(progressSeen.get(204) ?? [])];
  assert.ok(seen.every((p) => p >= 18 && p <= 95), `compressing progress within its band: ${seen}`);
  const report = h.api.rbacReport();
  assert.equal(report.denied, [], 'no call was refused by the chart’s Role');
});

test.run();
