import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LOG_FILES, openLogFiles, ROTATION, rotatedName, routeLine } from '../../../src/log/files.ts';

test('each line goes to its file by channel, program and level; errors also to error.log', () => {
  const cases: [Record<string, unknown>, string[]][] = [
    [{ level: 30, name: 'vcs', part: 'controller' }, ['worker']],
    [{ level: 30, name: 'transcoder' }, ['compression']],
    [{ level: 30, name: 'vcs', channel: 'access' }, ['access']],
    [{ level: 30, name: 'vcs', channel: 'audit' }, ['audit']],
    [{ level: 50, name: 'vcs' }, ['worker', 'error']],
    [{ level: 60, name: 'transcoder' }, ['compression', 'error']],
    [{ level: 50, name: 'vcs', channel: 'access' }, ['access', 'error']],
    [{ level: 40, name: 'vcs' }, ['worker']],
  ];
  for (const [line, files] of cases) assert.equal(routeLine(line), files, JSON.stringify(line));
});

test('the plan’s rotation: daily kept 30 days, audit weekly kept 12 weeks; rotated names carry the day', () => {
  assert.equal(LOG_FILES, ['worker', 'compression', 'error', 'access', 'audit']);
  for (const file of LOG_FILES) assert.equal(ROTATION[file], file === 'audit' ? { interval: '7d', maxFiles: 12 } : { interval: '1d', maxFiles: 30 }, file);
  const name = rotatedName('worker');
  assert.is(name(null), 'worker.log');
  assert.is(name(new Date(2025, 9, 22, 10, 30)), 'worker-20251022.log.gz');
  assert.is(name(new Date(2025, 9, 22), 2), 'worker-20251022-2.log.gz');
});

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-logfiles-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('rotated files are gzipped, and only maxFiles of them are kept', () =>
  withDir(async (dir) => {
    // By size instead of a day, so the test drives every rotation itself.
    const files = openLogFiles(dir, { size: '1K', interval: undefined, maxFiles: 2 });
    let rotations = 0;
    files.streams.worker.on('rotated', () => rotations++);
    // A file past its size is rotated before the next write.
    for (let round = 0; round < 4; round++) files.write('worker', `${`round ${round} `.padEnd(1100, 'x')}\n`);
    files.write('worker', 'still being written\n');
    await files.close();
    assert.is(rotations, 4);
    const names = (await readdir(dir)).filter((n) => n.startsWith('worker')).sort();
    const rotated = names.filter((n) => n.endsWith('.gz'));
    assert.is(rotated.length, 2, names.join(' '));
    for (const n of rotated) assert.match(n, /^worker-\d{8}(-\d+)?\.log\.gz$/);
    const texts = await Promise.all(rotated.map(async (n) => gunzipSync(await readFile(path.join(dir, n))).toString()));
    assert.equal(texts.map((t) => t.slice(0, 7)).sort(), ['round 2', 'round 3'], 'the oldest were removed');
    assert.is(await readFile(path.join(dir, 'worker.log'), 'utf8'), 'still being written\n');
  }),
);

test('a file is rotated when its interval ends', () =>
  withDir(async (dir) => {
    const files = openLogFiles(dir, { interval: '1s' });
    files.write('audit', 'admin action\n');
    // rotating-file-stream's timer does not hold the process open; this test waits for it.
    const awake = setInterval(() => undefined, 100);
    const [rotatedFile] = (await once(files.streams.audit, 'rotated')) as [string];
    clearInterval(awake);
    await files.close();
    assert.match(path.basename(rotatedFile), /^audit-\d{8}(-\d+)?\.log\.gz$/);
    assert.is(gunzipSync(await readFile(rotatedFile)).toString(), 'admin action\n');
  }),
);

test.run();
