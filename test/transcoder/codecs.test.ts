import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aacCodecFromAdts, avcCodecFromAnnexB, segmentCodecs } from '../../transcoder/codecs.ts';

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

test('a transport stream without PAT gives nothing', () => {
  assert.equal(segmentCodecs(new Uint8Array(188 * 4)), { video: null, audio: null });
});

test.run();
