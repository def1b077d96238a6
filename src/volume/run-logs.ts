/**
 * The runs' own logs of a video (one file per attempt, src/volume/layout.ts), read for the
 * dashboard and the API (`vcs logs`): each run's name, when it last changed, and its last lines.
 */
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { videoLogsDir } from './layout.ts';

/** The end of a run's log that is shown (its files are capped at 256 KB anyway). */
const LOG_TAIL_BYTES = 64 * 1024;

export interface RunLog {
  job: string;
  modified: string;
  bytes: number;
  lines: string[];
}

/** Each run's log of a video, newest first; none when the video has no logs. */
export async function readRunLogs(tempPath: string, videoId: number): Promise<RunLog[]> {
  const dir = videoLogsDir(tempPath, videoId);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.log'));
  const logs = await Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      const info = await stat(file);
      const handle = await open(file, 'r');
      try {
        const length = Math.min(info.size, LOG_TAIL_BYTES);
        const { buffer } = await handle.read(Buffer.alloc(length), 0, length, info.size - length);
        const lines = buffer.toString('utf8').split('\n').filter(Boolean);
        // A tail that starts mid-line drops that partial line.
        if (info.size > length) lines.shift();
        return { job: name.slice(0, -'.log'.length), modified: info.mtime.toISOString(), bytes: info.size, lines };
      } finally {
        await handle.close();
      }
    }),
  );
  return logs.sort((a, b) => b.modified.localeCompare(a.modified));
}
