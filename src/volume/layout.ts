/**
 * Where things live on the storage volume (the same paths in `vcs serve`, in the controller, in
 * the gateway and, under the volume's mount, in a transcoder pod):
 *
 *   HLS_PATH/{wp_post_id}/          a published package (poster, master, renditions, manifest)
 *   HLS_PATH/.deleting-*            a package being removed (renamed aside first)
 *   TEMP_PATH/work/{job name}/      one run's download and staging folder
 *   TEMP_PATH/runs/{job name}.*     the local runner's run records and result files
 *   TEMP_PATH/logs/{wp_post_id}/{job name}.log   each run's own log (kept with the video; the
 *                                   temp sweep leaves it, deleting the video's files removes it)
 *
 * Pure.
 */
import path from 'node:path';

export interface VolumePaths {
  hlsPath: string;
  tempPath: string;
}

export const packageDir = (hlsPath: string, videoId: number): string => path.join(hlsPath, String(videoId));

export const workRoot = (tempPath: string): string => path.join(tempPath, 'work');

export const workDir = (tempPath: string, jobName: string): string => path.join(workRoot(tempPath), jobName);

export const runsDir = (tempPath: string): string => path.join(tempPath, 'runs');

export const videoLogsDir = (tempPath: string, videoId: number): string => path.join(tempPath, 'logs', String(videoId));

export const runLogFile = (tempPath: string, videoId: number, jobName: string): string => path.join(videoLogsDir(tempPath, videoId), `${jobName}.log`);

export const resultFile = (tempPath: string, jobName: string): string => path.join(runsDir(tempPath), `${jobName}.result.json`);

/** Hidden folders in HLS_PATH that are never a package: a transcode's work folder beside its output, a package being removed. */
export const HIDDEN_WORK_PREFIXES = ['.vcs-work-', '.deleting-'] as const;
