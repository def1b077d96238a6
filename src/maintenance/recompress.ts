/**
 * `vcs maintenance recompress-all`: published (or failed) videos queued again, one at a time, so a
 * new ladder rolls out without starving new uploads (docs/adr/0021). A video is queued only while
 * the pending queue is shorter than `maxPending` — re-queued videos keep their old creation time
 * and would sort ahead of every new upload in the FIFO queue — and at most `perHour` in any 60
 * minutes. The rollout's journal names every video queued and when: a run that stops (Ctrl-C, a
 * reboot) is started again with the same command, skips what the journal names and keeps to the
 * rate the journal's times allow.
 */
import { VcsError } from '../errors.ts';
import type { Status } from '../jobs/model.ts';
import { queueAgain } from '../jobs/queue.ts';
import type { JobStore } from '../jobs/store.ts';
import type { Logger } from '../log.ts';
import { openJournal } from './journal.ts';
import { videosWithStatus } from './videos.ts';

export const HOUR_MS = 3_600_000;

export type Pace = { go: true } | { go: false; waitMs: number; why: 'queue full' | 'hourly rate reached' };

/**
 * Pure: whether another video may be queued at `now`, given the times earlier ones were queued in
 * this rollout and the number of videos pending; if not, how long to wait before asking again.
 */
export function pace(o: { now: number; queuedAt: readonly number[]; perHour: number; pending: number; maxPending: number; pollMs: number }): Pace {
  if (o.pending >= o.maxPending) return { go: false, waitMs: o.pollMs, why: 'queue full' };
  const lastHour = o.queuedAt.filter((t) => t > o.now - HOUR_MS).sort((a, b) => a - b);
  // Queued at t, a video leaves the window at t + 1 h; wait until enough have left for one more.
  if (lastHour.length >= o.perHour) return { go: false, waitMs: lastHour[lastHour.length - o.perHour]! + HOUR_MS - o.now, why: 'hourly rate reached' };
  return { go: true };
}

export interface RolloutEntry {
  wp_post_id: number;
  at: string;
}

export interface RolloutClock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface RecompressOptions {
  store: JobStore;
  status: Extract<Status, 'completed' | 'failed'>;
  perHour: number;
  maxPending: number;
  /** How often a full queue is looked at again. */
  pollMs: number;
  journalFile: string;
  dryRun: boolean;
  log: Logger;
  clock: RolloutClock;
  /** Stops the rollout between two videos; run again to resume. */
  signal: AbortSignal;
  /** Tells a controller that something was queued (best effort). */
  poke: () => Promise<unknown>;
}

export interface RecompressReport {
  /** Videos with the status, not yet queued in this rollout, when the run started. */
  candidates: number;
  /** Queued by earlier runs of this rollout. */
  already_queued: number;
  queued: number[];
  skipped: { wp_post_id: number; reason: string }[];
  /** Left for the next run when this one was stopped. */
  remaining: number;
}

export async function recompressAll(o: RecompressOptions): Promise<RecompressReport> {
  const journal = await openJournal<RolloutEntry>(o.journalFile);
  const seen = new Set(journal.entries.map((e) => e.wp_post_id));
  const candidates = (await videosWithStatus(o.store, o.status)).filter((v) => !seen.has(v.wp_post_id));
  const report: RecompressReport = { candidates: candidates.length, already_queued: seen.size, queued: [], skipped: [], remaining: candidates.length };
  if (o.dryRun) return report;
  const queuedAt = journal.entries.map((e) => Date.parse(e.at));
  for (const candidate of candidates) {
    for (;;) {
      if (o.signal.aborted) return report;
      const p = pace({ now: o.clock.now(), queuedAt, perHour: o.perHour, pending: (await o.store.countByStatus()).pending, maxPending: o.maxPending, pollMs: o.pollMs });
      if (p.go) break;
      o.log.debug({ waitMs: p.waitMs, why: p.why }, 'rollout waiting');
      await o.clock.sleep(p.waitMs, o.signal);
    }
    report.remaining -= 1;
    const id = candidate.wp_post_id;
    const video = await o.store.get(id);
    if (video?.compression_status !== o.status) {
      report.skipped.push({ wp_post_id: id, reason: video ? `now ${video.compression_status}` : 'gone' });
      continue;
    }
    try {
      // Normal priority whatever the video had: a rollout never goes ahead of new uploads.
      await queueAgain(o.store, video, { priority: 'normal' });
    } catch (err) {
      if (!(err instanceof VcsError && err.code === 'VCS_ERR_CONFLICT')) throw err;
      report.skipped.push({ wp_post_id: id, reason: 'changed meanwhile' });
      continue;
    }
    const now = o.clock.now();
    await journal.append({ wp_post_id: id, at: new Date(now).toISOString() });
    queuedAt.push(now);
    report.queued.push(id);
    await o.poke();
    o.log.info({ videoId: id, queued: report.queued.length, remaining: report.remaining }, 'queued for re-compression');
  }
  return report;
}
