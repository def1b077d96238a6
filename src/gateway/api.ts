/**
 * The REST API under /api (the plan’s "REST API ENDPOINTS", and the dashboard's system
 * controls, docs/adr/0015). Every write goes through the store, so it works when the controller is another
 * process; in `vcs serve` the controller (the worker port) is also poked so it acts at once.
 */
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { VcsError, vcsError } from '../errors.ts';
import { queueAgain } from '../jobs/queue.ts';
import type { SortField } from '../jobs/store.ts';
import { PRIORITIES, STATUSES, type Status, type VideoJob } from '../jobs/model.ts';
import type { JobStore } from '../jobs/store.ts';
import type { Logger } from '../log.ts';
import { removePackage, removeRunLogs, sweepTemp } from '../volume/cleanup.ts';
import { readRunLogs } from '../volume/run-logs.ts';
import { formatBytes, formatDuration, formatPercent } from './format.ts';
import { OPENAPI } from './openapi.ts';
import type { WorkerPort } from './ports.ts';
import { jobRow, postStatus } from './presenters.ts';
import { bodyObject, booleanParam, dateParam, intInRange, oneOf, positiveInt, sourceUrl, text } from './validate.ts';

export interface ApiDeps {
  store: JobStore;
  log: Logger;
  now: () => number;
  hlsPath: string;
  tempPath: string;
  cleanupTempAfterMs: number;
  allowLocalSources: boolean;
  /**
   * `vcs serve` with the embedded store: file: URLs are also accepted from calls made on this
   * machine (`vcs enqueue ./clip.mp4`), as its own runs read local files (README, "Local files").
   */
  localSourcesFromThisMachine?: boolean;
  /** Checks the API key on every call. */
  requireKey: Middleware;
  /** Reads: public, or keyed when REQUIRE_AUTH_FOR_READS is set. */
  readKey: Middleware;
  storageUsed: () => Promise<number>;
  /** The controller in this process (`vcs serve`); absent in the cluster shape. */
  worker?: WorkerPort;
}

const SORTS: Record<string, SortField> = { created_at: 'created_at', wp_post_id: 'wp_post_id', title: 'title', status: 'compression_status', updated_at: 'updated_at' };

/** How long DELETE waits for a run of the video to stop before it answers anyway (`vcs serve`). */
const RUN_STOP_WAIT_MS = 15_000;
/** Compare-and-set rounds of a DELETE racing with the controller before it gives up (409). */
const DELETE_ROUNDS = 5;

/** Headers a reverse proxy adds (nginx as the README shows, Caddy, Apache, Traefik): any marks a call as forwarded. */
const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host', 'via'];

/**
 * A call made on this machine: its connection comes from a loopback address and no proxy forwarded
 * it. The socket's address, never a header, so a remote client cannot claim it.
 */
function fromThisMachine(ctx: Context): boolean {
  const peer = ctx.req.socket.remoteAddress ?? '';
  const loopback = /^(127\.|::1$|::ffff:127\.)/.test(peer);
  return loopback && !FORWARDING_HEADERS.some((h) => ctx.get(h));
}

const CLEARED_URLS = { master_playlist_url: null, poster_url: null, hls_high_url: null, hls_medium_url: null, hls_low_url: null };

export function apiRouter(deps: ApiDeps): Router {
  const { store, now } = deps;
  const router = new Router({ prefix: '/api', sensitive: true });
  const iso = () => new Date(now()).toISOString();
  const poke = () => deps.worker?.poke();
  const localSources = (ctx: Context) => deps.allowLocalSources || (deps.localSourcesFromThisMachine === true && fromThisMachine(ctx));
  /** Where a queued video stands: its place in the queue, and whether the worker is paused (then nothing starts). */
  const queued = async (id: number) => ({ position_in_queue: await store.queuePosition(id), paused: await store.isPaused() });

  /**
   * Moves the video to deleted with a compare-and-set on the status read, so the status it left
   * is known exactly (a run the controller started in between is seen, never missed).
   */
  async function markDeleted(first: VideoJob, deleteFiles: boolean): Promise<Status> {
    let video = first;
    for (let round = 1; ; round++) {
      const from = video.compression_status;
      if (from === 'deleted') return from;
      try {
        await store.transition(video.wp_post_id, 'deleted', deleteFiles ? CLEARED_URLS : {}, [from]);
        return from;
      } catch (err) {
        if (!(err instanceof VcsError && err.code === 'VCS_ERR_CONFLICT') || round >= DELETE_ROUNDS) throw err;
        video = await find(video.wp_post_id);
      }
    }
  }

  async function find(rawId: unknown): Promise<VideoJob> {
    const id = positiveInt(rawId, 'wp_post_id');
    const video = await store.get(id);
    if (!video) throw vcsError('VCS_ERR_NOT_FOUND', `no video with wp_post_id ${id}`);
    return video;
  }

  router.get('/post/:wp_post_id', deps.readKey, async (ctx) => {
    const video = await find(ctx.params.wp_post_id);
    const position = video.compression_status === 'pending' ? await store.queuePosition(video.wp_post_id) : null;
    ctx.body = postStatus(video, now(), { position, eta: deps.worker?.eta(video.wp_post_id) });
  });

  /** A new upload (`original_video_url`) or `title` may come with a re-compression; absent, both stay as they are. */
  router.post('/compress/:wp_post_id', deps.requireKey, async (ctx) => {
    const video = await find(ctx.params.wp_post_id);
    const body = bodyObject(ctx.request.body, ['priority', 'original_video_url', 'title']);
    const priority = oneOf(body.priority, 'priority', PRIORITIES, 'normal');
    const title = text(body.title, 'title', { max: 500 });
    const source = body.original_video_url === undefined ? undefined : sourceUrl(body.original_video_url, 'original_video_url', localSources(ctx));
    let message: string;
    if (video.compression_status === 'processing') {
      throw vcsError('VCS_ERR_CONFLICT', `video ${video.wp_post_id} is being compressed now; delete it first to start over`);
    } else if (video.compression_status === 'pending') {
      if (source !== undefined && source !== video.original_video_url) throw vcsError('VCS_ERR_CONFLICT', `video ${video.wp_post_id} is already queued with another source; delete it first to queue a new upload`);
      if (priority !== video.priority || (title !== undefined && title !== video.title)) await store.update(video.wp_post_id, { priority, ...(title !== undefined ? { title } : {}) });
      message = 'Job already queued';
    } else {
      // A manual retry or re-compression: a fresh start, the automatic retry budget restored.
      await queueAgain(store, video, { priority, ...(title !== undefined ? { title } : {}), ...(source !== undefined ? { original_video_url: source } : {}) });
      message = 'Job queued for processing';
    }
    poke();
    ctx.status = 202;
    ctx.body = { success: true, message, wp_post_id: video.wp_post_id, ...(await queued(video.wp_post_id)) };
  });

  router.get('/post/:wp_post_id/logs', deps.requireKey, async (ctx) => {
    const video = await find(ctx.params.wp_post_id);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { wp_post_id: video.wp_post_id, runs: await readRunLogs(deps.tempPath, video.wp_post_id) };
  });

  router.get('/jobs', deps.requireKey, async (ctx) => {
    const q = ctx.query;
    const limit = intInRange(q.limit, 'limit', 1, 100, 20);
    const offset = intInRange(q.offset, 'offset', 0, 1_000_000_000, 0);
    const sortName = oneOf(q.sort, 'sort', Object.keys(SORTS), 'created_at');
    const order = oneOf(q.order, 'order', ['asc', 'desc'] as const, 'desc');
    const status = oneOf(q.status, 'status', STATUSES);
    const search = text(q.search, 'search', { max: 200 });
    const from = dateParam(q.from, 'from');
    const to = dateParam(q.to, 'to', true);
    if (from !== undefined && to !== undefined && from >= to) throw vcsError('VCS_ERR_BAD_REQUEST', 'from must be before to');
    const range = { ...(from !== undefined ? { createdFrom: new Date(from).toISOString() } : {}), ...(to !== undefined ? { createdBefore: new Date(to).toISOString() } : {}) };
    const { total, jobs } = await store.list({ status, search, ...range, limit, offset, sort: SORTS[sortName]!, order });
    ctx.body = { total, page: Math.floor(offset / limit) + 1, limit, offset, jobs: jobs.map(jobRow) };
  });

  router.post('/jobs', deps.requireKey, async (ctx) => {
    const body = bodyObject(ctx.request.body, ['wp_post_id', 'title', 'original_video_url', 'priority']);
    const id = positiveInt(body.wp_post_id, 'wp_post_id');
    const video = await store.create({
      wp_post_id: id,
      title: text(body.title, 'title', { required: true, max: 500 })!,
      original_video_url: sourceUrl(body.original_video_url, 'original_video_url', localSources(ctx)),
      priority: oneOf(body.priority, 'priority', PRIORITIES, 'normal'),
    });
    poke();
    ctx.status = 201;
    ctx.body = { success: true, message: 'Job queued for processing', wp_post_id: video.wp_post_id, ...(await queued(id)) };
  });

  /**
   * A video that was processing keeps a run going until the controller stops it, and that run could
   * still publish. In `vcs serve` the answer waits (bounded) for the run to stop; in every shape
   * the controller, once the run has ended, removes whatever it published (src/controller/apply.ts),
   * so a deleted video never ends with files on disk or a running Job.
   */
  router.delete('/post/:wp_post_id', deps.requireKey, async (ctx) => {
    const video = await find(ctx.params.wp_post_id);
    const deleteFiles = booleanParam(ctx.query.delete_files, 'delete_files', true);
    const from = await markDeleted(video, deleteFiles);
    // With a controller in this process, wait for any run of the video (also one a concurrent
    // DELETE or a timeout is already stopping); without one, only the status left tells.
    poke();
    const runStopped = deps.worker ? await deps.worker.waitForRunToStop(video.wp_post_id, RUN_STOP_WAIT_MS) : from !== 'processing';
    const freed = deleteFiles ? (await removePackage(deps.hlsPath, video.wp_post_id)) + (await removeRunLogs(deps.tempPath, video.wp_post_id)) : 0;
    deps.log.info({ videoId: video.wp_post_id, key: ctx.state.keyFingerprint, deleteFiles, freed, from, runStopped }, 'video deleted');
    ctx.body = { success: true, deleted_files: deleteFiles, space_freed: formatBytes(freed), space_freed_bytes: freed, run_stopping: !runStopped };
  });

  router.get('/openapi.json', (ctx) => {
    ctx.body = OPENAPI;
  });

  router.get('/stats', deps.readKey, async (ctx) => {
    const counts = await store.countByStatus();
    const today = new Date(now());
    today.setUTCHours(0, 0, 0, 0);
    const summary = await store.summary(today.toISOString());
    const used = await deps.storageUsed();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    ctx.body = {
      total_videos: total,
      ...counts,
      total_storage_used: formatBytes(used),
      total_storage_used_bytes: used,
      average_compression_time: formatDuration(summary.averageCompressionSeconds),
      average_compression_seconds: summary.averageCompressionSeconds,
      videos_today: summary.createdSince,
      success_rate: formatPercent(counts.completed, counts.completed + counts.failed),
    };
  });

  router.get('/worker', deps.readKey, async (ctx) => {
    ctx.body = { paused: await store.isPaused(), ...(await store.countByStatus()) };
  });

  for (const [action, paused] of [['pause', true], ['resume', false]] as const) {
    router.post(`/worker/${action}`, deps.requireKey, async (ctx) => {
      await store.setPaused(paused);
      deps.log.info({ key: ctx.state.keyFingerprint }, `worker ${action}d`);
      poke();
      ctx.body = { success: true, paused };
    });
  }

  router.post('/queue/clear', deps.requireKey, async (ctx) => {
    let cancelled = 0;
    for (;;) {
      const batch = await store.listPending(100);
      if (batch.length === 0) break;
      for (const v of batch) {
        try {
          await store.transition(v.wp_post_id, 'failed', {
            error_message: 'Cancelled: the queue was cleared',
            error_code: 'VCS_ERR_CANCELLED_BY_USER',
            failed_at_step: 'queued',
            retryable: false,
            failed_at: iso(),
          }, ['pending']);
          cancelled += 1;
        } catch (err) {
          // Started by the controller in the meantime: it is no longer queued, leave it be.
          if ((err as { code?: string }).code !== 'VCS_ERR_CONFLICT') throw err;
        }
      }
    }
    deps.log.info({ key: ctx.state.keyFingerprint, cancelled }, 'queue cleared');
    ctx.body = { success: true, cancelled };
  });

  router.post('/cleanup', deps.requireKey, async (ctx) => {
    const { removed, bytesFreed } = await sweepTemp({
      tempPath: deps.tempPath,
      hlsPath: deps.hlsPath,
      olderThanMs: deps.cleanupTempAfterMs,
      now: now(),
      active: await deps.worker?.activeRuns(),
    });
    deps.log.info({ key: ctx.state.keyFingerprint, removed: removed.length, bytesFreed }, 'temp cleanup');
    ctx.body = { success: true, removed: removed.length, space_freed: formatBytes(bytesFreed), space_freed_bytes: bytesFreed };
  });

  return router;
}
