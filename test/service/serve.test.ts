/**
 * `vcs serve` end to end, as a child process on the embedded store: videos enqueued with
 * `vcs enqueue` go pending → processing → completed one at a time in FIFO order, their packages
 * are served over HTTP; a kill -9 in the middle of an encode loses nothing, a kill of the whole
 * process group leaves no work folder behind and counts against the retry budget, and a video
 * deleted mid-encode ends with no files and no running transcoder.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as HLS from 'hls-parser';
import { makeClip } from '../support/media.ts';
import { assertPackage, exists } from '../support/package-asserts.ts';
import { enqueueVia, openStoreFile, servicePorts, startServe, waitFor } from '../support/service.ts';

const test = suite('vcs serve');
const API_KEY = 'serve-test-key-'.padEnd(64, 'x');
let tmp = '';

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-serve-'));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function serveEnv(name: string, extra: Record<string, string> = {}) {
  const ports = await servicePorts();
  return {
    STORAGE_PATH: path.join(tmp, name),
    ...ports,
    PUBLIC_URL: `http://127.0.0.1:${ports.PORT}`,
    API_KEY: API_KEY,
    MAX_CONCURRENT_JOBS: '1',
    WORKER_INTERVAL: '1000',
    VIDEO_PRESET: 'veryfast',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** What runs left in the temp folders (the runs' own logs, kept with their videos, are not leftovers). */
async function leftovers(storage: string): Promise<string[]> {
  const temp = path.join(storage, 'temp');
  const entries = await readdir(temp, { recursive: true }).catch(() => [] as string[]);
  const hidden = (await readdir(path.join(storage, 'hls')).catch(() => [] as string[])).filter((n) => n.startsWith('.'));
  return [...entries.filter((e) => e !== 'runs' && e !== 'work' && e !== 'logs' && !e.startsWith('logs/')), ...hidden];
}

test('three clips with MAX_CONCURRENT_JOBS=1 complete in FIFO order and are served over HTTP', async () => {
  const env = await serveEnv('fifo');
  const clips = [];
  for (const i of [1, 2, 3]) clips.push(await makeClip(path.join(tmp, `clip${i}.mp4`), { width: 640, height: 360, seconds: 3, audio: 2 }));
  const serve = await startServe(env);
  const store = await openStoreFile(path.join(env.STORAGE_PATH, 'vcs.sqlite'));
  try {
    const queued = [];
    for (const [i, clip] of clips.entries()) queued.push(await enqueueVia(env, 101 + i, clip, ['--title', `Clip ${i + 1}`]));
    assert.equal(queued.map((q) => q.success), [true, true, true]);
    const done = await waitFor(async () => {
      const all = await Promise.all([101, 102, 103].map((id) => store.get(id)));
      return all.every((v) => v?.compression_status === 'completed') && all;
    }, 90_000, 'three completions').catch((err: Error) => Promise.reject(new Error(`${err.message}\n${serve.output().slice(-3000)}`)));
    const videos = done.map((v) => v!);
    // FIFO, one at a time: each starts after the previous one completed.
    for (let i = 1; i < videos.length; i++) {
      assert.ok(videos[i]!.started_at! >= videos[i - 1]!.completed_at!, `video ${videos[i]!.wp_post_id} started after ${videos[i - 1]!.wp_post_id} completed`);
    }
    for (const v of videos) {
      assert.equal([v.compression_step, v.compression_progress, v.retry_count], ['completed', 100, 0]);
      assert.is(v.master_playlist_url, `${serve.url}/storage/hls/${v.wp_post_id}/master.m3u8`);
      assert.is(v.poster_url, `${serve.url}/storage/hls/${v.wp_post_id}/poster.jpg`);
      assert.is(v.hls_high_url, `${serve.url}/storage/hls/${v.wp_post_id}/high/playlist.m3u8`);
      assert.ok((v.total_size ?? 0) > 0);
      assert.ok(Math.abs((v.duration_seconds ?? 0) - 3) < 0.1);
      const master = await fetch(v.master_playlist_url!);
      assert.is(master.status, 200);
      assert.is(master.headers.get('content-type'), 'application/vnd.apple.mpegurl');
      assert.is(master.headers.get('access-control-allow-origin'), '*');
      const parsed = HLS.parse(await master.text()) as InstanceType<typeof HLS.types.MasterPlaylist>;
      const media = await fetch(new URL(parsed.variants[0]!.uri, v.master_playlist_url!));
      assert.is(media.status, 200);
      const segment = await fetch(new URL('segment000.ts', media.url));
      assert.is(segment.status, 200);
      assert.is(segment.headers.get('content-type'), 'video/mp2t');
      assert.ok((await segment.arrayBuffer()).byteLength > 1000);
      const poster = await fetch(v.poster_url!);
      assert.is(poster.headers.get('content-type'), 'image/jpeg');
    }
    const health = await (await fetch(`${serve.url}/health`)).json();
    assert.is(health.status, 'healthy');
    assert.is(health.worker.jobsProcessed, 3);
    assert.is((await fetch(`${serve.url}/metrics`)).status, 404, 'metrics are not on the public port');
    const metrics = await (await fetch(`${serve.internalUrl}/metrics`)).text();
    assert.match(metrics, /^vcs_jobs_total\{result="completed"\} 3$/m);
    assert.match(metrics, /^vcs_job_duration_seconds_count\{result="completed"\} 3$/m);
    // The controller's start hook and the encoded seconds (three 3-second clips).
    assert.match(metrics, /^vcs_jobs_started_total 3$/m);
    const encoded = Number(/^vcs_encoded_video_seconds_total (\S+)$/m.exec(metrics)?.[1]);
    assert.ok(encoded > 8.5 && encoded < 9.5, `encoded ${encoded}`);
    assert.match(metrics, /^vcs_storage_size_bytes [1-9]/m);
    assert.match(metrics, /^vcs_http_response_bytes_total\{route="\/storage\/hls"\} [1-9]/m);
    assert.match(metrics, /^vcs_queue_depth 0$/m);
    assert.match(metrics, /^vcs_store_up 1$/m);
    assert.match(metrics, /^vcs_ffmpeg_available 1$/m);
    assert.match(metrics, /^vcs_http_requests_total\{route="\/storage\/hls",method="GET",status="200"\} \d+$/m);
    assert.equal(await leftovers(env.STORAGE_PATH), []);
    // Each run kept its own log with its video.
    for (const id of [101, 102, 103]) assert.match(await readFile(path.join(env.STORAGE_PATH, 'temp', 'logs', String(id), `vcs-${id}-1.log`), 'utf8'), /"msg":"step downloading"/);
  } finally {
    await store.close();
    serve.child.kill('SIGTERM');
    assert.is(await serve.exited, 0, 'SIGTERM stops the service cleanly');
  }
});

test('kill -9 in the middle of an encode: after a restart the video completes exactly once, whole, with nothing left over', async () => {
  const env = await serveEnv('crash');
  const clip = await makeClip(path.join(tmp, 'long.mp4'), { width: 1920, height: 1080, seconds: 14, audio: 2 });
  let serve = await startServe(env);
  const store = await openStoreFile(path.join(env.STORAGE_PATH, 'vcs.sqlite'));
  try {
    await enqueueVia(env, 300, clip, ['--title', 'Crash test']);
    await waitFor(async () => (await store.get(300))?.compression_step === 'compressing', 60_000, 'the encode to start');
    const firstAttempt = (await store.get(300))!.job_name;
    const record = JSON.parse(await readFile(path.join(env.STORAGE_PATH, 'temp', 'runs', `${firstAttempt}.run.json`), 'utf8'));
    serve.child.kill('SIGKILL');
    await serve.exited;
    // Its transcoder notices the service is gone, stops FFmpeg and cleans up by itself.
    await waitFor(() => { try { process.kill(record.pid, 0); return false; } catch { return true; } }, 15_000, 'the orphaned transcoder to exit');
    assert.is((await store.get(300))!.compression_status, 'processing');

    serve = await startServe(env);
    const done = await waitFor(async () => {
      const v = await store.get(300);
      return v?.compression_status === 'completed' && v;
    }, 120_000, 'completion after the restart');
    assert.is(done.job_name, 'vcs-300-2', 'run again as a new attempt');
    assert.is(done.retry_count, 1, 'the attempt the crash took counts against MAX_RETRIES');
    const dir = path.join(env.STORAGE_PATH, 'hls', '300');
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    assert.is(manifest.jobName, 'vcs-300-2', 'the package is the second attempt’s, published once');
    await assertPackage(dir, {
      renditions: [
        { name: 'high', width: 1920, height: 1080 },
        { name: 'medium', width: 854, height: 480 },
        { name: 'low', width: 640, height: 360 },
      ],
      audio: true,
      frameRate: 30,
      sourceSeconds: 14,
      poster: { width: 1280, height: 720 },
    });
    await waitFor(async () => (await leftovers(env.STORAGE_PATH)).length === 0, 5000, 'temp files to be gone');
    assert.ok(await exists(path.join(env.STORAGE_PATH, 'vcs.sqlite')));
  } finally {
    await store.close();
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});

/** Kills `vcs serve` and everything it started (its transcoders, their FFmpeg) at once. */
async function killGroup(serve: Awaited<ReturnType<typeof startServe>>): Promise<void> {
  process.kill(-serve.child.pid!, 'SIGKILL');
  await serve.exited;
}

test('the whole process group killed twice mid-encode: lost work folders are removed at restart, the losses are counted, and MAX_RETRIES ends it', async () => {
  const env = await serveEnv('group-kill', { MAX_RETRIES: '1' });
  const clip = await makeClip(path.join(tmp, 'group.mp4'), { width: 1920, height: 1080, seconds: 14, audio: 2 });
  const store = await openStoreFile(path.join(env.STORAGE_PATH, 'vcs.sqlite'));
  const work = (job: string) => path.join(env.STORAGE_PATH, 'temp', 'work', job);
  let serve = await startServe(env, { group: true });
  try {
    await enqueueVia(env, 400, clip, ['--title', 'OOM every time']);
    await waitFor(async () => (await store.get(400))?.compression_step === 'compressing', 60_000, 'the first encode');
    const first = (await store.get(400))!;
    assert.is(first.job_name, 'vcs-400-1');
    await killGroup(serve);
    // Nobody was left to clean up: the download and the staging are still there.
    assert.ok(await exists(path.join(work('vcs-400-1'), 'staging')), 'the lost run left its work folder');

    serve = await startServe(env, { group: true });
    await waitFor(async () => !(await exists(work('vcs-400-1'))), 10_000, 'the lost run’s work folder to be removed at restart');
    await waitFor(async () => (await store.get(400))?.job_name === 'vcs-400-2' && (await store.get(400))?.compression_step === 'compressing', 60_000, 'the second encode');
    const second = (await store.get(400))!;
    assert.equal([second.retry_count, second.started_at], [1, first.started_at], 'counted; started_at kept, so PROCESSING_TIMEOUT bounds every attempt');
    await killGroup(serve);

    serve = await startServe(env, { group: true });
    const failed = await waitFor(async () => {
      const v = await store.get(400);
      return v?.compression_status === 'failed' && v;
    }, 30_000, 'the video to fail');
    assert.equal([failed.error_code, failed.retryable, failed.job_name], ['VCS_ERR_RUN_LOST', false, 'vcs-400-2']);
    assert.match(failed.error_message ?? '', /^Run lost 2 times/);
    await waitFor(async () => (await leftovers(env.STORAGE_PATH)).length === 0 && !(await exists(work('vcs-400-2'))), 10_000, 'nothing left over');
  } finally {
    await store.close();
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});

test('a video deleted while it is being encoded ends with no files on disk and no transcoder running', async () => {
  const env = await serveEnv('delete');
  const clip = await makeClip(path.join(tmp, 'delete.mp4'), { width: 1920, height: 1080, seconds: 14, audio: 2 });
  const serve = await startServe(env);
  const store = await openStoreFile(path.join(env.STORAGE_PATH, 'vcs.sqlite'));
  try {
    await enqueueVia(env, 500, clip, ['--title', 'Deleted mid-encode']);
    await waitFor(async () => (await store.get(500))?.compression_step === 'compressing', 60_000, 'the encode to start');
    const record = JSON.parse(await readFile(path.join(env.STORAGE_PATH, 'temp', 'runs', 'vcs-500-1.run.json'), 'utf8'));
    const res = await fetch(`${serve.url}/api/post/500`, { method: 'DELETE', headers: { authorization: `Bearer ${API_KEY}` } });
    assert.is(res.status, 200);
    assert.equal((await res.json()).run_stopping, false, 'vcs serve answers once the run has stopped');
    assert.throws(() => process.kill(record.pid, 0), 'the transcoder is gone');
    assert.is((await store.get(500))!.compression_status, 'deleted');
    await new Promise((r) => setTimeout(r, 1500));
    assert.not.ok(await exists(path.join(env.STORAGE_PATH, 'hls', '500')), 'no package');
    await waitFor(async () => (await leftovers(env.STORAGE_PATH)).length === 0, 5000, 'no work files');
    assert.not.ok(await exists(path.join(env.STORAGE_PATH, 'temp', 'logs', '500')), 'its run logs went with its files');
  } finally {
    await store.close();
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});

test.run();
