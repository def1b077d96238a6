/**
 * Recent activity for the dashboard: what happened to videos (from the store: the most recently
 * changed ones) and what admins did through the dashboard (kept by this gateway process, last 100,
 * and logged as `admin action`). Pure functions beside a small ring buffer.
 */
import type { VideoJob } from '../../jobs/model.ts';

export interface ActivityEvent {
  at: string;
  kind: 'queued' | 'started' | 'completed' | 'failed' | 'deleted' | 'admin';
  text: string;
  wp_post_id?: number;
  actor?: string;
}

/** What a video's latest change was, as one event. */
export function videoEvent(v: VideoJob): ActivityEvent {
  const id = v.wp_post_id;
  switch (v.compression_status) {
    case 'completed':
      return { at: v.completed_at ?? v.updated_at, kind: 'completed', text: `Video #${id} completed`, wp_post_id: id };
    case 'processing':
      return { at: v.started_at ?? v.updated_at, kind: 'started', text: `Video #${id} started processing`, wp_post_id: id };
    case 'failed':
      return { at: v.failed_at ?? v.updated_at, kind: 'failed', text: `Video #${id} failed${v.error_message ? `: ${v.error_message}` : ''}`, wp_post_id: id };
    case 'deleted':
      return { at: v.updated_at, kind: 'deleted', text: `Video #${id} deleted`, wp_post_id: id };
    default:
      return { at: v.updated_at, kind: 'queued', text: `Video #${id} queued`, wp_post_id: id };
  }
}

const ACTIONS: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^POST \/api\/worker\/pause$/, () => 'paused the worker'],
  [/^POST \/api\/worker\/resume$/, () => 'resumed the worker'],
  [/^POST \/api\/queue\/clear$/, () => 'cleared the queue'],
  [/^POST \/api\/cleanup$/, () => 'ran the cleanup'],
  [/^POST \/api\/compress\/(\d+)$/, (m) => `queued video #${m[1]} again`],
  [/^DELETE \/api\/post\/(\d+)$/, (m) => `deleted video #${m[1]}`],
  [/^POST \/api\/jobs$/, () => 'queued a video'],
];

/** An admin's successful call as an event (`null` for calls that change nothing worth listing). */
export function adminEvent(actor: string, method: string, path: string, at: string): ActivityEvent | null {
  const call = `${method} ${path}`;
  for (const [re, say] of ACTIONS) {
    const m = re.exec(call);
    if (m) return { at, kind: 'admin', text: `${actor} ${say(m)}`, actor, ...(m[1] ? { wp_post_id: Number(m[1]) } : {}) };
  }
  return null;
}

/** Newest first, at most `limit`. */
export function mergeActivity(limit: number, ...lists: ActivityEvent[][]): ActivityEvent[] {
  return lists
    .flat()
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
    .slice(0, limit);
}

export interface AdminLog {
  record(event: ActivityEvent): void;
  recent(): ActivityEvent[];
}

export function createAdminLog(max = 100): AdminLog {
  const events: ActivityEvent[] = [];
  return {
    record(event) {
      events.unshift(event);
      events.length = Math.min(events.length, max);
    },
    recent: () => [...events],
  };
}
