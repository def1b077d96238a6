/**
 * `vcs enqueue`'s core (src/roots/enqueue.ts): sources it accepts, and queueing a video again the
 * same way the API does (src/jobs/queue.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import { enqueue, sourceUrlFor } from '../../src/roots/enqueue.ts';

/** The message `work` fails with (uvu has no rejects()). */
async function failure(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a failure');
}

test('sources: http(s) URLs as given, local files as file: URLs (embedded store), never credentials', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-enqueue-'));
  try {
    const embedded = loadConfig({});
    const appwrite = loadConfig({ STORE: 'appwrite', APPWRITE_ENDPOINT: 'https://aw.example/v1', APPWRITE_PROJECT_ID: 'p', APPWRITE_API_KEY: 'k' });
    assert.is(await sourceUrlFor('https://wp.example/a b.mp4', embedded), 'https://wp.example/a%20b.mp4');
    const file = path.join(dir, 'clip.mp4');
    await writeFile(file, 'x');
    assert.is(await sourceUrlFor(file, embedded), `file://${file}`);
    assert.match(await failure(() => sourceUrlFor(file, appwrite)), /only with the embedded store or ALLOW_LOCAL_SOURCES/);
    assert.match(await failure(() => sourceUrlFor(path.join(dir, 'missing.mp4'), embedded)), /is not a file/);
    const refused = await sourceUrlFor('https://user:s3cret@wp.example/a.mp4', embedded).catch((err: Error) => err);
    assert.instance(refused, Error);
    assert.match((refused as Error).message, /credentials/);
    assert.not.match((refused as Error).message, /s3cret/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a finished or failed video is queued again with a fresh retry budget; a queued or running one is a conflict', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-enqueue-'));
  const store = createSqliteStore({ file: path.join(dir, 'vcs.sqlite'), now: Date.now });
  await store.init();
  try {
    const settings = loadConfig({});
    const first = await enqueue(store, settings, { id: 7, source: 'https://wp.example/7.mp4', priority: 'normal' });
    assert.equal([first.created, first.position, first.video.title], [true, 1, '7.mp4']);
    assert.match(await failure(() => enqueue(store, settings, { id: 7, source: 'https://wp.example/7.mp4', priority: 'normal' })), /already queued/);
    await store.transition(7, 'processing', { job_name: 'vcs-7-1' });
    assert.match(await failure(() => enqueue(store, settings, { id: 7, source: 'https://wp.example/7.mp4', priority: 'normal' })), /being compressed/);
    await store.transition(7, 'failed', { retry_count: 3, error_code: 'VCS_ERR_FFMPEG_FAILED', retryable: true });
    const again = await enqueue(store, settings, { id: 7, source: 'https://wp.example/new.mp4', title: 'New', priority: 'high' });
    assert.equal([again.created, again.video.compression_status, again.video.retry_count, again.video.original_video_url, again.video.title, again.video.priority], [false, 'pending', 0, 'https://wp.example/new.mp4', 'New', 'high']);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
