import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RESULT_MAX_BYTES, serializeResult, type TranscodeResult } from '../../src/contract.ts';

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

test.run();
