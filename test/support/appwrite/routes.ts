/**
 * The fake Appwrite server's routes (appwrite-server.ts serves them): one list per path family,
 * in the OpenAPI spec's path templates, each with the scope it needs and its handler. Databases,
 * tables, columns, indexes and rows as Appwrite 1.9 creates, reads and refuses them.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { parseQueries, queryStrings, runQueries } from './queries.ts';
import {
  AppwriteError, capital, checkData, checkId, checkUnique, COLUMN_TYPES, refresh, renderColumn, renderDatabase, renderIndex, renderRow, renderTable,
  type ColumnType, type Family, type FakeColumn, type FakeDatabase, type FakeIndex, type FakeRow, type FakeTable,
} from './records.ts';

export interface Call {
  params: Record<string, string>;
  search: URLSearchParams;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

export interface Reply {
  status: number;
  body?: unknown;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** OpenAPI path template under /v1, e.g. /tablesdb/{databaseId}/tables/{tableId}/rows. */
  path: string;
  /** Appwrite scope the route needs; guests have the rows/documents ones. */
  scope: string;
  handle(call: Call): Reply;
}

/** The SDK's `ID.unique()` shape: 20 hex digits. */
const uniqueId = () => randomBytes(10).toString('hex');

/** The routes of one family over `databases`, in the spec's path templates. */
export function familyRoutes(f: Family, databases: Map<string, FakeDatabase>, opts: { now: () => number; buildMs: number; withoutVarchar: boolean }): Route[] {
  const base = `/${f.name}`;
  const db = `${base}/{databaseId}`;
  const table = `${db}/${f.tables}/{${f.tableId}}`;
  const rows = `${table}/${f.rows}`;
  const row = `${rows}/{${f.rowId}}`;
  const scope = (what: string, write: boolean) => `${what}.${write ? 'write' : 'read'}`;
  const tableScope = f.name === 'tablesdb' ? 'tables' : 'collections';

  const getDb = (c: Call) => {
    const d = databases.get(c.params.databaseId!);
    if (!d) throw new AppwriteError(404, 'database_not_found', `Database with the requested ID '${c.params.databaseId}' could not be found.`);
    return d;
  };
  const getTable = (c: Call) => {
    const t = getDb(c).tables.get(c.params[f.tableId]!);
    if (!t) throw new AppwriteError(404, `${f.table}_not_found`, `${capital(f.table)} with the requested ID '${c.params[f.tableId]}' could not be found.`);
    refresh(t);
    return t;
  };
  const getRow = (c: Call, t: FakeTable) => {
    const r = t.rows.get(c.params[f.rowId]!);
    if (!r) throw new AppwriteError(404, `${f.row}_not_found`, `${capital(f.row)} with the requested ID '${c.params[f.rowId]}' could not be found.`);
    return r;
  };
  const stamp = () => opts.now();

  const routes: Route[] = [
    {
      method: 'POST', path: base, scope: 'databases.write',
      handle: (c) => {
        const id = checkId('databaseId', c.body.databaseId);
        if (databases.has(id)) throw new AppwriteError(409, 'database_already_exists', 'Database with the requested ID already exists. Try again with a different ID.');
        const d: FakeDatabase = { id, name: String(c.body.name ?? id), type: f.name === 'tablesdb' ? 'tablesdb' : 'legacy', enabled: c.body.enabled !== false, createdAt: stamp(), updatedAt: stamp(), tables: new Map() };
        databases.set(id, d);
        return { status: 201, body: renderDatabase(d) };
      },
    },
    { method: 'GET', path: db, scope: 'databases.read', handle: (c) => ({ status: 200, body: renderDatabase(getDb(c)) }) },
    {
      method: 'POST', path: `${db}/${f.tables}`, scope: scope(tableScope, true),
      handle: (c) => {
        const d = getDb(c);
        const id = checkId(f.tableId, c.body[f.tableId]);
        if (d.tables.has(id)) throw new AppwriteError(409, `${f.table}_already_exists`, `${capital(f.table)} with the requested ID already exists. Try again with a different ID.`);
        const t: FakeTable = {
          id, name: String(c.body.name ?? id), enabled: c.body.enabled !== false, security: c.body[f.security] === true, permissions: (c.body.permissions as string[]) ?? [],
          createdAt: stamp(), updatedAt: stamp(), columns: new Map(), indexes: new Map(), rows: new Map(), nextSequence: 1,
        };
        d.tables.set(id, t);
        return { status: 201, body: renderTable(f, d.id, t) };
      },
    },
    { method: 'GET', path: table, scope: scope(tableScope, false), handle: (c) => ({ status: 200, body: renderTable(f, c.params.databaseId!, getTable(c)) }) },
    {
      method: 'GET', path: `${table}/${f.columns}`, scope: scope(tableScope, false),
      handle: (c) => {
        const columns = [...getTable(c).columns.values()].map(renderColumn);
        return { status: 200, body: { total: columns.length, [f.columns]: columns } };
      },
    },
    ...COLUMN_TYPES.filter((type) => !(opts.withoutVarchar && f.name === 'tablesdb' && (type === 'varchar' || type === 'text'))).map((type): Route => ({
      method: 'POST', path: `${table}/${f.columns}/${type}`, scope: scope(tableScope, true),
      handle: (c) => ({ status: 202, body: renderColumn(createColumn(f, getTable(c), type, c.body, stamp(), opts.buildMs)) }),
    })),
    {
      method: 'GET', path: `${table}/${f.columns}/{key}`, scope: scope(tableScope, false),
      handle: (c) => {
        const column = getTable(c).columns.get(c.params.key!);
        if (!column) throw new AppwriteError(404, `${f.column}_not_found`, `${capital(f.column)} with the requested key '${c.params.key}' could not be found.`);
        return { status: 200, body: renderColumn(column) };
      },
    },
    {
      method: 'GET', path: `${table}/indexes`, scope: scope(tableScope, false),
      handle: (c) => {
        const indexes = [...getTable(c).indexes.values()].map((i) => renderIndex(f, i));
        return { status: 200, body: { total: indexes.length, indexes } };
      },
    },
    {
      method: 'POST', path: `${table}/indexes`, scope: scope(tableScope, true),
      handle: (c) => ({ status: 202, body: renderIndex(f, createIndex(f, getTable(c), c.body, stamp(), opts.buildMs)) }),
    },
    {
      method: 'GET', path: `${table}/indexes/{key}`, scope: scope(tableScope, false),
      handle: (c) => {
        const index = getTable(c).indexes.get(c.params.key!);
        if (!index) throw new AppwriteError(404, 'index_not_found', `Index with the requested key '${c.params.key}' could not be found.`);
        return { status: 200, body: renderIndex(f, index) };
      },
    },
    {
      method: 'GET', path: rows, scope: scope(f.rows, false),
      handle: (c) => {
        const t = getTable(c);
        const parsed = parseQueries(queryStrings(c.search), t);
        const { total, rows: found } = runQueries(f, t, parsed, c.search.get('total') !== 'false');
        return { status: 200, body: { total, [f.rows]: found.map((r) => renderRow(f, c.params.databaseId!, t, r, parsed.select)) } };
      },
    },
    {
      method: 'POST', path: rows, scope: scope(f.rows, true),
      handle: (c) => {
        const t = getTable(c);
        const requested = c.body[f.rowId];
        const id = requested === 'unique()' ? uniqueId() : checkId(f.rowId, requested);
        if (t.rows.has(id)) throw new AppwriteError(409, `${f.row}_already_exists`, `${capital(f.row)} with the requested ID '${id}' already exists. Try again with a different ID or use ID.unique() to generate a unique ID.`);
        const r: FakeRow = { id, sequence: t.nextSequence, createdAt: stamp(), updatedAt: stamp(), permissions: (c.body.permissions as string[]) ?? [], data: checkData(f, t, c.body.data, false) };
        checkUnique(f, t, r);
        t.nextSequence += 1;
        t.rows.set(id, r);
        return { status: 201, body: renderRow(f, c.params.databaseId!, t, r) };
      },
    },
    {
      method: 'GET', path: row, scope: scope(f.rows, false),
      handle: (c) => {
        const t = getTable(c);
        const select = parseQueries(queryStrings(c.search), t).select;
        return { status: 200, body: renderRow(f, c.params.databaseId!, t, getRow(c, t), select) };
      },
    },
    {
      method: 'PATCH', path: row, scope: scope(f.rows, true),
      handle: (c) => {
        const t = getTable(c);
        const r = getRow(c, t);
        const data = c.body.data ?? {};
        if (Object.keys(data).length === 0 && c.body.permissions === undefined) throw new AppwriteError(400, `${f.row}_missing_payload`, `The ${f.row} payload is missing.`);
        // X-Appwrite-Timestamp: refuse when the row changed after the caller read it (docs/protocols/appwrite.md §7).
        const since = c.headers['x-appwrite-timestamp'];
        if (typeof since === 'string' && r.updatedAt > Date.parse(since)) throw new AppwriteError(409, `${f.row}_update_conflict`, `Remote ${f.row} is newer than local.`);
        const next: FakeRow = { ...r, data: { ...r.data, ...checkData(f, t, data, true) }, permissions: (c.body.permissions as string[]) ?? r.permissions };
        // utopia-php/database skips a write that changes nothing, $updatedAt included.
        if (JSON.stringify(next.data) !== JSON.stringify(r.data) || next.permissions !== r.permissions) {
          checkUnique(f, t, next);
          next.updatedAt = stamp();
          t.rows.set(r.id, next);
        }
        return { status: 200, body: renderRow(f, c.params.databaseId!, t, t.rows.get(r.id)!) };
      },
    },
    {
      method: 'DELETE', path: row, scope: scope(f.rows, true),
      handle: (c) => {
        const t = getTable(c);
        t.rows.delete(getRow(c, t).id);
        return { status: 204 };
      },
    },
  ];
  return routes;
}

function createColumn(f: Family, t: FakeTable, type: ColumnType, body: Record<string, unknown>, now: number, buildMs: number): FakeColumn {
  const key = body.key;
  if (typeof key !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,35}$/.test(key)) throw new AppwriteError(400, 'general_argument_invalid', 'Invalid `key` param: Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can\'t start with a special char');
  if (t.columns.has(key)) throw new AppwriteError(409, `${f.column}_already_exists`, `${capital(f.column)} with the requested key already exists. ${capital(f.column)} keys must be unique, try again with a different key.`);
  const required = body.required === true;
  const fallback = body.default ?? null;
  if (required && fallback !== null) throw new AppwriteError(400, `${f.column}_default_unsupported`, `Cannot set default value for required ${f.column}`);
  const sized = type === 'varchar' || type === 'string';
  if (sized && !(Number.isInteger(body.size) && (body.size as number) >= 1 && (body.size as number) <= (type === 'varchar' ? 16_381 : 1_073_741_824))) {
    throw new AppwriteError(400, 'general_argument_invalid', 'Invalid `size` param: Value must be a valid range between 1 and 16,381');
  }
  if (type === 'enum' && !(Array.isArray(body.elements) && body.elements.length > 0 && body.elements.every((e) => typeof e === 'string'))) {
    throw new AppwriteError(400, 'general_argument_invalid', 'Invalid `elements` param: Value must a valid array no longer than 1024 items');
  }
  const numeric = type === 'integer' || type === 'float';
  const column: FakeColumn = {
    key, type, required, default: fallback, array: body.array === true,
    size: sized ? (body.size as number) : undefined,
    min: numeric ? ((body.min as number | undefined) ?? (type === 'integer' ? Number.MIN_SAFE_INTEGER : -Number.MAX_VALUE)) : undefined,
    max: numeric ? ((body.max as number | undefined) ?? (type === 'integer' ? Number.MAX_SAFE_INTEGER : Number.MAX_VALUE)) : undefined,
    elements: type === 'enum' ? (body.elements as string[]) : undefined,
    status: 'processing', readyAt: Date.now() + buildMs, createdAt: now, updatedAt: now,
  };
  t.columns.set(key, column);
  return column;
}

function createIndex(f: Family, t: FakeTable, body: Record<string, unknown>, now: number, buildMs: number): FakeIndex {
  const key = body.key;
  if (typeof key !== 'string' || key === '') throw new AppwriteError(400, 'general_argument_invalid', 'Invalid `key` param: Value must be a valid string');
  if (t.indexes.has(key)) throw new AppwriteError(409, 'index_already_exists', 'Index with the requested key already exists. Try again with a different key.');
  if (!['key', 'unique', 'fulltext'].includes(String(body.type))) throw new AppwriteError(400, 'general_argument_invalid', 'Invalid `type` param: Value must be one of (key, fulltext, unique, spatial)');
  const columns = body[f.columns];
  if (!Array.isArray(columns) || columns.length === 0) throw new AppwriteError(400, 'general_argument_invalid', `Invalid \`${f.columns}\` param: Value must a valid array no longer than 100 items`);
  for (const name of columns as string[]) {
    if (name === '$id' || name === '$createdAt' || name === '$updatedAt') continue;
    const column = t.columns.get(name);
    if (!column) throw new AppwriteError(400, `${f.column}_unknown`, `The ${f.column} '${name}' requested could not be found.`);
    if (column.status !== 'available') throw new AppwriteError(400, `${f.column}_not_available`, `The requested ${f.column} is not yet available. Please try again later.`);
  }
  const orders = Array.isArray(body.orders) ? (body.orders as string[]).map((o) => o.toUpperCase()) : [];
  const index: FakeIndex = { key, type: body.type as FakeIndex['type'], columns: columns as string[], orders, lengths: (body.lengths as number[]) ?? [], status: 'processing', error: '', readyAt: Date.now() + buildMs, createdAt: now, updatedAt: now };
  t.indexes.set(key, index);
  return index;
}
