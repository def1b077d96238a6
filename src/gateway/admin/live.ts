/**
 * Live updates for the admin pages: one store poll per gateway process, shared by every open
 * page (Server-Sent Events), and only while at least one page listens. A snapshot is small: the
 * counts by status, the paused flag, and the videos in processing with their step and progress
 * — enough to move progress bars and to tell a page when a video left processing.
 */
import type { Logger } from '../../log.ts';
import type { Status } from '../../jobs/model.ts';
import type { JobStore } from '../../jobs/store.ts';

export interface LiveSnapshot {
  at: string;
  counts: Record<Status, number>;
  paused: boolean;
  processing: { wp_post_id: number; title: string; compression_step: string | null; compression_progress: number }[];
}

export interface LiveFeed {
  /** Calls `listener` with every snapshot (at once with the latest, if any); returns the unsubscribe. */
  subscribe(listener: (snapshot: LiveSnapshot) => void): () => void;
  readonly listeners: number;
  close(): void;
}

export function createLiveFeed(deps: { store: Pick<JobStore, 'countByStatus' | 'isPaused' | 'listProcessing'>; log: Logger; intervalMs: number; now: () => number }): LiveFeed {
  const listeners = new Set<(s: LiveSnapshot) => void>();
  let latest: LiveSnapshot | null = null;
  let timer: NodeJS.Timeout | null = null;
  let polling = false;

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      const [counts, paused, processing] = await Promise.all([deps.store.countByStatus(), deps.store.isPaused(), deps.store.listProcessing()]);
      latest = {
        at: new Date(deps.now()).toISOString(),
        counts,
        paused,
        processing: processing.map((v) => ({ wp_post_id: v.wp_post_id, title: v.title, compression_step: v.compression_step, compression_progress: v.compression_progress })),
      };
      for (const l of listeners) l(latest);
    } catch (err) {
      // The pages keep their last view; the next poll tries again.
      deps.log.warn({ err: (err as Error).message }, 'live feed: store poll failed');
    } finally {
      polling = false;
    }
  }

  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (latest) listener(latest);
      if (!timer) {
        void poll();
        timer = setInterval(() => void poll(), deps.intervalMs);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    get listeners() {
      return listeners.size;
    },
    close() {
      listeners.clear();
      stop();
    },
  };
}
