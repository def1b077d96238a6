import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jobName, nextJobName, parseJobName } from '../../src/controller/job-name.ts';

/** Kubernetes object names that must be DNS-1123 labels (Job names). */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

test('jobName is vcs-<id>-<attempt>', () => {
  assert.is(jobName(42, 1), 'vcs-42-1');
  assert.is(jobName(7, 12), 'vcs-7-12');
});

test('names are DNS-1123 labels of at most 63 characters, even for the largest ids', () => {
  for (const [id, attempt] of [
    [1, 1],
    [123456789, 3],
    [2 ** 31 - 1, 1],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ] as const) {
    const name = jobName(id, attempt);
    assert.ok(DNS_1123_LABEL.test(name), name);
    assert.ok(name.length <= 63, `${name} has ${name.length} characters`);
    assert.equal(parseJobName(name), { videoId: id, attempt });
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
  assert.equal(parseJobName('vcs-42-3'), { videoId: 42, attempt: 3 });
  for (const name of ['', 'vcs-42', 'vcs-42-', 'vcs--42-1', 'vcs-42-0', 'vcs-042-1', 'vcs-42-01', 'VCS-42-1', 'vcs-42-1-x', 'x-vcs-42-1', 'transcode-42-1', 'vcs-4a-1', ' vcs-42-1', 'vcs-99999999999999999999-1']) {
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

test.run();
