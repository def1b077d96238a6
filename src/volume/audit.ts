/**
 * The admins' audit journal on the volume: one JSON line per dashboard action (who, when, what),
 * appended to STORAGE_PATH/audit/audit-YYYY-MM.jsonl by whichever gateway served it, so every
 * replica reads the same history and it outlives restarts. Lines are small single writes in
 * append mode; a reader skips a line it cannot parse.
 */
import { appendFile, mkdir, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  /** The call as made, e.g. "POST /api/worker/pause". */
  call: string;
  wp_post_id?: number;
}

export const auditDir = (storagePath: string): string => path.join(storagePath, 'audit');

const fileFor = (storagePath: string, at: string): string => path.join(auditDir(storagePath), `audit-${at.slice(0, 7)}.jsonl`);

export async function appendAudit(storagePath: string, entry: AuditEntry): Promise<void> {
  await mkdir(auditDir(storagePath), { recursive: true });
  await appendFile(fileFor(storagePath, entry.at), `${JSON.stringify(entry)}\n`);
}

/** The newest `limit` entries (from the latest files, read from their ends). */
export async function recentAudit(storagePath: string, limit: number): Promise<AuditEntry[]> {
  const files = (await readdir(auditDir(storagePath)).catch(() => [] as string[])).filter((n) => /^audit-\d{4}-\d{2}\.jsonl$/.test(n)).sort().reverse();
  const out: AuditEntry[] = [];
  for (const name of files) {
    const file = path.join(auditDir(storagePath), name);
    const { size } = await stat(file);
    const length = Math.min(size, 256 * 1024);
    const handle = await open(file, 'r');
    let text: string;
    try {
      text = (await handle.read(Buffer.alloc(length), 0, length, size - length)).buffer.toString('utf8');
    } finally {
      await handle.close();
    }
    const lines = text.split('\n').filter(Boolean);
    if (size > length) lines.shift();
    for (const line of lines.reverse()) {
      try {
        out.push(JSON.parse(line) as AuditEntry);
      } catch {
        // a torn or foreign line: skipped
      }
      if (out.length >= limit) return out;
    }
  }
  return out;
}
