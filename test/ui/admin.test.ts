/**
 * The admin dashboard in a real browser (Debian's Chromium through playwright-core) against a real
 * `vcs serve` on a seeded SQLite store: sign-in with a key, the table with its filters, search,
 * sort and pagination, a title holding HTML shown as text, a real encode whose progress and status
 * change live, the per-video, bulk and system actions changing the store, the CSV export, CSRF
 * refusal, the CSP header, sign-out — and no console errors on the way.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JobStore } from '../../src/jobs/store.ts';
import { launchChromium } from '../support/browser.ts';
import { startServer, type TestServer } from '../support/http-server.ts';
import { makeClip } from '../support/media.ts';
import { openStoreFile, servicePorts, startServe, waitFor, type ServeProcess } from '../support/service.ts';

const test = suite('admin dashboard in Chromium');
const KEY = 'admin-test-key-0123456789';
const XSS = '<img src=x onerror=alert(1)>';
let tmp = '';
let store: JobStore;
let serve: ServeProcess;
let source: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

async function seed(s: JobStore): Promise<void> {
  const now = new Date().toISOString();
  for (let id = 1; id <= 230; id++) {
    const title = id % 10 === 0 ? `Tutorial ${id}` : `Video ${String(id).padStart(3, '0')}`;
    await s.create({ wp_post_id: id, title, original_video_url: `https://uploads.example.com/${id}.mp4` });
    if (id <= 200) {
      await s.transition(id, 'failed', { error_message: 'not a video', error_code: 'VCS_ERR_NOT_A_VIDEO', failed_at_step: 'probing', retryable: false, failed_at: now }, ['pending']);
    } else {
      await s.transition(id, 'processing', { job_name: `vcs-${id}-1`, started_at: now, compression_step: 'queued' }, ['pending']);
      await s.transition(id, 'completed', { completed_at: now, compression_step: 'completed', compression_progress: 100, duration_seconds: 3 }, ['processing']);
    }
  }
  await s.create({ wp_post_id: 999, title: XSS, original_video_url: 'https://uploads.example.com/999.mp4' });
  await s.transition(999, 'failed', { error_message: XSS, error_code: 'VCS_ERR_NOT_A_VIDEO', failed_at_step: 'probing', retryable: false, failed_at: now }, ['pending']);
}

/** Waits for the pager to say `text`, naming what it says instead when it does not. */
async function pagerSays(text: string): Promise<void> {
  try {
    await page.waitForFunction((t) => document.getElementById('page')?.textContent?.includes(t), text, { timeout: 15_000 });
  } catch {
    throw new Error(`the pager says ${JSON.stringify(await page.textContent('#page'))}, not …${text}…`);
  }
}

const rowIds = () => page.$$eval('tbody tr[data-id]', (rows) => rows.map((r) => Number((r as HTMLElement).dataset.id)));

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-admin-ui-'));
  const storage = path.join(tmp, 'storage');
  store = await openStoreFile(path.join(storage, 'vcs.sqlite')).catch(async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(storage, { recursive: true });
    return openStoreFile(path.join(storage, 'vcs.sqlite'));
  });
  await seed(store);
  const clip = await readFile(await makeClip(path.join(tmp, 'clip.mp4'), { width: 854, height: 480, seconds: 60, audio: 2 }));
  source = await startServer((_req, res) => res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': clip.length }).end(clip));
  serve = await startServe({
    ...(await servicePorts()),
    STORAGE_PATH: storage,
    API_KEY: KEY,
    ADMIN_SESSION_SECRET: 'admin-ui-test-secret',
    WORKER_INTERVAL: '1000',
    VIDEO_PRESET: 'ultrafast',
    ALLOW_PRIVATE_SOURCES: 'true',
    RATE_LIMIT_MAX_REQUESTS: '1000',
  });
  browser = await launchChromium();
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => (d.type() === 'confirm' ? d.accept() : (problems.push(`unexpected ${d.type()}: ${d.message()}`), d.dismiss())));
});

test.after(async () => {
  await browser?.close();
  serve?.child.kill('SIGTERM');
  await serve?.exited;
  await source?.close();
  await store?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('signed out, /admin leads to the sign-in page; a wrong key is refused, the right one signs in', async () => {
  const res = await page.goto(`${serve.url}/admin`);
  assert.match(page.url(), /\/admin\/login$/);
  assert.match(res!.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.fill('#key', 'wrong-key');
  await page.click('button[type=submit]');
  await page.waitForSelector('.error');
  assert.match(await page.textContent('.error') ?? '', /not valid/);
  await page.fill('#key', KEY);
  await page.click('button[type=submit]');
  await page.waitForSelector('tbody tr[data-id]');
  await page.waitForSelector('.activity li');
  assert.match(page.url(), /\/admin\/$/);
  const cookie = (await context.cookies()).find((c) => c.name === 'vcs_admin')!;
  assert.equal([cookie.httpOnly, cookie.sameSite, cookie.path], [true, 'Strict', '/']);
  assert.ok(cookie.expires * 1000 - Date.now() > 23.9 * 3600_000, 'a 24-hour session');
});

test('statistics, the first page, and a title with HTML shown as text', async () => {
  assert.is(await page.textContent('#stat-total .value'), '231');
  assert.is(await page.textContent('#stat-failed .value'), '201');
  assert.is(await page.textContent('#stat-completed .value'), '30');
  assert.is((await rowIds()).length, 20);
  assert.match((await page.textContent('#page')) ?? '', /Page 1 of 12 \(231 videos\)/);
  await page.fill('#search', '999');
  await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-id]').length === 1);
  assert.is(await page.textContent('tbody tr[data-id="999"] td.title'), `${XSS}${XSS}`);
  assert.is(await page.$$eval('img[src="x"]', (imgs) => imgs.length), 0);
});

test('filters, search, sort and pagination', async () => {
  await page.fill('#search', '');
  await pagerSays('(231 videos)'); // the search applies 300 ms after the last keystroke
  await page.selectOption('#filter-status', 'completed');
  await pagerSays('(30 videos)');
  assert.ok((await page.$$eval('tbody tr[data-id]', (r) => r.map((x) => (x as HTMLElement).dataset.status))).every((s) => s === 'completed'));
  await page.click('text=Next →');
  await pagerSays('Page 2 of 2');
  assert.is((await rowIds()).length, 10);
  await page.selectOption('#filter-status', '');
  await pagerSays('(231 videos)');
  await page.fill('#search', 'Tutorial');
  await pagerSays('(23 videos)');
  await page.selectOption('#sort', 'wp_post_id');
  await page.selectOption('#order', 'asc');
  await page.waitForFunction(() => (document.querySelector('tbody tr[data-id]') as HTMLElement | null)?.dataset.id === '10');
  assert.equal((await rowIds()).slice(0, 3), [10, 20, 30]);
  await page.fill('#search', '');
  await page.selectOption('#sort', 'created_at');
  await page.selectOption('#order', 'desc');
  await pagerSays('(231 videos)');
  // Date range on the creation day: everything was made today.
  const today = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  await page.fill('#to', yesterday);
  await pagerSays('(0 videos)');
  await page.fill('#from', yesterday);
  await page.fill('#to', today);
  await pagerSays('(231 videos)');
  await page.fill('#from', '');
  await page.fill('#to', '');
  await pagerSays('(231 videos)');
});

test('a real encode: its progress bar moves and its status flips to completed, live, without a reload', async () => {
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  const res = await fetch(`${serve.url}/api/jobs`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ wp_post_id: 5000, title: 'Live one', original_video_url: `${source.url}/clip.mp4` }) });
  assert.is(res.status, 201);
  await page.waitForSelector('tr[data-id="5000"]', { timeout: 15_000 });
  const seen = await page.waitForFunction(
    () => {
      const bar = document.querySelector('tr[data-id="5000"] [role=progressbar]');
      const v = Number(bar?.getAttribute('aria-valuenow'));
      return v > 0 && v < 100 ? v : null;
    },
    undefined,
    { timeout: 60_000, polling: 100 },
  );
  const first = (await seen.jsonValue()) as number;
  assert.ok(first > 0);
  // No layout jumps while progress moves: the row and the table keep their size.
  const boxes = () => page.evaluate(() => [document.querySelector('tr[data-id="5000"]')!.getBoundingClientRect().height, document.querySelector('table')!.getBoundingClientRect().height]);
  const before = await boxes();
  await page.waitForFunction((v) => Number(document.querySelector('tr[data-id="5000"] [role=progressbar]')?.getAttribute('aria-valuenow')) !== v, first, { timeout: 30_000, polling: 100 });
  if ((await page.getAttribute('tr[data-id="5000"]', 'data-status')) === 'processing') assert.equal(await boxes(), before);
  await page.waitForSelector('tr[data-id="5000"][data-status="completed"]', { timeout: 90_000 });
  assert.is(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 1, 'no reload');
  await page.waitForFunction(() => document.querySelector('.activity')?.textContent?.includes('Video #5000 completed'));
});

test('details of the encoded video: its fields and URLs, and a preview that plays and switches quality', async () => {
  await page.click('tr[data-id="5000"] >> text=Details');
  await page.waitForSelector('dialog.details[open]');
  assert.is(await page.textContent('#details-title'), 'Live one');
  assert.match((await page.textContent('dialog.details .urls')) ?? '', /master\.m3u8/);
  assert.match((await page.textContent('dialog.details .renditions')) ?? '', /(high|medium|low): [\d.]+ MB in \d+ segments, \d+ kb\/s on average/);
  assert.match((await page.textContent('#sys-store')) ?? '', /^connected \([\d.]+ ms\)$/);
  // The run's own log, from the volume, in readable lines.
  const log = (await page.textContent('dialog.details pre.log')) ?? '';
  assert.match(log, /INFO step downloading/);
  assert.match(log, /transcode(d| completed)|published|self-check/i);
  await page.waitForFunction(() => document.querySelectorAll('#quality option').length >= 3, undefined, { timeout: 15_000 });
  const levels = await page.$$eval('#quality option', (o) => o.map((x) => x.textContent));
  assert.match(levels[1]!, /^\d+p · \d+ kb\/s$/);
  await page.evaluate(() => (document.getElementById('preview') as HTMLVideoElement).play());
  await page.waitForFunction(() => (document.getElementById('preview') as HTMLVideoElement).currentTime > 1, undefined, { timeout: 20_000 });
  const target = levels.length - 2; // the last rendition listed
  await page.selectOption('#quality', String(target));
  await page.waitForFunction((t) => (document.getElementById('preview') as HTMLVideoElement).dataset.level === String(t), target, { timeout: 20_000 });
  assert.match((await page.textContent('#level')) ?? '', /^Playing \d+p/);
  // A rendition and the package download as files.
  const [rendition] = await Promise.all([page.waitForEvent('download'), page.click('dialog.details .downloads a:has-text("rendition (.ts)") >> nth=0')]);
  const renditionBytes = await readFile((await rendition.path())!);
  assert.ok(renditionBytes.length > 100_000 && renditionBytes[0] === 0x47, 'an MPEG-TS file');
  const [pack] = await Promise.all([page.waitForEvent('download'), page.click('dialog.details .downloads a:has-text("Package (.tar)")')]);
  assert.match(pack.suggestedFilename(), /^video-5000-hls\.tar$/);
  assert.is(await page.getAttribute('dialog.details .downloads a:has-text("Original upload")', 'href'), `${source.url}/clip.mp4`);
  await page.click('dialog.details .close');
  await page.waitForSelector('dialog.details:not([open])', { state: 'attached' });
});

test('pause, retry, bulk retry, delete, CSV export, resume — each changes the store', async () => {
  await page.click('#pause');
  await waitFor(() => store.isPaused(), 5000, 'paused');
  await page.waitForFunction(() => document.getElementById('pause')?.textContent === 'Resume worker');
  await page.selectOption('#filter-status', 'failed');
  await page.fill('#search', 'Video 00');
  await pagerSays('(9 videos)');
  await page.click('tr[data-id="1"] >> text=Retry');
  await waitFor(async () => (await store.get(1))?.compression_status === 'pending', 5000, 'video 1 pending');
  await pagerSays('(8 videos)');
  await page.check('tr[data-id="2"] input[type=checkbox]');
  await page.check('tr[data-id="3"] input[type=checkbox]');
  await page.click('text=Retry selected');
  await waitFor(async () => (await store.get(2))?.compression_status === 'pending' && (await store.get(3))?.compression_status === 'pending', 5000, 'videos 2 and 3 pending');
  await page.click('tr[data-id="4"] >> text=Delete');
  await waitFor(async () => (await store.get(4))?.compression_status === 'deleted', 5000, 'video 4 deleted');
  await pagerSays('(5 videos)');
  // From the details: deleted, keeping the files (the API's delete_files=false).
  await page.click('tr[data-id="9"] >> text=Details');
  await page.click('#delete-keep-files');
  await waitFor(async () => (await store.get(9))?.compression_status === 'deleted', 5000, 'video 9 deleted');
  await pagerSays('(4 videos)');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  const csv = await readFile((await download.path())!, 'utf8');
  const lines = csv.trim().split('\r\n');
  assert.is(lines[0], 'wp_post_id,title,status,step,progress,priority,created_at,completed_at,master_playlist_url,error_message');
  assert.equal(lines.slice(1).map((l) => Number(JSON.parse(l.split(',')[0]!))).sort((a, b) => a - b), [5, 6, 7, 8]);
  await page.click('#pause');
  await waitFor(async () => !(await store.isPaused()), 5000, 'resumed');
  // The actions are in the activity list, with who did them.
  await page.waitForFunction(() => document.querySelector('.activity')?.textContent?.includes('resumed the worker'));
  const activity = (await page.textContent('.activity')) ?? '';
  for (const text of ['paused the worker', 'queued video #1 again', 'queued video #2 again', 'deleted video #4', 'resumed the worker']) assert.match(activity, new RegExp(`api-key:[0-9a-f]{8} ${text}`), text);
});

test('a state-changing call with the session but without its CSRF token is refused', async () => {
  const before = problems.length;
  const status = await page.evaluate(async () => (await fetch('/api/worker/pause', { method: 'POST' })).status);
  problems.splice(before); // the browser logs the refused call itself
  assert.is(status, 403);
  assert.is(await store.isPaused(), false);
});

test('on a phone the page does not scroll sideways; the keyboard reaches the actions and the dialog', async () => {
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(`${serve.url}/admin/`);
  await phone.waitForSelector('tbody tr[data-id]');
  assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling of the page');
  let found = false;
  for (let i = 0; i < 80 && !found; i++) {
    await phone.keyboard.press('Tab');
    found = await phone.evaluate(() => document.activeElement?.textContent === 'Details');
  }
  assert.ok(found, 'Tab reaches a Details button');
  await phone.keyboard.press('Enter');
  await phone.waitForSelector('dialog.details[open]');
  await phone.keyboard.press('Escape');
  await phone.waitForSelector('dialog.details:not([open])', { state: 'attached' });
  await phone.close();
});

test('sign-out ends the session; no console errors on the way', async () => {
  await page.click('#signout');
  await page.waitForURL(/\/admin\/login$/);
  await page.goto(`${serve.url}/admin/`);
  assert.match(page.url(), /\/admin\/login$/);
  assert.equal(problems, []);
});

test.run();
