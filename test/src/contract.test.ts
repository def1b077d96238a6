import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.ts';
import {
  DEFAULT_RESULT_PATH,
  JOB_ENV,
  jobEnvironment,
  ladderFromSettings,
  ladderProblems,
  parseJobEnvironment,
  preparedChunks,
  RESULT_MAX_BYTES,
  serializeResult,
  X264_PRESETS,
  type JobSpec,
  type TranscodeResult,
} from '../../src/contract.ts';

// ------------------------------------------------------------------------------------------------
// The job environment (jobEnvironment, parseJobEnvironment)

const JOB: JobSpec = {
  jobName: 'transcode-42-0123abcd',
  videoId: 42,
  sourceUrl: 'https://uploads.example.com/42.mp4',
  outputDir: '/storage/hls/42',
  workDir: '/storage/temp/transcode-42-0123abcd',
  ladder: ladderFromSettings(loadConfig({})),
  progressUrl: 'http://vcs-controller:3001/progress',
  progressToken: 'token-42',
  resultPath: '/storage/temp/transcode-42-0123abcd.result.json',
};

const problemsOf = (env: Record<string, string | undefined>): string[] => {
  const parsed = parseJobEnvironment(env);
  return 'problems' in parsed ? parsed.problems : [];
};

/** The job's environment with its ladder changed by `edit` (a deep copy, free to break). */
const withLadder = (edit: (ladder: any) => void): Record<string, string> => {
  const ladder = structuredClone(JOB.ladder);
  edit(ladder);
  return { ...jobEnvironment(JOB), [JOB_ENV.ladder]: JSON.stringify(ladder) };
};

test('job environment: round trip, with and without the optional variables', () => {
  assert.equal(parseJobEnvironment(jobEnvironment(JOB)), JOB);
  const bare = { ...JOB, progressUrl: undefined, progressToken: undefined };
  const env = jobEnvironment(bare);
  assert.equal(Object.keys(env).sort(), [JOB_ENV.jobName, JOB_ENV.ladder, JOB_ENV.outputDir, JOB_ENV.resultPath, JOB_ENV.sourceUrl, JOB_ENV.videoId, JOB_ENV.workDir].sort());
  assert.equal(parseJobEnvironment(env), bare);
  const { [JOB_ENV.resultPath]: _, ...withoutResultPath } = env;
  assert.equal(parseJobEnvironment(withoutResultPath), { ...bare, resultPath: DEFAULT_RESULT_PATH }, 'the termination log by default');
  const logged = { ...JOB, logPath: '/storage/temp/logs/42/transcode-42-1.log' };
  assert.is(jobEnvironment(logged)[JOB_ENV.logPath], logged.logPath);
  assert.equal(parseJobEnvironment(jobEnvironment(logged)), logged);
});

test('job environment: VCS_PHASE, and JOB_COMPLETION_INDEX (set by Kubernetes) in the encode phase', () => {
  for (const phase of ['prepare', 'assemble'] as const) {
    const env = jobEnvironment({ ...JOB, phase });
    assert.is(env[JOB_ENV.phase], phase);
    assert.equal(parseJobEnvironment(env), { ...JOB, phase });
  }
  const encode = jobEnvironment({ ...JOB, phase: 'encode', chunkIndex: 7 });
  assert.is(encode[JOB_ENV.chunkIndex], undefined, 'the index is not passed: Kubernetes sets it per pod');
  assert.equal(parseJobEnvironment({ ...encode, JOB_COMPLETION_INDEX: '7' }), { ...JOB, phase: 'encode', chunkIndex: 7 });
  assert.equal(parseJobEnvironment({ ...encode, JOB_COMPLETION_INDEX: '0' }), { ...JOB, phase: 'encode', chunkIndex: 0 });
  for (const bad of [undefined, '', '-1', '01', '1.5', 'x', '9999999']) {
    assert.equal(problemsOf({ ...encode, JOB_COMPLETION_INDEX: bad }), [`JOB_COMPLETION_INDEX must be the pod's index (an integer from 0) in the encode phase, got ${JSON.stringify(bad ?? '')}`], String(bad));
  }
  assert.equal(problemsOf({ ...jobEnvironment(JOB), VCS_PHASE: 'stitch' }), ['VCS_PHASE must be one of prepare, encode, assemble, got "stitch"']);
  assert.is(parseJobEnvironment({ ...jobEnvironment(JOB), JOB_COMPLETION_INDEX: '3' }).hasOwnProperty('chunkIndex'), false, 'no phase: the index means nothing');
});

test('preparedChunks: the chunk count of a prepare phase’s result only', () => {
  assert.is(preparedChunks('{"ok":true,"jobName":"vcs-1-1","videoId":1,"phase":"prepare","chunks":60,"timings":{}}'), 60);
  for (const text of [undefined, '', 'Killed', '{"ok":true,"phase":"prepare","chunks":1}', '{"ok":true,"phase":"prepare","chunks":2.5}', '{"ok":false,"phase":"prepare","chunks":3}', '{"ok":true,"phase":"encode","chunk":3}', '{"ok":true,"step":"completed"}', 'null']) {
    assert.is(preparedChunks(text), undefined, String(text));
  }
});

test('job environment: every missing or empty variable is named', () => {
  const required = [JOB_ENV.jobName, JOB_ENV.videoId, JOB_ENV.sourceUrl, JOB_ENV.outputDir, JOB_ENV.workDir, JOB_ENV.ladder];
  assert.equal(problemsOf({}), required.map((name) => `${name} is required`));
  for (const name of required) {
    assert.equal(problemsOf({ ...jobEnvironment(JOB), [name]: undefined }), [`${name} is required`], `${name} unset`);
    assert.equal(problemsOf({ ...jobEnvironment(JOB), [name]: '' }), [`${name} is required`], `${name} empty`);
  }
});

test('job environment: VCS_VIDEO_ID must be a positive integer written in digits', () => {
  for (const raw of ['0', '-3', '1.5', '12abc', '9007199254740993', ' 12', '12 ', '0x10', '1e3', '+5', '012', 'NaN', 'Infinity']) {
    assert.equal(problemsOf({ ...jobEnvironment(JOB), [JOB_ENV.videoId]: raw }), [`VCS_VIDEO_ID must be a positive integer, got ${JSON.stringify(raw)}`], raw);
  }
  for (const [raw, id] of [['1', 1], ['9007199254740991', Number.MAX_SAFE_INTEGER]] as const) {
    assert.is((parseJobEnvironment({ ...jobEnvironment(JOB), [JOB_ENV.videoId]: raw }) as JobSpec).videoId, id, raw);
  }
});

test('job environment: VCS_LADDER that is not JSON, or not an object', () => {
  const ladder = (raw: string) => problemsOf({ ...jobEnvironment(JOB), [JOB_ENV.ladder]: raw });
  for (const raw of ['{', '{renditions: []}', 'high,medium,low']) {
    const problems = ladder(raw);
    assert.is(problems.length, 1, raw);
    assert.match(problems[0]!, /^VCS_LADDER must be the ladder JSON, /, raw);
  }
  assert.equal(ladder('[]'), ['VCS_LADDER must be a JSON object, got []']);
  assert.match(ladder(JSON.stringify([JOB.ladder])).join('\n'), /^VCS_LADDER must be a JSON object, got \[\{"renditions":\[\{"name":"high".{20,}…$/);
  assert.equal(ladder('null'), ['VCS_LADDER must be a JSON object, got null']);
  assert.equal(ladder('42'), ['VCS_LADDER must be a JSON object, got 42']);
  assert.equal(ladder('"ladder"'), ['VCS_LADDER must be a JSON object, got "ladder"']);
});

test('job environment: each ladder field checked for type and range, each problem named', () => {
  const cases: [string, (l: any) => void, string[]][] = [
    ['crf not a number', (l) => (l.renditions[1].crf = 'x'), ['VCS_LADDER.renditions[1].crf must be an integer 0–51, got "x"']],
    ['crf out of range', (l) => (l.renditions[0].crf = 52), ['VCS_LADDER.renditions[0].crf must be an integer 0–51, got 52']],
    ['height fractional', (l) => (l.renditions[2].height = 360.5), ['VCS_LADDER.renditions[2].height must be an integer 144–4320, got 360.5']],
    ['height as text', (l) => (l.renditions[2].height = '360'), ['VCS_LADDER.renditions[2].height must be an integer 144–4320, got "360"']],
    ['maxBitrate as a setting', (l) => (l.renditions[0].maxBitrate = '5M'), ['VCS_LADDER.renditions[0].maxBitrate must be an integer 16000–200000000, got "5M"']],
    ['maxBitrate missing', (l) => delete l.renditions[0].maxBitrate, ['VCS_LADDER.renditions[0].maxBitrate must be an integer 16000–200000000, got nothing']],
    ['unknown name', (l) => (l.renditions[1].name = 'ultra'), ['VCS_LADDER.renditions[1].name must be one of high, medium, low, got "ultra"']],
    ['name case', (l) => (l.renditions[0].name = 'HIGH'), ['VCS_LADDER.renditions[0].name must be one of high, medium, low, got "HIGH"']],
    ['duplicate names', (l) => (l.renditions[2].name = 'high'), ['VCS_LADDER.renditions names must be unique, got ["high","medium","high"]']],
    ['a rendition that is not an object', (l) => (l.renditions[1] = null), ['VCS_LADDER.renditions[1] must be an object, got null']],
    ['empty renditions', (l) => (l.renditions = []), ['VCS_LADDER.renditions must be a non-empty array, got []']],
    ['renditions an object', (l) => (l.renditions = { high: {} }), ['VCS_LADDER.renditions must be a non-empty array, got {"high":{}}']],
    ['renditions missing', (l) => delete l.renditions, ['VCS_LADDER.renditions must be a non-empty array, got nothing']],
    ['segmentSeconds as text', (l) => (l.segmentSeconds = '10'), ['VCS_LADDER.segmentSeconds must be an integer 2–30, got "10"']],
    ['segmentSeconds not a multiple', (l) => (l.segmentSeconds = 7), ['VCS_LADDER.segmentSeconds must be a multiple of keyframeSeconds (2) so every segment starts on a keyframe, got 7']],
    ['keyframeSeconds zero', (l) => (l.keyframeSeconds = 0), ['VCS_LADDER.keyframeSeconds must be an integer 1–10, got 0']],
    ['preset unknown', (l) => (l.preset = 'turbo'), [`VCS_LADDER.preset must be one of ${X264_PRESETS.join(', ')}, got "turbo"`]],
    ['maxFrameRate zero', (l) => (l.maxFrameRate = 0), ['VCS_LADDER.maxFrameRate must be an integer 1–120, got 0']],
    ['audioBitrate in kb/s', (l) => (l.audioBitrate = 128), ['VCS_LADDER.audioBitrate must be an integer 16000–200000000, got 128']],
    ['poster missing', (l) => delete l.poster, ['VCS_LADDER.poster must be an object, got nothing']],
    ['poster quality', (l) => (l.poster.quality = 0), ['VCS_LADDER.poster.quality must be an integer 1–100, got 0']],
    ['poster too wide', (l) => (l.poster.maxWidth = 10_000), ['VCS_LADDER.poster.maxWidth must be an integer 16–7680, got 10000']],
    ['poster height as text', (l) => (l.poster.maxHeight = '720'), ['VCS_LADDER.poster.maxHeight must be an integer 16–4320, got "720"']],
    [
      'several at once, in field order',
      (l) => Object.assign(l, { renditions: [{ name: 'low', height: 100, crf: 23, maxBitrate: 1e6 }], preset: 7, poster: { maxWidth: 1280, maxHeight: 720 } }),
      [
        'VCS_LADDER.renditions[0].height must be an integer 144–4320, got 100',
        `VCS_LADDER.preset must be one of ${X264_PRESETS.join(', ')}, got 7`,
        'VCS_LADDER.poster.quality must be an integer 1–100, got nothing',
      ],
    ],
  ];
  for (const [name, edit, expected] of cases) assert.equal(problemsOf(withLadder(edit)), expected, name);
});

test('job environment: a long bad value is shown cut short', () => {
  const [problem] = problemsOf(withLadder((l) => (l.preset = 'p'.repeat(5000))));
  assert.ok(problem!.length < 300, problem);
  assert.ok(problem!.endsWith('…'), problem);
});

test('every ladder a valid configuration can describe passes the ladder checks', () => {
  const lowest = {
    SEGMENT_DURATION: '2', KEYFRAME_INTERVAL: '1', VIDEO_PRESET: 'ultrafast', MAX_FRAME_RATE: '1',
    HIGH_QUALITY_CRF: '0', MEDIUM_QUALITY_CRF: '0', LOW_QUALITY_CRF: '0', HIGH_RESOLUTION: '146', MEDIUM_RESOLUTION: '145', LOW_RESOLUTION: '144',
    HIGH_BITRATE: '16k', MEDIUM_BITRATE: '16k', LOW_BITRATE: '16k', AUDIO_BITRATE: '16k', POSTER_MAX_WIDTH: '16', POSTER_MAX_HEIGHT: '16', POSTER_QUALITY: '1',
  };
  const highest = {
    SEGMENT_DURATION: '30', KEYFRAME_INTERVAL: '10', VIDEO_PRESET: 'veryslow', MAX_FRAME_RATE: '120',
    HIGH_QUALITY_CRF: '51', MEDIUM_QUALITY_CRF: '51', LOW_QUALITY_CRF: '51', HIGH_RESOLUTION: '4320', MEDIUM_RESOLUTION: '4319', LOW_RESOLUTION: '4318',
    HIGH_BITRATE: '200M', MEDIUM_BITRATE: '200M', LOW_BITRATE: '200M', AUDIO_BITRATE: '200M', POSTER_MAX_WIDTH: '7680', POSTER_MAX_HEIGHT: '4320', POSTER_QUALITY: '100',
  };
  for (const env of [{}, lowest, highest]) assert.equal(ladderProblems(ladderFromSettings(loadConfig(env))), [], JSON.stringify(env));
  for (const preset of X264_PRESETS) assert.equal(ladderProblems(ladderFromSettings(loadConfig({ VIDEO_PRESET: preset }))), [], preset);
});

// ------------------------------------------------------------------------------------------------
// The result file (serializeResult)

const failed = (message: string, jobName = 'transcode-42-0123abcd'): TranscodeResult => ({
  ok: false,
  jobName,
  videoId: 42,
  step: 'compressing',
  error: { step: 'compressing', code: 'VCS_ERR_FFMPEG_FAILED', message, permanent: true },
  timings: { downloading: 1.25, probing: 0.1, compressing: 30.5 },
});

const succeeded: TranscodeResult = {
  ok: true,
  jobName: 'transcode-7-89abcdef',
  videoId: 7,
  step: 'completed',
  output: {
    renditions: [{ name: 'high', width: 1920, height: 1080, frameRate: 30, bandwidth: 5_606_611, averageBandwidth: 5_331_605, codecs: 'avc1.640028,mp4a.40.2', segments: 3, bytes: 12_000_000 }],
    posterBytes: 40_000,
    totalBytes: 12_040_000,
    durationSeconds: 24,
  },
  timings: { downloading: 1, compressing: 20 },
};

/** Lone UTF-16 surrogates (half an emoji) do not survive a UTF-8 round trip. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;

/** Parses a truncated failure and checks everything but the message is kept. */
function assertTruncated(text: string, original: Extract<TranscodeResult, { ok: false }>, what: string): string {
  assert.ok(Buffer.byteLength(text) <= RESULT_MAX_BYTES, `${what}: ${Buffer.byteLength(text)} bytes`);
  const parsed = JSON.parse(text) as Extract<TranscodeResult, { ok: false }>;
  const { message, ...error } = parsed.error;
  const { message: originalMessage, ...originalError } = original.error;
  assert.equal(error, originalError, `${what}: code, step and permanent kept`);
  assert.equal({ ...parsed, error: undefined }, { ...original, error: undefined }, `${what}: the rest kept`);
  assert.ok(message.endsWith('…'), `${what}: ends with …`);
  assert.ok(originalMessage.startsWith(message.slice(0, -1)), `${what}: a prefix of the message`);
  assert.ok(wellFormed(message), `${what}: whole characters only`);
  return message;
}

test('result: a normal result is serialised as is', () => {
  assert.is(serializeResult(succeeded), JSON.stringify(succeeded));
  const short = failed('ffmpeg exited with code 1: Invalid data found when processing input');
  assert.is(serializeResult(short), JSON.stringify(short));
});

test('result: exactly 4096 bytes is kept whole; one byte more is shortened', () => {
  const base = Buffer.byteLength(JSON.stringify(failed('')));
  const exact = failed('a'.repeat(RESULT_MAX_BYTES - base));
  assert.is(Buffer.byteLength(JSON.stringify(exact)), RESULT_MAX_BYTES);
  assert.is(serializeResult(exact), JSON.stringify(exact));
  const over = failed('a'.repeat(RESULT_MAX_BYTES - base + 1));
  assertTruncated(serializeResult(over), over as Extract<TranscodeResult, { ok: false }>, 'one byte over');
});

const HUGE: Record<string, string> = {
  ascii: 'x'.repeat(1_000_000),
  'ffmpeg stderr lines': 'frame=  120 fps= 30 q=28.0 size=    512kB time=00:00:04.00\n'.repeat(2000),
  'JSON escapes': '"\\\u0001'.repeat(3000),
  accents: 'é'.repeat(3000),
  // Fewer than 4096 characters, but three bytes each in UTF-8.
  CJK: '编码失败'.repeat(1000),
  // Two UTF-16 units and four bytes each.
  emoji: '🎬'.repeat(3000),
  'emoji, then ASCII': `${'🎬'.repeat(1000)}${'a'.repeat(3000)}`,
  mixed: `${'a'.repeat(2001)}${'🎬'.repeat(1000)}${'编'.repeat(1000)}`,
};
/** Job names of both parities shift where the cut falls, so a cut inside an emoji would show. */
const JOB_NAMES = ['transcode-42-0123abcd', 'transcode-42-0123abcde'];

test('result: huge messages (ASCII, escapes, accents, CJK, emoji) fit in 4096 bytes, parse, keep the rest, end in …', () => {
  for (const [what, message] of Object.entries(HUGE)) {
    for (const jobName of JOB_NAMES) {
      const original = failed(message, jobName) as Extract<TranscodeResult, { ok: false }>;
      assertTruncated(serializeResult(original), original, `${what}, ${jobName}`);
    }
  }
});

test('result: a shortened message keeps as much as fits (less than one character short)', () => {
  for (const [what, message] of Object.entries(HUGE)) {
    for (const jobName of JOB_NAMES) {
      const kept = (JSON.parse(serializeResult(failed(message, jobName))) as Extract<TranscodeResult, { ok: false }>).error.message;
      const room = RESULT_MAX_BYTES - Buffer.byteLength(JSON.stringify(failed('…', jobName)));
      // Bytes of the kept text as JSON writes it (without its quotes); one character is at most a 6-byte escape.
      const used = Buffer.byteLength(JSON.stringify(kept.slice(0, -1))) - 2;
      assert.ok(used <= room && used > room - 6, `${what}, ${jobName}: ${used} of ${room} bytes used`);
    }
  }
});

// ------------------------------------------------------------------------------------------------
// The deinterlace output in the ladder

const job = (over: Partial<JobSpec> = {}): JobSpec => ({
  jobName: 'transcode-7-abcdef12',
  videoId: 7,
  sourceUrl: 'https://example.com/v.mp4',
  outputDir: '/s/hls/7',
  workDir: '/s/temp/transcode-7-abcdef12',
  ladder: ladderFromSettings(loadConfig({ DEINTERLACE_OUTPUT: 'field' })),
  resultPath: '/dev/termination-log',
  ...over,
});

test('the ladder carries the deinterlace output to the transcoder, through VCS_LADDER and back', () => {
  assert.is(ladderFromSettings(loadConfig({})).deinterlaceOutput, 'frame');
  const parsed = parseJobEnvironment(jobEnvironment(job()));
  assert.ok(!('problems' in parsed));
  assert.equal((parsed as JobSpec).ladder, job().ladder);
  assert.is((parsed as JobSpec).ladder.deinterlaceOutput, 'field');
});

test('a ladder from a controller that predates the setting is read as frame output', () => {
  const { deinterlaceOutput, ...older } = job().ladder;
  const parsed = parseJobEnvironment({ ...jobEnvironment(job()), VCS_LADDER: JSON.stringify(older) });
  assert.is(deinterlaceOutput, 'field');
  assert.is((parsed as JobSpec).ladder.deinterlaceOutput, 'frame');
});

test('an unknown deinterlace output is a problem of the job environment', () => {
  const parsed = parseJobEnvironment({ ...jobEnvironment(job()), VCS_LADDER: JSON.stringify({ ...job().ladder, deinterlaceOutput: 'double' }) });
  assert.equal(parsed, { problems: ['VCS_LADDER.deinterlaceOutput must be one of frame, field, got "double"'] });
});


// ------------------------------------------------------------------------------------------------
// Chunking in the ladder (docs/adr/0022)

test('chunking is in the ladder only when it is on: a default ladder reads exactly as before', () => {
  assert.not.ok('chunking' in ladderFromSettings(loadConfig({})), 'CHUNK_PARALLELISM=1 (the default)');
  assert.equal(ladderFromSettings(loadConfig({ CHUNK_PARALLELISM: '4', CHUNK_DURATION: '30', CHUNK_MIN_DURATION: '300' })).chunking, { minSeconds: 300, chunkSeconds: 30, parallelism: 4 });
});

test('chunking travels through VCS_LADDER and back; a ladder without it (an older controller) still parses', () => {
  const chunked = job({ ladder: ladderFromSettings(loadConfig({ CHUNK_PARALLELISM: '2' })) });
  const parsed = parseJobEnvironment(jobEnvironment(chunked));
  assert.equal((parsed as JobSpec).ladder.chunking, { minSeconds: 600, chunkSeconds: 60, parallelism: 2 });
  const older = parseJobEnvironment(jobEnvironment(job({ ladder: ladderFromSettings(loadConfig({})) })));
  assert.ok(!('problems' in older));
  assert.is((older as JobSpec).ladder.chunking, undefined);
});

test('bad chunking in a ladder: every problem named', () => {
  const withChunking = (chunking: unknown) => parseJobEnvironment({ ...jobEnvironment(job()), VCS_LADDER: JSON.stringify({ ...job().ladder, chunking }) });
  assert.equal(withChunking({ minSeconds: 0, chunkSeconds: 25, parallelism: 2 }), {
    problems: ['VCS_LADDER.chunking.chunkSeconds must be a multiple of segmentSeconds (10) so every chunk boundary is a segment boundary, got 25'],
  });
  assert.equal(withChunking({ minSeconds: -1, chunkSeconds: 60, parallelism: 0 }), {
    problems: ['VCS_LADDER.chunking.minSeconds must be an integer 0–86400, got -1', 'VCS_LADDER.chunking.parallelism must be an integer 1–1000, got 0'],
  });
  assert.equal(withChunking(true), { problems: ['VCS_LADDER.chunking must be an object, got true'] });
});

test.run();
