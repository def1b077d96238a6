/**
 * The journals of the resumable maintenance commands (docs/adr/0021): JSON lines appended one
 * small write at a time, so a run that is killed loses at most the line it was writing; a reader
 * skips a line it cannot parse (the torn last one).
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface Journal<T> {
  /** What earlier runs wrote, in order. */
  readonly entries: readonly T[];
  append(entry: T): Promise<void>;
}

export async function openJournal<T extends object>(file: string): Promise<Journal<T>> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const entries: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as T);
    } catch {
      // a torn line from a killed run
    }
  }
  // A torn last line is ended, so the next entry starts a line of its own.
  let prefix = text && !text.endsWith('\n') ? '\n' : '';
  return {
    entries,
    async append(entry) {
      await mkdir(path.dirname(file), { recursive: true });
      await appendFile(file, `${prefix}${JSON.stringify(entry)}\n`);
      prefix = '';
      entries.push(entry);
    },
  };
}
