import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPageCursors, CURSOR_FROM_OFFSET } from '../../../src/jobs/appwrite/page-cursors.ts';

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ $id: `r${from + i}` }));

test('a page that follows a served one starts after its last row; shallow pages do not bother', () => {
  const cursors = createPageCursors(() => 0);
  cursors.record('L', 0, rows(0, 50));
  assert.is(cursors.before('L', 50), undefined, `below ${CURSOR_FROM_OFFSET}: the offset is cheap`);
  cursors.record('L', 50, rows(50, 50));
  assert.is(cursors.before('L', 100), 'r99');
  assert.is(cursors.before('other listing', 100), undefined);
  assert.is(cursors.before('L', 150), undefined, 'no page ended there');
  cursors.forget('L', 100);
  assert.is(cursors.before('L', 100), undefined);
});

test('cursors go stale after a few minutes', () => {
  let t = 0;
  const cursors = createPageCursors(() => t);
  cursors.record('L', 100, rows(100, 100));
  t += 5 * 60_000;
  assert.is(cursors.before('L', 200), 'r199');
  t += 1;
  assert.is(cursors.before('L', 200), undefined);
});

test.run();
