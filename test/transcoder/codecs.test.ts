import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aacCodecFromAdts, avcCodecFromAnnexB, segmentCodecs } from '../../transcoder/codecs.ts';
import { makeTsSegment, type SegmentOptions } from '../support/media.ts';

const run = promisify(execFile);

let tmp = '';
test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-codecs-'));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const segment = async (name: string, o: SegmentOptions) => readFile(await makeTsSegment(path.join(tmp, `${name}.ts`), o));

/** Deterministic bytes (xorshift32), so a failure can be replayed. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const NONE = { video: null, audio: null };

test('avc1 string from the SPS bytes: profile, constraint flags, level', () => {
  // AUD, then SPS: nal header 0x67, profile_idc 100 (High), constraints 0x00, level 40.
  const es = Uint8Array.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 0x64, 0x00, 0x28, 0xac]);
  assert.is(avcCodecFromAnnexB(es), 'avc1.640028');
  assert.is(avcCodecFromAnnexB(Uint8Array.from([0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0])), 'avc1.42c01e');
  assert.is(avcCodecFromAnnexB(Uint8Array.from([0, 0, 1, 0x65, 1, 2, 3, 4])), null);
});

test('mp4a object type from the ADTS header', () => {
  // Sync 0xFFF, MPEG-4, no CRC; profile bits 01 → object type 2 (AAC-LC).
  assert.is(aacCodecFromAdts(Uint8Array.from([0xff, 0xf1, 0x50, 0x80, 0x00])), 'mp4a.40.2');
  assert.is(aacCodecFromAdts(Uint8Array.from([0xff, 0xf1, 0x10, 0x80, 0x00])), 'mp4a.40.1');
});

test('segments ffmpeg wrote with known profiles and levels give their RFC 6381 strings', async () => {
  const cases: [string, SegmentOptions, { video: string; audio: string }][] = [
    ['high-4.0', { profile: 'high', level: '4.0' }, { video: 'avc1.640028', audio: 'mp4a.40.2' }],
    // x264 sets constraint_set1 (0x40) for Main, and constraint_set0+1 (0xc0, Constrained Baseline) for Baseline.
    ['main-3.1', { profile: 'main', level: '3.1' }, { video: 'avc1.4d401f', audio: 'mp4a.40.2' }],
    ['baseline-3.0', { profile: 'baseline', level: '3.0' }, { video: 'avc1.42c01e', audio: 'mp4a.40.2' }],
    // Asked for High, but ultrafast uses no High or Main tool, and x264 signals what the stream is.
    ['ultrafast-high-4.0', { profile: 'high', level: '4.0', preset: 'ultrafast' }, { video: 'avc1.42c028', audio: 'mp4a.40.2' }],
    ['aac-main', { profile: 'high', level: '3.0', audio: 'aac_main' }, { video: 'avc1.64001e', audio: 'mp4a.40.1' }],
  ];
  for (const [name, options, expected] of cases) assert.equal(segmentCodecs(await segment(name, options)), expected, name);
});

test('a segment without audio: the video codec and no audio', async () => {
  assert.equal(segmentCodecs(await segment('silent', { profile: 'main', level: '3.1', audio: false })), { video: 'avc1.4d401f', audio: null });
});

test('random bytes give no codec', () => {
  for (const seed of [1, 2, 3]) assert.equal(segmentCodecs(noise(256 * 1024, seed)), NONE, `seed ${seed}`);
  // Random packets behind valid sync bytes.
  const packets = noise(188 * 2000, 4);
  for (let off = 0; off < packets.length; off += 188) packets[off] = 0x47;
  assert.equal(segmentCodecs(packets), NONE);
  assert.equal(segmentCodecs(new Uint8Array(188 * 4)), NONE, 'zeros');
});

test('a segment cut before its SPS, or missing its PAT, gives no codec rather than a wrong one', async () => {
  const ts = await segment('cut', { profile: 'high', level: '4.0' });
  const sps = ts.indexOf(Buffer.from([0, 0, 1, 0x67]));
  assert.ok(sps > 0, 'the segment has an SPS');
  const spsPacket = sps - (sps % 188);
  assert.equal(segmentCodecs(ts.subarray(0, spsPacket)), NONE, 'every packet before the one with the SPS');
  // The packet with the SPS cut short: a partial packet is not read.
  assert.equal(segmentCodecs(ts.subarray(0, sps + 5)), NONE, 'cut inside the SPS');
  assert.equal(segmentCodecs(ts.subarray(0, 100)), NONE, 'less than a packet');
  const pid = (packet: Buffer) => ((packet[1]! & 0x1f) << 8) | packet[2]!;
  const withoutPat = Buffer.concat([...Array(ts.length / 188).keys()].map((i) => ts.subarray(i * 188, (i + 1) * 188)).filter((packet) => pid(packet) !== 0));
  assert.ok(withoutPat.length < ts.length);
  assert.equal(segmentCodecs(withoutPat), NONE, 'no PAT: the streams cannot be found');
});

test('an elementary stream cut inside the SPS or the ADTS header gives no codec', async () => {
  const h264 = path.join(tmp, 'raw.h264');
  const adts = path.join(tmp, 'raw.aac');
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=0.2', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-level', '3.1', '-f', 'h264', h264]);
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=0.2', '-c:a', 'aac', '-f', 'adts', adts]);
  const es = await readFile(h264);
  const sps = es.indexOf(Buffer.from([0, 0, 1, 0x67]));
  assert.is(avcCodecFromAnnexB(es), 'avc1.4d401f');
  // Start code (3 bytes), NAL header, profile, constraints, level: the level byte is at sps + 6.
  assert.is(avcCodecFromAnnexB(es.subarray(0, sps + 7)), 'avc1.4d401f');
  for (const end of [sps + 6, sps + 5, sps + 4, sps + 3]) assert.is(avcCodecFromAnnexB(es.subarray(0, end)), null, `cut at SPS + ${end - sps}`);
  const audio = await readFile(adts);
  assert.is(aacCodecFromAdts(audio), 'mp4a.40.2');
  for (const end of [3, 2, 1, 0]) assert.is(aacCodecFromAdts(audio.subarray(0, end)), null, `${end} bytes of ADTS header`);
});

test.run();
