/**
 * Health: the original plan's shape (status, uptime, version, worker, storage, store) plus FFmpeg.
 * Slow facts (disk usage, FFmpeg's version) are cached so probes stay cheap.
 */
import { execFile } from 'node:child_process';
import { readdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkerStatus } from '../controller/controller.ts';
import type { JobStore } from '../jobs/store.ts';
import { formatBytes } from './format.ts';

const run = promisify(execFile);

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  reasons: string[];
  uptime: number;
  version: string;
  worker: Pick<WorkerStatus, 'status' | 'lastRun' | 'jobsProcessed'> | null;
  storage: { available: string; used: string; availableBytes: number; usedBytes: number };
  store: { kind: string; connected: boolean; lastPing: string | null };
  /** The original plan's key; present when STORE=appwrite. */
  appwrite?: { connected: boolean; lastPing: string | null };
  ffmpeg: { available: boolean; version: string | null };
}

export interface HealthReporter {
  report(): Promise<HealthReport>;
  ready(): Promise<{ ready: boolean; reasons: string[] }>;
  /** Bytes under HLS_PATH and free on its filesystem (cached 30 s). */
  storage(): Promise<{ usedBytes: number; availableBytes: number }>;
  ffmpeg(): Promise<{ available: boolean; version: string | null }>;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isFile()) total += await stat(path.join(e.parentPath, e.name)).then((s) => s.size, () => 0);
  return total;
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
  worker?: () => WorkerStatus;
  startedAt: number;
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
  const ping = async () => {
    try {
      await deps.store.ping();
      lastPing = new Date().toISOString();
      return true;
    } catch (err) {
      pingError = (err as Error).message;
      return false;
    }
  };
  const unreachable = () => `store unreachable: ${pingError}`;
  return {
    async report() {
      const [connected, used, ff, fs] = await Promise.all([ping(), usage(), ffmpeg(), statfs(deps.hlsPath).catch(() => null)]);
      const available = fs ? fs.bavail * fs.bsize : 0;
      const reasons: string[] = [];
      if (!connected) reasons.push(unreachable());
      if (!ff.available) reasons.push('ffmpeg not available');
      if (!fs) reasons.push('HLS_PATH not readable');
      const worker = deps.worker?.();
      return {
        status: reasons.length ? 'unhealthy' : 'healthy',
        reasons,
        uptime: Math.round((Date.now() - deps.startedAt) / 1000),
        version: deps.version,
        worker: worker ? { status: worker.status, lastRun: worker.lastRun, jobsProcessed: worker.jobsProcessed } : null,
        storage: { available: formatBytes(available), used: formatBytes(used), availableBytes: available, usedBytes: used },
        store: { kind: deps.storeKind, connected, lastPing },
        ...(deps.storeKind === 'appwrite' ? { appwrite: { connected, lastPing } } : {}),
        ffmpeg: ff,
      };
    },
    async storage() {
      const [used, fs] = await Promise.all([usage(), statfs(deps.hlsPath).catch(() => null)]);
      return { usedBytes: used, availableBytes: fs ? fs.bavail * fs.bsize : 0 };
    },
    ffmpeg,
    async ready() {
      const connected = await ping();
      return { ready: connected, reasons: connected ? [] : [unreachable()] };
    },
  };
}
