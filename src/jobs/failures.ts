/**
 * The one rule for whether a failed video may be tried again, shared by the controller (which
 * retries it) and the metrics (which count it as `failed_retryable` or `failed_permanent`). Pure.
 */
import { isPermanentCode } from '../errors.ts';
import type { VideoJob } from './model.ts';

/**
 * A failure is permanent unless the failure itself said it may be retried (`retryable`) and its
 * error code, when catalogued, is not a permanent one (the document's flag cannot outvote the code).
 */
export function isPermanentFailure(video: Pick<VideoJob, 'retryable' | 'error_code'>): boolean {
  return video.retryable !== true || isPermanentCode(video.error_code);
}
