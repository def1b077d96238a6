/**
 * `npm run screenshots`: the README's pictures of the admin dashboard, made from a real `vcs serve`
 * (a temporary folder, a few clips generated with FFmpeg and really encoded, some failed and
 * queued videos) in Debian's Chromium. Writes docs/images/admin-*.png. Needs what the tests need
 * (scripts/install.sh, npm run build).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../test/support/browser.ts';
import { startServer } from '../test/support/http-server.ts';
import { makeClip } from '../test/support/media.ts';
import { openStoreFile, servicePorts, startServe, waitFor } from '../test/support/service.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'docs/images');
const KEY = 'screenshot-key-0123456789abcdef';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-shots-'));
const storage = path.join(tmp, 'storage');
await mkdir(storage, { recursive: true });
const clips: Record<string, Buffer> = {};
for (const [name, seconds] of [['intro', 8], ['tutorial', 12], ['demo', 90]] as const) {
  clips[`/${name}.mp4`] = await readFile(await makeClip(path.join(tmp, `${name}.mp4`), { width: 1280, height: 720, seconds, audio: 2 }));
}
const source = await startServer((req, res) => {
  const body = clips[(req.url ?? '').split('?')[0]!];
  if (!body) return void res.writeHead(404).end();
  res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': body.length }).end(body);
});
const store = await openStoreFile(path.join(storage, 'vcs.sqlite'));
const now = new Date().toISOString();
await store.create({ wp_post_id: 101, title: 'Upload that is not a video', original_video_url: `${source.url}/missing.mp4` });
await store.transition(101, 'failed', { error_message: 'the source is not a video: ffprobe found no video stream', error_code: 'VCS_ERR_NOT_A_VIDEO', failed_at_step: 'probing', retryable: false, failed_at: now }, ['pending']);
const serve = await startServe({ ...(await servicePorts()), STORAGE_PATH: storage, API_KEY: KEY, ADMIN_SESSION_SECRET: 'screenshots', WORKER_INTERVAL: '1000', VIDEO_PRESET: 'veryfast', ALLOW_PRIVATE_SOURCES: 'true', MAX_CONCURRENT_JOBS: '1' });
const queue = async (id: number, title: string, file: string) =>
  fetch(`${serve.url}/api/jobs`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ wp_post_id: id, title, original_video_url: `${source.url}${file}` }) });
try {
  await queue(102, 'Welcome to the channel', '/intro.mp4');
  await queue(103, 'Tutorial: editing in ten minutes', '/tutorial.mp4');
  await waitFor(async () => (await store.get(103))?.compression_status === 'completed', 120_000, 'two videos encoded');
  await queue(104, 'Product demo (long)', '/demo.mp4');
  await queue(105, 'Behind the scenes', '/intro.mp4');
  await waitFor(async () => ((await store.get(104))?.compression_progress ?? 0) > 15, 120_000, 'the long one under way');

  const browser = await launchChromium();
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 })).newPage();
  await mkdir(OUT, { recursive: true });
  await page.goto(`${serve.url}/admin/login`);
  await page.screenshot({ path: path.join(OUT, 'admin-sign-in.png') });
  await page.fill('#key', KEY);
  await page.click('button[type=submit]');
  await page.waitForSelector('tr[data-id="104"][data-status="processing"]');
  await page.waitForSelector('.activity li');
  await page.screenshot({ path: path.join(OUT, 'admin-dashboard.png'), fullPage: true });
  await page.click('tr[data-id="103"] >> text=Details');
  await page.waitForFunction(() => document.querySelectorAll('#quality option').length > 1);
  await page.evaluate(() => (document.getElementById('preview') as HTMLVideoElement).play());
  await page.waitForFunction(() => (document.getElementById('preview') as HTMLVideoElement).currentTime > 2);
  await page.screenshot({ path: path.join(OUT, 'admin-details.png') });
  await browser.close();
  console.log(`screenshots: ${['admin-sign-in.png', 'admin-dashboard.png', 'admin-details.png'].map((f) => `docs/images/${f}`).join(', ')}`);
} finally {
  serve.child.kill('SIGTERM');
  await serve.exited;
  await source.close();
  await store.close();
  await rm(tmp, { recursive: true, force: true });
}
