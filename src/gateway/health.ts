/**
 * Health: the original plan's shape (status, uptime, version, worker, storage, store) plus FFmpeg.
 * Slow facts (disk usage, FFmpeg's version) are cached and store pings shared, so probes stay cheap.
 */
import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { promisify } from 'node:util';
import { folderBytes } from '../files.ts';
import type { JobStore } from '../jobs/store.ts';
import { formatBytes } from './format.ts';
import type { WorkerState } from './ports.ts';

const run = promisify(execFile);

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  reasons: string[];
  uptime: number;
  version: string;
  worker: WorkerState | null;
  storage: { available: string; used: string; availableBytes: number; usedBytes: number };
  store: { kind: string; connected: boolean; lastPing: string | null; latencyMs: number | null };
  /** The original plan's key; present when STORE=appwrite. */
  appwrite?: { connected: boolean; lastPing: string | null };
  ffmpeg: { available: boolean; version: string | null };
}

export interface HealthReporter {
  report(): Promise<HealthReport>;
  ready(): Promise<{ ready: boolean; reasons: string[] }>;
  /** Bytes under HLS_PATH and free on its filesystem (cached 30 s). */
  /** `sizeBytes`: the filesystem's size, when it could be measured. */
  storage(): Promise<{ usedBytes: number; availableBytes: number; sizeBytes?: number }>;
  ffmpeg(): Promise<{ available: boolean; version: string | null }>;
}

function cached<T>(ttlMs: number, fn: () => Promise<T>): () => Promise<T> {
  let value: { at: number; v: Promise<T> } | undefined;
  return () => {
    if (!value || Date.now() - value.at > ttlMs) value = { at: Date.now(), v: fn() };
    return value.v;
  };
}

export interface HealthDeps {
  store: JobStore;
  storeKind: string;
  hlsPath: string;
  ffmpegPath: string;
  version: string;
  worker?: () => WorkerState;
  startedAt: number;
  /**
   * A store ping serves the checks of this many milliseconds: /health is public and not rate
   * limited (probes and monitors poll it), and with Appwrite each ping is an API call, so a flood
   * of checks costs one ping per second, not one per check. Defaults to 1000.
   */
  pingEveryMs?: number;
}

export function createHealth(deps: HealthDeps): HealthReporter {
  let lastPing: string | null = null;
  const usage = cached(30_000, () => folderBytes(deps.hlsPath));
  const ffmpeg = cached(300_000, async () => {
    try {
      const { stdout } = await run(deps.ffmpegPath, ['-hide_banner', '-version'], { timeout: 5000 });
      return { available: true, version: /ffmpeg version (\S+)/.exec(stdout)?.[1] ?? 'unknown' };
    } catch {
      return { available: false, version: null };
    }
  });
  /** Why the last ping failed (the store's own words, e.g. "Appwrite unavailable (ping): 500 …"). */
  let pingError = '';
  /** How long the last successful ping took (the dashboard's "store latency"). */
  let latencyMs: number | null = null;
  const ping = cached(deps.pingEveryMs ?? 1000, async () => {
    try {
      const t0 = performance.now();
      await deps.store.ping();
      latencyMs = Math.round((performance.now() - t0) * 10) / 10;
      lastPing = new Date().toISOString();
      return true;
    } catch (err) {
      pingError = (err as Error).message;
      return false;
    }
  });
  const unreachable = () => `store unreachable: ${pingError}`;
  return {
    async report() {
      const [connected, used, ff, fs] = await Promise.all([ping(), usage(), ffmpeg(), statfs(deps.hlsPath).catch(() => null)]);
      const available = fs ? fs.bavail * fs.bsize : 0;
      const reasons: string[] = [];
      if (!connected) reasons.push(unreachable());
      if (!ff.available) reasons.push('ffmpeg not available');
      if (!fs) reasons.push('HLS_PATH not readable');
      const w = deps.worker?.();
      return {
        status: reasons.length ? 'unhealthy' : 'healthy',
        reasons,
        uptime: Math.round((Date.now() - deps.startedAt) / 1000),
        version: deps.version,
        worker: w ? { status: w.status, lastRun: w.lastRun, jobsProcessed: w.jobsProcessed } : null,
        storage: { available: formatBytes(available), used: formatBytes(used), availableBytes: available, usedBytes: used },
        store: { kind: deps.storeKind, connected, lastPing, latencyMs },
        ...(deps.storeKind === 'appwrite' ? { appwrite: { connected, lastPing } } : {}),
        ffmpeg: ff,
      };
    },
    async storage() {
      const [used, fs] = await Promise.all([usage(), statfs(deps.hlsPath).catch(() => null)]);
      return { usedBytes: used, availableBytes: fs ? fs.bavail * fs.bsize : 0, ...(fs ? { sizeBytes: fs.blocks * fs.bsize } : {}) };
    },
    ffmpeg,
    async ready() {
      const connected = await ping();
      return { ready: connected, reasons: connected ? [] : [unreachable()] };
    },
  };
}
