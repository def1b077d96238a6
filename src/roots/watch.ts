/**
 * `vcs status --id N --watch`: follows one video through the API until it is completed or failed.
 * On a terminal one line is redrawn in place (a progress bar with step, percent and ETA); anywhere
 * else a plain line is printed each time the status, the step or a tenth of the progress changes.
 */
import type { Status } from '../jobs/model.ts';
import type { ServiceClient } from './service-client.ts';

/** What the watch reads of GET /api/post/:id. */
export interface PostView {
  wp_post_id: number;
  title: string;
  status: Status;
  step: string | null;
  progress: number;
  estimated_completion: string | null;
  position_in_queue: number | null;
  urls: { master_playlist_url: string } | null;
  error_message: string | null;
  failed_at_step: string | null;
}

const FINAL: ReadonlySet<Status> = new Set(['completed', 'failed', 'deleted']);
/** Cells of the bar: narrow enough for an 80-column terminal with the step and the ETA beside it. */
const BAR_CELLS = 24;
/** Erase the line and go back to its start: the redraw of a terminal line. */
const REDRAW = '\r\x1b[2K';

/** 75 s → "1m 15s"; under a minute "42s"; an hour and more "1h 05m". */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Pure: the line that shows where a video stands at `now`. */
export function renderProgress(post: PostView, now: number, paused: boolean): string {
  const id = `video ${post.wp_post_id}`;
  switch (post.status) {
    case 'pending': {
      const place = post.position_in_queue ? ` · position ${post.position_in_queue} in the queue` : '';
      return `${id}: queued${place}${paused ? ' · the worker is paused: nothing starts until vcs resume' : ''}`;
    }
    case 'processing': {
      const pct = Math.max(0, Math.min(100, Math.round(post.progress)));
      const filled = Math.round((pct / 100) * BAR_CELLS);
      const eta = post.estimated_completion ? formatEta((Date.parse(post.estimated_completion) - now) / 1000) : '—';
      return `${id}: [${'#'.repeat(filled)}${'-'.repeat(BAR_CELLS - filled)}] ${String(pct).padStart(3)}% ${post.step ?? 'starting'} · ETA ${eta}`;
    }
    case 'completed':
      return `${id}: completed${post.urls ? ` · ${post.urls.master_playlist_url}` : ''}`;
    case 'failed':
      return `${id}: failed${post.failed_at_step ? ` at ${post.failed_at_step}` : ''}: ${post.error_message ?? 'no reason recorded'}`;
    case 'deleted':
      return `${id}: deleted`;
  }
}

/** What changes a plain (not a terminal) line: not the ETA, which moves at every look. */
const changeOf = (post: PostView, paused: boolean) => `${post.status} ${post.step} ${Math.floor(post.progress / 10)} ${post.position_in_queue} ${paused}`;

export interface WatchOutput {
  /** A terminal: redraw one line in place. */
  tty: boolean;
  /** Its width in columns (a redrawn line must not wrap). */
  columns?: number;
  write(text: string): void;
}

/** Polls the video every `intervalMs` until it is completed, failed or deleted; returns that status. */
export async function watchVideo(client: ServiceClient, id: number, out: WatchOutput, opts: { intervalMs: number; now?: () => number; sleep?: (ms: number) => Promise<void> }): Promise<Status> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last = '';
  for (;;) {
    const post = await client.call<PostView>('GET', `/api/post/${id}`);
    const paused = post.status === 'pending' && (await client.call<{ paused: boolean }>('GET', '/api/worker')).paused;
    const line = renderProgress(post, now(), paused);
    const final = FINAL.has(post.status);
    if (out.tty) {
      // A live line must not wrap (the redraw would leave its first part behind); the last one may.
      const width = Math.max(20, (out.columns || 80) - 1); // a pseudo-terminal without a size says 0
      out.write(final ? `${REDRAW}${line}\n` : `${REDRAW}${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    } else if (changeOf(post, paused) !== last || final) {
      out.write(`${line}\n`);
    }
    last = changeOf(post, paused);
    if (final) return post.status;
    await sleep(opts.intervalMs);
  }
}
