/** Where the monitoring sources live (one source, shipped by the chart and as plain files). */
import path from 'node:path';
import { ROOT } from './vcs.ts';

export const RULES_FILE = path.join(ROOT, 'charts/video-compression/files/prometheus-rules.yaml');
export const DASHBOARD_FILE = path.join(ROOT, 'charts/video-compression/files/grafana-dashboard.json');
