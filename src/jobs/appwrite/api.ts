/**
 * The two Appwrite API families behind one small interface: TablesDB (servers 1.8 and later) and
 * the Databases API (every 1.x server; deprecated since 1.8 but still served). They are mirror
 * images (rows ↔ documents, tables ↔ collections, columns ↔ attributes), so the store and the
 * setup are written once against `AppwriteApi` and never see which family is in use.
 *
 * node-appwrite has no timeout of its own (undici's 300 s apply), so every request carries an
 * AbortSignal that gives up after `timeoutMs`.
 */
import { AppwriteException, Client, Databases, DatabasesIndexType, TablesDB, TablesDBIndexType } from 'node-appwrite';
import type { ColumnSpec, IndexSpec } from './schema.ts';

export type ApiFamily = 'tablesdb' | 'databases';

export interface AppwriteConnection {
  /** Ends in /v1. */
  endpoint: string;
  projectId: string;
  apiKey: string;
  /** Milliseconds one request may take, answer body included. */
  timeoutMs: number;
}

/** A row (document) as the server sends it: system fields plus one key per column. */
export type AppwriteRow = Record<string, unknown> & { $id: string; $createdAt: string; $updatedAt: string; $sequence?: string | number };

export interface ColumnInfo {
  key: string;
  type: string;
  format?: string;
  status: string;
  error: string;
}

export interface IndexInfo {
  key: string;
  type: string;
  status: string;
  error: string;
  columns: string[];
}

export interface TableInfo {
  columns: ColumnInfo[];
  indexes: IndexInfo[];
}

export interface AppwriteApi {
  readonly family: ApiFamily;
  getDatabase(): Promise<void>;
  createDatabase(name: string): Promise<void>;
  getTable(table: string): Promise<TableInfo>;
  createTable(table: string, name: string): Promise<void>;
  createColumn(table: string, key: string, spec: ColumnSpec): Promise<void>;
  createIndex(table: string, index: IndexSpec): Promise<void>;
  listRows(table: string, queries: string[]): Promise<{ total: number; rows: AppwriteRow[] }>;
  getRow(table: string, id: string): Promise<AppwriteRow>;
  createRow(table: string, id: string, data: Record<string, unknown>): Promise<AppwriteRow>;
  /**
   * A PATCH of `data`. With `unchangedSince` (a `$updatedAt` read before) the server refuses with
   * 409 `row_update_conflict` when the row was written after it (X-Appwrite-Timestamp, docs/protocols/appwrite.md §7).
   */
  updateRow(table: string, id: string, data: Record<string, unknown>, unchangedSince?: string): Promise<AppwriteRow>;
}

/** A Client whose every request gives up after `timeoutMs`. */
class TimedClient extends Client {
  constructor(private readonly timeoutMs: number) {
    super();
  }

  override prepareRequest(...args: Parameters<Client['prepareRequest']>): ReturnType<Client['prepareRequest']> {
    const request = super.prepareRequest(...args);
    request.options.signal = AbortSignal.timeout(this.timeoutMs);
    return request;
  }
}

export function appwriteClient(conn: AppwriteConnection, headers: Record<string, string> = {}): Client {
  const client = appwriteGuestClient(conn).setKey(conn.apiKey);
  for (const [name, value] of Object.entries(headers)) client.addHeader(name, value);
  return client;
}

/** A client without the key: what the server sees as a guest, or as a user once given a session. */
export function appwriteGuestClient(conn: Pick<AppwriteConnection, 'endpoint' | 'projectId' | 'timeoutMs'>): Client {
  return new TimedClient(conn.timeoutMs).setEndpoint(conn.endpoint).setProject(conn.projectId);
}

const isRouteNotFound = (err: unknown): boolean => err instanceof AppwriteException && err.type === 'general_route_not_found';

/**
 * Which family the server speaks: TablesDB answers on 1.8 and later; older servers have no
 * /tablesdb routes at all (404 `general_route_not_found`). Any other failure is the caller's to
 * report (a missing database, a rejected key, an unreachable server).
 */
export async function detectFamily(conn: AppwriteConnection, databaseId: string): Promise<ApiFamily> {
  try {
    await new TablesDB(appwriteClient(conn)).get({ databaseId });
    return 'tablesdb';
  } catch (err) {
    if (isRouteNotFound(err)) return 'databases';
    if (err instanceof AppwriteException && err.code === 404 && err.type === 'database_not_found') return 'tablesdb';
    throw err;
  }
}

const rowsOf = (list: { rows?: unknown[]; documents?: unknown[] }) => (list.rows ?? list.documents ?? []) as AppwriteRow[];

function indexInfo(index: { key: string; type: string; status: string; error: string; columns?: string[]; attributes?: string[] }): IndexInfo {
  return { key: index.key, type: index.type, status: index.status, error: index.error, columns: index.columns ?? index.attributes ?? [] };
}

function columnInfo(column: unknown): ColumnInfo {
  const c = column as ColumnInfo;
  return { key: c.key, type: c.type, format: c.format, status: c.status, error: c.error };
}

/** Long text: off-row on every server version (a `string` this long is stored as TEXT). */
const LONG_STRING_SIZE = 16_384;

export function createAppwriteApi(conn: AppwriteConnection, family: ApiFamily, databaseId: string): AppwriteApi {
  const client = appwriteClient(conn);
  /** A one-off client for a request that needs its own header (the compare-and-set timestamp). */
  const withHeader = (headers: Record<string, string>) => appwriteClient(conn, headers);
  return family === 'tablesdb' ? tablesDbApi(new TablesDB(client), databaseId, (h) => new TablesDB(withHeader(h))) : databasesApi(new Databases(client), databaseId, (h) => new Databases(withHeader(h)));
}

function tablesDbApi(db: TablesDB, databaseId: string, withHeader: (h: Record<string, string>) => TablesDB): AppwriteApi {
  const at = (tableId: string) => ({ databaseId, tableId });
  /** `varchar` and `text` arrived with 1.9; a 1.8 server has `string` columns only. */
  const orString = async (create: () => Promise<unknown>, table: string, key: string, size: number, required: boolean, xdefault?: string) => {
    try {
      await create();
    } catch (err) {
      if (!isRouteNotFound(err)) throw err;
      await db.createStringColumn({ ...at(table), key, size, required, xdefault });
    }
  };
  const columns: { [K in ColumnSpec['kind']]: (table: string, key: string, spec: Extract<ColumnSpec, { kind: K }>) => Promise<unknown> } = {
    string: (t, key, s) => orString(() => db.createVarcharColumn({ ...at(t), key, size: s.size, required: s.required, xdefault: s.default }), t, key, s.size, s.required, s.default),
    text: (t, key, s) => orString(() => db.createTextColumn({ ...at(t), key, required: s.required }), t, key, LONG_STRING_SIZE, s.required),
    integer: (t, key, s) => db.createIntegerColumn({ ...at(t), key, required: s.required, min: s.min, max: s.max, xdefault: s.default }),
    float: (t, key, s) => db.createFloatColumn({ ...at(t), key, required: s.required, min: s.min, xdefault: s.default }),
    boolean: (t, key, s) => db.createBooleanColumn({ ...at(t), key, required: s.required, xdefault: s.default }),
    datetime: (t, key, s) => db.createDatetimeColumn({ ...at(t), key, required: s.required }),
    enum: (t, key, s) => db.createEnumColumn({ ...at(t), key, elements: [...s.elements], required: s.required, xdefault: s.default }),
    url: (t, key, s) => db.createUrlColumn({ ...at(t), key, required: s.required }),
  };
  return {
    family: 'tablesdb',
    getDatabase: async () => void (await db.get({ databaseId })),
    createDatabase: async (name) => void (await db.create({ databaseId, name })),
    getTable: async (table) => {
      const t = await db.getTable(at(table));
      return { columns: (t.columns as unknown[]).map(columnInfo), indexes: t.indexes.map(indexInfo) };
    },
    createTable: async (table, name) => void (await db.createTable({ ...at(table), name, permissions: [], rowSecurity: false })),
    createColumn: async (table, key, spec) => void (await (columns[spec.kind] as (t: string, k: string, s: ColumnSpec) => Promise<unknown>)(table, key, spec)),
    createIndex: async (table, index) =>
      void (await db.createIndex({ ...at(table), key: index.key, type: index.type === 'unique' ? TablesDBIndexType.Unique : TablesDBIndexType.Key, columns: index.columns })),
    listRows: async (table, queries) => {
      const list = await db.listRows({ ...at(table), queries });
      return { total: list.total, rows: rowsOf(list) };
    },
    getRow: async (table, id) => (await db.getRow({ ...at(table), rowId: id })) as AppwriteRow,
    createRow: async (table, id, data) => (await db.createRow({ ...at(table), rowId: id, data })) as AppwriteRow,
    updateRow: async (table, id, data, unchangedSince) => {
      const api = unchangedSince ? withHeader({ 'X-Appwrite-Timestamp': unchangedSince }) : db;
      return (await api.updateRow({ ...at(table), rowId: id, data })) as AppwriteRow;
    },
  };
}

function databasesApi(db: Databases, databaseId: string, withHeader: (h: Record<string, string>) => Databases): AppwriteApi {
  const at = (collectionId: string) => ({ databaseId, collectionId });
  // `string` attributes, not `varchar`/`text`: servers before 1.9 (the reason to use this API
  // family at all) know only those.
  const attributes: { [K in ColumnSpec['kind']]: (table: string, key: string, spec: Extract<ColumnSpec, { kind: K }>) => Promise<unknown> } = {
    string: (t, key, s) => db.createStringAttribute({ ...at(t), key, size: s.size, required: s.required, xdefault: s.default }),
    text: (t, key, s) => db.createStringAttribute({ ...at(t), key, size: LONG_STRING_SIZE, required: s.required }),
    integer: (t, key, s) => db.createIntegerAttribute({ ...at(t), key, required: s.required, min: s.min, max: s.max, xdefault: s.default }),
    float: (t, key, s) => db.createFloatAttribute({ ...at(t), key, required: s.required, min: s.min, xdefault: s.default }),
    boolean: (t, key, s) => db.createBooleanAttribute({ ...at(t), key, required: s.required, xdefault: s.default }),
    datetime: (t, key, s) => db.createDatetimeAttribute({ ...at(t), key, required: s.required }),
    enum: (t, key, s) => db.createEnumAttribute({ ...at(t), key, elements: [...s.elements], required: s.required, xdefault: s.default }),
    url: (t, key, s) => db.createUrlAttribute({ ...at(t), key, required: s.required }),
  };
  return {
    family: 'databases',
    getDatabase: async () => void (await db.get({ databaseId })),
    createDatabase: async (name) => void (await db.create({ databaseId, name })),
    getTable: async (table) => {
      const c = await db.getCollection(at(table));
      return { columns: (c.attributes as unknown[]).map(columnInfo), indexes: c.indexes.map(indexInfo) };
    },
    createTable: async (table, name) => void (await db.createCollection({ ...at(table), name, permissions: [], documentSecurity: false })),
    createColumn: async (table, key, spec) => void (await (attributes[spec.kind] as (t: string, k: string, s: ColumnSpec) => Promise<unknown>)(table, key, spec)),
    createIndex: async (table, index) =>
      void (await db.createIndex({ ...at(table), key: index.key, type: index.type === 'unique' ? DatabasesIndexType.Unique : DatabasesIndexType.Key, attributes: index.columns })),
    listRows: async (table, queries) => {
      const list = await db.listDocuments({ ...at(table), queries });
      return { total: list.total, rows: rowsOf(list) };
    },
    getRow: async (table, id) => (await db.getDocument({ ...at(table), documentId: id })) as AppwriteRow,
    createRow: async (table, id, data) => (await db.createDocument({ ...at(table), documentId: id, data })) as AppwriteRow,
    updateRow: async (table, id, data, unchangedSince) => {
      const api = unchangedSince ? withHeader({ 'X-Appwrite-Timestamp': unchangedSince }) : db;
      return (await api.updateDocument({ ...at(table), documentId: id, data })) as AppwriteRow;
    },
  };
}
