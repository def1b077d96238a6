/**
 * `vcs enqueue`: adds a video to the running service through its API (POST /api/jobs), or queues
 * an existing one again (POST /api/compress/:id, with the new source; the title changes only when
 * one is given). A local path becomes a file: URL of this machine; the service accepts it when its
 * own runs may read local files (README, "Local files").
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { vcsError } from '../errors.ts';
import type { Priority } from '../jobs/model.ts';
import type { ServiceClient } from './service-client.ts';
import { ServiceError } from './service-client.ts';

export interface EnqueueRequest {
  id: number;
  source: string;
  title?: string;
  priority: Priority;
}

/** The API's answer to a queued video. */
export interface Queued {
  success: boolean;
  message: string;
  wp_post_id: number;
  position_in_queue: number | null;
  paused: boolean;
}

/** An http(s) URL as given (never with credentials), or a local file (relative to `cwd`) as its file: URL. */
export async function sourceUrlFor(source: string, cwd: string): Promise<string> {
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    if (url.username || url.password) throw vcsError('VCS_ERR_SOURCE_REJECTED', 'source URLs with credentials (user:password@) are not accepted; give a URL the service can fetch without them');
    return url.href;
  }
  const file = path.resolve(cwd, source.startsWith('file://') ? new URL(source).pathname : source);
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw vcsError('VCS_ERR_SOURCE_NOT_FOUND', `${file} is not a file`);
  return pathToFileURL(file).href;
}

export async function enqueue(client: ServiceClient, req: EnqueueRequest, cwd: string): Promise<Queued> {
  const url = await sourceUrlFor(req.source, cwd);
  const known = await client.call('GET', `/api/post/${req.id}`).then(
    () => true,
    (err: unknown) => (err instanceof ServiceError && err.status === 404 ? false : Promise.reject(err)),
  );
  if (known) {
    return client.call<Queued>('POST', `/api/compress/${req.id}`, { body: { priority: req.priority, original_video_url: url, ...(req.title !== undefined ? { title: req.title } : {}) } });
  }
  const title = req.title ?? (decodeURIComponent(path.basename(new URL(url).pathname)) || `Video ${req.id}`);
  return client.call<Queued>('POST', '/api/jobs', { body: { wp_post_id: req.id, title, original_video_url: url, priority: req.priority } });
}
