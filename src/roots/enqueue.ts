/**
 * `vcs enqueue`: adds a video to the configured store, or queues an existing one again. A local
 * path becomes a file: URL; that is allowed with the embedded store (whose documents only this
 * machine's users write) or with ALLOW_LOCAL_SOURCES.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Settings } from '../config.ts';
import { vcsError } from '../errors.ts';
import { POKE_ROUTE } from '../http/routes.ts';
import type { Priority, VideoJob } from '../jobs/model.ts';
import { queueAgain } from '../jobs/queue.ts';
import type { JobStore } from '../jobs/store.ts';
import { localAddress } from './wiring.ts';

export interface EnqueueRequest {
  id: number;
  source: string;
  title?: string;
  priority: Priority;
}

export async function sourceUrlFor(source: string, settings: Settings): Promise<string> {
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    if (url.username || url.password) throw vcsError('VCS_ERR_SOURCE_REJECTED', 'source URLs with credentials (user:password@) are not accepted; give a URL the service can fetch without them');
    return url.href;
  }
  if (!(settings.STORE === 'sqlite' || settings.ALLOW_LOCAL_SOURCES)) {
    throw vcsError('VCS_ERR_SOURCE_FORBIDDEN', 'local files can be enqueued only with the embedded store or ALLOW_LOCAL_SOURCES=true; give an http(s) URL');
  }
  const file = path.resolve(source.startsWith('file://') ? new URL(source).pathname : source);
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw vcsError('VCS_ERR_SOURCE_NOT_FOUND', `${file} is not a file`);
  return pathToFileURL(file).href;
}

export async function enqueue(store: JobStore, settings: Settings, req: EnqueueRequest): Promise<{ video: VideoJob; created: boolean; position: number | null }> {
  const url = await sourceUrlFor(req.source, settings);
  const title = req.title ?? path.basename(new URL(url).pathname) ?? `Video ${req.id}`;
  const existing = await store.get(req.id);
  const video: VideoJob = existing
    ? await queueAgain(store, existing, { original_video_url: url, title, priority: req.priority })
    : await store.create({ wp_post_id: req.id, title, original_video_url: url, priority: req.priority });
  return { video, created: !existing, position: await store.queuePosition(req.id) };
}

/** Best effort: tells a running `vcs serve` on this machine (its internal port) to look at the store now. */
export async function pokeService(settings: Pick<Settings, 'INTERNAL_PORT' | 'INTERNAL_BIND_ADDRESS'>): Promise<boolean> {
  try {
    const res = await fetch(`http://${localAddress(settings.INTERNAL_BIND_ADDRESS)}:${settings.INTERNAL_PORT}${POKE_ROUTE}`, { method: 'POST', signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}
