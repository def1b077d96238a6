/** transcoder/chunk-plan.ts: which time ranges a source is cut into, as a table. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chunksFor, planChunks } from '../../transcoder/chunk-plan.ts';

const ranges = (d: number, c: number, s: number, min: number) => planChunks(d, c, s, min).map((k) => [k.start, k.end]);

test('chunk k covers [k·C, min((k+1)·C, D)); the last runs to the end of the source', () => {
  const cases: [string, number, number, number, number, number[][]][] = [
    ['60 min in 60 s chunks', 3600, 60, 10, 600, Array.from({ length: 60 }, (_, k) => [k * 60, (k + 1) * 60])],
    ['a remainder of one segment or more is a chunk of its own', 50, 20, 10, 30, [[0, 20], [20, 40], [40, 50]]],
    ['a partial last chunk', 47.5, 20, 10, 30, [[0, 20], [20, 47.5]]],
    ['a remainder under one segment joins the chunk before it', 605.4, 60, 10, 600, [...Array.from({ length: 9 }, (_, k) => [k * 60, (k + 1) * 60]), [540, 605.4]]],
    ['exactly at the minimum', 600, 60, 10, 600, Array.from({ length: 10 }, (_, k) => [k * 60, (k + 1) * 60])],
    ['shorter than the minimum: no chunks', 599.9, 60, 10, 600, []],
    ['one chunk\'s worth: no chunks (nothing to split)', 65, 60, 10, 0, []],
    ['minimum 0 and a long source', 40, 20, 10, 0, [[0, 20], [20, 40]]],
    ['2 s segments, 4 s chunks', 9, 4, 2, 0, [[0, 4], [4, 9]]],
  ];
  for (const [name, d, c, s, min, expected] of cases) assert.equal(ranges(d, c, s, min), expected, name);
});

test('indexes count from 0 and only the last chunk is marked last', () => {
  const chunks = planChunks(50, 20, 10, 30);
  assert.equal(chunks.map((c) => c.index), [0, 1, 2]);
  assert.equal(chunks.map((c) => c.last), [false, false, true]);
});

test('a chunk length that is not a multiple of the segment length is refused', () => {
  assert.throws(() => planChunks(100, 25, 10, 0), /multiple of the segment length \(10 s\), got 25/);
  assert.throws(() => planChunks(100, 0, 10, 0), /positive multiple/);
});

test('chunking is used only when the ladder asks for it with more than one process', () => {
  assert.equal(chunksFor(50, 10, undefined), [], 'a ladder from a controller that predates chunking');
  assert.equal(chunksFor(50, 10, { minSeconds: 30, chunkSeconds: 20, parallelism: 1 }), [], 'CHUNK_PARALLELISM=1');
  assert.is(chunksFor(50, 10, { minSeconds: 30, chunkSeconds: 20, parallelism: 2 }).length, 3);
  assert.equal(chunksFor(29, 10, { minSeconds: 30, chunkSeconds: 20, parallelism: 2 }), [], 'shorter than CHUNK_MIN_DURATION');
});

test.run();
