/**
 * The Grafana dashboard, built in typed code with @grafana/grafana-foundation-sdk (Grafana 11.6's
 * schema as TypeScript types, so tsc checks every field) and written to
 * charts/video-compression/files/grafana-dashboard.json — the chart's dashboard ConfigMap and
 * monitoring/grafana-dashboard.json come from that file. `npm run dashboard` writes it; a test
 * fails when the file and this code disagree.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DashboardBuilder, DatasourceVariableBuilder, RowBuilder, ThresholdsConfigBuilder, ThresholdsMode, type Dashboard, type DataSourceRef, type Threshold } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DASHBOARD_PATH = path.join(ROOT, 'charts/video-compression/files/grafana-dashboard.json');

/** Every panel queries the Prometheus the `datasource` variable names. */
const DS: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

const query = (expr: string, legend = '__auto') => new DataqueryBuilder().expr(expr).legendFormat(legend).datasource(DS);

function stat(title: string, expr: string, opts: { unit?: string; description: string; red?: number; green?: number }): StatPanel {
  // The first step (value null) is the base colour; green from `green` up, or red from `red` up.
  const steps: Threshold[] =
    opts.red !== undefined
      ? [{ value: null, color: 'green' }, { value: opts.red, color: 'red' }]
      : opts.green !== undefined
        ? [{ value: null, color: 'red' }, { value: opts.green, color: 'green' }]
        : [{ value: null, color: 'blue' }];
  return new StatPanel()
    .title(title)
    .description(opts.description)
    .datasource(DS)
    .withTarget(query(expr, title))
    .unit(opts.unit ?? 'short')
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps))
    .height(4)
    .span(4);
}

function graph(title: string, description: string, targets: [expr: string, legend: string][], unit = 'short'): TimeseriesPanel {
  const panel = new TimeseriesPanel().title(title).description(description).datasource(DS).unit(unit).height(8).span(12);
  for (const [expr, legend] of targets) panel.withTarget(query(expr, legend));
  return panel;
}

export function buildDashboard(): Dashboard {
  return (
    new DashboardBuilder('Video compression')
      .uid('video-compression')
      .description('Queue, encodes, failures, storage, store and HTTP of the video compression service (vcs_* metrics).')
      .tags(['video-compression', 'hls', 'ffmpeg'])
      .refresh('1m')
      .time({ from: 'now-24h', to: 'now' })
      .timezone('browser')
      .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
      .withRow(new RowBuilder('Overview'))
      .withPanel(stat('Queued', 'max(vcs_queue_depth)', { description: 'Videos waiting (pending).' }))
      .withPanel(stat('Encoding', 'max(vcs_jobs_processing)', { description: 'Videos being compressed now.' }))
      .withPanel(stat('Worker up', 'max(vcs_worker_up)', { description: 'A controller finished a pass within two worker intervals.', green: 1 }))
      .withPanel(stat('Leaders', 'sum(vcs_controller_leader)', { description: 'Controller replicas holding the Lease (cluster shape): exactly 1.', green: 1 }))
      .withPanel(stat('Store up', 'min(vcs_store_up)', { description: 'The job store (Appwrite or SQLite) answers.', green: 1 }))
      .withPanel(stat('FFmpeg', 'min(vcs_ffmpeg_available)', { description: 'FFmpeg runs where it is checked.', green: 1 }))
      .withRow(new RowBuilder('Queue and throughput'))
      .withPanel(graph('Videos by status', 'Documents in the store by compression status.', [['max by (status) (vcs_videos)', '{{status}}']]))
      .withPanel(
        graph('Encodes running and started', 'Runs in processing, and runs started per minute (first attempts and restarts).', [
          ['max(vcs_jobs_processing)', 'running'],
          ['sum(rate(vcs_jobs_started_total[$__rate_interval])) * 60', 'started / min'],
        ]),
      )
      .withPanel(
        graph('Throughput', 'Seconds of video encoded per second of wall clock (completed jobs).', [['sum(rate(vcs_encoded_video_seconds_total[$__rate_interval]))', 'video s / s']]),
      )
      .withPanel(
        graph(
          'Encode time against video duration',
          'Wall-clock seconds of completed jobs per second of their video (below 1: faster than real time), and job durations.',
          [
            ['sum(rate(vcs_job_duration_seconds_sum{result="completed"}[1h])) / sum(rate(vcs_encoded_video_seconds_total[1h]))', 'job s per video s'],
            ['histogram_quantile(0.5, sum by (le) (rate(vcs_job_duration_seconds_bucket{result="completed"}[1h])))', 'p50 job s'],
            ['histogram_quantile(0.95, sum by (le) (rate(vcs_job_duration_seconds_bucket{result="completed"}[1h])))', 'p95 job s'],
          ],
        ),
      )
      .withRow(new RowBuilder('Failures'))
      .withPanel(graph('Jobs by result', 'Finished jobs per hour by result.', [['sum by (result) (increase(vcs_jobs_total[1h]))', '{{result}}']]))
      .withPanel(
        graph('Failures by reason and step', 'Failed jobs per hour by error code and the step they failed at.', [['sum by (code, step) (increase(vcs_job_failures_total[1h]))', '{{code}} at {{step}}']]),
      )
      .withRow(new RowBuilder('Storage'))
      .withPanel(
        graph(
          'Disk usage and forecast',
          'Used share of the filesystem holding HLS_PATH, and where the last 6 hours lead in 7 days (alerts at 80 % and 90 %).',
          [
            ['1 - max(vcs_storage_free_bytes) / max(vcs_storage_size_bytes)', 'used'],
            ['1 - max(predict_linear(vcs_storage_free_bytes[6h], 7 * 86400)) / max(vcs_storage_size_bytes)', 'in 7 days'],
          ],
          'percentunit',
        ),
      )
      .withPanel(graph('HLS packages', 'Bytes of the published packages, and free on their filesystem.', [['max(vcs_storage_used_bytes)', 'packages'], ['max(vcs_storage_free_bytes)', 'free']], 'bytes'))
      .withRow(new RowBuilder('Job store'))
      .withPanel(
        graph('Store latency', '95th percentile of store calls by method.', [['histogram_quantile(0.95, sum by (operation, le) (rate(vcs_store_request_duration_seconds_bucket[$__rate_interval])))', '{{operation}}']], 's'),
      )
      .withPanel(
        graph('Store errors', 'Store calls that failed after their retries, per minute, by method; and whether the store answers.', [
          ['sum by (operation) (rate(vcs_store_failures_total[$__rate_interval])) * 60', '{{operation}}'],
          ['min(vcs_store_up)', 'up'],
        ]),
      )
      .withRow(new RowBuilder('HTTP'))
      .withPanel(graph('Requests by route', 'Requests per second by route pattern.', [['sum by (route) (rate(vcs_http_requests_total[$__rate_interval]))', '{{route}}']], 'reqps'))
      .withPanel(
        graph('Latency by route', '95th percentile of handler time by route pattern.', [['histogram_quantile(0.95, sum by (route, le) (rate(vcs_http_request_duration_seconds_bucket[$__rate_interval])))', '{{route}}']], 's'),
      )
      .withPanel(
        graph('Errors by route', 'Share of 5xx answers by route pattern.', [
          ['sum by (route) (rate(vcs_http_requests_total{status=~"5.."}[$__rate_interval])) / sum by (route) (rate(vcs_http_requests_total[$__rate_interval]))', '{{route}}'],
        ], 'percentunit'),
      )
      .withPanel(graph('HLS bytes served', 'Bytes of playlists, segments and posters sent to players.', [['sum(rate(vcs_http_response_bytes_total{route="/storage/hls"}[$__rate_interval]))', 'HLS']], 'Bps'))
      .withRow(new RowBuilder('Controller'))
      .withPanel(graph('Leader by replica', 'Which controller replica holds the Lease.', [['max by (pod) (vcs_controller_leader)', '{{pod}}']]))
      .withPanel(
        graph('Worker state', 'Whether a worker is up and paused, seconds since its last pass and since the last completed job.', [
          ['max(vcs_worker_up)', 'up'],
          ['max(vcs_worker_paused)', 'paused'],
          ['time() - max(vcs_worker_last_run_timestamp_seconds)', 'seconds since the last pass'],
          ['time() - max(vcs_job_last_completed_timestamp_seconds)', 'seconds since the last completed job'],
        ]),
      )
      .build()
  );
}

export function dashboardJson(): string {
  const dashboard = buildDashboard();
  // Stable panel ids (links, "view panel" URLs and provisioning rely on them).
  dashboard.panels?.forEach((panel, i) => void (panel.id = i + 1));
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeFile(DASHBOARD_PATH, dashboardJson());
  console.log(`dashboard: ${path.relative(ROOT, DASHBOARD_PATH)} written`);
}
