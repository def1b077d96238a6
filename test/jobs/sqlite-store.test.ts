import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VcsError } from '../../src/errors.ts';
import { COLUMNS, MIGRATIONS } from '../../src/jobs/sqlite-schema.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import { storeContract } from '../support/store-contract.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CRASH_WRITER = fileURLToPath(new URL('../support/sqlite-crash-writer.ts', import.meta.url));

const tempDir = () => mkdtemp(path.join(os.tmpdir(), 'vcs-sqlite-'));

function fakeClock() {
  return {
    now: Date.parse('2030-01-01T00:00:00.000Z'),
    advance(ms: number) {
      this.now += ms;
    },
  };
}

storeContract('sqlite-store', async () => {
  const dir = await tempDir();
  const clock = fakeClock();
  return {
    store: createSqliteStore({ file: path.join(dir, 'jobs.sqlite'), now: () => clock.now }),
    clock,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

const test = suite<{ dir: string; file: string }>('sqlite-store file', { dir: '', file: '' });

test.before.each(async (ctx) => {
  ctx.dir = await tempDir();
  ctx.file = path.join(ctx.dir, 'storage', 'db', 'jobs.sqlite');
});
test.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

const open = async (file: string) => {
  const store = createSqliteStore({ file, now: Date.now });
  await store.init();
  return store;
};

/** A second, plain connection: what the file holds, not what the store reports. */
function inspect<T>(file: string, look: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true });
  try {
    return look(db);
  } finally {
    db.close();
  }
}

test('creates the parent folder, uses WAL and records the schema version', async ({ file }) => {
  const store = await open(file);
  assert.ok(existsSync(file));
  inspect(file, (db) => {
    assert.is(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.is(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  });
  await store.close();
});

test('the jobs table has one column per VideoJob field, plus the insertion sequence', async ({ file }) => {
  await (await open(file)).close();
  const names = inspect(file, (db) => (db.pragma('table_info(jobs)') as { name: string }[]).map((c) => c.name));
  assert.equal([...names].sort(), [...COLUMNS, 'seq'].sort());
});

test('two stores on one file (controller and gateway) migrate once and see each other', async ({ file }) => {
  const controller = await open(file);
  const gateway = await open(file);
  await controller.create({ wp_post_id: 1, title: 'One', original_video_url: 'https://wp.example/1.mp4' });
  await gateway.setPaused(true);
  await gateway.transition(1, 'deleted');
  assert.is((await controller.get(1))?.compression_status, 'deleted');
  assert.is(await controller.isPaused(), true);
  await controller.close();
  await gateway.close();
  inspect(file, (db) => assert.is(db.pragma('user_version', { simple: true }), MIGRATIONS.length));
});

test('data survives closing and reopening', async ({ file }) => {
  const first = await open(file);
  await first.create({ wp_post_id: 5, title: 'Five', original_video_url: 'https://wp.example/5.mp4', priority: 'high' });
  const moved = await first.transition(5, 'processing', { job_name: 'vcs-5-1' });
  await first.setPaused(true);
  await first.close();
  const again = await open(file);
  assert.equal(await again.get(5), moved);
  assert.is(await again.isPaused(), true);
  await again.close();
});

test('a file of the first schema version is migrated: its videos keep their fields and gain last_accessed_at (null)', async ({ file }) => {
  await mkdir(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.exec(MIGRATIONS[0]!);
  db.pragma('user_version = 1');
  db.prepare(
    `INSERT INTO jobs (wp_post_id, seq, title, original_video_url, compression_status, compression_progress, priority, retry_count, created_at, updated_at, master_playlist_url)
     VALUES (3, 1, 'Three', 'https://wp.example/3.mp4', 'completed', 100, 'normal', 0, '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z', 'https://cdn.example/storage/hls/3/master.m3u8')`,
  ).run();
  db.close();
  const store = await open(file);
  const video = (await store.get(3))!;
  assert.equal([video.compression_status, video.master_playlist_url, video.last_accessed_at], ['completed', 'https://cdn.example/storage/hls/3/master.m3u8', null]);
  await store.recordAccess(new Map([[3, '2030-02-01T00:00:00.000Z']]));
  assert.is((await store.get(3))!.last_accessed_at, '2030-02-01T00:00:00.000Z');
  await store.close();
  inspect(file, (d) => assert.is(d.pragma('user_version', { simple: true }), MIGRATIONS.length));
});

test('a file with a newer schema than this service knows is refused', async ({ file }) => {
  await (await open(file)).close();
  const db = new Database(file);
  db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  db.close();
  try {
    await open(file);
    assert.unreachable('expected VCS_ERR_STORE_UNAVAILABLE');
  } catch (err) {
    assert.instance(err, VcsError);
    assert.is((err as VcsError).code, 'VCS_ERR_STORE_UNAVAILABLE');
  }
});

test('a store that is not open answers VCS_ERR_STORE_UNAVAILABLE', async ({ file }) => {
  const store = createSqliteStore({ file, now: Date.now });
  try {
    await store.ping();
    assert.unreachable('expected VCS_ERR_STORE_UNAVAILABLE');
  } catch (err) {
    assert.is((err as VcsError).code, 'VCS_ERR_STORE_UNAVAILABLE');
  }
});

/** Ids the writer reports before it is killed; enough that the kill lands mid-stream. */
const REPORTED_BEFORE_KILL = 500;
const CRASH_TEST_TIMEOUT_MS = 30_000;

/** Starts the crash writer, SIGKILLs it once it has reported enough ids, returns those ids. */
function writeUntilKilled(file: string): Promise<number[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', CRASH_WRITER, file], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const reported: number[] = [];
  let partial = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crash writer reported ${reported.length} ids in ${CRASH_TEST_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, CRASH_TEST_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      // A line cut by the kill is not a report; only whole lines count.
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      reported.push(...lines.map(Number));
      if (reported.length >= REPORTED_BEFORE_KILL) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(reported);
      else reject(new Error(`crash writer exited with ${code}; stderr: ${stderr}`));
    });
  });
}

test('SIGKILL mid-write loses no committed row and leaves the file intact', async ({ file }) => {
  const reported = await writeUntilKilled(file);
  assert.ok(reported.length >= REPORTED_BEFORE_KILL);
  const store = await open(file);
  const { total } = await store.list({ limit: 1, offset: 0, sort: 'wp_post_id', order: 'asc' });
  assert.ok(total >= reported.length, `${total} rows for ${reported.length} reported`);
  for (const id of reported) {
    const job = await store.get(id);
    assert.is(job?.compression_status, 'processing', `video ${id}`);
    assert.is(job?.job_name, `vcs-${id}-1`);
  }
  await store.close();
  inspect(file, (db) => assert.is(db.pragma('integrity_check', { simple: true }), 'ok'));
});

test.run();
