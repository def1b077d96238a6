/**
 * The `vcs` command line itself (src/cli.ts): `vcs transcode` without a job asks for its options
 * instead of failing like a broken job, the job environment still runs without them, `--version`
 * prints the package's version, and a package already published in --output is not replaced
 * without --force.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, runVcs } from '../support/vcs.ts';

let tmp = '';
test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-cli-'));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('vcs transcode without options or a job prints its usage; with VCS_JOB_NAME it is still a job (a bad one reports why)', async () => {
  const [usage, job] = await Promise.all([runVcs(['transcode']), runVcs(['transcode'], { VCS_JOB_NAME: 'vcs-1-1' })]);
  assert.is(usage.code, 1);
  assert.is(usage.stdout, '');
  assert.match(usage.stderr, /^vcs transcode --source <file or URL> --output <folder> \[--id N\]/);
  assert.match(usage.stderr, /--force +replace a package already published in --output/);
  assert.match(usage.stderr, /VCS_JOB_NAME/);
  assert.not.match(usage.stderr, /"level"/, 'help, not a log line');
  assert.is(job.code, 2);
  assert.match(JSON.parse(job.stdout.trim()).error.message, /the job contract is incomplete: VCS_VIDEO_ID is required/);
});

test('vcs --version prints the version of package.json', async () => {
  const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  const run = await runVcs(['--version']);
  assert.equal([run.code, run.stdout], [0, `${version}\n`]);
});

test('vcs transcode refuses to replace a published package without --force, and says so when forced', async () => {
  const out = path.join(tmp, 'hls', '123');
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'master.m3u8'), '#EXTM3U\n');
  await writeFile(path.join(out, 'manifest.json'), JSON.stringify({ videoId: 123, jobName: 'vcs-123-1', createdAt: '2026-01-01T00:00:00.000Z' }));
  const missing = path.join(tmp, 'missing.mp4');
  const [refused, forced] = await Promise.all([
    runVcs(['transcode', '--source', missing, '--output', out, '--id', '123']),
    runVcs(['transcode', '--source', missing, '--output', out, '--id', '123', '--force']),
  ]);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /already holds a published HLS package: a service may be serving it and its store describes it; to have the service encode video 123 again, run vcs retry 123; pass --force to replace it anyway/);
  assert.match(refused.stderr, /"publishedBy":"vcs-123-1"/);
  assert.not.match(refused.stderr, /step downloading/, 'nothing was started');
  // Forced, it goes ahead (and fails here on the missing source, leaving the package as it was).
  assert.match(forced.stderr, /replacing the published package \(--force\)/);
  assert.match(forced.stderr, /step downloading/);
  assert.is(await readFile(path.join(out, 'master.m3u8'), 'utf8'), '#EXTM3U\n');
});

test.run();
