/**
 * The SQLite file behind `sqlite-store`: how it is opened (journal, durability, locking) and its
 * schema, kept as a numbered list of migrations recorded in `PRAGMA user_version`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { vcsError } from '../errors.ts';
import type { VideoJob } from './model.ts';

type ColumnKind = 'text' | 'integer' | 'real' | 'boolean';

/**
 * One column per VideoJob field, same names (docs/adr/0013). Exhaustive, so a new field fails to
 * compile until it has a column here (and a migration adding it).
 */
export const COLUMN_KINDS: Record<keyof VideoJob, ColumnKind> = {
  wp_post_id: 'integer',
  title: 'text',
  original_video_url: 'text',
  compression_status: 'text',
  compression_step: 'text',
  compression_progress: 'integer',
  priority: 'text',
  error_message: 'text',
  failed_at_step: 'text',
  error_code: 'text',
  retryable: 'boolean',
  retry_count: 'integer',
  created_at: 'text',
  updated_at: 'text',
  started_at: 'text',
  completed_at: 'text',
  failed_at: 'text',
  master_playlist_url: 'text',
  poster_url: 'text',
  hls_high_url: 'text',
  hls_medium_url: 'text',
  hls_low_url: 'text',
  total_size: 'integer',
  duration_seconds: 'real',
  job_name: 'text',
  last_accessed_at: 'text',
};

export const COLUMNS = Object.keys(COLUMN_KINDS) as (keyof VideoJob)[];

/**
 * Applied in order; entry i moves the file from user_version i to i + 1. Never edit an applied
 * entry: append a new one. Statuses and priorities carry no CHECK lists because SQLite can only
 * change a CHECK by rebuilding the table; the store's types guard the values.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE jobs (
     wp_post_id INTEGER PRIMARY KEY,
     -- Insertion order: breaks created_at ties (two inserts in one millisecond) so the queue stays
     -- FIFO; wp_post_id is the rowid here and says nothing about order.
     seq INTEGER NOT NULL UNIQUE,
     title TEXT NOT NULL,
     original_video_url TEXT NOT NULL,
     compression_status TEXT NOT NULL,
     compression_step TEXT,
     compression_progress INTEGER NOT NULL,
     priority TEXT NOT NULL,
     error_message TEXT,
     failed_at_step TEXT,
     error_code TEXT,
     retryable INTEGER,
     retry_count INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     started_at TEXT,
     completed_at TEXT,
     failed_at TEXT,
     master_playlist_url TEXT,
     poster_url TEXT,
     hls_high_url TEXT,
     hls_medium_url TEXT,
     hls_low_url TEXT,
     total_size INTEGER,
     duration_seconds REAL,
     job_name TEXT
   );
   -- Queue order (QUEUE_ORDER in sqlite-store.ts): high priority first, then FIFO.
   CREATE INDEX jobs_queue ON jobs (compression_status, (priority <> 'high'), created_at, seq);
   -- listRetryable: failed videos, oldest failure first.
   CREATE INDEX jobs_retry ON jobs (compression_status, failed_at, seq);
   CREATE TABLE control (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // When a gateway last served the video's playlists (JobStore.recordAccess).
  `ALTER TABLE jobs ADD COLUMN last_accessed_at TEXT;`,
];

/**
 * How long a statement waits for another connection's write lock before failing with
 * SQLITE_BUSY. A gateway process shares the file with the controller; their writes are a few
 * milliseconds each, so 5 s only runs out when something is stuck.
 */
const BUSY_TIMEOUT_MS = 5_000;

/** Opens (creating if needed) the file and brings its schema up to date. */
export function openJobsDatabase(file: string): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    // WAL: readers (the gateway) never block the writer, and a commit is one append to the log.
    db.pragma('journal_mode = WAL');
    // NORMAL, not FULL: in WAL mode NORMAL skips the fsync at each commit, but the commit's pages
    // have already been written to the WAL file (in the OS page cache) when COMMIT returns. A
    // killed process (kill -9, crash, OOM) therefore loses no committed row: the kernel still
    // holds the pages and the next open replays the WAL. Only an OS crash or power loss can drop
    // the last commits, and even then the file stays consistent (https://www.sqlite.org/pragma.html#pragma_synchronous).
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function migrate(db: Database.Database): void {
  // IMMEDIATE: two processes starting together take turns instead of both migrating.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw vcsError('VCS_ERR_STORE_UNAVAILABLE', `${db.name} has schema version ${version}, newer than this service knows (${MIGRATIONS.length})`);
    }
    for (const sql of MIGRATIONS.slice(version)) db.exec(sql);
    // A pragma takes no bound parameters; the value is our own array length.
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
