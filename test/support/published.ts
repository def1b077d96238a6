/**
 * A storage folder as a running service leaves it: a SQLite store whose videos are completed, and
 * their packages in HLS_PATH, made by the real transcoder (in process) from one tiny generated clip
 * — 4 s, 320x180, ultrafast, 2-s segments, a low rung of 144 lines: two renditions (high at the
 * source's size, low) of two segments each, in a couple of seconds — and copied to every id, as the
 * maintenance commands find them.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig, type Settings } from '../../src/config.ts';
import { ladderFromSettings, type TranscodeOutput } from '../../src/contract.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { packageUrls } from '../../src/jobs/urls.ts';
import type { MaintenanceArgs } from '../../src/roots/maintenance.ts';
import { packageDir } from '../../src/volume/layout.ts';
import { RunState, transcode } from '../../transcoder/pipeline.ts';
import { createProgressSink } from '../../transcoder/progress.ts';
import { makeClip } from './media.ts';

export const PUBLIC_URL = 'https://videos.example.com';

/** The options of `vcs maintenance` at their defaults, for runMaintenance in process. */
export const ARGS: MaintenanceArgs = { dryRun: false, deep: false, mark: false, removeOld: false, status: 'completed', rate: '60/h' };

/** Settings of the world, as environment for `vcs` children. */
export const worldEnv = (storage: string): Record<string, string> => ({
  STORAGE_PATH: storage,
  PUBLIC_URL,
  VIDEO_PRESET: 'ultrafast',
  SEGMENT_DURATION: '2',
  KEYFRAME_INTERVAL: '2',
  LOW_RESOLUTION: '144',
  LOG_LEVEL: 'warn',
});

export interface PublishedWorld {
  storage: string;
  hlsPath: string;
  settings: Settings;
  env: Record<string, string>;
  store: JobStore;
  /** What the transcoder reported for the package every id got. */
  output: TranscodeOutput;
  dir: (id: number) => string;
  /** Adds a completed document for `id` (its package must be there, or is meant to be missing). */
  publish: (id: number) => Promise<void>;
  close: () => Promise<void>;
}

export async function publishedWorld(ids: number[]): Promise<PublishedWorld> {
  const storage = await mkdtemp(path.join(os.tmpdir(), 'vcs-maintenance-'));
  const env = worldEnv(storage);
  const settings = loadConfig(env);
  const log = pino({ level: 'silent' });
  const clip = await makeClip(path.join(storage, 'clip.mp4'), { width: 320, height: 180, seconds: 4, audio: 2 });
  const dir = (id: number) => packageDir(settings.HLS_PATH, id);
  const [first, ...rest] = ids;
  const jobName = `vcs-${first}-1`;
  const output = await transcode(
    { jobName, videoId: first!, sourceUrl: clip, outputDir: dir(first!), workDir: path.join(settings.TEMP_PATH, 'work', jobName), ladder: ladderFromSettings(settings), resultPath: '' },
    {
      ffmpeg: settings.FFMPEG_PATH,
      ffprobe: settings.FFPROBE_PATH,
      fetch: { maxBytes: 1e9, timeoutMs: 60_000, idleTimeoutMs: 60_000, maxRedirects: 0, allowPrivate: false },
      allowLocalSources: true,
      log,
      progress: createProgressSink({ jobName, videoId: first!, log }),
      signal: new AbortController().signal,
    },
    new RunState(Date.now),
  );
  for (const id of rest) await cp(dir(first!), dir(id), { recursive: true });
  const store = createSqliteStore({ file: path.join(storage, 'vcs.sqlite'), now: Date.now });
  await store.init();
  const publish = async (id: number) => {
    await store.create({ wp_post_id: id, title: `Video ${id}`, original_video_url: `https://example.com/${id}.mp4` });
    await store.transition(id, 'processing', { job_name: `vcs-${id}-1`, started_at: new Date().toISOString() });
    await store.transition(id, 'completed', { ...packageUrls(PUBLIC_URL, id, output), total_size: output.totalBytes, completed_at: new Date().toISOString() });
  };
  for (const id of ids) await publish(id);
  return {
    storage,
    hlsPath: settings.HLS_PATH,
    settings,
    env,
    store,
    output,
    dir,
    publish,
    close: async () => {
      await store.close();
      await rm(storage, { recursive: true, force: true });
    },
  };
}
