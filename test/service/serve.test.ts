/**
 * `vcs serve` end to end, as a child process on the embedded store: videos enqueued with
 * `vcs enqueue` go pending → processing → completed one at a time in FIFO order, their packages
 * are served over HTTP; and a kill -9 in the middle of an encode loses nothing.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as HLS from 'hls-parser';
import { makeClip } from '../support/media.ts';
import { assertPackage, exists } from '../support/package-asserts.ts';
import { enqueueVia, freePort, openStoreFile, startServe, waitFor } from '../support/service.ts';

const test = suite('vcs serve');
let tmp = '';

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-serve-'));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function serveEnv(name: string, extra: Record<string, string> = {}) {
  const port = await freePort();
  return {
    STORAGE_PATH: path.join(tmp, name),
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    MAX_CONCURRENT_JOBS: '1',
    WORKER_INTERVAL: '1000',
    VIDEO_PRESET: 'veryfast',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

async function leftovers(storage: string): Promise<string[]> {
  const temp = path.join(storage, 'temp');
  const entries = await readdir(temp, { recursive: true }).catch(() => [] as string[]);
  const hidden = (await readdir(path.join(storage, 'hls')).catch(() => [] as string[])).filter((n) => n.startsWith('.'));
  return [...entries.filter((e) => e !== 'runs' && e !== 'work'), ...hidden];
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
    }, 90_000, 'three completions');
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
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    assert.match(metrics, /^vcs_jobs_total\{result="completed"\} 3$/m);
    assert.match(metrics, /^vcs_job_duration_seconds_count\{result="completed"\} 3$/m);
    assert.match(metrics, /^vcs_queue_depth 0$/m);
    assert.match(metrics, /^vcs_store_up 1$/m);
    assert.match(metrics, /^vcs_ffmpeg_available 1$/m);
    assert.match(metrics, /^vcs_http_requests_total\{route="\/storage\/hls",method="GET",status="200"\} \d+$/m);
    assert.equal(await leftovers(env.STORAGE_PATH), []);
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
    assert.is(done.retry_count, 0, 'a crash is not a failure');
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

test.run();
