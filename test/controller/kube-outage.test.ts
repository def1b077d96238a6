/**
 * The API server out of reach for a while (shorter than the renew deadline): the leader keeps its
 * Lease, decides nothing on its stale view, marks no video failed, and once the server answers
 * again it re-lists, records the Job that finished meanwhile and starts the video queued
 * meanwhile — one Job each.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeClip } from '../support/media.ts';
import { isLeader, poke, startKubeHarness, type KubeHarness } from '../support/kube-harness.ts';
import { waitFor } from '../support/service.ts';

const test = suite('kube outage');
let tmp = '';
let h: KubeHarness;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-kube-outage-'));
  const clip = await readFile(await makeClip(path.join(tmp, 'clip.mp4'), { width: 320, height: 240, seconds: 2, audio: 2 }));
  h = await startKubeHarness(tmp, { '/clip.mp4': clip });
});

test.after(async () => {
  await h?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('the API server unreachable for a while: the controller recovers and marks nothing failed because of it', async () => {
  const env = await h.controllerEnv('steady', {
    LEADER_ELECTION_LEASE_DURATION: '30000',
    LEADER_ELECTION_RENEW_DEADLINE: '20000',
    LEADER_ELECTION_RETRY_PERIOD: '500',
  });
  const controller = await h.startController(env);
  await waitFor(() => isLeader(controller), 10_000, 'the controller leads');
  h.hold('/clip.mp4'); // vcs-301-1 goes on only once the API server is gone
  await h.store.create({ wp_post_id: 301, title: 'Finishes during the outage', original_video_url: `${h.source.url}/clip.mp4` });
  await poke(controller);
  await waitFor(() => h.cluster.running().some((p) => p.startsWith('vcs-301-1-')), 20_000, 'vcs-301-1 running');

  await h.api.goDown();
  const health = async () => (await (await fetch(`${controller.url}/healthz`)).json()) as { leader: boolean; kubeSynced: boolean };
  await waitFor(async () => (await health()).kubeSynced === false, 10_000, 'the controller notices');
  await h.store.create({ wp_post_id: 302, title: 'Queued during the outage', original_video_url: `${h.source.url}/clip.mp4` });
  await poke(controller);
  h.release('/clip.mp4');
  // The pod goes on without the API server: the cluster's own controllers still write its end.
  await waitFor(() => h.cluster.pods.find((p) => p.job === 'vcs-301-1')?.exitCode === 0, 30_000, 'vcs-301-1 finished during the outage');
  await new Promise((r) => setTimeout(r, 1500)); // a few passes on the stale view
  const during = await Promise.all([301, 302].map(async (id) => (await h.store.get(id))!.compression_status));
  assert.equal(during, ['processing', 'pending']);
  assert.is(controller.child.exitCode, null, controller.output());

  await h.api.comeBack();
  const done = await waitFor(async () => {
    const videos = await Promise.all([301, 302].map(async (id) => (await h.store.get(id))!));
    assert.ok(videos.every((v) => v.compression_status !== 'failed'), `nothing failed: ${videos.map((v) => v.error_message).join(', ')}`);
    return videos.every((v) => v.compression_status === 'completed') && videos;
  }, 40_000, 'both videos completed');
  assert.equal(done.map((v) => [v.job_name, v.retry_count, v.error_message]), [
    ['vcs-301-1', 0, null],
    ['vcs-302-1', 0, null],
  ]);
  assert.equal(h.jobNames(), ['vcs-301-1', 'vcs-302-1']);
  assert.ok(await isLeader(controller), 'still the leader');
  assert.match(controller.output(), /watch failed: cache unsynced/);
  assert.match(controller.output(), /watch cache synced/);
});

test.run();
