/**
 * Helm 4 and kubectl as the chart's tests run them: offline, from .tools/ (scripts/install.sh puts
 * them there), never against a cluster. `helmTemplate` renders a chart into the objects it would
 * apply; test/support/k8s-schemas.ts checks those against the Kubernetes schemas.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { ROOT } from './vcs.ts';

/** A rendered Kubernetes object: the fields every kind has, the rest untyped. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: any;
};

/** Fails when the file is missing, so a test without the tools says how to get them. */
function tool(relative: string): string {
  const file = path.join(ROOT, relative);
  if (!existsSync(file)) throw new Error(`${relative} is missing: run scripts/install.sh (it installs Helm and kubectl into .tools/)`);
  return file;
}

export const HELM = tool('.tools/helm/helm');
export const KUBECTL = tool('.tools/kubectl/kubectl');
export const CHART = path.join(ROOT, 'charts/video-compression');

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Rendered charts run to a few hundred kB; this leaves plenty of room. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** `helm template` of a local chart takes well under a second; a hang fails the test instead of stalling it. */
const HELM_TIMEOUT_MS = 60_000;

/**
 * `helm <args>`. A non-zero exit is an answer (code and stderr), not an error; it rejects only
 * when helm cannot be started or is killed (the timeout).
 */
export function helm(args: string[]): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile(HELM, args, { encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES, timeout: HELM_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      if (typeof err.code === 'number') return resolve({ code: err.code, stdout, stderr });
      reject(new Error(`helm ${args.join(' ')}: ${err.signal ? `killed by ${err.signal}` : err.message}\n${stderr}`));
    });
  });
}

export interface TemplateOptions {
  /** Defaults to `vcs`. */
  release?: string;
  /** Defaults to `default`. */
  namespace?: string;
  /** Values, written to a YAML file passed with `-f`. */
  values?: object;
  /** `--set` arguments (`key=value`), applied after `values`. */
  set?: string[];
  /** `--api-versions` arguments (`monitoring.coreos.com/v1`, `monitoring.coreos.com/v1/ServiceMonitor`): what `.Capabilities.APIVersions.Has` sees. */
  apiVersions?: string[];
  /** Defaults to CHART. */
  chart?: string;
}

/** `helm template`'s output; throws with helm's stderr when it fails. */
export async function helmTemplateText(opts: TemplateOptions = {}): Promise<string> {
  const { release = 'vcs', namespace = 'default', chart = CHART } = opts;
  const args = ['template', release, chart, '--namespace', namespace];
  let tmp: string | undefined;
  try {
    if (opts.values) {
      tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-helm-'));
      const file = path.join(tmp, 'values.yaml');
      await writeFile(file, stringify(opts.values));
      args.push('-f', file);
    }
    for (const s of opts.set ?? []) args.push('--set', s);
    for (const v of opts.apiVersions ?? []) args.push('--api-versions', v);
    const run = await helm(args);
    if (run.code !== 0) throw new Error(`helm ${args.join(' ')} exited with ${run.code}:\n${run.stderr}`);
    return run.stdout;
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The objects `helm template` renders, as plain data. Parsed as YAML 1.1, as Helm and kubectl
 * read manifests (sigs.k8s.io/yaml), so an unquoted `yes` or `on` is the boolean the API server
 * would get. Documents that render empty (only comments) are left out.
 */
export async function helmTemplate(opts: TemplateOptions = {}): Promise<K8sObject[]> {
  const text = await helmTemplateText(opts);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length > 0) throw new Error(`helm template rendered invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}\n${text}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value as K8sObject);
  }
  return objects;
}
