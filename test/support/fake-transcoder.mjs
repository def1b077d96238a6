// A stand-in for `vcs transcode` in runner and controller tests: it reads the job contract's
// environment (src/contract.ts JOB_ENV), behaves as FAKE_BEHAVIOUR says, writes a result shaped
// like TranscodeResult to VCS_RESULT_PATH and exits with the contract's codes. Like the real one
// (transcoder/main.ts) it stops on SIGTERM or when its parent's IPC channel goes away, writing a
// VCS_ERR_CANCELLED result and exiting 143.
//
//   FAKE_BEHAVIOUR  succeed (exit 0) | fail-permanent (exit 2) | fail-retryable (exit 1)
//                   | crash (exit 3, no result) | hang (until SIGTERM or disconnect)
//   FAKE_DELAY_MS   how long the work takes before the outcome (default 0)
//   FAKE_WAIT_FOR   a file: the work also lasts until it exists (a test's gate; no timing races)
//   FAKE_RENDITIONS renditions of a successful result, comma-separated (default high,medium,low)
//   FAKE_LOG        file that receives one JSON line per event (start, sigterm, disconnect, exit)
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';

const env = process.env;
const job = { jobName: env.VCS_JOB_NAME ?? '', videoId: Number(env.VCS_VIDEO_ID), resultPath: env.VCS_RESULT_PATH ?? '' };
const behaviour = env.FAKE_BEHAVIOUR ?? 'succeed';
const delayMs = Number(env.FAKE_DELAY_MS ?? 0);

/** What the real transcoder's pino lines look like on stderr (the runner forwards them). */
process.stderr.on('error', () => undefined);
const logLine = (msg) => process.stderr.write(`${JSON.stringify({ level: 30, name: 'transcoder', job: job.jobName, msg })}\n`);

function record(event, extra = {}) {
  if (env.FAKE_LOG) appendFileSync(env.FAKE_LOG, `${JSON.stringify({ event, job: job.jobName, videoId: job.videoId, pid: process.pid, at: Date.now(), ...extra })}\n`);
}

function finish(code, result) {
  if (result && job.resultPath) writeFileSync(job.resultPath, JSON.stringify(result));
  record('exit', { code });
  process.exit(code);
}

const base = () => ({ jobName: job.jobName, videoId: job.videoId, timings: { total: delayMs / 1000 } });
const failure = (step, code, message, permanent) => ({ ...base(), ok: false, step, error: { step, code, message, permanent } });

const RENDITIONS = {
  high: { width: 1280, height: 720, bandwidth: 3_000_000, bytes: 3_000_000 },
  medium: { width: 854, height: 480, bandwidth: 1_500_000, bytes: 1_500_000 },
  low: { width: 640, height: 360, bandwidth: 800_000, bytes: 800_000 },
};

function success() {
  const names = (env.FAKE_RENDITIONS ?? 'high,medium,low').split(',').filter((n) => n in RENDITIONS);
  const renditions = names.map((name) => ({
    name,
    ...RENDITIONS[name],
    frameRate: 30,
    averageBandwidth: Math.round(RENDITIONS[name].bandwidth * 0.8),
    codecs: 'avc1.640028,mp4a.40.2',
    segments: 1,
  }));
  const posterBytes = 20_000;
  const totalBytes = posterBytes + renditions.reduce((sum, r) => sum + r.bytes, 0);
  return { ...base(), ok: true, step: 'completed', output: { renditions, posterBytes, totalBytes, durationSeconds: 8.5 } };
}

const outcomes = {
  succeed: () => finish(0, success()),
  'fail-permanent': () => finish(2, failure('probing', 'VCS_ERR_NOT_A_VIDEO', 'the source is not a video (no video stream)', true)),
  'fail-retryable': () => finish(1, failure('compressing', 'VCS_ERR_FFMPEG_FAILED', 'ffmpeg exited with code 1', false)),
  crash: () => finish(3, null),
};

if (!job.jobName || !Number.isSafeInteger(job.videoId) || !env.VCS_LADDER) {
  logLine('no job: the job contract environment is incomplete');
  process.exit(2);
}

const cancel = (why) => () => {
  record(why);
  finish(143, failure('compressing', 'VCS_ERR_CANCELLED', `transcode cancelled (${why})`, false));
};
process.on('SIGTERM', cancel('sigterm'));
// The local runner's lifeline: the parent's IPC channel closes when the parent dies.
process.on('disconnect', cancel('disconnect'));

record('start', { behaviour });
logLine('fake transcode started');
if (behaviour === 'hang') {
  // Keeps a run without an IPC channel (started by a test directly) alive until SIGTERM.
  setInterval(() => undefined, 60_000);
} else if (behaviour in outcomes) {
  const gated = () => (!env.FAKE_WAIT_FOR || existsSync(env.FAKE_WAIT_FOR) ? outcomes[behaviour]() : setTimeout(gated, 10));
  setTimeout(gated, delayMs);
} else {
  logLine(`unknown FAKE_BEHAVIOUR ${behaviour}`);
  process.exit(2);
}
