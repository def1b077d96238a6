import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendingFile, createLogger } from '../../src/log.ts';

test('a run’s log goes to its stream and, line for line, to its own file (folders made)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-log-'));
  try {
    const file = path.join(dir, 'logs', '42', 'vcs-42-1.log');
    const seen: string[] = [];
    const main = new Writable({ write: (c, _e, done) => (seen.push(String(c)), done()) });
    const log = createLogger({ LOG_LEVEL: 'info', ENABLE_LOGGING: true }, { name: 'transcoder', destination: main, copyTo: appendingFile(file) });
    log.info({ step: 'downloading' }, 'step downloading');
    log.debug('below the level: nowhere');
    log.warn({ APPWRITE_API_KEY: 'sekret' }, 'careful');
    await new Promise((r) => setImmediate(r));
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.map((l) => l.msg), ['step downloading', 'careful']);
    assert.is(lines[1].APPWRITE_API_KEY, '[redacted]');
    assert.is(seen.length, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the file stops at its size with one line saying so; an unwritable file is given up quietly', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-log-'));
  try {
    const file = path.join(dir, 'run.log');
    const sink = appendingFile(file, 100);
    for (let i = 0; i < 10; i++) sink.write(`${JSON.stringify({ msg: `line ${i}` })}\n`);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.is(lines.length, 6);
    assert.match(lines.at(-1)!, /log truncated at 100 bytes/);
    const blocked = appendingFile(path.join(file, 'under-a-file.log'));
    blocked.write('nothing happens\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
