/**
 * What the store checks when it opens: the database, the jobs table with every column available,
 * and the control table. A gap is a configuration error, reported once at start with its fix
 * (`vcs appwrite setup`), instead of a query failing on every pass.
 */
import { vcsError } from '../../errors.ts';
import type { AppwriteApi, TableInfo } from './api.ts';
import { CONTROL_COLUMNS, CONTROL_TABLE, JOB_COLUMN_KEYS } from './schema.ts';

type Attempt = <T>(what: string, operation: () => Promise<T>) => Promise<T>;

/** Tables the store uses and the columns each must have. */
export const REQUIRED_TABLES = (tableId: string): [table: string, columns: readonly string[]][] => [
  [tableId, JOB_COLUMN_KEYS],
  [CONTROL_TABLE, Object.keys(CONTROL_COLUMNS)],
];

/** What is wrong with `info` for `columns`, or null. */
export function columnProblems(info: TableInfo, columns: readonly string[]): string | null {
  const byKey = new Map(info.columns.map((c) => [c.key, c]));
  const missing = columns.filter((key) => !byKey.has(key));
  if (missing.length) return `lacks the columns ${missing.join(', ')}`;
  const failed = columns.map((key) => byKey.get(key)!).filter((c) => c.status === 'failed' || c.status === 'stuck');
  if (failed.length) return `has columns the server failed to create: ${failed.map((c) => `${c.key} (${c.error || c.status})`).join(', ')}`;
  const pending = columns.filter((key) => byKey.get(key)!.status !== 'available');
  if (pending.length) return `has columns still being created (${pending.join(', ')})`;
  return null;
}

/** Throws the first problem found; Appwrite's own failures (a 404, a 401) are the caller's to word. */
export async function checkSchema(api: AppwriteApi, ids: { databaseId: string; tableId: string }, attempt: Attempt): Promise<void> {
  await attempt(`database ${ids.databaseId}`, () => api.getDatabase());
  for (const [table, columns] of REQUIRED_TABLES(ids.tableId)) {
    const info = await attempt(`table ${table}`, () => api.getTable(table));
    const problem = columnProblems(info, columns);
    if (problem) throw vcsError('VCS_ERR_STORE_UNAVAILABLE', `Appwrite table ${ids.databaseId}/${table} ${problem}: run vcs appwrite setup`);
  }
}
