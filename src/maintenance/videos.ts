/**
 * The documents a maintenance pass works through, read whole before it starts: a pass that changes
 * statuses (verify --mark, recompress-all) would otherwise shift the pages it is still reading.
 */
import type { Status, VideoJob } from '../jobs/model.ts';
import type { JobStore } from '../jobs/store.ts';

const PAGE = 100;

/** Every video with `status`, oldest first. */
export async function videosWithStatus(store: Pick<JobStore, 'list'>, status: Status): Promise<VideoJob[]> {
  const found: VideoJob[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const { jobs } = await store.list({ status, limit: PAGE, offset, sort: 'created_at', order: 'asc' });
    found.push(...jobs);
    if (jobs.length < PAGE) return found;
  }
}
