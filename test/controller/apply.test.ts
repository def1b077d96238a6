/**
 * The controller's writes (src/controller/apply.ts) as the publisher reads them: a completed
 * video compressed again keeps its package's URLs in the document, and so in the API's answer,
 * while the new run goes and after it fails — on the embedded store and on the Appwrite document
 * the WordPress site reads (the fake Appwrite server).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyAction, type ApplyContext } from '../../src/controller/apply.ts';
import type { RunStatus, Runner } from '../../src/controller/runner.ts';
import { postStatus } from '../../src/gateway/presenters.ts';
import { queueAgain } from '../../src/jobs/queue.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { startAppwriteServer } from '../support/appwrite-server.ts';
import { appwriteStore, heldRow, setUpSchema } from '../support/appwrite-fixtures.ts';

const PUBLIC_URL = 'https://cdn.example.com';
const URLS = {
  master_playlist_url: `${PUBLIC_URL}/storage/hls/5/master.m3u8`,
  poster_url: `${PUBLIC_URL}/storage/hls/5/poster.jpg`,
  hls_high_url: `${PUBLIC_URL}/storage/hls/5/high/playlist.m3u8`,
  hls_medium_url: `${PUBLIC_URL}/storage/hls/5/medium/playlist.m3u8`,
  hls_low_url: null,
};

/** A runner that takes every run and forgets on request; runs end when the test says. */
const idleRunner: Runner = { start: async () => undefined, list: async () => [], stop: async () => undefined, forget: async () => undefined, onChange: () => undefined, close: async () => undefined };

const run = (jobName: string, phase: RunStatus['phase']): RunStatus => ({ jobName, videoId: 5, phase, startedAt: Date.now() });
const output = { renditions: [{ name: 'high' }, { name: 'medium' }], totalBytes: 4000, durationSeconds: 8.5 } as never;

/** complete → compress again → running → failed, checking the document and the API at each step. */
async function recompressionKeepsUrls(store: JobStore, document: () => Promise<Record<string, unknown> | undefined>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-apply-'));
  const ctx: ApplyContext = {
    store,
    runner: idleRunner,
    now: Date.now,
    log: pino({ level: 'silent' }),
    publicUrl: PUBLIC_URL,
    volume: { hlsPath: path.join(dir, 'hls'), tempPath: path.join(dir, 'tmp') },
    jobSpec: (video, jobName) => ({ jobName, videoId: video.wp_post_id }) as never,
  };
  const api = async () => postStatus((await store.get(5))!, Date.now(), { position: null }).urls;
  const urlsInDocument = async () => {
    const doc = (await document())!;
    return Object.fromEntries(Object.keys(URLS).map((k) => [k, doc[k] ?? null]));
  };
  try {
    await store.create({ wp_post_id: 5, title: 'Five', original_video_url: 'https://wp.example/5.mp4' });
    await applyAction({ kind: 'start', video: (await store.get(5))!, jobName: 'vcs-5-1' }, ctx);
    await applyAction({ kind: 'complete', video: (await store.get(5))!, run: run('vcs-5-1', 'succeeded'), output }, ctx);
    assert.equal(await api(), URLS, 'completed');

    await queueAgain(store, (await store.get(5))!, {});
    assert.equal([(await store.get(5))!.compression_status, await api(), await urlsInDocument()], ['pending', URLS, URLS], 'queued again: the old package is still served');
    await applyAction({ kind: 'start', video: (await store.get(5))!, jobName: 'vcs-5-2' }, ctx);
    assert.equal([(await store.get(5))!.compression_status, await api(), await urlsInDocument()], ['processing', URLS, URLS], 'being compressed again');
    await applyAction({ kind: 'fail', video: (await store.get(5))!, run: run('vcs-5-2', 'failed'), code: 'VCS_ERR_NOT_A_VIDEO', message: 'not a video', step: 'probing', retryable: false }, ctx);
    assert.equal([(await store.get(5))!.compression_status, await api(), await urlsInDocument()], ['failed', URLS, URLS], 'the re-compression failed: the old package is still served');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('re-compression keeps the served package’s URLs in the API and the document (embedded store)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-apply-store-'));
  const store = createSqliteStore({ file: path.join(dir, 'vcs.sqlite'), now: Date.now });
  await store.init();
  try {
    await recompressionKeepsUrls(store, async () => (await store.get(5)) as never);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('re-compression never blanks the URL fields of the Appwrite document the publisher reads', async () => {
  const server = await startAppwriteServer({ buildMs: 0 });
  await setUpSchema(server, 'tablesdb');
  const store = appwriteStore(server, 'tablesdb');
  await store.init();
  try {
    await recompressionKeepsUrls(store, async () => heldRow(server, 5) as never);
  } finally {
    await store.close();
    await server.close();
  }
});

test.run();
