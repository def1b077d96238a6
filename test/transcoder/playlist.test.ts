import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { averageBitrate, parseMasterPlaylist, parseMediaPlaylist, peakBitrate, renderMasterPlaylist } from '../../transcoder/playlist.ts';

test('master playlist: golden text with measured rates, resolution, frame rate and codecs', () => {
  const text = renderMasterPlaylist([
    { uri: 'high/playlist.m3u8', bandwidth: 5606611, averageBandwidth: 5331605, width: 1920, height: 1080, frameRate: 30, codecs: 'avc1.640028,mp4a.40.2' },
    { uri: 'low/playlist.m3u8', bandwidth: 536627, averageBandwidth: 494841, width: 640, height: 360, frameRate: 29.97, codecs: 'avc1.64001e' },
  ]);
  assert.is(
    text,
    [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-STREAM-INF:BANDWIDTH=5606611,AVERAGE-BANDWIDTH=5331605,RESOLUTION=1920x1080,FRAME-RATE=30.000,CODECS="avc1.640028,mp4a.40.2"',
      'high/playlist.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=536627,AVERAGE-BANDWIDTH=494841,RESOLUTION=640x360,FRAME-RATE=29.970,CODECS="avc1.64001e"',
      'low/playlist.m3u8',
      '',
    ].join('\n'),
  );
  assert.equal(parseMasterPlaylist(text).map((v) => [v.uri, v.bandwidth, v.codecs]), [
    ['high/playlist.m3u8', 5606611, 'avc1.640028,mp4a.40.2'],
    ['low/playlist.m3u8', 536627, 'avc1.64001e'],
  ]);
});

test('peak bit rate per RFC 8216: contiguous runs lasting 0.5–1.5 x target', () => {
  // 10 s target: single 10 s segments qualify, and so do 10+4 s pairs.
  const segs = [
    { duration: 10, bytes: 1_000_000 }, // 800 kb/s
    { duration: 10, bytes: 2_000_000 }, // 1600 kb/s: the peak
    { duration: 4, bytes: 900_000 }, // 1800 kb/s alone, but 4 s < 5 s so it only counts with its neighbour
  ];
  assert.is(peakBitrate(segs, 10), Math.ceil(((2_000_000 + 900_000) * 8) / 14));
  assert.is(averageBitrate(segs), Math.ceil((3_900_000 * 8) / 24));
});

test('peak of a clip shorter than half the target: the largest segment rate', () => {
  assert.is(peakBitrate([{ duration: 3, bytes: 300_000 }], 10), 800_000);
});

test('peak is never below the average', () => {
  const segs = [5, 1, 9, 2, 7, 3].map((mb) => ({ duration: 10, bytes: mb * 100_000 }));
  assert.ok(peakBitrate(segs, 10) >= averageBitrate(segs));
});

test('media playlist: parsed; a master given as media is refused', () => {
  const media = parseMediaPlaylist('#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:10\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:10.000000,\nsegment000.ts\n#EXTINF:2.5,\nsegment001.ts\n#EXT-X-ENDLIST\n');
  assert.equal(media, { targetDuration: 10, playlistType: 'VOD', endlist: true, segments: [{ uri: 'segment000.ts', duration: 10 }, { uri: 'segment001.ts', duration: 2.5 }] });
  assert.throws(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhigh/playlist.m3u8\n'), /master playlist/);
});

test.run();
