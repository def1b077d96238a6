/**
 * "Last access" (issue 14): when players last fetched a video's playlists through this gateway.
 * A request only notes the time in memory; the notes go to the store in batches
 * (JobStore.recordAccess) every `flushEveryMs`, and once more when the gateway closes — never a
 * store write per request. Each gateway process (every replica, every GATEWAY_WORKERS worker)
 * keeps its own notes and flushes them itself; the store keeps the latest time whoever writes.
 *
 * A video this process wrote within `resolutionMs` is not written again: the field is precise to
 * that much, which is plenty for a cleanup counted in days, and a video watched all day costs one
 * write an hour instead of one a minute (on Appwrite, a read and a PATCH).
 */
import type { JobStore } from '../jobs/store.ts';
import type { Logger } from '../log.ts';

export interface AccessRecorder {
  /** A playlist of video `videoId` was served now. Memory only; never waits, never throws. */
  record(videoId: number): void;
  /** Writes the notes taken since the last flush, in one store call (none when there are none). */
  flush(): Promise<void>;
  /** Stops the timer and flushes; later notes are dropped. */
  close(): Promise<void>;
}

export interface AccessRecorderOptions {
  store: Pick<JobStore, 'recordAccess'>;
  now: () => number;
  log: Logger;
  flushEveryMs: number;
  resolutionMs: number;
}

export function createAccessRecorder(o: AccessRecorderOptions): AccessRecorder {
  /** Video → the latest access noted and not yet written. */
  let noted = new Map<number, number>();
  /** Video → the access this process last wrote, while younger than resolutionMs. */
  const written = new Map<number, number>();
  /** Flushes run one after another, so two never write the same notes. */
  let last: Promise<void> = Promise.resolve();
  let closed = false;

  async function writeNotes(): Promise<void> {
    if (noted.size === 0) return;
    const batch = noted;
    noted = new Map();
    try {
      await o.store.recordAccess(new Map([...batch].map(([id, at]) => [id, new Date(at).toISOString()])));
    } catch (err) {
      // Kept for the next flush (a later note of the same video wins).
      for (const [id, at] of batch) if (!((noted.get(id) ?? -Infinity) >= at)) noted.set(id, at);
      o.log.warn({ err: (err as Error).message, videos: batch.size }, 'recording the last accesses failed; the next flush tries again');
      return;
    }
    for (const [id, at] of batch) written.set(id, at);
    const stale = o.now() - o.resolutionMs;
    for (const [id, at] of written) if (at <= stale) written.delete(id);
  }

  const flush = (): Promise<void> => (last = last.then(writeNotes));
  const timer = setInterval(() => void flush(), o.flushEveryMs);
  // A pending flush never keeps a process alive; close() writes what is left.
  timer.unref();

  return {
    record(videoId) {
      if (closed) return;
      const at = o.now();
      const wrote = written.get(videoId);
      if (wrote !== undefined && at - wrote < o.resolutionMs) return;
      noted.set(videoId, at);
    },
    flush,
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
    },
  };
}
