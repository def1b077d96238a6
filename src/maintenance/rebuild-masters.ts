/**
 * `vcs maintenance rebuild-masters`: each published master playlist written again from its package
 * on disk — bit rates measured from the segment files, codecs read from the first segments
 * (transcoder/self-check.ts), sizes and frame rates from manifest.json — by the transcoder's own
 * renderer (transcoder/playlist.ts), so a rebuilt master is the one the transcoder would write
 * today. Nothing is re-encoded. The new master replaces the old one with a rename (players see
 * one or the other, never half a file); a master that is already right is left untouched, so
 * caches keep it.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { VideoJob } from '../jobs/model.ts';
import type { Logger } from '../log.ts';
import { packageDir } from '../volume/layout.ts';
import { renderPackageMaster } from '../../transcoder/playlist.ts';
import { checkMaster } from '../../transcoder/self-check.ts';
import { measurePackage, readManifest } from './package.ts';

/** Writes the measured master of the package in `dir` unless it is there already; whether it changed (or, dry, would). */
export async function rebuildMaster(dir: string, dryRun: boolean): Promise<{ changed: boolean }> {
  const measured = await measurePackage(dir, await readManifest(dir));
  const text = renderPackageMaster(measured.map((m) => m.result));
  const master = path.join(dir, 'master.m3u8');
  const old = await readFile(master, 'utf8').catch(() => null);
  if (old === text) return { changed: false };
  if (dryRun) return { changed: true };
  // A dot name: the HLS file server never serves it (gateway/hls/file-lookup.ts).
  const temp = path.join(dir, `.master.m3u8.rebuild-${process.pid}`);
  try {
    await writeFile(temp, text);
    await rename(temp, master);
  } finally {
    await rm(temp, { force: true });
  }
  await checkMaster(dir, measured);
  return { changed: true };
}

export interface RebuildReport {
  checked: number;
  rewritten: number[];
  /** Packages that cannot be measured (a segment or playlist missing, no manifest): their masters are left as they are. */
  failed: { wp_post_id: number; reason: string }[];
  /** Stopped by the signal before every video was visited. */
  stopped: boolean;
}

export async function rebuildMasters(o: { videos: VideoJob[]; hlsPath: string; dryRun: boolean; signal: AbortSignal; log: Logger }): Promise<RebuildReport> {
  const report: RebuildReport = { checked: 0, rewritten: [], failed: [], stopped: false };
  for (const [i, video] of o.videos.entries()) {
    if (o.signal.aborted) {
      report.stopped = true;
      break;
    }
    report.checked += 1;
    const id = video.wp_post_id;
    try {
      const { changed } = await rebuildMaster(packageDir(o.hlsPath, id), o.dryRun);
      if (changed) report.rewritten.push(id);
      o.log.info({ videoId: id, changed, dryRun: o.dryRun, done: i + 1, of: o.videos.length }, 'master playlist rebuilt');
    } catch (err) {
      const reason = (err as Error).message.replace(/^self-check: /, '');
      report.failed.push({ wp_post_id: id, reason });
      o.log.warn({ videoId: id, reason, done: i + 1, of: o.videos.length }, 'master playlist not rebuilt');
    }
  }
  return report;
}
