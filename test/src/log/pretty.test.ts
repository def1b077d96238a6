import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plainTime, prettyLines } from '../../../src/log/pretty.ts';

const at = new Date(2025, 9, 22, 10, 30, 46).toISOString();
const plain = prettyLines(false);

test('the plan’s line: [time] [LEVEL] [Part] message, then the details as key=value', () => {
  assert.is(plainTime(at), '2025-10-22 10:30:46');
  assert.is(
    plain({ level: 30, time: at, pid: 7, name: 'vcs', part: 'controller', msg: 'video completed', videoId: 123, seconds: 7.5 }),
    '[2025-10-22 10:30:46] [INFO] [Controller] video completed videoId=123 seconds=7.5\n',
  );
  assert.is(plain({ level: 40, time: at, name: 'transcoder', msg: 'poster frame not found', ffmpeg: 'no frame at 2s' }), '[2025-10-22 10:30:46] [WARN] [Transcoder] poster frame not found ffmpeg="no frame at 2s"\n');
  assert.is(plain({ level: 30, time: at, name: 'vcs', msg: 'service started', hls: ['a', 1] }), '[2025-10-22 10:30:46] [INFO] [Service] service started hls=["a",1]\n');
});

test('an error object’s stack follows on indented lines; an error given as text stays a field', () => {
  const text = plain({ level: 50, time: at, name: 'vcs', part: 'http', msg: 'request failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at handler (/app/api.js:45:3)' } });
  assert.is(text, '[2025-10-22 10:30:46] [ERROR] [Http] request failed\n  Error: boom\n    at handler (/app/api.js:45:3)\n');
  assert.is(plain({ level: 60, time: at, name: 'vcs', msg: 'service could not start', err: 'EADDRINUSE' }), '[2025-10-22 10:30:46] [FATAL] [Service] service could not start err=EADDRINUSE\n');
});

test('coloured for a terminal only', () => {
  const line = { level: 50, time: at, name: 'vcs', msg: 'x' };
  assert.not.match(plain(line), '\u001b[');
  const coloured = prettyLines(true)(line);
  assert.match(coloured, '\u001b[31m[ERROR]');
  assert.is(coloured.replace(/\u001b\[\d+m/g, ''), plain(line));
});

test.run();
