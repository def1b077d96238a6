/**
 * The Grafana dashboard and how both monitoring sources ship: the JSON is what scripts/dashboard.ts
 * builds (typed against Grafana 11.6's schema), declares that schema, queries only through its
 * datasource variable with PromQL that parses (promtool); the chart's PrometheusRule and dashboard
 * ConfigMap and the plain monitoring/ files carry exactly the sources.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { dashboardJson } from '../../scripts/dashboard.ts';
import { renderMonitoringFiles } from '../../scripts/k8s.ts';
import { find, FULLNAME, renderChart } from '../support/chart.ts';
import { helmTemplate } from '../support/helm.ts';
import { validateObjects } from '../support/k8s-schemas.ts';
import { dashboardExprs, DASHBOARD_FILE, RULES_FILE } from '../support/monitoring.ts';
import { ROOT } from '../support/vcs.ts';

const run = promisify(execFile);
const test = suite('dashboard and monitoring files');

test('the dashboard file is what scripts/dashboard.ts builds (run `npm run dashboard` after changing it)', async () => {
  assert.ok((await readFile(DASHBOARD_FILE, 'utf8')) === dashboardJson(), 'charts/video-compression/files/grafana-dashboard.json is out of date: run `npm run dashboard`');
});

test('it declares Grafana 11.6’s schema and every panel queries the datasource variable', async () => {
  const d = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8'));
  assert.is(d.schemaVersion, 41); // Grafana 11.6 (the SDK's generated types)
  assert.is(d.uid, 'video-compression');
  const variable = d.templating.list.find((v: { name: string }) => v.name === 'datasource');
  assert.equal([variable?.type, variable?.query], ['datasource', 'prometheus']);
  const panels = d.panels.filter((p: { type: string }) => p.type !== 'row');
  assert.ok(panels.length >= 20, `${panels.length} panels`);
  const ids = d.panels.map((p: { id: number }) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  for (const p of panels) {
    assert.ok(['stat', 'timeseries'].includes(p.type), p.title);
    assert.equal(p.datasource, { type: 'prometheus', uid: '${datasource}' }, p.title);
    assert.ok(p.targets.length > 0, p.title);
    for (const t of p.targets) assert.equal(t.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title}: ${t.expr}`);
    assert.ok(p.gridPos.w > 0 && p.gridPos.h > 0 && p.gridPos.x + p.gridPos.w <= 24, p.title);
    assert.ok(p.description, `${p.title} says what it shows`);
  }
  const titles = panels.map((p: { title: string }) => p.title);
  // What the issue asks the dashboard to show.
  for (const t of ['Videos by status', 'Encodes running and started', 'Throughput', 'Encode time against video duration', 'Failures by reason and step', 'Disk usage and forecast', 'Store latency', 'Store errors', 'Requests by route', 'Latency by route', 'Errors by route', 'HLS bytes served', 'Leader by replica', 'Worker state']) {
    assert.ok(titles.includes(t), t);
  }
});

test('every query parses (promtool checks them as recording rules)', async () => {
  const exprs = await dashboardExprs();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-dashboard-'));
  try {
    const rules = exprs.map((expr, i) => ({ record: `vcs:dashboard_query_${i}`, expr: expr.replaceAll('$__rate_interval', '5m') }));
    const file = path.join(tmp, 'queries.yaml');
    await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const { stdout } = await run('promtool', ['check', 'rules', file]);
    assert.match(stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('the chart ships both: a PrometheusRule with the rules (runbook links rebased) and the dashboard ConfigMap for the sidecar', async () => {
  const objects = await renderChart('video', { metrics: { prometheusRule: { enabled: true, labels: { release: 'prometheus' }, runbookBaseUrl: 'https://git.example.com/vcs/README.md' }, grafanaDashboard: { enabled: true } } });
  assert.equal(validateObjects(objects), []);
  const rule = find(objects, 'PrometheusRule', FULLNAME);
  assert.is(rule.metadata.labels?.release, 'prometheus');
  const source = parse(await readFile(RULES_FILE, 'utf8'));
  const rebased = JSON.parse(JSON.stringify(source).replaceAll('README.md#', 'https://git.example.com/vcs/README.md#'));
  assert.equal(rule.spec, rebased);
  const cm = find(objects, 'ConfigMap', `${FULLNAME}-dashboard`);
  assert.is(cm.metadata.labels?.grafana_dashboard, '1');
  assert.is(cm.data['video-compression.json'], (await readFile(DASHBOARD_FILE, 'utf8')).trimEnd());
});

test('with enabled unset, the Prometheus Operator objects come with the operator’s API and not without it', async () => {
  const kinds = (objects: { kind: string }[]) => objects.map((o) => o.kind).filter((k) => k === 'PrometheusRule' || k === 'ServiceMonitor');
  assert.equal(kinds(await helmTemplate({ release: 'vcs', namespace: 'video' })), []);
  const withOperator = await helmTemplate({ release: 'vcs', namespace: 'video', apiVersions: ['monitoring.coreos.com/v1/PrometheusRule', 'monitoring.coreos.com/v1/ServiceMonitor'] });
  assert.equal(kinds(withOperator).sort(), ['PrometheusRule', 'ServiceMonitor']);
  const off = await helmTemplate({ release: 'vcs', namespace: 'video', apiVersions: ['monitoring.coreos.com/v1/PrometheusRule'], values: { metrics: { prometheusRule: { enabled: false } } } });
  assert.equal(kinds(off), []);
});

test('monitoring/ holds copies of the sources (run `npm run k8s` after changing them)', async () => {
  for (const [name, text] of Object.entries(await renderMonitoringFiles())) {
    assert.ok((await readFile(path.join(ROOT, 'monitoring', name), 'utf8')) === text, `monitoring/${name} is out of date: run \`npm run k8s\``);
  }
});

test.run();
