/**
 * `vcs appwrite setup`: creates what the Appwrite store needs (schema.ts), idempotently: the
 * database, the jobs table with its columns and indexes, and the control table. What exists is
 * left as it is and reported; running it again creates nothing. Columns and indexes are built by
 * the server in the background (202, `processing`), so it waits until each is `available`: an
 * index can only be made on available columns, and the store refuses to start before.
 */
import type { Settings } from '../../config.ts';
import { VcsError } from '../../errors.ts';
import { createAppwriteApi, detectFamily, type AppwriteApi, type ApiFamily, type ColumnInfo } from './api.ts';
import { classify, storeFailure, withRetries, type RetryPolicy } from './failures.ts';
import { columnProblems, REQUIRED_TABLES } from './schema-check.ts';
import { CONTROL_COLUMNS, CONTROL_TABLE, JOB_COLUMNS, JOB_INDEXES, type ColumnSpec, type IndexSpec } from './schema.ts';

export interface SetupOptions {
  databaseId: string;
  tableId: string;
  /** One line of output. */
  say: (line: string) => void;
  retry: RetryPolicy;
  /** How long to wait for the server to build columns and indexes. Defaults to 120 s. */
  waitTimeoutMs?: number;
  /** Defaults to 250 ms. */
  pollMs?: number;
}

export interface SetupOutcome {
  created: string[];
  existing: string[];
  /** Things setup cannot fix by itself (a column of another type, a failed index). */
  warnings: string[];
}

interface TablePlan {
  table: string;
  name: string;
  columns: Record<string, ColumnSpec>;
  indexes: readonly IndexSpec[];
}

const plans = (tableId: string): TablePlan[] => [
  { table: tableId, name: 'Videos (video compression service)', columns: JOB_COLUMNS, indexes: JOB_INDEXES },
  { table: CONTROL_TABLE, name: 'Video compression service control', columns: CONTROL_COLUMNS, indexes: [] },
];

/** How a spec reads in the output. */
function describeColumn(spec: ColumnSpec): string {
  const type = (() => {
    switch (spec.kind) {
      case 'string':
        return `string ${spec.size}`;
      case 'text':
        return 'long text';
      case 'integer':
        return `integer ${spec.min}–${spec.max}`;
      case 'enum':
        return `enum ${spec.elements.join('|')}`;
      default:
        return spec.kind;
    }
  })();
  const fixed = spec.required ? ', required' : 'default' in spec && spec.default !== undefined ? `, default ${String(spec.default)}` : '';
  return `${type}${fixed}`;
}

/** The server's column types a spec may find (either API family, any server version). */
const ACCEPTED_TYPES: Record<ColumnSpec['kind'], (c: ColumnInfo) => boolean> = {
  string: (c) => ['varchar', 'string', 'text', 'mediumtext', 'longtext'].includes(c.type) && !c.format,
  text: (c) => ['varchar', 'string', 'text', 'mediumtext', 'longtext'].includes(c.type) && !c.format,
  integer: (c) => c.type === 'integer' || c.type === 'bigint',
  float: (c) => c.type === 'double' || c.type === 'float',
  boolean: (c) => c.type === 'boolean',
  datetime: (c) => c.type === 'datetime',
  enum: (c) => c.format === 'enum',
  url: (c) => c.format === 'url' || (c.type === 'string' && !c.format),
};

export async function setupAppwrite(api: AppwriteApi, opts: SetupOptions): Promise<SetupOutcome> {
  const outcome: SetupOutcome = { created: [], existing: [], warnings: [] };
  const attempt = <T>(what: string, op: () => Promise<T>) => withRetries(what, op, opts.retry);
  const readTable = (table: string) => attempt(`read table ${table}`, () => api.getTable(table));
  const report = (done: 'created' | 'existing', what: string) => {
    outcome[done].push(what);
    opts.say(`${done === 'created' ? 'created' : 'exists '}  ${what}`);
  };
  const warn = (text: string) => {
    outcome.warnings.push(text);
    opts.say(`warning  ${text}`);
  };

  /** Creates unless it exists; a 409 (someone else just made it) counts as existing. */
  async function ensure(what: string, exists: boolean, create: () => Promise<void>): Promise<void> {
    if (exists) return report('existing', what);
    try {
      await attempt(`create ${what}`, create);
      report('created', what);
    } catch (err) {
      if (classify(err) !== 'conflict') throw err;
      report('existing', what);
    }
  }

  async function setUpTable(plan: TablePlan): Promise<void> {
    const info = await orMissing(readTable(plan.table));
    await ensure(`table ${plan.table}`, info !== null, () => api.createTable(plan.table, plan.name));
    const found = new Map((info?.columns ?? []).map((c) => [c.key, c]));
    for (const [key, spec] of Object.entries(plan.columns)) {
      const existing = found.get(key);
      if (existing && !ACCEPTED_TYPES[spec.kind](existing)) warn(`column ${plan.table}.${key} is ${existing.format ?? existing.type}, expected ${describeColumn(spec)}; left as it is`);
      await ensure(`column ${plan.table}.${key} (${describeColumn(spec)})`, existing !== undefined, () => api.createColumn(plan.table, key, spec));
    }
    // An index needs its columns available.
    await waitUntil(`columns of ${plan.table}`, async () => settled((await readTable(plan.table)).columns.filter((c) => c.key in plan.columns)) !== false);
    const indexes = new Set((info?.indexes ?? []).map((i) => i.key));
    for (const index of plan.indexes) {
      await ensure(`index ${plan.table}.${index.key} (${index.type} on ${index.columns.join(', ')})`, indexes.has(index.key), () => api.createIndex(plan.table, index));
    }
    if (plan.indexes.length === 0) return;
    await waitUntil(`indexes of ${plan.table}`, async () => {
      const failed = settled((await readTable(plan.table)).indexes.filter((i) => plan.indexes.some((p) => p.key === i.key)));
      for (const f of failed || []) warn(`index ${plan.table}.${f.key} failed: ${f.error || f.status} (for the unique wp_post_id index: two rows share a wp_post_id)`);
      return failed !== false;
    });
  }

  async function waitUntil(what: string, done: () => Promise<boolean>): Promise<void> {
    const limitMs = opts.waitTimeoutMs ?? 120_000;
    const deadline = Date.now() + limitMs;
    for (let first = true; !(await done()); first = false) {
      if (Date.now() > deadline) throw new Error(`the server is still building the ${what} after ${Math.round(limitMs / 1000)} s; run vcs appwrite setup again later`);
      if (first) opts.say(`waiting  for the server to build the ${what}`);
      await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 250));
    }
  }

  const database = await orMissing(attempt('read the database', () => api.getDatabase()));
  await ensure(`database ${opts.databaseId}`, database !== null, () => api.createDatabase('Video compression'));
  for (const plan of plans(opts.tableId)) await setUpTable(plan);
  // The same check the store makes when it starts (a column the server failed to build).
  for (const [table, columns] of REQUIRED_TABLES(opts.tableId)) {
    const problem = columnProblems(await readTable(table), columns);
    if (problem) throw new Error(`table ${table} ${problem}`);
  }
  opts.say(`${outcome.created.length} created, ${outcome.existing.length} already existed${outcome.warnings.length ? `, ${outcome.warnings.length} warnings` : ''}`);
  return outcome;
}

/** The failed items once none is being built any more, else false. */
function settled<T extends { status: string }>(items: T[]): T[] | false {
  if (items.some((i) => i.status !== 'available' && i.status !== 'failed' && i.status !== 'stuck')) return false;
  return items.filter((i) => i.status !== 'available');
}

/** A 404 for the database or the table means "not there yet" (null); any other failure is thrown. */
async function orMissing<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (err) {
    if (classify(err) === 'schema') return null;
    throw err;
  }
}

/** `vcs appwrite setup` from the settings; returns the exit code. */
export async function runAppwriteSetup(settings: Settings, out: (line: string) => void, errOut: (line: string) => void): Promise<number> {
  const { APPWRITE_ENDPOINT: endpoint, APPWRITE_PROJECT_ID: projectId, APPWRITE_API_KEY: apiKey } = settings;
  if (!endpoint || !projectId || !apiKey) {
    errOut('vcs appwrite setup: set APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID and APPWRITE_API_KEY (a key with the databases, tables, columns, indexes and rows scopes)');
    return 78; // EX_CONFIG
  }
  const connection = { endpoint, projectId, apiKey, timeoutMs: settings.APPWRITE_TIMEOUT };
  const retry: RetryPolicy = { retries: settings.APPWRITE_RETRIES, baseDelayMs: 200, maxDelayMs: 5000 };
  try {
    const family: ApiFamily = settings.APPWRITE_API === 'auto' ? await withRetries('detect the API', () => detectFamily(connection, settings.DATABASE_ID), retry) : settings.APPWRITE_API;
    out(`Appwrite ${endpoint}, project ${projectId}, ${family === 'tablesdb' ? 'TablesDB' : 'Databases'} API`);
    const outcome = await setupAppwrite(createAppwriteApi(connection, family, settings.DATABASE_ID), { databaseId: settings.DATABASE_ID, tableId: settings.COLLECTION_ID, say: out, retry });
    return outcome.warnings.length ? 1 : 0;
  } catch (err) {
    const failure = err instanceof VcsError ? err : storeFailure('setup', err);
    errOut(`vcs appwrite setup: ${(failure as Error).message}`);
    return 1;
  }
}
