/**
 * The fake Appwrite server's data: databases, tables (collections), columns (attributes),
 * indexes and rows (documents), the validation the real server applies to them, and their JSON
 * as Appwrite 1.9 sends it (docs/protocols/appwrite.md §3, §5, §6). Both API families share these
 * records; `Family` supplies the names that differ.
 */

export type FamilyName = 'tablesdb' | 'databases';

/** What differs between the two path families (docs/protocols/appwrite.md §1: they are mirror images). */
export interface Family {
  name: FamilyName;
  /** Path segments. */
  tables: 'tables' | 'collections';
  rows: 'rows' | 'documents';
  columns: 'columns' | 'attributes';
  /** Body and path parameter names. */
  tableId: 'tableId' | 'collectionId';
  rowId: 'rowId' | 'documentId';
  /** Words in error types and messages. */
  table: 'table' | 'collection';
  row: 'row' | 'document';
  column: 'column' | 'attribute';
  /** Keys in JSON. */
  tableKey: '$tableId' | '$collectionId';
  security: 'rowSecurity' | 'documentSecurity';
}

export const FAMILIES: Record<FamilyName, Family> = {
  tablesdb: { name: 'tablesdb', tables: 'tables', rows: 'rows', columns: 'columns', tableId: 'tableId', rowId: 'rowId', table: 'table', row: 'row', column: 'column', tableKey: '$tableId', security: 'rowSecurity' },
  databases: { name: 'databases', tables: 'collections', rows: 'documents', columns: 'attributes', tableId: 'collectionId', rowId: 'documentId', table: 'collection', row: 'document', column: 'attribute', tableKey: '$collectionId', security: 'documentSecurity' },
};

export const capital = (word: string) => word[0]!.toUpperCase() + word.slice(1);

/** An error the way the server answers it: status = `code`, plus `type`. */
export class AppwriteError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export const COLUMN_TYPES = ['varchar', 'string', 'text', 'integer', 'float', 'boolean', 'datetime', 'enum', 'url'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface FakeColumn {
  key: string;
  type: ColumnType;
  required: boolean;
  default: unknown;
  array: boolean;
  size?: number;
  min?: number;
  max?: number;
  elements?: string[];
  status: 'processing' | 'available';
  /** Real time (Date.now) at which a processing column becomes available. */
  readyAt: number;
  createdAt: number;
  updatedAt: number;
}

export interface FakeIndex {
  key: string;
  type: 'key' | 'unique' | 'fulltext';
  columns: string[];
  orders: string[];
  lengths: number[];
  status: 'processing' | 'available' | 'failed';
  error: string;
  readyAt: number;
  createdAt: number;
  updatedAt: number;
}

export interface FakeRow {
  id: string;
  sequence: number;
  createdAt: number;
  updatedAt: number;
  permissions: string[];
  data: Record<string, unknown>;
}

export interface FakeTable {
  id: string;
  name: string;
  enabled: boolean;
  security: boolean;
  permissions: string[];
  createdAt: number;
  updatedAt: number;
  columns: Map<string, FakeColumn>;
  indexes: Map<string, FakeIndex>;
  rows: Map<string, FakeRow>;
  nextSequence: number;
}

export interface FakeDatabase {
  id: string;
  name: string;
  type: 'tablesdb' | 'legacy';
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  tables: Map<string, FakeTable>;
}

/** `2026-05-24T10:05:12.345+00:00`, as every Appwrite date. */
export const formatDate = (ms: number): string => new Date(ms).toISOString().replace('Z', '+00:00');

const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,35}$/;

export function checkId(param: string, id: unknown): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new AppwriteError(400, 'general_argument_invalid', `Invalid \`${param}\` param: Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char`);
  }
  return id;
}

/** Columns and indexes the server has finished building. */
export function refresh(table: FakeTable): void {
  const now = Date.now();
  for (const c of table.columns.values()) if (c.status === 'processing' && now >= c.readyAt) c.status = 'available';
  for (const i of table.indexes.values()) {
    if (i.status !== 'processing' || now < i.readyAt) continue;
    const clash = i.type === 'unique' ? duplicateUnder(table, i, null) : null;
    i.status = clash ? 'failed' : 'available';
    i.error = clash ? `Duplicate entry for unique index ${i.key}` : '';
  }
}

export const availableColumns = (table: FakeTable): FakeColumn[] => [...table.columns.values()].filter((c) => c.status === 'available');

/** A row other than `except` holding the same non-null values in every column of a unique index. */
function duplicateUnder(table: FakeTable, index: FakeIndex, except: FakeRow | null, candidate?: FakeRow): FakeRow | null {
  const key = (row: FakeRow) => index.columns.map((c) => row.data[c]);
  const rows = [...table.rows.values()];
  const probes = candidate ? [candidate] : rows;
  for (const probe of probes) {
    const k = key(probe);
    if (k.some((v) => v === null || v === undefined)) continue;
    const twin = rows.find((r) => r !== probe && r !== except && r.id !== probe.id && key(r).every((v, n) => sameValue(v, k[n])));
    if (twin) return twin;
  }
  return null;
}

const sameValue = (a: unknown, b: unknown) => (typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b);

/** 409 when `row` would break a unique index (Appwrite reports that as a duplicate row, docs/protocols/appwrite.md §7). */
export function checkUnique(f: Family, table: FakeTable, row: FakeRow): void {
  for (const index of table.indexes.values()) {
    if (index.type !== 'unique' || index.status !== 'available') continue;
    if (duplicateUnder(table, index, null, row)) {
      throw new AppwriteError(409, `${f.row}_already_exists`, `${capital(f.row)} with the requested ID '${row.id}' already exists. Try again with a different ID or use ID.unique() to generate a unique ID.`);
    }
  }
}

const grouped = (n: number) => n.toLocaleString('en-US');

/** The stored form of `value` for `column`, or the server's 400. */
function checkValue(f: Family, column: FakeColumn, value: unknown): unknown {
  const bad = (what: 'type' | 'format', expected: string) =>
    new AppwriteError(400, `${f.row}_invalid_structure`, `Invalid document structure: Attribute "${column.key}" has invalid ${what}. ${expected}`);
  switch (column.type) {
    case 'varchar':
    case 'string':
    case 'text':
      if (typeof value !== 'string') throw bad('type', 'Value must be a valid string');
      if (column.size !== undefined && value.length > column.size) throw bad('type', `Value must be a valid string and no longer than ${column.size} chars`);
      return value;
    case 'integer':
    case 'float': {
      const ok = column.type === 'integer' ? Number.isInteger(value) : typeof value === 'number' && Number.isFinite(value);
      if (!ok) throw bad('type', `Value must be a valid ${column.type}`);
      if ((value as number) < column.min! || (value as number) > column.max!) throw bad('format', `Value must be a valid range between ${grouped(column.min!)} and ${grouped(column.max!)}`);
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('type', 'Value must be a valid boolean');
      return value;
    case 'datetime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw bad('format', 'Value must be valid date between 0000-01-01 00:00:00 and 9999-12-31 23:59:59.');
      return Date.parse(value);
    case 'enum':
      if (typeof value !== 'string' || !column.elements!.includes(value)) throw bad('format', `Value must be one of (${column.elements!.join(', ')})`);
      return value;
    case 'url':
      if (typeof value !== 'string' || !URL.canParse(value) || value.length > 2000) throw bad('format', 'Value must be a valid URL');
      return value;
  }
}

/**
 * Row data checked against the schema: unknown keys, missing required values, types and formats.
 * A create fills the defaults; an update (`partial`) checks only the keys it sends.
 */
export function checkData(f: Family, table: FakeTable, data: unknown, partial: boolean): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new AppwriteError(400, 'general_argument_invalid', 'Invalid `data` param: Value must be a valid JSON object');
  const columns = new Map(availableColumns(table).map((c) => [c.key, c]));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const column = columns.get(key);
    if (!column) throw new AppwriteError(400, `${f.row}_invalid_structure`, `Invalid document structure: Unknown attribute: "${key}"`);
    if (value === null) {
      if (column.required) throw new AppwriteError(400, `${f.row}_invalid_structure`, `Invalid document structure: Missing required attribute "${key}"`);
      out[key] = null;
    } else {
      out[key] = checkValue(f, column, value);
    }
  }
  if (!partial) {
    for (const column of columns.values()) {
      if (column.key in out) continue;
      if (column.required) throw new AppwriteError(400, `${f.row}_invalid_structure`, `Invalid document structure: Missing required attribute "${column.key}"`);
      out[column.key] = column.default === null ? null : checkValue(f, column, column.default);
    }
  }
  return out;
}

export function renderRow(f: Family, databaseId: string, table: FakeTable, row: FakeRow, select?: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    $id: row.id,
    $sequence: String(row.sequence),
    $createdAt: formatDate(row.createdAt),
    $updatedAt: formatDate(row.updatedAt),
    $permissions: row.permissions,
    $databaseId: databaseId,
    [f.tableKey]: table.id,
  };
  for (const column of availableColumns(table)) {
    if (select && !select.includes(column.key) && !select.includes('*')) continue;
    const value = row.data[column.key] ?? null;
    out[column.key] = column.type === 'datetime' && value !== null ? formatDate(value as number) : value;
  }
  return out;
}

export function renderColumn(c: FakeColumn): Record<string, unknown> {
  const base = { key: c.key, status: c.status, error: '', required: c.required, array: c.array, $createdAt: formatDate(c.createdAt), $updatedAt: formatDate(c.updatedAt) };
  const withDefault = { default: c.default ?? null };
  switch (c.type) {
    case 'varchar':
    case 'string':
      return { ...base, type: c.type, size: c.size, ...withDefault, encrypt: false };
    case 'text':
      return { ...base, type: 'text', ...withDefault, encrypt: false };
    case 'integer':
      return { ...base, type: 'integer', min: c.min, max: c.max, ...withDefault };
    case 'float':
      return { ...base, type: 'double', min: c.min, max: c.max, ...withDefault };
    case 'boolean':
      return { ...base, type: 'boolean', ...withDefault };
    case 'datetime':
      return { ...base, type: 'datetime', format: 'datetime', ...withDefault };
    case 'enum':
      return { ...base, type: 'string', elements: c.elements, format: 'enum', ...withDefault };
    case 'url':
      return { ...base, type: 'string', format: 'url', ...withDefault };
  }
}

export function renderIndex(f: Family, i: FakeIndex): Record<string, unknown> {
  return {
    $id: i.key,
    $createdAt: formatDate(i.createdAt),
    $updatedAt: formatDate(i.updatedAt),
    key: i.key,
    type: i.type,
    status: i.status,
    error: i.error,
    [f.columns]: i.columns,
    lengths: i.lengths,
    orders: i.orders,
  };
}

export function renderTable(f: Family, databaseId: string, t: FakeTable): Record<string, unknown> {
  refresh(t);
  return {
    $id: t.id,
    $createdAt: formatDate(t.createdAt),
    $updatedAt: formatDate(t.updatedAt),
    $permissions: t.permissions,
    databaseId,
    name: t.name,
    enabled: t.enabled,
    [f.security]: t.security,
    [f.columns]: [...t.columns.values()].map(renderColumn),
    indexes: [...t.indexes.values()].map((i) => renderIndex(f, i)),
    bytesMax: 65535,
    bytesUsed: 0,
  };
}

export function renderDatabase(d: FakeDatabase): Record<string, unknown> {
  return { $id: d.id, name: d.name, $createdAt: formatDate(d.createdAt), $updatedAt: formatDate(d.updatedAt), enabled: d.enabled, type: d.type };
}
