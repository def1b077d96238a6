/**
 * `vcs maintenance rebuild-masters|verify|migrate-storage|recompress-all`: the passes of
 * src/maintenance/ over the configured store and volume. Each returns a JSON-able summary and an
 * exit code — 0 all well, 1 problems found (broken or failed videos, a rollout stopped before its
 * end); options that make no sense throw VCS_ERR_BAD_REQUEST, which the command turns into exit 2.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Settings } from '../config.ts';
import { ladderFromSettings } from '../contract.ts';
import { vcsError } from '../errors.ts';
import type { VideoJob } from '../jobs/model.ts';
import type { JobStore } from '../jobs/store.ts';
import type { Logger } from '../log.ts';
import { MIGRATION_JOURNAL, migrateStorage } from '../maintenance/migrate.ts';
import { rebuildMasters } from '../maintenance/rebuild-masters.ts';
import { recompressAll, type RolloutClock } from '../maintenance/recompress.ts';
import { verifyVideos } from '../maintenance/verify.ts';
import { videosWithStatus } from '../maintenance/videos.ts';
import { pokeService } from './poke.ts';

export interface MaintenanceArgs {
  id?: number;
  dryRun: boolean;
  deep: boolean;
  mark: boolean;
  to?: string;
  publicUrl?: string;
  removeOld: boolean;
  status: 'completed' | 'failed';
  rate: string;
  maxPending?: number;
  rollout?: string;
}

export interface MaintenanceParts {
  settings: Settings;
  store: JobStore;
  log: Logger;
  signal: AbortSignal;
  clock?: RolloutClock;
}

export interface MaintenanceOutcome {
  summary: Record<string, unknown>;
  exitCode: 0 | 1;
}

export type MaintenanceCommand = 'rebuild-masters' | 'verify' | 'migrate-storage' | 'recompress-all';

const badRequest = (message: string) => vcsError('VCS_ERR_BAD_REQUEST', message);

/** Published videos: every completed one, or the one `id` names (which must be completed). */
async function published(store: JobStore, id: number | undefined): Promise<VideoJob[]> {
  if (id === undefined) return videosWithStatus(store, 'completed');
  if (!Number.isSafeInteger(id) || id < 1) throw badRequest(`--id must be a positive integer, got ${id}`);
  const video = await store.get(id);
  if (!video) throw badRequest(`no video with wp_post_id ${id}`);
  if (video.compression_status !== 'completed') throw badRequest(`video ${id} is ${video.compression_status}: only completed videos have a published package`);
  return [video];
}

/** `--rate 30/h` (or `30`): videos per hour, a positive integer. */
export function parseRate(text: string): number {
  const m = /^([0-9]+)(\/h)?$/.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw badRequest(`--rate must be videos per hour, e.g. 30/h, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * The rollout a ladder gets by default: re-running with the same ladder resumes it, a changed ladder
 * starts a new one. Chunking is left out: it changes how a package is encoded, not the package.
 */
export const defaultRollout = (settings: Settings): string => {
  const { chunking: _encodedHow, ...ladder } = ladderFromSettings(settings);
  return `ladder-${createHash('sha256').update(JSON.stringify(ladder)).digest('hex').slice(0, 8)}`;
};

/** How often recompress-all looks at a full queue again: short next to an encode, one cheap count per look. */
const QUEUE_POLL_MS = 30_000;

const realClock: RolloutClock = {
  now: Date.now,
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    }),
};

const COMMANDS: Record<MaintenanceCommand, (args: MaintenanceArgs, parts: MaintenanceParts) => Promise<MaintenanceOutcome>> = {
  async 'rebuild-masters'(args, { settings, store, log, signal }) {
    const videos = await published(store, args.id);
    const { checked, rewritten, failed, stopped } = await rebuildMasters({ videos, hlsPath: settings.HLS_PATH, dryRun: args.dryRun, signal, log });
    return {
      summary: { maintenance: 'rebuild-masters', dry_run: args.dryRun, checked, rewritten, unchanged: checked - rewritten.length - failed.length, failed, stopped },
      exitCode: failed.length || stopped ? 1 : 0,
    };
  },

  async verify(args, { settings, store, log, signal }) {
    const videos = await published(store, args.id);
    const check = { ffmpeg: settings.FFMPEG_PATH, ffprobe: settings.FFPROBE_PATH, deep: args.deep, signal };
    const report = await verifyVideos({ videos, store, hlsPath: settings.HLS_PATH, check, mark: args.mark, log });
    const controllerNotified = report.broken.some((b) => b.marked) ? await pokeService(settings) : false;
    return {
      summary: { maintenance: 'verify', deep: args.deep, mark: args.mark, checked: report.checked, ok: report.checked - report.broken.length, broken: report.broken, controller_notified: controllerNotified, stopped: report.stopped },
      exitCode: report.broken.length || report.stopped ? 1 : 0,
    };
  },

  async 'migrate-storage'(args, { settings, store, log, signal }) {
    const from = path.resolve(settings.HLS_PATH);
    const to = path.resolve(args.to ?? '');
    const inside = (a: string, b: string) => a === b || a.startsWith(b + path.sep);
    if (!args.to || inside(to, from) || inside(from, to)) throw badRequest(`--to must be a folder outside HLS_PATH (${from}), and HLS_PATH not inside it`);
    const publicUrl = args.publicUrl?.replace(/\/+$/, '') ?? null;
    if (publicUrl !== null && !/^https?:\/\/[^/]/.test(publicUrl)) throw badRequest(`--public-url must be an http(s) URL, got ${JSON.stringify(args.publicUrl)}`);
    if (args.removeOld && publicUrl === null) {
      throw badRequest('--remove-old needs --public-url: without new URLs the documents still point at the old copies until HLS_PATH changes; remove the old folder yourself after that');
    }
    const processing = (await store.listProcessing()).map((v) => v.wp_post_id);
    if (processing.length) log.warn({ processing }, 'videos are being encoded: they publish to the old HLS_PATH with the old PUBLIC_URL; pause the worker and run this again after they finish');
    const report = await migrateStorage({ store, from, to, publicUrl, removeOld: args.removeOld, dryRun: args.dryRun, log, now: Date.now, signal });
    return {
      summary: {
        maintenance: 'migrate-storage',
        dry_run: args.dryRun,
        from,
        to,
        public_url: publicUrl,
        journal: path.join(to, MIGRATION_JOURNAL),
        ...report,
        still_encoding: processing,
        next: report.failed.length || report.stopped ? 'run the same command again to resume' : `set HLS_PATH=${to}${publicUrl ? ` and PUBLIC_URL=${publicUrl}` : ''}, then restart the service`,
      },
      exitCode: report.failed.length || report.stopped ? 1 : 0,
    };
  },

  async 'recompress-all'(args, { settings, store, log, signal, clock }) {
    const perHour = parseRate(args.rate);
    const maxPending = args.maxPending ?? settings.MAX_CONCURRENT_JOBS;
    if (!Number.isSafeInteger(maxPending) || maxPending < 1) throw badRequest(`--max-pending must be a positive integer, got ${args.maxPending}`);
    const rollout = args.rollout ?? defaultRollout(settings);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(rollout)) throw badRequest(`--rollout must be 1–64 letters, digits, dots, dashes or underscores, got ${JSON.stringify(rollout)}`);
    const journalFile = path.join(settings.STORAGE_PATH, 'maintenance', `recompress-${rollout}.jsonl`);
    const report = await recompressAll({
      store,
      status: args.status,
      perHour,
      maxPending,
      pollMs: QUEUE_POLL_MS,
      journalFile,
      dryRun: args.dryRun,
      log,
      clock: clock ?? realClock,
      signal,
      poke: () => pokeService(settings),
    });
    const stopped = !args.dryRun && report.remaining > 0;
    return {
      summary: {
        maintenance: 'recompress-all',
        dry_run: args.dryRun,
        rollout,
        journal: journalFile,
        status: args.status,
        rate_per_hour: perHour,
        max_pending: maxPending,
        ...report,
        // The least time the rest takes at the rate (the queue threshold can only add to it).
        hours_left_at_rate: Math.ceil(report.remaining / perHour),
        stopped,
      },
      exitCode: stopped ? 1 : 0,
    };
  },
};

export function runMaintenance(what: MaintenanceCommand, args: MaintenanceArgs, parts: MaintenanceParts): Promise<MaintenanceOutcome> {
  return COMMANDS[what](args, parts);
}
