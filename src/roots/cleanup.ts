/**
 * `vcs cleanup temp|old|stuck [--dry-run]`: the scheduled cleanups, now, from the command line
 * (the store and the volume of the configuration). Each returns what it did (or, with --dry-run,
 * what it would do) as one JSON-able report.
 */
import type { Settings } from '../config.ts';
import { deleteOldVideos } from '../controller/retention.ts';
import type { JobStore } from '../jobs/store.ts';
import type { Logger } from '../log.ts';
import { sweepTemp } from '../volume/cleanup.ts';
import { pokeService } from './poke.ts';
import { volumeOf } from './wiring.ts';

export type CleanupKind = 'temp' | 'old' | 'stuck';

export async function runCleanup(kind: CleanupKind, settings: Settings, store: JobStore, log: Logger, dryRun: boolean, now = Date.now()): Promise<Record<string, unknown>> {
  switch (kind) {
    case 'temp': {
      // Work folders changed within CLEANUP_TEMP_AFTER count as a run's and are kept.
      const { removed, bytesFreed, failed } = await sweepTemp({ ...volumeOf(settings), olderThanMs: settings.CLEANUP_TEMP_AFTER, now, dryRun });
      return { cleanup: 'temp', dry_run: dryRun, removed, bytes_freed: bytesFreed, failed };
    }
    case 'old': {
      if (settings.DELETE_OLD_VIDEOS_AFTER <= 0) return { cleanup: 'old', dry_run: dryRun, videos: [], bytes_freed: 0, note: 'DELETE_OLD_VIDEOS_AFTER is 0: old videos are kept' };
      const keepWatchedDays = settings.KEEP_WATCHED_VIDEOS_DAYS;
      const report = await deleteOldVideos({ store, volume: volumeOf(settings), days: settings.DELETE_OLD_VIDEOS_AFTER, keepWatchedDays, now, log, dryRun });
      const kept = keepWatchedDays > 0 ? { keep_watched_days: keepWatchedDays, kept_watched: report.kept } : {};
      return { cleanup: 'old', dry_run: dryRun, older_than_days: settings.DELETE_OLD_VIDEOS_AFTER, ...kept, videos: report.videos, bytes_freed: report.bytesFreed };
    }
    case 'stuck': {
      // The controller fails a run past PROCESSING_TIMEOUT at its next pass (reconcile.ts): name
      // them, and ask for that pass now.
      const stuck = (await store.listProcessing())
        .filter((v) => v.started_at !== null && now - Date.parse(v.started_at) > settings.PROCESSING_TIMEOUT)
        .map((v) => ({ wp_post_id: v.wp_post_id, title: v.title, started_at: v.started_at, step: v.compression_step }));
      const notified = !dryRun && stuck.length > 0 ? await pokeService(settings) : false;
      return { cleanup: 'stuck', dry_run: dryRun, processing_timeout_ms: settings.PROCESSING_TIMEOUT, stuck, controller_notified: notified };
    }
  }
}
