/**
 * The job contract between the controller and the transcoder (DESIGN 3.2): the environment a
 * transcoder run receives, the ladder it encodes, the result it writes and its exit codes.
 * Both sides import this module; nothing else defines these names.
 */
import type { Settings } from './config.ts';
import type { Step } from './jobs/steps.ts';

export const JOB_ENV = {
  jobName: 'VCS_JOB_NAME',
  videoId: 'VCS_VIDEO_ID',
  sourceUrl: 'VCS_SOURCE_URL',
  outputDir: 'VCS_OUTPUT_DIR',
  workDir: 'VCS_WORK_DIR',
  ladder: 'VCS_LADDER',
  progressUrl: 'VCS_PROGRESS_URL',
  progressToken: 'VCS_PROGRESS_TOKEN',
  resultPath: 'VCS_RESULT_PATH',
} as const;

/** Kubernetes reads the termination message from here; the local runner points it at a file. */
export const DEFAULT_RESULT_PATH = '/dev/termination-log';

/** The transcoder's exit codes. */
export const EXIT = {
  ok: 0,
  /** Retryable: network, OOM, node loss, a bug of ours. */
  retryable: 1,
  /** The input can never succeed: not a video, corrupt, too large, forbidden URL, 404. */
  permanent: 2,
  /** Stopped by SIGTERM (128 + 15), retryable. */
  cancelled: 143,
} as const;

export type RenditionName = 'high' | 'medium' | 'low';

export interface RenditionSpec {
  name: RenditionName;
  /** Target height of a landscape picture (the short side of a portrait one). */
  height: number;
  crf: number;
  /** -maxrate in bits per second. */
  maxBitrate: number;
}

/** What an interlaced source becomes: a picture per frame (50i → 25p) or per field (50i → 50p). */
export type DeinterlaceOutput = 'frame' | 'field';

export const DEINTERLACE_OUTPUTS: readonly DeinterlaceOutput[] = ['frame', 'field'];

export interface Ladder {
  renditions: RenditionSpec[];
  segmentSeconds: number;
  keyframeSeconds: number;
  preset: string;
  maxFrameRate: number;
  /** Absent in ladders from controllers that predate it; read as 'frame'. */
  deinterlaceOutput: DeinterlaceOutput;
  audioBitrate: number;
  poster: { maxWidth: number; maxHeight: number; quality: number };
}

/** The ladder the configuration describes (tallest first). */
export function ladderFromSettings(c: Settings): Ladder {
  return {
    renditions: [
      { name: 'high', height: c.HIGH_RESOLUTION, crf: c.HIGH_QUALITY_CRF, maxBitrate: c.HIGH_BITRATE },
      { name: 'medium', height: c.MEDIUM_RESOLUTION, crf: c.MEDIUM_QUALITY_CRF, maxBitrate: c.MEDIUM_BITRATE },
      { name: 'low', height: c.LOW_RESOLUTION, crf: c.LOW_QUALITY_CRF, maxBitrate: c.LOW_BITRATE },
    ],
    segmentSeconds: c.SEGMENT_DURATION,
    keyframeSeconds: c.KEYFRAME_INTERVAL,
    preset: c.VIDEO_PRESET,
    maxFrameRate: c.MAX_FRAME_RATE,
    deinterlaceOutput: c.DEINTERLACE_OUTPUT,
    audioBitrate: c.AUDIO_BITRATE,
    poster: { maxWidth: c.POSTER_MAX_WIDTH, maxHeight: c.POSTER_MAX_HEIGHT, quality: c.POSTER_QUALITY },
  };
}

export interface JobSpec {
  jobName: string;
  videoId: number;
  sourceUrl: string;
  outputDir: string;
  workDir: string;
  ladder: Ladder;
  progressUrl?: string;
  progressToken?: string;
  resultPath: string;
}

/** The environment that carries `job` to a transcoder process or pod. */
export function jobEnvironment(job: JobSpec): Record<string, string> {
  const env: Record<string, string> = {
    [JOB_ENV.jobName]: job.jobName,
    [JOB_ENV.videoId]: String(job.videoId),
    [JOB_ENV.sourceUrl]: job.sourceUrl,
    [JOB_ENV.outputDir]: job.outputDir,
    [JOB_ENV.workDir]: job.workDir,
    [JOB_ENV.ladder]: JSON.stringify(job.ladder),
    [JOB_ENV.resultPath]: job.resultPath,
  };
  if (job.progressUrl) env[JOB_ENV.progressUrl] = job.progressUrl;
  if (job.progressToken) env[JOB_ENV.progressToken] = job.progressToken;
  return env;
}

/** Reads a job from the environment, or returns the names of the missing or malformed variables. */
export function parseJobEnvironment(env: Readonly<Record<string, string | undefined>>): JobSpec | { problems: string[] } {
  const problems: string[] = [];
  const need = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === '') problems.push(`${name} is required`);
    return v ?? '';
  };
  const jobName = need(JOB_ENV.jobName);
  const videoIdRaw = need(JOB_ENV.videoId);
  const sourceUrl = need(JOB_ENV.sourceUrl);
  const outputDir = need(JOB_ENV.outputDir);
  const workDir = need(JOB_ENV.workDir);
  const ladderRaw = need(JOB_ENV.ladder);
  const videoId = Number(videoIdRaw);
  if (videoIdRaw && !(Number.isSafeInteger(videoId) && videoId > 0)) problems.push(`${JOB_ENV.videoId} must be a positive integer, got ${JSON.stringify(videoIdRaw)}`);
  let ladder: Ladder | undefined;
  if (ladderRaw) {
    try {
      const parsed = JSON.parse(ladderRaw) as Partial<Ladder>;
      if (!Array.isArray(parsed.renditions) || parsed.renditions.length === 0) throw new Error('no renditions');
      const deinterlaceOutput = parsed.deinterlaceOutput ?? 'frame';
      if (!DEINTERLACE_OUTPUTS.includes(deinterlaceOutput)) throw new Error(`deinterlaceOutput must be one of ${DEINTERLACE_OUTPUTS.join(', ')}`);
      ladder = { ...parsed, deinterlaceOutput } as Ladder;
    } catch (err) {
      problems.push(`${JOB_ENV.ladder} must be the ladder JSON, ${(err as Error).message}`);
    }
  }
  if (problems.length > 0 || !ladder) return { problems };
  return {
    jobName,
    videoId,
    sourceUrl,
    outputDir,
    workDir,
    ladder,
    progressUrl: env[JOB_ENV.progressUrl] || undefined,
    progressToken: env[JOB_ENV.progressToken] || undefined,
    resultPath: env[JOB_ENV.resultPath] || DEFAULT_RESULT_PATH,
  };
}

/** Progress as POSTed to VCS_PROGRESS_URL. */
export interface ProgressReport {
  jobName: string;
  videoId: number;
  step: Step;
  /** Overall progress 0–100. */
  progress: number;
  etaSeconds: number | null;
}

export interface RenditionResult {
  name: RenditionName;
  width: number;
  height: number;
  frameRate: number;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string;
  segments: number;
  bytes: number;
}

export interface TranscodeOutput {
  renditions: RenditionResult[];
  posterBytes: number;
  totalBytes: number;
  durationSeconds: number;
}

/** The result written to VCS_RESULT_PATH (under 4 KB: Kubernetes' termination message limit). */
export type TranscodeResult =
  | { ok: true; jobName: string; videoId: number; step: 'completed'; output: TranscodeOutput; timings: Record<string, number> }
  | {
      ok: false;
      jobName: string;
      videoId: number;
      step: Step;
      error: { step: Step; code: string; message: string; permanent: boolean };
      timings: Record<string, number>;
    };

export const RESULT_MAX_BYTES = 4096;

/** Serialises a result, shortening the error message if needed to stay under the size limit. */
export function serializeResult(result: TranscodeResult): string {
  let text = JSON.stringify(result);
  if (Buffer.byteLength(text) <= RESULT_MAX_BYTES || result.ok) return text;
  const room = Math.max(64, result.error.message.length - (Buffer.byteLength(text) - RESULT_MAX_BYTES) - 16);
  text = JSON.stringify({ ...result, error: { ...result.error, message: `${result.error.message.slice(0, room)}…` } });
  return text;
}
