/** Where the monitoring sources live (one source, shipped by the chart and as plain files). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './vcs.ts';

export const RULES_FILE = path.join(ROOT, 'charts/video-compression/files/prometheus-rules.yaml');
export const DASHBOARD_FILE = path.join(ROOT, 'charts/video-compression/files/grafana-dashboard.json');

/** Every PromQL expression of the dashboard's panels. */
export async function dashboardExprs(): Promise<string[]> {
  const d = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/** Every expression of the alert rules. */
export async function ruleExprs(): Promise<string[]> {
  const rules = parse(await readFile(RULES_FILE, 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

/**
 * The metric names an expression reads (`vcs_*`), histogram series folded into their metric
 * (`vcs_x_bucket` → `vcs_x`) when `histograms` knows it as one.
 */
export function metricNames(expr: string, histograms: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  for (const [name] of expr.matchAll(/\bvcs_[a-z0-9_]+/g)) {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    names.add(base !== name && histograms.has(base) ? base : name);
  }
  return [...names];
}
