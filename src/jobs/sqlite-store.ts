/**
 * The embedded `JobStore` (docs/adr/0012): one SQLite file on the storage volume, shared by the
 * controller and a gateway process. Every write is one short transaction; a status change reads,
 * checks (transitions.ts) and writes inside a single IMMEDIATE transaction, so two processes can
 * never both move the same video.
 */
import Database from 'better-sqlite3';
import { VcsError, vcsError } from '../errors.ts';
import { checkPatch, newVideoJob, STATUSES, type NewVideo, type Status, type VideoJob, type VideoPatch } from './model.ts';
import { COLUMNS, COLUMN_KINDS, openJobsDatabase } from './sqlite-schema.ts';
import type { JobStore, ListQuery, SortField } from './store.ts';
import { checkExpected, checkMove } from './transitions.ts';

type Row = Record<string, unknown>;

const SELECT_JOB = `SELECT ${COLUMNS.join(', ')} FROM jobs`;
/** High priority first, then FIFO; matches the jobs_queue index (sqlite-schema.ts). */
const QUEUE_ORDER = `(priority <> 'high'), created_at, seq`;

/** ORDER BY text comes only from these values; the caller's sort and order merely pick one. */
const SORT_COLUMNS: Record<SortField, string> = {
  created_at: 'created_at',
  wp_post_id: 'wp_post_id',
  title: 'title',
  compression_status: 'compression_status',
  updated_at: 'updated_at',
};
const SORT_ORDERS: Record<ListQuery['order'], string> = { asc: 'ASC', desc: 'DESC' };

/**
 * ListQuery's optional filters as one statement: a null parameter switches its condition off.
 * `fold` is the Unicode lower-casing registered in createSqliteStore (SQLite's own LIKE and
 * lower() only fold ASCII), and instr() matches `%` and `_` literally.
 */
const LIST_FILTER = `(@status IS NULL OR compression_status = @status)
  AND (@search IS NULL OR instr(fold(title), @search) > 0 OR wp_post_id = @searchId)
  AND (@createdFrom IS NULL OR created_at >= @createdFrom)
  AND (@createdBefore IS NULL OR created_at < @createdBefore)`;

/** A search text that is an integer also matches that wp_post_id. */
function searchId(search: string): number | null {
  return /^\d+$/.test(search) && Number.isSafeInteger(Number(search)) ? Number(search) : null;
}

/** Unicode lower-casing, for titles (as the SQL function `fold`) and for search texts alike. */
const fold = (text: string): string => text.toLowerCase();

function decode(row: Row): VideoJob {
  const job: Row = { ...row };
  for (const column of COLUMNS) {
    if (COLUMN_KINDS[column] === 'boolean' && job[column] !== null) job[column] = job[column] === 1;
  }
  return job as unknown as VideoJob;
}

/** Named parameters for a whole row; SQLite has no boolean type, so booleans become 0/1. */
function encode(job: VideoJob): Row {
  const row: Row = {};
  for (const column of COLUMNS) {
    const value = job[column];
    row[column] = typeof value === 'boolean' ? Number(value) : value;
  }
  return row;
}

/** `patch` over `job`; an undefined value means "leave as is", null clears the field. */
function applyPatch(job: VideoJob, patch: VideoPatch): VideoJob {
  const given = Object.entries(patch).filter(([, value]) => value !== undefined);
  return { ...job, ...Object.fromEntries(given) };
}

type Statements = ReturnType<typeof prepareStatements>;

/** Every statement, prepared once per open file. */
function prepareStatements(db: Database.Database) {
  const sortedLists = new Map<string, Database.Statement>();
  for (const sort of Object.keys(SORT_COLUMNS) as SortField[]) {
    for (const order of Object.keys(SORT_ORDERS) as ListQuery['order'][]) {
      const direction = SORT_ORDERS[order];
      sortedLists.set(
        `${sort} ${order}`,
        // seq keeps pages stable when the sort column has ties.
        db.prepare(`${SELECT_JOB} WHERE ${LIST_FILTER} ORDER BY ${SORT_COLUMNS[sort]} ${direction}, seq ${direction} LIMIT @limit OFFSET @offset`),
      );
    }
  }
  return {
    ping: db.prepare('SELECT 1'),
    get: db.prepare(`${SELECT_JOB} WHERE wp_post_id = ?`),
    insert: db.prepare(
      // The next insertion sequence number; the UNIQUE index on seq makes MAX() a single lookup.
      `INSERT INTO jobs (seq, ${COLUMNS.join(', ')})
       VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), ${COLUMNS.map((c) => `@${c}`).join(', ')})`,
    ),
    write: db.prepare(`UPDATE jobs SET ${COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE wp_post_id = @wp_post_id`),
    pending: db.prepare(`${SELECT_JOB} WHERE compression_status = 'pending' ORDER BY ${QUEUE_ORDER} LIMIT ?`),
    processing: db.prepare(`${SELECT_JOB} WHERE compression_status = 'processing' ORDER BY created_at, seq`),
    retryable: db.prepare(
      `${SELECT_JOB} WHERE compression_status = 'failed' AND retryable = 1 AND failed_at <= @failedBefore AND retry_count < @maxRetries
       ORDER BY failed_at, seq LIMIT @limit`,
    ),
    // Pending rows ahead of the target in QUEUE_ORDER (a row-value comparison), plus one; no row
    // when the target is not pending.
    queuePosition: db.prepare(
      `SELECT 1 + (SELECT COUNT(*) FROM jobs q WHERE q.compression_status = 'pending'
                   AND ((q.priority <> 'high'), q.created_at, q.seq) < ((t.priority <> 'high'), t.created_at, t.seq)) AS position
       FROM jobs t WHERE t.wp_post_id = ? AND t.compression_status = 'pending'`,
    ),
    count: db.prepare(`SELECT COUNT(*) AS total FROM jobs WHERE ${LIST_FILTER}`),
    sortedLists,
    countByStatus: db.prepare('SELECT compression_status AS status, COUNT(*) AS count FROM jobs GROUP BY compression_status'),
    summary: db.prepare(
      `SELECT
         (SELECT AVG((julianday(completed_at) - julianday(started_at)) * 86400) FROM jobs
           WHERE compression_status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL) AS average,
         (SELECT COUNT(*) FROM jobs WHERE created_at >= ?) AS created,
         (SELECT COALESCE(SUM(total_size), 0) FROM jobs WHERE compression_status = 'completed') AS size`,
    ),
    // ISO times of one form (toISOString) compare as text; a later value already there stays.
    recordAccess: db.prepare('UPDATE jobs SET last_accessed_at = @at WHERE wp_post_id = @id AND (last_accessed_at IS NULL OR last_accessed_at < @at)'),
    paused: db.prepare(`SELECT value FROM control WHERE key = 'paused'`),
    setPaused: db.prepare(`INSERT INTO control (key, value) VALUES ('paused', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
  };
}

export function createSqliteStore({ file, now }: { file: string; now: () => number }): JobStore {
  let opened: { db: Database.Database; sql: Statements } | undefined;
  const timestamp = (): string => new Date(now()).toISOString();

  /**
   * Runs `work` against the open file. SQLite failures (file unreadable, disk full, lock held past
   * the busy timeout) become VCS_ERR_STORE_UNAVAILABLE; coded errors pass through.
   */
  async function use<T>(work: (sql: Statements, db: Database.Database) => T): Promise<T> {
    if (!opened) throw vcsError('VCS_ERR_STORE_UNAVAILABLE', `sqlite store ${file} is not open`);
    try {
      return work(opened.sql, opened.db);
    } catch (err) {
      if (err instanceof Database.SqliteError) throw vcsError('VCS_ERR_STORE_UNAVAILABLE', `sqlite store ${file}: ${err.message}`, err);
      throw err;
    }
  }

  function read(sql: Statements, wpPostId: number): VideoJob {
    const row = sql.get.get(wpPostId) as Row | undefined;
    if (!row) throw vcsError('VCS_ERR_NOT_FOUND', `no video with wp_post_id ${wpPostId}`);
    return decode(row);
  }

  return {
    async init() {
      if (opened) return;
      try {
        const db = openJobsDatabase(file);
        db.function('fold', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? fold(text) : text));
        opened = { db, sql: prepareStatements(db) };
      } catch (err) {
        if (err instanceof VcsError) throw err;
        throw vcsError('VCS_ERR_STORE_UNAVAILABLE', `cannot open sqlite store ${file}: ${(err as Error).message}`, err);
      }
    },

    async close() {
      opened?.db.close();
      opened = undefined;
    },

    ping: () => use((sql) => void sql.ping.get()),

    create: (video: NewVideo) =>
      use((sql) => {
        const at = timestamp();
        const job = newVideoJob(video, at);
        try {
          sql.insert.run(encode(job));
        } catch (err) {
          if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
            throw vcsError('VCS_ERR_CONFLICT', `a video with wp_post_id ${video.wp_post_id} already exists`, err);
          }
          throw err;
        }
        return job;
      }),

    get: (wpPostId) => use((sql) => (sql.get.get(wpPostId) as Row | undefined) ?? null).then((row) => row && decode(row)),

    listPending: (limit) => use((sql) => (sql.pending.all(limit) as Row[]).map(decode)),

    listProcessing: () => use((sql) => (sql.processing.all() as Row[]).map(decode)),

    listRetryable: (failedBefore, maxRetries, limit) =>
      use((sql) => (sql.retryable.all({ failedBefore, maxRetries, limit }) as Row[]).map(decode)),

    queuePosition: (wpPostId) => use((sql) => (sql.queuePosition.get(wpPostId) as { position: number } | undefined)?.position ?? null),

    list: (query) =>
      use((sql, db) => {
        const search = query.search?.trim() || null;
        const filter = {
          status: query.status ?? null,
          search: search === null ? null : fold(search),
          searchId: search === null ? null : searchId(search),
          // Stored as toISOString() (UTC, milliseconds): the same form compares as text.
          createdFrom: query.createdFrom ? new Date(query.createdFrom).toISOString() : null,
          createdBefore: query.createdBefore ? new Date(query.createdBefore).toISOString() : null,
        };
        const page = sql.sortedLists.get(`${query.sort} ${query.order}`);
        if (!page) throw vcsError('VCS_ERR_INTERNAL', `cannot sort by ${String(query.sort)} ${String(query.order)}`);
        // One read transaction, so total and page come from the same snapshot.
        return db.transaction(() => ({
          total: (sql.count.get(filter) as { total: number }).total,
          jobs: (page.all({ ...filter, limit: query.limit, offset: query.offset }) as Row[]).map(decode),
        }))();
      }),

    countByStatus: () =>
      use((sql) => {
        const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
        for (const { status, count } of sql.countByStatus.all() as { status: Status; count: number }[]) counts[status] = count;
        return counts;
      }),

    summary: (since) =>
      use((sql) => {
        const row = sql.summary.get(since) as { average: number | null; created: number; size: number };
        return { averageCompressionSeconds: row.average === null ? null : Math.round(row.average * 1000) / 1000, createdSince: row.created, totalSize: row.size };
      }),

    transition: (wpPostId, to, patch = {}, expect) =>
      use((sql, db) => {
        checkPatch(patch);
        // IMMEDIATE takes the write lock before the read: a deferred transaction that upgrades
        // from read to write fails with SQLITE_BUSY at once when another process wrote in
        // between, which busy_timeout cannot wait out.
        return db.transaction(() => {
          const job = read(sql, wpPostId);
          checkMove(wpPostId, job.compression_status, to, expect);
          const next: VideoJob = { ...applyPatch(job, patch), compression_status: to, updated_at: timestamp() };
          sql.write.run(encode(next));
          return next;
        }).immediate();
      }),

    update: (wpPostId, patch, expect) =>
      use((sql, db) => {
        checkPatch(patch);
        return db.transaction(() => {
          const job = read(sql, wpPostId);
          checkExpected(wpPostId, job.compression_status, expect);
          const next: VideoJob = { ...applyPatch(job, patch), updated_at: timestamp() };
          sql.write.run(encode(next));
          return next;
        }).immediate();
      }),

    recordAccess: (accessed) =>
      use((sql, db) => {
        // One transaction for the whole batch: one commit, however many videos were watched.
        db.transaction(() => {
          for (const [id, at] of accessed) sql.recordAccess.run({ id, at: new Date(at).toISOString() });
        }).immediate();
      }),

    isPaused: () => use((sql) => (sql.paused.get() as { value: string } | undefined)?.value === '1'),

    setPaused: (paused) => use((sql) => void sql.setPaused.run(paused ? '1' : '0')),
  };
}
