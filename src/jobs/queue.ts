/**
 * Queueing a video again — a manual retry, a re-compression, a deleted video brought back — the
 * same way whoever asks (the API, and through it `vcs enqueue` and `vcs retry`): a fresh start with the automatic retry budget
 * restored, as a compare-and-set on the status that was read.
 */
import { vcsError } from '../errors.ts';
import type { VideoJob, VideoPatch } from './model.ts';
import type { JobStore } from './store.ts';

/** What may change when a video is queued again. */
export type RequeueChanges = Pick<VideoPatch, 'priority' | 'title' | 'original_video_url'>;

/**
 * Moves a completed, failed or deleted video back to pending. A video that is pending or
 * processing is refused with VCS_ERR_CONFLICT; one whose status changed since `video` was read
 * fails the compare-and-set (VCS_ERR_CONFLICT) instead of overwriting what happened meanwhile.
 */
export async function queueAgain(store: JobStore, video: VideoJob, changes: RequeueChanges): Promise<VideoJob> {
  const status = video.compression_status;
  if (status === 'pending' || status === 'processing') {
    throw vcsError('VCS_ERR_CONFLICT', `video ${video.wp_post_id} is already ${status === 'pending' ? 'queued' : 'being compressed'}`);
  }
  return store.transition(video.wp_post_id, 'pending', { ...changes, retry_count: 0, compression_step: 'queued', compression_progress: 0 }, [status]);
}
