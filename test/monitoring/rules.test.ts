/**
 * The alert rules (charts/video-compression/files/prometheus-rules.yaml) with the real promtool
 * (Debian's prometheus package): `check rules`, and `test rules` with synthetic series per alert —
 * at least one case that must fire it (after its `for:`) and one that must not. The promtool test
 * file is generated from the table below, its expected annotations rendered from the rules.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { RULES_FILE } from '../support/monitoring.ts';

const run = promisify(execFile);
const test = suite('alert rules');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** One promtool case: series from time 0 (one sample a minute), the alert looked at `at`. */
interface Case {
  alert: string;
  why: string;
  series: Record<string, string>;
  at: string;
  /** The value the firing alert's annotations show; absent: it must not fire. */
  fires?: { value: number };
}

const NS = 'namespace="video"';
const CASES: Case[] = [
  { alert: 'VcsWorkerDown', why: 'no pass for 5 minutes', series: { [`vcs_worker_up{${NS},pod="a"}`]: '0x10' }, at: '6m', fires: { value: 0 } },
  { alert: 'VcsWorkerDown', why: 'down for less than its for:', series: { [`vcs_worker_up{${NS},pod="a"}`]: '0x10' }, at: '4m' },
  { alert: 'VcsWorkerDown', why: 'a standby is 0 while the leader is 1', series: { [`vcs_worker_up{${NS},pod="a"}`]: '1x10', [`vcs_worker_up{${NS},pod="b"}`]: '0x10' }, at: '8m' },
  { alert: 'VcsWorkerAbsent', why: 'no series at all', series: { [`vcs_queue_depth{${NS}}`]: '0x15' }, at: '11m', fires: { value: 1 } },
  { alert: 'VcsWorkerAbsent', why: 'a worker reports', series: { [`vcs_worker_up{${NS},pod="a"}`]: '1x15' }, at: '11m' },
  { alert: 'VcsDiskUsageHigh', why: '85 % used for 15 minutes', series: { [`vcs_storage_free_bytes{${NS}}`]: '15x20', [`vcs_storage_size_bytes{${NS}}`]: '100x20' }, at: '16m', fires: { value: 0.85 } },
  { alert: 'VcsDiskUsageHigh', why: '70 % used', series: { [`vcs_storage_free_bytes{${NS}}`]: '30x20', [`vcs_storage_size_bytes{${NS}}`]: '100x20' }, at: '16m' },
  { alert: 'VcsDiskUsageCritical', why: '95 % used for 5 minutes', series: { [`vcs_storage_free_bytes{${NS}}`]: '5x10', [`vcs_storage_size_bytes{${NS}}`]: '100x10' }, at: '6m', fires: { value: 0.95 } },
  { alert: 'VcsDiskUsageCritical', why: '85 % used is only the warning', series: { [`vcs_storage_free_bytes{${NS}}`]: '15x10', [`vcs_storage_size_bytes{${NS}}`]: '100x10' }, at: '6m' },
  { alert: 'VcsStoreDown', why: 'store unreachable for 5 minutes', series: { [`vcs_store_up{${NS},pod="g"}`]: '0x10' }, at: '6m', fires: { value: 0 } },
  { alert: 'VcsStoreDown', why: 'reachable', series: { [`vcs_store_up{${NS},pod="g"}`]: '1x10' }, at: '6m' },
  { alert: 'VcsStoreErrors', why: '2 failures a minute', series: { [`vcs_store_failures_total{${NS},operation="get"}`]: '0+2x20' }, at: '16m', fires: { value: 20 } },
  { alert: 'VcsStoreErrors', why: 'a failure now and then', series: { [`vcs_store_failures_total{${NS},operation="get"}`]: '0 0 1 1 1 1 1 1 1 1 1 2 2 2 2 2 2 2 2 2 2' }, at: '16m' },
  { alert: 'VcsFailedJobs', why: '12 failures in an hour', series: { [`vcs_jobs_total{${NS},result="failed_permanent"}`]: '0+1x12 12x50', [`vcs_jobs_total{${NS},result="failed_retryable"}`]: '0x62' }, at: '60m', fires: { value: 12 } },
  { alert: 'VcsFailedJobs', why: '5 failures in an hour', series: { [`vcs_jobs_total{${NS},result="failed_permanent"}`]: '0+1x5 5x60' }, at: '60m' },
  { alert: 'VcsFFmpegUnavailable', why: 'FFmpeg gone for 5 minutes', series: { [`vcs_ffmpeg_available{${NS},pod="g"}`]: '0x10' }, at: '6m', fires: { value: 0 } },
  { alert: 'VcsFFmpegUnavailable', why: 'FFmpeg runs', series: { [`vcs_ffmpeg_available{${NS},pod="g"}`]: '1x10' }, at: '6m' },
  { alert: 'VcsFFmpegErrors', why: '5 FFmpeg failures in an hour', series: { [`vcs_job_failures_total{${NS},code="VCS_ERR_FFMPEG_FAILED",step="compressing"}`]: '0+1x5 5x60' }, at: '30m', fires: { value: 5 } },
  { alert: 'VcsFFmpegErrors', why: 'other failures do not count', series: { [`vcs_job_failures_total{${NS},code="VCS_ERR_NOT_A_VIDEO",step="probing"}`]: '0+1x10 10x60' }, at: '30m' },
  { alert: 'VcsNoLeader', why: 'no replica leads', series: { [`vcs_controller_leader{${NS},pod="a"}`]: '0x10', [`vcs_controller_leader{${NS},pod="b"}`]: '0x10' }, at: '6m', fires: { value: 0 } },
  { alert: 'VcsNoLeader', why: 'one leader, one standby', series: { [`vcs_controller_leader{${NS},pod="a"}`]: '1x10', [`vcs_controller_leader{${NS},pod="b"}`]: '0x10' }, at: '6m' },
  {
    alert: 'VcsQueueStuck',
    why: 'videos wait, nothing starts or ends for 90 minutes',
    series: { [`vcs_queue_depth{${NS}}`]: '4x120', [`vcs_worker_paused{${NS}}`]: '0x120', [`vcs_jobs_started_total{${NS}}`]: '7x120', [`vcs_jobs_total{${NS},result="completed"}`]: '7x120' },
    at: '95m',
    fires: { value: 4 },
  },
  {
    alert: 'VcsQueueStuck',
    why: 'a long encode ends now and then',
    series: { [`vcs_queue_depth{${NS}}`]: '4x120', [`vcs_worker_paused{${NS}}`]: '0x120', [`vcs_jobs_started_total{${NS}}`]: '7x120', [`vcs_jobs_total{${NS},result="completed"}`]: '7x50 8x70' },
    at: '95m',
  },
  {
    alert: 'VcsQueueStuck',
    why: 'paused on purpose',
    series: { [`vcs_queue_depth{${NS}}`]: '4x120', [`vcs_worker_paused{${NS}}`]: '1x120', [`vcs_jobs_started_total{${NS}}`]: '7x120', [`vcs_jobs_total{${NS},result="completed"}`]: '7x120' },
    at: '95m',
  },
  { alert: 'VcsPausedWithQueue', why: 'paused 2 hours with videos waiting', series: { [`vcs_worker_paused{${NS}}`]: '1x130', [`vcs_queue_depth{${NS}}`]: '3x130' }, at: '125m', fires: { value: 1 } },
  { alert: 'VcsPausedWithQueue', why: 'paused with nothing waiting', series: { [`vcs_worker_paused{${NS}}`]: '1x130', [`vcs_queue_depth{${NS}}`]: '0x130' }, at: '125m' },
  {
    alert: 'VcsRunsFailing',
    why: '6 of 10 runs failed retryably',
    series: { [`vcs_jobs_total{${NS},result="failed_retryable"}`]: '0+1x6 6x60', [`vcs_jobs_started_total{${NS}}`]: '0+1x10 10x60' },
    at: '30m',
    fires: { value: 6 },
  },
  {
    alert: 'VcsRunsFailing',
    why: 'bad uploads fail permanently, not counted',
    series: { [`vcs_jobs_total{${NS},result="failed_permanent"}`]: '0+1x6 6x60', [`vcs_jobs_total{${NS},result="failed_retryable"}`]: '0x70', [`vcs_jobs_started_total{${NS}}`]: '0+1x10 10x60' },
    at: '30m',
  },
  {
    alert: 'VcsRunsFailing',
    why: '3 retryable failures among 40 runs',
    series: { [`vcs_jobs_total{${NS},result="failed_retryable"}`]: '0+1x3 3x60', [`vcs_jobs_started_total{${NS}}`]: '0+4x10 40x60' },
    at: '30m',
  },
  { alert: 'VcsProcessingTimeouts', why: 'a video timed out', series: { [`vcs_job_failures_total{${NS},code="VCS_ERR_PROCESSING_TIMEOUT",step="compressing"}`]: '0 0 0 1x30' }, at: '10m', fires: { value: 1 } },
  { alert: 'VcsProcessingTimeouts', why: 'no timeout', series: { [`vcs_job_failures_total{${NS},code="VCS_ERR_PROCESSING_TIMEOUT",step="compressing"}`]: '0x30' }, at: '10m' },
  {
    alert: 'VcsThroughputDropped',
    why: 'a quarter of yesterday’s rate while videos wait',
    // 60 s of video a minute for a day, then 15 s a minute.
    series: { [`vcs_encoded_video_seconds_total{${NS}}`]: '0+60x1440 86400+15x200', [`vcs_queue_depth{${NS}}`]: '5x1640' },
    at: '1620m',
    fires: { value: 0.25 },
  },
  {
    alert: 'VcsThroughputDropped',
    why: 'the same rate as yesterday',
    series: { [`vcs_encoded_video_seconds_total{${NS}}`]: '0+60x1640', [`vcs_queue_depth{${NS}}`]: '5x1640' },
    at: '1620m',
  },
  {
    alert: 'VcsThroughputDropped',
    why: 'slower because nothing is left to encode',
    series: { [`vcs_encoded_video_seconds_total{${NS}}`]: '0+60x1440 86400+15x200', [`vcs_queue_depth{${NS}}`]: '0x1640' },
    at: '1620m',
  },
  {
    alert: 'VcsHttpErrors',
    why: '10 % of answers are 5xx',
    series: { [`vcs_http_requests_total{${NS},route="/api/stats",method="GET",status="200"}`]: '0+90x20', [`vcs_http_requests_total{${NS},route="/api/stats",method="GET",status="503"}`]: '0+10x20' },
    at: '16m',
    fires: { value: 0.1 },
  },
  {
    alert: 'VcsHttpErrors',
    why: '1 % of answers are 5xx',
    series: { [`vcs_http_requests_total{${NS},route="/api/stats",method="GET",status="200"}`]: '0+99x20', [`vcs_http_requests_total{${NS},route="/api/stats",method="GET",status="500"}`]: '0+1x20' },
    at: '16m',
  },
  {
    alert: 'VcsSlowApi',
    why: 'every API answer takes 2.5 to 5 s',
    series: {
      [`vcs_http_request_duration_seconds_bucket{${NS},route="/api/stats",method="GET",le="1"}`]: '0x20',
      [`vcs_http_request_duration_seconds_bucket{${NS},route="/api/stats",method="GET",le="2.5"}`]: '0x20',
      [`vcs_http_request_duration_seconds_bucket{${NS},route="/api/stats",method="GET",le="5"}`]: '0+10x20',
      [`vcs_http_request_duration_seconds_bucket{${NS},route="/api/stats",method="GET",le="+Inf"}`]: '0+10x20',
    },
    at: '16m',
    fires: { value: 4.875 },
  },
  {
    alert: 'VcsSlowApi',
    why: 'slow HLS files are not the API',
    series: {
      [`vcs_http_request_duration_seconds_bucket{${NS},route="/storage/hls",method="GET",le="1"}`]: '0x20',
      [`vcs_http_request_duration_seconds_bucket{${NS},route="/storage/hls",method="GET",le="5"}`]: '0+10x20',
      [`vcs_http_request_duration_seconds_bucket{${NS},route="/storage/hls",method="GET",le="+Inf"}`]: '0+10x20',
    },
    at: '16m',
  },
  {
    alert: 'VcsStoreSlow',
    why: 'store calls take 2.5 to 5 s',
    series: {
      [`vcs_store_request_duration_seconds_bucket{${NS},operation="get",le="2.5"}`]: '0x25',
      [`vcs_store_request_duration_seconds_bucket{${NS},operation="get",le="5"}`]: '0+10x25',
      [`vcs_store_request_duration_seconds_bucket{${NS},operation="get",le="+Inf"}`]: '0+10x25',
    },
    at: '21m',
    fires: { value: 4.875 },
  },
  {
    alert: 'VcsStoreSlow',
    why: 'store calls under 0.1 s',
    series: {
      [`vcs_store_request_duration_seconds_bucket{${NS},operation="get",le="0.1"}`]: '0+10x25',
      [`vcs_store_request_duration_seconds_bucket{${NS},operation="get",le="+Inf"}`]: '0+10x25',
    },
    at: '21m',
  },
];

/** Renders the annotation templates the rules use, as Prometheus does, for `value`. */
function render(text: string, value: number): string {
  const humanize = (v: number) => String(Number(v.toPrecision(4)));
  return text
    .replace(/\{\{ \$value \| humanizePercentage \}\}/g, `${humanize(value * 100)}%`)
    .replace(/\{\{ \$value \| printf "%\.(\d)f" \}\}/g, (_, digits: string) => value.toFixed(Number(digits)))
    .replace(/\{\{ \$value \}\}/g, String(value));
}

let tmp = '';
let rules: Rule[] = [];

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-rules-'));
  rules = (parse(await readFile(RULES_FILE, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
});
test.after(() => rm(tmp, { recursive: true, force: true }));

test('promtool check rules accepts the file', async () => {
  const { stdout } = await run('promtool', ['check', 'rules', RULES_FILE]);
  assert.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

test('every alert has a severity, a summary, a description and a runbook link', () => {
  for (const r of rules) {
    assert.ok(['critical', 'warning', 'info'].includes(r.labels.severity ?? ''), `${r.alert}: severity`);
    for (const key of ['summary', 'description', 'runbook_url']) assert.ok(r.annotations[key], `${r.alert}: ${key}`);
    assert.is(r.annotations.runbook_url, `README.md#${r.alert.toLowerCase()}`, r.alert);
  }
});

test('every alert has a case that fires it and one that must not', () => {
  for (const r of rules) {
    assert.ok(CASES.some((c) => c.alert === r.alert && c.fires), `${r.alert}: no firing case`);
    assert.ok(CASES.some((c) => c.alert === r.alert && !c.fires), `${r.alert}: no quiet case`);
  }
  for (const c of CASES) assert.ok(rules.some((r) => r.alert === c.alert), `a case for an unknown alert ${c.alert}`);
});

test('promtool test rules: each case fires (after its for:) or stays quiet as expected', async () => {
  const byName = new Map(rules.map((r) => [r.alert, r]));
  const tests = CASES.map((c) => {
    const rule = byName.get(c.alert)!;
    const labels = c.alert === 'VcsWorkerAbsent' ? { ...rule.labels } : { ...rule.labels, namespace: 'video' };
    return {
      name: `${c.alert}: ${c.why}`,
      interval: '1m',
      input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: [
        {
          eval_time: c.at,
          alertname: c.alert,
          exp_alerts: c.fires ? [{ exp_labels: labels, exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, render(v, c.fires!.value)])) }] : [],
        },
      ],
    };
  });
  const file = path.join(tmp, 'rules.test.yaml');
  await writeFile(file, stringify({ rule_files: [RULES_FILE], evaluation_interval: '1m', tests }, { lineWidth: 0 }));
  const result = await run('promtool', ['test', 'rules', file]).then(
    ({ stdout }) => ({ ok: true, out: stdout }),
    (err: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
  assert.ok(result.ok, result.out);
  assert.match(result.out, /SUCCESS/);
});

test.run();
