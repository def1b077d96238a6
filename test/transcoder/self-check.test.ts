import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { segmentProbeArgs } from '../../transcoder/self-check.ts';

const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('our own segments are read as MPEG-TS by name, never guessed, from the file protocol only', () => {
  const args = segmentProbeArgs('/w/staging/high/segment002.ts');
  const input = args.indexOf('file:/w/staging/high/segment002.ts');
  assert.is(input, args.length - 1, 'the path, behind file:, is the last argument');
  assert.is(valueOf(args, '-f'), 'mpegts');
  assert.ok(args.indexOf('-f') < input);
  assert.is(valueOf(args, '-protocol_whitelist'), 'file');
  assert.is(valueOf(args, '-format_whitelist'), 'mpegts');
});

test('size and pixel format come from the first decoded frame, not the stream header', () => {
  const args = segmentProbeArgs('/s.ts');
  assert.is(valueOf(args, '-read_intervals'), '%+#1');
  assert.is(valueOf(args, '-show_entries'), 'frame=key_frame,pict_type,pts_time,width,height,pix_fmt');
});

test.run();
