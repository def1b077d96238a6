import { execFile } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendingFile, createLogger, createLogging, fileFormat, stdoutFormat } from '../../src/log.ts';
import { ROOT } from '../support/vcs.ts';

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

test('LOG_FORMAT: auto is readable on a terminal and in files, JSON on a pipe', () => {
  assert.equal([stdoutFormat('auto', true), stdoutFormat('auto', false), stdoutFormat('json', true), stdoutFormat('pretty', false)], ['pretty', 'json', 'json', 'pretty']);
  assert.equal([fileFormat('auto'), fileFormat('pretty'), fileFormat('json')], ['pretty', 'pretty', 'json']);
});

test('auto mode, for real: a pseudo-terminal gets the readable line in colour, a pipe gets JSON', async () => {
  const run = promisify(execFile);
  const program = `node --import tsx ${path.join(ROOT, 'test/support/log-line.ts')}`;
  const [tty, pipe] = await Promise.all([run('script', ['-qfec', program, '/dev/null'], { cwd: ROOT }), run('sh', ['-c', program], { cwd: ROOT })]);
  assert.match(tty.stdout, /\u001b\[\d+m\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]\u001b\[\d+m \u001b\[32m\[INFO\]/);
  assert.match(tty.stdout.replace(/\u001b\[\d+m/g, ''), /\[INFO\] \[Service\] hello videoId=5\r?\n/);
  assert.equal(JSON.parse(pipe.stdout), { ...JSON.parse(pipe.stdout), level: 30, msg: 'hello', videoId: 5 });
});

test('with LOG_DIR: own and forwarded lines reach stdout and their files; a child’s non-JSON line is kept', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-logging-'));
  const stdoutFile = path.join(dir, 'stdout');
  const fd = openSync(stdoutFile, 'w');
  try {
    const logDir = path.join(dir, 'logs');
    const logging = await createLogging({ LOG_LEVEL: 'debug', ENABLE_LOGGING: true, LOG_FORMAT: 'auto', LOG_DIR: logDir, SENTRY_DSN: undefined }, { program: 'serve', fd, isTTY: false });
    assert.ok(logging.collects);
    logging.log.child({ part: 'controller' }).info({ videoId: 1 }, 'video completed');
    logging.log.child({ part: 'http' }).info({ channel: 'access', method: 'GET', path: '/api/stats', status: 200 }, 'request');
    logging.log.child({ part: 'http' }).info({ channel: 'audit', admin: 'api-key:ab12' }, 'admin action');
    logging.log.error({ err: new Error('disk full') }, 'cleanup failed');
    logging.forward(JSON.stringify({ level: 30, time: new Date().toISOString(), name: 'transcoder', videoId: 1, msg: 'download complete' }));
    logging.forward('Segmentation fault', 'transcoder');
    await logging.close();
    const read = async (name: string) => readFile(path.join(logDir, name), 'utf8');
    assert.match(await read('worker.log'), /^\[[^\]]+\] \[INFO\] \[Controller\] video completed videoId=1\n/);
    assert.match(await read('access.log'), /\[INFO\] \[Http\] request method=GET path=\/api\/stats status=200\n$/);
    assert.match(await read('audit.log'), /\[INFO\] \[Http\] admin action admin=api-key:ab12\n$/);
    assert.match(await read('error.log'), /\[ERROR\] \[Service\] cleanup failed\n  Error: disk full\n    at /);
    assert.match(await read('compression.log'), /\[INFO\] \[Transcoder\] download complete videoId=1\n.*\[WARN\] \[Transcoder\] Segmentation fault\n$/);
    assert.ok((await read('worker.log')).includes('cleanup failed'), 'an error stays in its own file too');
    // stdout (not a terminal): every line as JSON, in order.
    const lines = (await readFile(stdoutFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.map((l) => l.msg), ['video completed', 'request', 'admin action', 'cleanup failed', 'download complete', 'Segmentation fault']);
    assert.equal((await readdir(logDir)).filter((n) => !n.startsWith('.')).sort(), ['access.log', 'audit.log', 'compression.log', 'error.log', 'worker.log']);
  } finally {
    closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a child writes JSON only and opens no files, whatever LOG_FORMAT and LOG_DIR say', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-logging-'));
  const fd = openSync(path.join(dir, 'stdout'), 'w');
  try {
    const logging = await createLogging({ LOG_LEVEL: 'info', ENABLE_LOGGING: true, LOG_FORMAT: 'pretty', LOG_DIR: path.join(dir, 'logs'), SENTRY_DSN: undefined }, { program: 'gateway', role: 'child', fd, isTTY: true });
    logging.log.info('from a worker');
    await logging.close();
    assert.is(JSON.parse(await readFile(path.join(dir, 'stdout'), 'utf8')).msg, 'from a worker');
    assert.equal(await readdir(dir), ['stdout']);
  } finally {
    closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
