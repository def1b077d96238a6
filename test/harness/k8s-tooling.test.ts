/**
 * The offline Kubernetes tooling the chart's tests stand on (test/support/helm.ts,
 * test/support/k8s-schemas.ts): Helm 4 from .tools/ renders a throwaway chart into plain objects,
 * and the schemas catch what the API server would refuse — a wrong type, a value outside an enum,
 * in core kinds and in the Prometheus Operator's — and kinds they do not know.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HELM, KUBECTL, helm, helmTemplate, helmTemplateText, type K8sObject } from '../support/helm.ts';
import { hasSchema, validateObjects } from '../support/k8s-schemas.ts';

const test = suite('Kubernetes tooling');
let tmp = '';
let chart = '';

/** A Job whose fields come from values verbatim (toJson keeps a string a string), and a ServiceMonitor when the API has the kind. */
const THROWAWAY_CHART = {
  'Chart.yaml': 'apiVersion: v2\nname: throwaway\nversion: 0.1.0\n',
  'values.yaml': 'backoffLimit: 3\ncompletionMode: Indexed\ninterval: 30s\nfail: false\n',
  'templates/job.yaml': `{{- if .Values.fail }}{{ fail "asked to fail" }}{{ end -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-work
  namespace: {{ .Release.Namespace }}
spec:
  backoffLimit: {{ toJson .Values.backoffLimit }}
  completionMode: {{ .Values.completionMode }}
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: work
          image: busybox:1.36
`,
  'templates/servicemonitor.yaml': `{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    matchLabels:
      app: work
  endpoints:
    - port: metrics
      interval: {{ toJson .Values.interval }}
{{- end }}
`,
};

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-k8s-tooling-'));
  chart = path.join(tmp, 'throwaway');
  for (const [file, text] of Object.entries(THROWAWAY_CHART)) {
    await mkdir(path.dirname(path.join(chart, file)), { recursive: true });
    await writeFile(path.join(chart, file), text);
  }
});

test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('helm is Helm 4, kubectl runs without a cluster', async () => {
  const version = await helm(['version', '--short']);
  assert.is(version.code, 0, version.stderr);
  assert.match(version.stdout, /^v4\.\d+\.\d+/);
  const kubectl = await promisify(execFile)(KUBECTL, ['version', '--client']);
  assert.match(kubectl.stdout, /Client Version: v1\.\d+/);
  assert.ok(path.isAbsolute(HELM) && path.isAbsolute(KUBECTL));
});

test('the schemas cover core, batch and Prometheus Operator kinds', () => {
  for (const [apiVersion, kind] of [['v1', 'Pod'], ['batch/v1', 'Job'], ['apps/v1', 'Deployment'], ['monitoring.coreos.com/v1', 'ServiceMonitor'], ['monitoring.coreos.com/v1', 'PrometheusRule']]) {
    assert.ok(hasSchema(apiVersion!, kind!), `${apiVersion}/${kind}`);
  }
  assert.not.ok(hasSchema('batch/v1', 'JobSpec'), 'parts of objects are not kinds');
});

test('a chart renders into plain objects that validate clean', async () => {
  const objects = await helmTemplate({ chart, release: 'demo', namespace: 'media' });
  assert.is(objects.length, 1, 'no ServiceMonitor without the API');
  const [job] = objects as [K8sObject];
  assert.equal([job.apiVersion, job.kind, job.metadata.name, job.metadata.namespace], ['batch/v1', 'Job', 'demo-work', 'media']);
  assert.is(job.spec.backoffLimit, 3);
  assert.equal(validateObjects(objects), []);
  assert.match(await helmTemplateText({ chart, release: 'demo' }), '# Source: throwaway/templates/job.yaml');
});

test('a string where an integer belongs and a value outside an enum are both reported', async () => {
  const objects = await helmTemplate({ chart, values: { backoffLimit: '3', completionMode: 'indexed' } });
  assert.is(objects[0]?.spec.backoffLimit, '3');
  assert.equal(validateObjects(objects), [
    'Job/vcs-work: /spec/backoffLimit must be integer',
    'Job/vcs-work: /spec/completionMode must be equal to one of the allowed values ("Indexed", "NonIndexed")',
  ]);
});

test('a ServiceMonitor renders when the API has it, and a numeric interval is reported', async () => {
  const apiVersions = ['monitoring.coreos.com/v1/ServiceMonitor'];
  const good = await helmTemplate({ chart, apiVersions });
  assert.equal(good.map((o) => o.kind).sort(), ['Job', 'ServiceMonitor']);
  assert.equal(validateObjects(good), []);
  const bad = await helmTemplate({ chart, apiVersions, set: ['interval=30'] });
  assert.equal(validateObjects(bad), ['ServiceMonitor/vcs: /spec/endpoints/0/interval must be string']);
});

test('a kind without a schema is a problem unless allowed', () => {
  const widget = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
  assert.equal(validateObjects([widget]), ['Widget/w: no schema for example.com/v1/Widget']);
  assert.equal(validateObjects([widget], ['example.com/v1/Widget']), []);
});

test('a failing render throws with helm stderr; helm() itself returns the exit code', async () => {
  try {
    await helmTemplate({ chart, set: ['fail=true'] });
    assert.unreachable('the render should fail');
  } catch (err) {
    assert.instance(err, Error);
    assert.match((err as Error).message, 'asked to fail');
  }
  const missing = await helm(['template', 'x', path.join(tmp, 'no-such-chart')]);
  assert.is.not(missing.code, 0);
  assert.ok(missing.stderr.length > 0);
});

test.run();
