/**
 * The job contract between the controller and the transcoder (docs/adr/0005): the environment a
 * transcoder run receives, the ladder it encodes, the result it writes and its exit codes.
 * Both sides import this module; nothing else defines these names.
 */
import { X264_PRESETS, type Settings } from './config.ts';
import type { Step } from './steps.ts';

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
  logPath: 'VCS_LOG_PATH',
  phase: 'VCS_PHASE',
  /** Set by Kubernetes in every pod of an Indexed Job: the pod's index (the encode phase's chunk). */
  chunkIndex: 'JOB_COMPLETION_INDEX',
} as const;

/**
 * The phases of a run the Kubernetes runner spreads over Jobs (docs/adr/0022). `prepare`: download,
 * probe, poster; a source to be chunked then gets its audio and its plan on the volume and the
 * run stops there (a PreparedResult), any other source is encoded whole as without phases.
 * `encode`: one index of the Indexed Job, one chunk. `assemble`: the copy pass, the checks and the
 * publication. No phase: the whole run in one process (local runs).
 */
export const PHASES = ['prepare', 'encode', 'assemble'] as const;
export type Phase = (typeof PHASES)[number];

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

export const RENDITION_NAMES = ['high', 'medium', 'low'] as const;
export type RenditionName = (typeof RENDITION_NAMES)[number];

export { X264_PRESETS };

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

/**
 * Long sources encoded in time ranges by separate processes (docs/adr/0022). Absent in ladders from
 * controllers that predate it, and whenever CHUNK_PARALLELISM is 1: one process encodes everything.
 */
export interface Chunking {
  /** Sources shorter than this many seconds are encoded in one process. */
  minSeconds: number;
  /** Length of a chunk in seconds, a multiple of segmentSeconds. */
  chunkSeconds: number;
  /** Chunk processes run at once (2 or more). */
  parallelism: number;
}

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
  chunking?: Chunking;
}

/**
 * The ladder the configuration describes (tallest first). Chunking is in it only when it is on
 * (CHUNK_PARALLELISM above 1), so a ladder with the default settings reads exactly as before.
 */
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
    ...(c.CHUNK_PARALLELISM > 1 ? { chunking: { minSeconds: c.CHUNK_MIN_DURATION, chunkSeconds: c.CHUNK_DURATION, parallelism: c.CHUNK_PARALLELISM } } : {}),
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
  /** Where the run also writes its own log lines (on the volume, for the dashboard); none: stderr only. */
  logPath?: string;
  /** The part of a phased run this process does; absent: all of it. */
  phase?: Phase;
  /** The chunk an `encode` process encodes (JOB_COMPLETION_INDEX). */
  chunkIndex?: number;
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
  if (job.logPath) env[JOB_ENV.logPath] = job.logPath;
  if (job.phase) env[JOB_ENV.phase] = job.phase;
  // JOB_COMPLETION_INDEX is not passed: Kubernetes sets it in each pod of an Indexed Job.
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
  // Digits only: Number() alone would also take " 12", "0x10" and "1e3".
  const videoId = /^[1-9][0-9]*$/.test(videoIdRaw) ? Number(videoIdRaw) : NaN;
  if (videoIdRaw && !Number.isSafeInteger(videoId)) problems.push(`${JOB_ENV.videoId} must be a positive integer, got ${JSON.stringify(videoIdRaw)}`);
  let ladder: Ladder | undefined;
  if (ladderRaw) {
    let value: unknown;
    try {
      value = JSON.parse(ladderRaw);
    } catch (err) {
      problems.push(`${JOB_ENV.ladder} must be the ladder JSON, ${(err as Error).message}`);
    }
    const found = value === undefined ? [] : ladderProblems(value);
    problems.push(...found);
    // A ladder from a controller that predates deinterlaceOutput reads as 'frame'.
    if (value !== undefined && found.length === 0) ladder = { deinterlaceOutput: 'frame', ...(value as Omit<Ladder, 'deinterlaceOutput'>) };
  }
  const phaseRaw = env[JOB_ENV.phase];
  const phase = phaseRaw ? (PHASES as readonly string[]).includes(phaseRaw) ? (phaseRaw as Phase) : undefined : undefined;
  if (phaseRaw && !phase) problems.push(`${JOB_ENV.phase} must be one of ${PHASES.join(', ')}, got ${JSON.stringify(phaseRaw.slice(0, 40))}`);
  let chunkIndex: number | undefined;
  if (phase === 'encode') {
    const raw = env[JOB_ENV.chunkIndex] ?? '';
    chunkIndex = /^(0|[1-9][0-9]{0,5})$/.test(raw) ? Number(raw) : undefined;
    if (chunkIndex === undefined) problems.push(`${JOB_ENV.chunkIndex} must be the pod's index (an integer from 0) in the encode phase, got ${JSON.stringify(raw.slice(0, 40))}`);
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
    ...(env[JOB_ENV.logPath] ? { logPath: env[JOB_ENV.logPath] } : {}),
    ...(phase ? { phase } : {}),
    ...(chunkIndex !== undefined ? { chunkIndex } : {}),
  };
}

interface Rule {
  what: string;
  ok: (v: unknown) => boolean;
}
const integer = (min: number, max: number): Rule => ({
  what: `an integer ${min}–${max}`,
  ok: (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max,
});
const oneOf = (values: readonly string[]): Rule => ({ what: `one of ${values.join(', ')}`, ok: (v) => typeof v === 'string' && values.includes(v) });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A value as JSON, cut short: problems end up in the 4 KB result. */
const shown = (v: unknown): string => {
  const text = v === undefined ? 'nothing' : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
};

/**
 * What keeps `value` (VCS_LADDER, parsed) from being a `Ladder`, one problem per field; [] when
 * it is one. The ranges are those of the settings the ladder is made from (config.ts).
 */
export function ladderProblems(value: unknown): string[] {
  const at = JOB_ENV.ladder;
  if (!isObject(value)) return [`${at} must be a JSON object, got ${shown(value)}`];
  const problems: string[] = [];
  const check = (v: unknown, field: string, rule: Rule) => {
    if (!rule.ok(v)) problems.push(`${at}.${field} must be ${rule.what}, got ${shown(v)}`);
  };
  const { renditions, poster } = value;
  if (!Array.isArray(renditions) || renditions.length === 0) {
    problems.push(`${at}.renditions must be a non-empty array, got ${shown(renditions)}`);
  } else {
    for (const [i, r] of (renditions as unknown[]).entries()) {
      const field = `renditions[${i}]`;
      if (!isObject(r)) {
        problems.push(`${at}.${field} must be an object, got ${shown(r)}`);
        continue;
      }
      check(r.name, `${field}.name`, oneOf(RENDITION_NAMES));
      check(r.height, `${field}.height`, integer(144, 4320));
      check(r.crf, `${field}.crf`, integer(0, 51));
      check(r.maxBitrate, `${field}.maxBitrate`, integer(16_000, 200_000_000));
    }
    const names = renditions.filter(isObject).map((r) => r.name);
    if (new Set(names).size < names.length) problems.push(`${at}.renditions names must be unique, got ${shown(names)}`);
  }
  const segment = integer(2, 30);
  const keyframe = integer(1, 10);
  const { segmentSeconds, keyframeSeconds } = value;
  check(segmentSeconds, 'segmentSeconds', segment);
  check(keyframeSeconds, 'keyframeSeconds', keyframe);
  if (segment.ok(segmentSeconds) && keyframe.ok(keyframeSeconds) && (segmentSeconds as number) % (keyframeSeconds as number) !== 0) {
    problems.push(`${at}.segmentSeconds must be a multiple of keyframeSeconds (${keyframeSeconds}) so every segment starts on a keyframe, got ${segmentSeconds}`);
  }
  check(value.preset, 'preset', oneOf(X264_PRESETS));
  check(value.maxFrameRate, 'maxFrameRate', integer(1, 120));
  if (value.deinterlaceOutput !== undefined) check(value.deinterlaceOutput, 'deinterlaceOutput', oneOf(DEINTERLACE_OUTPUTS));
  check(value.audioBitrate, 'audioBitrate', integer(16_000, 200_000_000));
  if (!isObject(poster)) {
    problems.push(`${at}.poster must be an object, got ${shown(poster)}`);
  } else {
    check(poster.maxWidth, 'poster.maxWidth', integer(16, 7680));
    check(poster.maxHeight, 'poster.maxHeight', integer(16, 4320));
    check(poster.quality, 'poster.quality', integer(1, 100));
  }
  if (value.chunking !== undefined) problems.push(...chunkingProblems(value.chunking, segment.ok(segmentSeconds) ? (segmentSeconds as number) : null));
  return problems;
}

/** The ranges of CHUNK_MIN_DURATION, CHUNK_DURATION and CHUNK_PARALLELISM (settings.ts). */
function chunkingProblems(value: unknown, segmentSeconds: number | null): string[] {
  const at = `${JOB_ENV.ladder}.chunking`;
  if (!isObject(value)) return [`${at} must be an object, got ${shown(value)}`];
  const problems: string[] = [];
  const check = (v: unknown, field: string, rule: Rule) => {
    if (!rule.ok(v)) problems.push(`${at}.${field} must be ${rule.what}, got ${shown(v)}`);
  };
  const chunk = integer(2, 86_400);
  check(value.minSeconds, 'minSeconds', integer(0, 86_400));
  check(value.chunkSeconds, 'chunkSeconds', chunk);
  check(value.parallelism, 'parallelism', integer(1, 1000));
  if (segmentSeconds !== null && chunk.ok(value.chunkSeconds) && (value.chunkSeconds as number) % segmentSeconds !== 0) {
    problems.push(`${at}.chunkSeconds must be a multiple of segmentSeconds (${segmentSeconds}) so every chunk boundary is a segment boundary, got ${value.chunkSeconds}`);
  }
  return problems;
}

/** Progress as POSTed to VCS_PROGRESS_URL. */
export interface ProgressReport {
  jobName: string;
  videoId: number;
  step: Step;
  /** Overall progress 0–100. */
  progress: number;
  etaSeconds: number | null;
  /**
   * A report of one chunk of a phased run (an index of the encode Job): the receiver adds up the
   * chunks' shares into the run's progress. `fraction` is the share (0–1) of this chunk written.
   */
  part?: { index: number; count: number; fraction: number };
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

/**
 * What a phase that does not finish the run writes as its result (docs/adr/0022): the prepare
 * phase of a source to be chunked (its plan has `chunks` chunks, the encode Job's completions),
 * or one chunk of the encode phase.
 */
export type PhaseResult =
  | { ok: true; jobName: string; videoId: number; phase: 'prepare'; chunks: number; timings: Record<string, number> }
  | { ok: true; jobName: string; videoId: number; phase: 'encode'; chunk: number; timings: Record<string, number> };

/** The chunk count of a prepare phase's result, or undefined for any other message. */
export function preparedChunks(message: string | undefined): number | undefined {
  if (!message) return undefined;
  try {
    const v = JSON.parse(message) as Partial<Extract<PhaseResult, { phase: 'prepare' }>>;
    return v && v.ok === true && v.phase === 'prepare' && Number.isSafeInteger(v.chunks) && v.chunks! >= 2 ? v.chunks : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serialises a result, shortening the error message if needed to stay under the size limit: the
 * longest prefix that fits, in UTF-8 bytes after JSON escaping, cut between whole characters (an
 * emoji is two UTF-16 units), then "…".
 */
export function serializeResult(result: TranscodeResult): string {
  const text = JSON.stringify(result);
  if (result.ok || Buffer.byteLength(text) <= RESULT_MAX_BYTES) return text;
  // Every character takes at least one byte, so no more than RESULT_MAX_BYTES of them can fit.
  const chars = Array.from(result.error.message.slice(0, RESULT_MAX_BYTES));
  const shortened = (n: number) => JSON.stringify({ ...result, error: { ...result.error, message: `${chars.slice(0, n).join('')}…` } });
  // Bisection: `fits` characters fit, `over` do not (all of them did not fit even without "…").
  let fits = 0;
  let over = chars.length;
  while (over - fits > 1) {
    const mid = Math.floor((fits + over) / 2);
    if (Buffer.byteLength(shortened(mid)) <= RESULT_MAX_BYTES) fits = mid;
    else over = mid;
  }
  return shortened(fits);
}
