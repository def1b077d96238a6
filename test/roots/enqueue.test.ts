/**
 * `vcs enqueue`'s core (src/roots/enqueue.ts): the sources it accepts, and the API calls it makes
 * — a new video is created, a known one queued again with its new source and, unless a title is
 * given, its title kept. The API itself is faked at the client's edge; test/service/cli.test.ts
 * runs the real thing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enqueue, sourceUrlFor } from '../../src/roots/enqueue.ts';
import { ServiceError, type ServiceClient } from '../../src/roots/service-client.ts';

/** The message `work` fails with (uvu has no rejects()). */
async function failure(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a failure');
}

/** A client that records its calls; GET /api/post/:id finds the ids in `known`. */
function fakeClient(known: number[]): ServiceClient & { calls: { method: string; path: string; body?: unknown }[] } {
  const calls: { method: string; path: string; body?: unknown }[] = [];
  return {
    url: 'http://127.0.0.1:3000',
    calls,
    async call<T>(method: string, p: string, opts: { body?: unknown } = {}) {
      calls.push({ method, path: p, ...(opts.body !== undefined ? { body: opts.body } : {}) });
      const id = Number(/^\/api\/post\/(\d+)$/.exec(p)?.[1]);
      if (method === 'GET' && !known.includes(id)) throw new ServiceError(`no video with wp_post_id ${id}`, 2, 404, 'VCS_ERR_NOT_FOUND');
      return { success: true, message: 'Job queued for processing', wp_post_id: id, position_in_queue: 1, paused: false } as T;
    },
  };
}

test('sources: http(s) URLs as given, local files (relative to the working folder) as file: URLs, never credentials', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-enqueue-'));
  try {
    assert.is(await sourceUrlFor('https://wp.example/a b.mp4', dir), 'https://wp.example/a%20b.mp4');
    await writeFile(path.join(dir, 'clip.mp4'), 'x');
    assert.is(await sourceUrlFor('./clip.mp4', dir), `file://${dir}/clip.mp4`);
    assert.is(await sourceUrlFor(path.join(dir, 'clip.mp4'), '/'), `file://${dir}/clip.mp4`);
    assert.match(await failure(() => sourceUrlFor('missing.mp4', dir)), /missing\.mp4 is not a file/);
    const refused = await failure(() => sourceUrlFor('https://user:s3cret@wp.example/a.mp4', dir));
    assert.match(refused, /credentials/);
    assert.not.match(refused, /s3cret/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a new video is created with the file name as its title; a known one is queued again with its new source, its title kept unless given', async () => {
  const fresh = fakeClient([]);
  await enqueue(fresh, { id: 7, source: 'https://wp.example/my%20clip.mp4', priority: 'normal' }, '/');
  assert.equal(fresh.calls.at(-1), { method: 'POST', path: '/api/jobs', body: { wp_post_id: 7, title: 'my clip.mp4', original_video_url: 'https://wp.example/my%20clip.mp4', priority: 'normal' } });

  const known = fakeClient([7]);
  await enqueue(known, { id: 7, source: 'https://wp.example/new.mp4', priority: 'high' }, '/');
  assert.equal(known.calls.at(-1), { method: 'POST', path: '/api/compress/7', body: { priority: 'high', original_video_url: 'https://wp.example/new.mp4' } });
  await enqueue(known, { id: 7, source: 'https://wp.example/new.mp4', title: 'New', priority: 'normal' }, '/');
  assert.equal(known.calls.at(-1), { method: 'POST', path: '/api/compress/7', body: { priority: 'normal', original_video_url: 'https://wp.example/new.mp4', title: 'New' } });
});

test('a refusal other than "unknown video" is the answer, and nothing is written', async () => {
  const client = fakeClient([]);
  client.call = async () => {
    throw new ServiceError('the API key is not valid', 2, 401, 'VCS_ERR_UNAUTHORIZED');
  };
  assert.match(await failure(() => enqueue(client, { id: 7, source: 'https://wp.example/7.mp4', priority: 'normal' }, '/')), /not valid/);
});

test.run();
