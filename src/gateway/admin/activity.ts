/**
 * Recent activity for the dashboard: what happened to videos (from the store: the most recently
 * changed ones) and what admins did through the dashboard (the audit journal on the volume, shared
 * by every gateway replica, and logged as `admin action`).
 */
import type { VideoJob } from '../../jobs/model.ts';
import type { AuditEntry } from '../../volume/audit.ts';

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
  record(event: ActivityEvent, call: string): Promise<void>;
  recent(limit: number): Promise<ActivityEvent[]>;
}

/** The audit journal on the volume (src/volume/audit.ts) as the dashboard's admin log. */
export function journalAdminLog(journal: { append(entry: AuditEntry): Promise<void>; recent(limit: number): Promise<AuditEntry[]> }): AdminLog {
  return {
    record: (event, call) => journal.append({ at: event.at, actor: event.actor ?? '', action: event.text, call, ...(event.wp_post_id ? { wp_post_id: event.wp_post_id } : {}) }),
    async recent(limit) {
      return (await journal.recent(limit)).map((e) => ({ at: e.at, kind: 'admin' as const, text: e.action, actor: e.actor, ...(e.wp_post_id ? { wp_post_id: e.wp_post_id } : {}) }));
    },
  };
}
