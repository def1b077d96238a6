import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VcsError } from '../../src/errors.ts';
import { interpretProbe, probeArgs, probeFailure } from '../../transcoder/probe.ts';

const video = (over: Record<string, unknown> = {}) => ({ index: 0, codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080, avg_frame_rate: '30000/1001', pix_fmt: 'yuv420p', sample_aspect_ratio: '1:1', disposition: { attached_pic: 0 }, ...over });
const audio = { index: 1, codec_type: 'audio', codec_name: 'aac', channels: 6 };
const fmt = { duration: '12.5', format_name: 'mov,mp4,m4a,3gp,3g2,mj2' };

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof VcsError ? `${err.code} ${err.permanent}` : String(err);
  }
  return 'no error';
};

test('landscape source with 5.1 audio', () => {
  const info = interpretProbe({ streams: [video(), audio], format: fmt });
  assert.equal(
    { w: info.width, h: info.height, fps: info.frameRate.toFixed(3), d: info.durationSeconds, audio: info.audio, hdr: info.hdr },
    { w: 1920, h: 1080, fps: '29.970', d: 12.5, audio: { codec: 'aac', channels: 6 }, hdr: false },
  );
});

test('display size after rotation (side data or legacy tag) and pixel aspect ratio', () => {
  assert.equal([interpretProbe({ streams: [video({ side_data_list: [{ rotation: -90 }] })], format: fmt })].map((i) => [i.width, i.height, i.rotation]), [[1080, 1920, 270]]);
  assert.equal([interpretProbe({ streams: [video({ tags: { rotate: '90' } })], format: fmt })].map((i) => [i.width, i.height]), [[1080, 1920]]);
  assert.equal([interpretProbe({ streams: [video({ side_data_list: [{ rotation: 180 }] })], format: fmt })].map((i) => [i.width, i.height]), [[1920, 1080]]);
  // Anamorphic DV: 720x576 stored, 16:15 pixels → 768x576 shown.
  assert.equal([interpretProbe({ streams: [video({ width: 720, height: 576, sample_aspect_ratio: '16:15' })], format: fmt })].map((i) => [i.width, i.height]), [[768, 576]]);
});

test('cover art is not a video; audio-only and stream-less files are refused, permanently', () => {
  assert.is(codeOf(() => interpretProbe({ streams: [audio, video({ disposition: { attached_pic: 1 } })], format: fmt })), 'VCS_ERR_NOT_A_VIDEO true');
  assert.match(String((() => { try { interpretProbe({ streams: [audio], format: fmt }); } catch (e) { return (e as Error).message; } })()), /audio-only/);
  assert.is(codeOf(() => interpretProbe({ streams: [], format: fmt })), 'VCS_ERR_NOT_A_VIDEO true');
});

test('no duration, absurd size or length are refused', () => {
  assert.is(codeOf(() => interpretProbe({ streams: [video()], format: { format_name: 'mov' } })), 'VCS_ERR_SOURCE_UNREADABLE true');
  assert.is(codeOf(() => interpretProbe({ streams: [video({ width: 16384, height: 16384 })], format: fmt })), 'VCS_ERR_SOURCE_LIMITS true');
  assert.is(codeOf(() => interpretProbe({ streams: [video()], format: { duration: '999999' } })), 'VCS_ERR_SOURCE_LIMITS true');
  assert.is(codeOf(() => interpretProbe({ streams: [video({ width: 0 })], format: fmt })), 'VCS_ERR_SOURCE_UNREADABLE true');
});

test('field order: interlaced orders as FFmpeg names them; anything else is unknown', () => {
  const order = (field_order?: string) => interpretProbe({ streams: [video({ field_order })], format: fmt }).fieldOrder;
  assert.equal(['progressive', 'tt', 'bb', 'tb', 'bt', 'unknown', undefined, 'sideways'].map((f) => order(f)), ['progressive', 'tt', 'bb', 'tb', 'bt', 'unknown', 'unknown', 'unknown']);
});

test('HDR transfer functions are recognised; frame rate falls back to r_frame_rate', () => {
  assert.ok(interpretProbe({ streams: [video({ color_transfer: 'smpte2084' })], format: fmt }).hdr);
  assert.ok(interpretProbe({ streams: [video({ color_transfer: 'arib-std-b67' })], format: fmt }).hdr);
  assert.is(interpretProbe({ streams: [video({ avg_frame_rate: '0/0', r_frame_rate: '25/1' })], format: fmt }).frameRate, 25);
});

test('where each stream ends: start + duration, else Matroska DURATION tags, on the file clock', () => {
  const ends = (streams: Record<string, unknown>[], format: Record<string, string> = fmt) => interpretProbe({ streams: streams as never, format }).streamEnds;
  assert.equal(ends([video({ start_time: '0.000000', duration: '9.000000' }), { ...audio, start_time: '0.000000', duration: '12.000000' }]), { video: 9, audio: 12 });
  // MPEG-TS clocks start anywhere; ends are counted from the file's start.
  assert.equal(ends([video({ start_time: '1.421333', duration: '5.000000' }), { ...audio, start_time: '1.400000', duration: '7.872000' }], { ...fmt, start_time: '1.400000' }), { video: 5.021333, audio: 7.872 });
  assert.equal(ends([video({ duration: 'N/A', tags: { DURATION: '00:00:05.021000000' } }), { ...audio, tags: { DURATION: '00:01:08.021000000' } }]), { video: 5.021, audio: 68.021 });
  assert.equal(ends([video(), audio]), { video: null, audio: null });
  assert.equal(ends([video({ start_time: '0', duration: '10' })]), { video: 10, audio: null });
});

test('probe failures become clear permanent errors', () => {
  assert.match(probeFailure("[hls @ 0x1] Format not on whitelist 'mov,...'\nfile:/x: Invalid argument").message, /not a supported video container/);
  assert.match(probeFailure('[mov @ 0x1] moov atom not found\nfile:/w/source: Invalid data found when processing input').message, /corrupt, truncated or not a video/);
  assert.is((probeFailure('something odd') as VcsError).permanent, true);
});

test('ffprobe arguments carry the hardened input', () => {
  const args = probeArgs('/w/source');
  assert.is(args.at(-1), 'file:/w/source');
  assert.ok(args.includes('-format_whitelist') && args.includes('-protocol_whitelist'));
  assert.match(args[args.indexOf('-show_entries') + 1]!, /stream=[^:]*field_order,[^:]*start_time,duration:.*stream_tags=rotate,DURATION/);
});

test.run();
