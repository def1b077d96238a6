/**
 * The Appwrite `JobStore` (docs/adr/0012, STORE=appwrite): the publisher's documents are the queue.
 * One row (document) per video in DATABASE_ID/COLLECTION_ID, found by wp_post_id (never by
 * assuming the row id); the paused flag in the control table (appwrite/schema.ts).
 *
 * Failures: transient ones (5xx, timeouts, connection resets) are retried with backoff and
 * jitter, then surface as VCS_ERR_STORE_UNAVAILABLE. A read that fails throws; it never reads as
 * "nothing there", so no caller can act on it. Configuration problems (key, project, missing
 * schema) are found by init() and reported once, with the setting or command that fixes them.
 *
 * Status changes are compare-and-set. transition() reads the row, checks the move
 * (transitions.ts), and writes with X-Appwrite-Timestamp set to the `$updatedAt` it read: the
 * server refuses (409) when anyone wrote the row since, and the read-check-write runs again. The
 * remaining race window: the server compares at millisecond precision, so a write landing in the
 * very millisecond of the read goes unnoticed. Only the leader controller moves videos through
 * processing (docs/adr/0012); what else writes (the gateway's API, the publisher) is rare and human-paced.
 *
 * `created_at`/`updated_at` are the server's `$createdAt`/`$updatedAt`. One difference from the
 * embedded store follows: an update that changes nothing is not written, so it does not move
 * `updated_at` (Appwrite skips such writes too).
 */
import { ID, Query } from 'node-appwrite';
import type { Settings } from '../config.ts';
import { VcsError, vcsError } from '../errors.ts';
import { checkPatch, STATUSES, type NewVideo, type Priority, type Status, type VideoJob } from './model.ts';
import type { JobStore } from './store.ts';
import { checkExpected, checkMove } from './transitions.ts';
import { createAppwriteApi, detectFamily, type ApiFamily, type AppwriteApi, type AppwriteConnection, type AppwriteRow } from './appwrite/api.ts';
import { decodeRow, encodePatch, fillIns, holdsPatch, newVideoRow } from './appwrite/codec.ts';
import { classify, storeFailure, withRetries, type FailureKind, type RetryPolicy } from './appwrite/failures.ts';
import { createPageCursors } from './appwrite/page-cursors.ts';
import * as q from './appwrite/queries.ts';
import { checkSchema } from './appwrite/schema-check.ts';
import { CONTROL_TABLE } from './appwrite/schema.ts';

export interface AppwriteStoreOptions {
  connection: AppwriteConnection;
  /** APPWRITE_API: `auto` asks the server (TablesDB on 1.8 and later). */
  api: ApiFamily | 'auto';
  databaseId: string;
  tableId: string;
  retry: RetryPolicy;
}

/** `total` stops counting here (APP_LIMIT_COUNT, docs/protocols/appwrite.md §4); past it the rows are counted page by page. */
const TOTAL_CAP = 5000;
/** Rows per page when a read walks a whole result with cursors. */
const SCAN_PAGE = 1000;
/** Read-check-write rounds a transition makes before a lost compare-and-set becomes VCS_ERR_CONFLICT. */
const CAS_ROUNDS = 5;
/** Ids per `equal` query: Appwrite takes at most 100 values in one (APP_LIMIT_ARRAY_PARAMS_SIZE). */
const IDS_PER_QUERY = 100;

const isKind = (err: unknown, kind: FailureKind) => classify(err) === kind;

export function createAppwriteStore(options: AppwriteStoreOptions): JobStore {
  const { connection, databaseId, tableId, retry } = options;
  let api: AppwriteApi | undefined;
  const cursors = createPageCursors();

  /**
   * One Appwrite round trip with retries. Failures whose kind is in `handled` come back as they
   * are, for the caller to interpret; every other one becomes a coded error.
   */
  async function call<T>(what: string, operation: (api: AppwriteApi) => Promise<T>, handled: FailureKind[] = [], policy = retry): Promise<T> {
    const open = api;
    if (!open) throw vcsError('VCS_ERR_STORE_UNAVAILABLE', `the Appwrite store (${databaseId}/${tableId}) is not open`);
    try {
      return await withRetries(what, () => operation(open), policy);
    } catch (err) {
      if (err instanceof VcsError) throw err;
      const kind = classify(err);
      if (kind !== null && handled.includes(kind)) throw err;
      throw storeFailure(what, err);
    }
  }

  const listRows = (what: string, queries: string[]) => call(what, (a) => a.listRows(tableId, queries));

  async function findRow(wpPostId: number): Promise<AppwriteRow | null> {
    const { rows } = await listRows(`read video ${wpPostId}`, [q.byPostId(wpPostId), Query.limit(1)]);
    return rows[0] ?? null;
  }

  async function mustFind(wpPostId: number): Promise<AppwriteRow> {
    const row = await findRow(wpPostId);
    if (!row) throw vcsError('VCS_ERR_NOT_FOUND', `no video with wp_post_id ${wpPostId}`);
    return row;
  }

  /** Every row matching `filters`, in `orders` (then insertion order), page by page with cursors. */
  async function scan(what: string, filters: string[], orders: string[] = [], select?: string[]): Promise<AppwriteRow[]> {
    const all: AppwriteRow[] = [];
    for (;;) {
      const after = all.at(-1);
      const page = [...filters, ...orders, Query.limit(SCAN_PAGE), ...(select ? [Query.select(select)] : []), ...(after ? [Query.cursorAfter(after.$id)] : [])];
      const { rows } = await listRows(what, page);
      all.push(...rows);
      if (rows.length < SCAN_PAGE) return all;
    }
  }

  /** Exact: the server's total when under its cap, else counted page by page. */
  async function count(what: string, filters: string[], total?: number): Promise<number> {
    const reported = total ?? (await listRows(what, [...filters, Query.select(['$id']), Query.limit(1)])).total;
    return reported < TOTAL_CAP ? reported : (await scan(what, filters, [], ['$id'])).length;
  }

  async function pendingOf(priority: Priority, limit: number): Promise<AppwriteRow[]> {
    if (limit <= 0) return [];
    return (await listRows(`list pending ${priority}`, [...q.queueGroup(priority), q.oldestFirst(), Query.limit(limit)])).rows;
  }

  async function listPage(filters: string[], orders: string[], limit: number, offset: number): Promise<{ total: number; rows: AppwriteRow[] }> {
    const listing = JSON.stringify([filters, orders]);
    const cursor = cursors.before(listing, offset);
    const base = [...filters, ...orders, Query.limit(limit)];
    let page: { total: number; rows: AppwriteRow[] } | undefined;
    if (cursor) {
      // The cursor row may have been deleted since (400 general_cursor_not_found): use the offset.
      page = await call('list videos', (a) => a.listRows(tableId, [...base, Query.cursorAfter(cursor)]), ['refused']).catch((err) =>
        isKind(err, 'refused') ? undefined : Promise.reject(err),
      );
      if (!page) cursors.forget(listing, offset);
    }
    page ??= await listRows('list videos', [...base, Query.offset(offset)]);
    cursors.record(listing, offset, page.rows);
    return page;
  }

  async function write(wpPostId: number, row: AppwriteRow, data: Record<string, unknown>, unchangedSince?: string): Promise<VideoJob> {
    if (Object.keys(data).length === 0) return decodeRow(row);
    try {
      return decodeRow(await call(`write video ${wpPostId}`, (a) => a.updateRow(tableId, row.$id, data, unchangedSince), ['not-found', 'conflict']));
    } catch (err) {
      if (isKind(err, 'not-found')) throw vcsError('VCS_ERR_NOT_FOUND', `no video with wp_post_id ${wpPostId} (its row was deleted)`, err);
      throw err;
    }
  }

  return {
    async init() {
      if (api) return;
      const family = options.api === 'auto' ? await detect() : options.api;
      const candidate = createAppwriteApi(connection, family, databaseId);
      try {
        await checkSchema(candidate, { databaseId, tableId }, (what, op) => withRetries(what, op, retry));
      } catch (err) {
        throw err instanceof VcsError ? err : storeFailure(`open ${databaseId}/${tableId}`, err);
      }
      api = candidate;
    },

    async close() {
      api = undefined;
    },

    // One try, no retries: health should see an outage while it lasts.
    ping: () => call('ping', (a) => a.getDatabase(), [], { ...retry, retries: 0 }),

    async create(video: NewVideo) {
      // One id for every try, so a retry after a lost answer finds its own row.
      const rowId = ID.unique();
      const data = newVideoRow(video);
      try {
        return decodeRow(await call(`create video ${video.wp_post_id}`, (a) => a.createRow(tableId, rowId, data), ['conflict']));
      } catch (err) {
        if (!isKind(err, 'conflict')) throw err;
        const own = await call(`read video ${video.wp_post_id}`, (a) => a.getRow(tableId, rowId), ['not-found']).catch((e) => (isKind(e, 'not-found') ? null : Promise.reject(e)));
        if (own) return decodeRow(own);
        // The unique index on wp_post_id refused it (Appwrite reports that as a duplicate row).
        throw vcsError('VCS_ERR_CONFLICT', `a video with wp_post_id ${video.wp_post_id} already exists`, err);
      }
    },

    get: async (wpPostId) => {
      const row = await findRow(wpPostId);
      return row && decodeRow(row);
    },

    async listPending(limit) {
      const high = await pendingOf('high', limit);
      const normal = await pendingOf('normal', limit - high.length);
      return [...high, ...normal].map(decodeRow);
    },

    listProcessing: async () => (await scan('list processing', [q.status('processing')], [q.oldestFirst()])).map(decodeRow),

    listRetryable: async (failedBefore, maxRetries, limit) =>
      limit <= 0 ? [] : (await listRows('list retryable', [...q.retryable(failedBefore, maxRetries), Query.orderAsc('failed_at'), Query.limit(limit)])).rows.map(decodeRow),

    async queuePosition(wpPostId) {
      const row = await findRow(wpPostId);
      const video = row && decodeRow(row);
      if (!row || video?.compression_status !== 'pending') return null;
      const priority = video.priority;
      const group = q.queueGroup(priority);
      const [highAhead, older, sameMoment] = await Promise.all([
        priority === 'high' ? 0 : count('queue position', q.queueGroup('high')),
        count('queue position', [...group, Query.lessThan('$createdAt', row.$createdAt)]),
        // Created in the same millisecond: insertion order decides.
        scan('queue position', [...group, Query.equal('$createdAt', [row.$createdAt])], [], ['$id']),
      ]);
      const tiedAhead = sameMoment.filter((r) => Number(r.$sequence) < Number(row.$sequence)).length;
      return highAhead + older + tiedAhead + 1;
    },

    async list(query) {
      const filters = q.listFilters(query);
      if (query.limit <= 0) return { total: await count('count videos', filters), jobs: [] };
      const page = await listPage(filters, q.listOrder(query, api?.family === 'tablesdb'), query.limit, query.offset);
      return { total: await count('count videos', filters, page.total), jobs: page.rows.map(decodeRow) };
    },

    async countByStatus() {
      const counts = await Promise.all(STATUSES.map((s) => count(`count ${s}`, [q.status(s)])));
      return Object.fromEntries(STATUSES.map((s, i) => [s, counts[i]])) as Record<Status, number>;
    },

    async summary(since) {
      const [completed, createdSince] = await Promise.all([
        scan('summary', [q.status('completed')], [], ['started_at', 'completed_at', 'total_size']).then((rows) => rows.map(decodeRow)),
        count('summary', [Query.greaterThanEqual('$createdAt', since)]),
      ]);
      const timed = completed.filter((v) => v.started_at !== null && v.completed_at !== null);
      const seconds = timed.reduce((sum, v) => sum + (Date.parse(v.completed_at!) - Date.parse(v.started_at!)) / 1000, 0);
      return {
        averageCompressionSeconds: timed.length === 0 ? null : Math.round((seconds / timed.length) * 1000) / 1000,
        createdSince,
        totalSize: completed.reduce((sum, v) => sum + (v.total_size ?? 0), 0),
      };
    },

    async transition(wpPostId, to, patch = {}, expect) {
      checkPatch(patch);
      for (let round = 1; ; round++) {
        const row = await mustFind(wpPostId);
        const job = decodeRow(row);
        // A write of ours whose answer was lost, then refused as a conflict on its retry: done.
        if (round > 1 && job.compression_status === to && holdsPatch(job, patch)) return job;
        checkMove(wpPostId, job.compression_status, to, expect);
        try {
          return await write(wpPostId, row, { ...fillIns(row), ...encodePatch(patch), compression_status: to }, row.$updatedAt);
        } catch (err) {
          if (!isKind(err, 'conflict')) throw err;
          if (round >= CAS_ROUNDS) throw vcsError('VCS_ERR_CONFLICT', `video ${wpPostId} kept changing while it was moved to ${to}`, err);
        }
      }
    },

    async update(wpPostId, patch, expect) {
      checkPatch(patch);
      if (!expect) {
        const row = await mustFind(wpPostId);
        return write(wpPostId, row, { ...fillIns(row), ...encodePatch(patch) });
      }
      // Compare-and-set, like transition(): the write is refused when the row changed since the read.
      for (let round = 1; ; round++) {
        const row = await mustFind(wpPostId);
        const job = decodeRow(row);
        if (round > 1 && expect.includes(job.compression_status) && holdsPatch(job, patch)) return job;
        checkExpected(wpPostId, job.compression_status, expect);
        try {
          return await write(wpPostId, row, { ...fillIns(row), ...encodePatch(patch) }, row.$updatedAt);
        } catch (err) {
          if (!isKind(err, 'conflict')) throw err;
          if (round >= CAS_ROUNDS) throw vcsError('VCS_ERR_CONFLICT', `video ${wpPostId} kept changing while it was updated`, err);
        }
      }
    },

    /**
     * One read per hundred videos, then one PATCH of last_accessed_at for each row whose value is
     * older: no compare-and-set, since two gateways racing can at worst leave the earlier of two
     * close accesses, and the next flush moves it on.
     */
    async recordAccess(accessed) {
      const ids = [...accessed.keys()];
      for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
        const chunk = ids.slice(i, i + IDS_PER_QUERY);
        const { rows } = await listRows('read last accesses', [Query.equal('wp_post_id', chunk), Query.select(['$id', 'wp_post_id', 'last_accessed_at']), Query.limit(chunk.length)]);
        for (const row of rows) {
          const at = new Date(accessed.get(Number(row.wp_post_id))!).toISOString();
          if (typeof row.last_accessed_at === 'string' && Date.parse(row.last_accessed_at) >= Date.parse(at)) continue;
          await call(`record the last access of video ${String(row.wp_post_id)}`, (a) => a.updateRow(tableId, row.$id, { last_accessed_at: at }), ['not-found']).catch((err) =>
            // Deleted since the read: nothing to record.
            isKind(err, 'not-found') ? undefined : Promise.reject(err),
          );
        }
      }
    },

    async isPaused() {
      try {
        return (await call('read paused flag', (a) => a.getRow(CONTROL_TABLE, tableId), ['not-found'])).paused === true;
      } catch (err) {
        if (isKind(err, 'not-found')) return false;
        throw err;
      }
    },

    async setPaused(paused) {
      const what = 'write paused flag';
      const update = () => call(what, (a) => a.updateRow(CONTROL_TABLE, tableId, { paused }), ['not-found']);
      try {
        return void (await update());
      } catch (err) {
        if (!isKind(err, 'not-found')) throw err;
      }
      try {
        return void (await call(what, (a) => a.createRow(CONTROL_TABLE, tableId, { paused }), ['conflict']));
      } catch (err) {
        if (!isKind(err, 'conflict')) throw err;
      }
      // Another process created the row in between: update that one.
      await update();
    },
  };

  async function detect(): Promise<ApiFamily> {
    try {
      return await withRetries('detect the API', () => detectFamily(connection, databaseId), retry);
    } catch (err) {
      throw err instanceof VcsError ? err : storeFailure(`open database ${databaseId}`, err);
    }
  }
}

/** Exponential backoff from 200 ms, capped at 5 s between tries (with full jitter, failures.ts). */
const BACKOFF = { baseDelayMs: 200, maxDelayMs: 5000 };

/** The store's options from the settings (STORE=appwrite; config.ts checks the connection is there). */
export function appwriteStoreOptions(settings: Settings): AppwriteStoreOptions {
  return {
    connection: {
      endpoint: settings.APPWRITE_ENDPOINT ?? '',
      projectId: settings.APPWRITE_PROJECT_ID ?? '',
      apiKey: settings.APPWRITE_API_KEY ?? '',
      timeoutMs: settings.APPWRITE_TIMEOUT,
    },
    api: settings.APPWRITE_API,
    databaseId: settings.DATABASE_ID,
    tableId: settings.COLLECTION_ID,
    retry: { retries: settings.APPWRITE_RETRIES, ...BACKOFF },
  };
}
