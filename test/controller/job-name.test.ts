import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fitsPhases, jobName, MAX_PHASED_RUN_LENGTH, nextJobName, parseJobName, parseRunJobName, phaseJobName } from '../../src/controller/job-name.ts';

/** Kubernetes object names that must be DNS-1123 labels (Job names). */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

test('jobName is <prefix>-<id>-<attempt>, the prefix vcs unless given', () => {
  assert.is(jobName(42, 1), 'vcs-42-1');
  assert.is(jobName(7, 12), 'vcs-7-12');
  assert.is(jobName(7, 12, 'prod-eu'), 'prod-eu-7-12');
  assert.is(jobName(7, 1, 'video2'), 'video2-7-1');
});

test('jobName rejects prefixes that are not DNS-1123 labels of at most 29 characters', () => {
  for (const prefix of ['', 'Prod', 'a_b', '-a', 'a-', 'a.b', 'a'.repeat(30)]) assert.throws(() => jobName(1, 1, prefix), RangeError, JSON.stringify(prefix));
  assert.is(jobName(1, 1, 'a'.repeat(29)), `${'a'.repeat(29)}-1-1`);
});

test('names are DNS-1123 labels of at most 63 characters, even for the largest ids', () => {
  for (const [id, attempt] of [
    [1, 1],
    [123456789, 3],
    [2 ** 31 - 1, 1],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ] as const) {
    for (const prefix of ['vcs', 'x', 'z'.repeat(28) + '9']) {
      const name = jobName(id, attempt, prefix);
      assert.ok(DNS_1123_LABEL.test(name), name);
      assert.ok(name.length <= 63, `${name} has ${name.length} characters`);
      assert.equal(parseJobName(name), { prefix, videoId: id, attempt });
    }
  }
});

test('jobName rejects ids and attempts that are not positive safe integers', () => {
  for (const [id, attempt] of [
    [0, 1],
    [-5, 1],
    [1.5, 1],
    [Number.MAX_SAFE_INTEGER + 1, 1],
    [Number.NaN, 1],
    [5, 0],
    [5, 2.5],
  ]) {
    assert.throws(() => jobName(id as number, attempt as number), RangeError, `${id}/${attempt}`);
  }
});

test('parseJobName reads names made by jobName and nothing else', () => {
  assert.equal(parseJobName('vcs-42-3'), { prefix: 'vcs', videoId: 42, attempt: 3 });
  // The last two numbers are the id and attempt; a prefix may hold digits and dashes.
  assert.equal(parseJobName('video-2-42-3'), { prefix: 'video-2', videoId: 42, attempt: 3 });
  assert.equal(parseJobName('x-vcs-42-1'), { prefix: 'x-vcs', videoId: 42, attempt: 1 });
  for (const name of ['', 'vcs-42', 'vcs-42-', 'vcs--42-1', 'vcs-42-0', 'vcs-042-1', 'vcs-42-01', 'VCS-42-1', 'vcs-42-1-x', '-42-1', '42-1', 'vcs-4a-1', ' vcs-42-1', 'vcs-99999999999999999999-1', `${'a'.repeat(30)}-1-1`]) {
    assert.is(parseJobName(name), null, JSON.stringify(name));
  }
});

test('nextJobName counts up from the current job_name, from 1 when there is none', () => {
  const cases: [string | null, string][] = [
    [null, 'vcs-5-1'],
    ['vcs-5-1', 'vcs-5-2'],
    ['vcs-5-9', 'vcs-5-10'],
    ['garbage', 'vcs-5-1'],
    ['vcs-6-4', 'vcs-5-1'], // another video's name is not this video's attempt
  ];
  for (const [current, next] of cases) assert.is(nextJobName({ wp_post_id: 5, job_name: current }), next, String(current));
});

test('nextJobName goes past names the runner still holds for the video', () => {
  assert.is(nextJobName({ wp_post_id: 5, job_name: null }, ['vcs-5-3']), 'vcs-5-4');
  assert.is(nextJobName({ wp_post_id: 5, job_name: 'vcs-5-7' }, ['vcs-5-3']), 'vcs-5-8');
  assert.is(nextJobName({ wp_post_id: 5, job_name: 'vcs-5-1' }, ['vcs-9-8', 'other']), 'vcs-5-2');
});

test('nextJobName names the attempt with the installation’s prefix, counting attempts of any prefix', () => {
  assert.is(nextJobName({ wp_post_id: 5, job_name: null }, [], 'prod'), 'prod-5-1');
  assert.is(nextJobName({ wp_post_id: 5, job_name: 'vcs-5-2' }, [], 'prod'), 'prod-5-3'); // installation renamed
  assert.is(nextJobName({ wp_post_id: 5, job_name: 'prod-5-2' }, ['prod-5-4'], 'prod'), 'prod-5-5');
});

test('phase Jobs of a chunked run: <run>-encode and <run>-assemble, read back as their run; the prepare phase is the run’s own Job', () => {
  assert.is(phaseJobName('vcs-7-2', 'prepare'), 'vcs-7-2');
  assert.is(phaseJobName('vcs-7-2', 'encode'), 'vcs-7-2-encode');
  assert.is(phaseJobName('vcs-7-2', 'assemble'), 'vcs-7-2-assemble');
  const rows: [string, ReturnType<typeof parseRunJobName>][] = [
    ['vcs-7-2', { run: 'vcs-7-2', phase: 'prepare', parts: { prefix: 'vcs', videoId: 7, attempt: 2 } }],
    ['vcs-7-2-encode', { run: 'vcs-7-2', phase: 'encode', parts: { prefix: 'vcs', videoId: 7, attempt: 2 } }],
    ['prod-eu-7-2-assemble', { run: 'prod-eu-7-2', phase: 'assemble', parts: { prefix: 'prod-eu', videoId: 7, attempt: 2 } }],
    ['vcs-7-2-prepare', null],
    ['vcs-7-encode', null],
    ['vcs-7-2-encode-1', null],
    ['encode', null],
    ['vcs-7-02-encode', null],
  ];
  for (const [name, expected] of rows) assert.equal(parseRunJobName(name), expected, name);
});

test('a run name has phases only when its phase Jobs and their pods’ host names fit 63 characters', () => {
  assert.is(MAX_PHASED_RUN_LENGTH, 50);
  const longest = `${'a'.repeat(29)}-${'9'.repeat(10)}-${'9'.repeat(9)}`; // 50
  assert.is(longest.length, 50);
  assert.ok(fitsPhases(longest));
  assert.ok(`${phaseJobName(longest, 'encode')}-99999`.length <= 63 && phaseJobName(longest, 'assemble').length <= 63);
  assert.not.ok(fitsPhases(`${longest}9`));
  assert.is(parseRunJobName(`${longest}9-encode`), null, 'a name too long for phases is never read as one');
  assert.ok(fitsPhases(jobName(Number.MAX_SAFE_INTEGER, 999)), 'the default prefix leaves room for any id and a 3-digit attempt');
});

test.run();
