/**
 * Queries as the fake Appwrite server reads and runs them (docs/protocols/appwrite.md §4): `queries[N]` (or
 * `queries[]`) form fields, each a JSON object {method, attribute?, values?}. Checked the way
 * Appwrite 1.9 with utopia-php/database checks them: unknown methods and attributes, values of
 * the wrong type, `search` without a fulltext index and bad limits are 400 `general_query_invalid`.
 * Run with MariaDB's semantics: case-insensitive string comparison (utf8mb4 *_ci collation),
 * NULL matching no comparison and sorting first in ascending order, `$sequence` ASC appended as
 * the tie-breaker, `total` counting the filter matches and capped at 5000.
 */
import { AppwriteError, availableColumns, capital, type Family, type FakeRow, type FakeTable } from './records.ts';

/** `sequence`: `$sequence`, an integer the server also takes as a numeric string. */
type AttributeKind = 'string' | 'integer' | 'float' | 'boolean' | 'datetime' | 'sequence';

interface Filter {
  method: string;
  attribute?: string;
  values: unknown[];
  nested?: Filter[];
}

export interface ParsedQueries {
  filters: Filter[];
  orders: { attribute: string; desc: boolean }[];
  limit: number;
  offset: number;
  cursor?: { id: string; after: boolean };
  select?: string[];
}

const FILTERS = new Set(['equal', 'notEqual', 'lessThan', 'lessThanEqual', 'greaterThan', 'greaterThanEqual', 'isNull', 'isNotNull', 'between', 'startsWith', 'endsWith', 'contains', 'search', 'and', 'or']);
const OTHERS = new Set(['orderAsc', 'orderDesc', 'limit', 'offset', 'cursorAfter', 'cursorBefore', 'select']);
/** Methods the real server knows that this fake does not run: a test using one fails loudly. */
const NOT_IMPLEMENTED = new Set(['notBetween', 'notStartsWith', 'notEndsWith', 'containsAny', 'containsAll', 'notContains', 'notSearch', 'regex', 'exists', 'notExists', 'elemMatch', 'orderRandom', 'createdBefore', 'createdAfter', 'createdBetween', 'updatedBefore', 'updatedAfter', 'updatedBetween']);

const TOTAL_CAP = 5000;
const MAX_QUERIES = 100;
const MAX_QUERY_LENGTH = 4096;

const invalid = (message: string) => new AppwriteError(400, 'general_query_invalid', message);

const SYSTEM: Record<string, AttributeKind> = { $id: 'string', $createdAt: 'datetime', $updatedAt: 'datetime', $sequence: 'sequence' };

function attributeKinds(table: FakeTable): Map<string, AttributeKind> {
  const kinds = new Map<string, AttributeKind>(Object.entries(SYSTEM));
  for (const c of availableColumns(table)) {
    kinds.set(c.key, c.type === 'integer' ? 'integer' : c.type === 'float' ? 'float' : c.type === 'boolean' ? 'boolean' : c.type === 'datetime' ? 'datetime' : 'string');
  }
  return kinds;
}

const VALUE_CHECKS: Record<AttributeKind, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  integer: (v) => Number.isInteger(v),
  sequence: (v) => Number.isInteger(v) || (typeof v === 'string' && /^\d+$/.test(v)),
  float: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  datetime: (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)),
};

/** Reads the `queries[...]` fields of a query string, in index order. */
export function queryStrings(search: URLSearchParams): string[] {
  const indexed: [number, string][] = [];
  for (const [key, value] of search) {
    const m = /^queries\[(\d*)\]$/.exec(key);
    if (m) indexed.push([m[1] === '' ? indexed.length : Number(m[1]), value]);
  }
  return indexed.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

export function parseQueries(raw: string[], table: FakeTable): ParsedQueries {
  if (raw.length > MAX_QUERIES) throw new AppwriteError(400, 'general_argument_invalid', `Invalid \`queries\` param: Value must a valid array no longer than ${MAX_QUERIES} items and Value must be a valid string and no longer than ${MAX_QUERY_LENGTH} chars`);
  const kinds = attributeKinds(table);
  const parsed: ParsedQueries = { filters: [], orders: [], limit: 25, offset: 0 };
  for (const text of raw) {
    if (text.length > MAX_QUERY_LENGTH) throw invalid(`Invalid query: Query too long`);
    let q: unknown;
    try {
      q = JSON.parse(text);
    } catch {
      throw invalid('Invalid query: Syntax error');
    }
    const query = shape(q);
    if (FILTERS.has(query.method)) parsed.filters.push(filter(query, kinds, table));
    else if (OTHERS.has(query.method)) other(query, kinds, parsed);
    else if (NOT_IMPLEMENTED.has(query.method)) throw new Error(`the fake Appwrite server does not implement Query.${query.method}`);
    else throw invalid(`Invalid query method: ${query.method}`);
  }
  return parsed;
}

function shape(q: unknown): { method: string; attribute?: string; values: unknown[] } {
  const o = (typeof q === 'string' ? JSON.parse(q) : q) as { method?: unknown; attribute?: unknown; values?: unknown };
  if (typeof o !== 'object' || o === null || typeof o.method !== 'string') throw invalid('Invalid query: Syntax error');
  return { method: o.method, attribute: typeof o.attribute === 'string' ? o.attribute : undefined, values: Array.isArray(o.values) ? o.values : [] };
}

function knownAttribute(attribute: string | undefined, kinds: Map<string, AttributeKind>): AttributeKind {
  const kind = attribute === undefined ? undefined : kinds.get(attribute);
  if (!kind) throw invalid(`Invalid query: Attribute not found in schema: ${attribute ?? ''}`);
  return kind;
}

function filter(q: { method: string; attribute?: string; values: unknown[] }, kinds: Map<string, AttributeKind>, table: FakeTable): Filter {
  if (q.method === 'and' || q.method === 'or') {
    if (q.values.length < 2) throw invalid(`Invalid query: ${capital(q.method)} queries require at least two queries`);
    return { method: q.method, values: [], nested: q.values.map((v) => filter(shape(v), kinds, table)) };
  }
  const kind = knownAttribute(q.attribute, kinds);
  if (q.method === 'isNull' || q.method === 'isNotNull') return { method: q.method, attribute: q.attribute, values: [] };
  if (q.values.length === 0) throw invalid(`Invalid query: ${capital(q.method)} queries require at least one value.`);
  if (q.method === 'between' && q.values.length !== 2) throw invalid('Invalid query: Between queries require exactly two values.');
  if (!q.values.every(VALUE_CHECKS[kind])) throw invalid(`Invalid query: Query value is invalid for attribute "${q.attribute}"`);
  if (['startsWith', 'endsWith', 'contains', 'search'].includes(q.method) && kind !== 'string') throw invalid(`Invalid query: Cannot query ${q.method} on attribute "${q.attribute}" because it is not a string.`);
  if (q.method === 'search' && ![...table.indexes.values()].some((i) => i.type === 'fulltext' && i.status === 'available' && i.columns.includes(q.attribute!))) {
    throw invalid(`Searching by attribute "${q.attribute}" requires a fulltext index.`);
  }
  return { method: q.method, attribute: q.attribute, values: q.values };
}

function other(q: { method: string; attribute?: string; values: unknown[] }, kinds: Map<string, AttributeKind>, parsed: ParsedQueries): void {
  const first = q.values[0];
  switch (q.method) {
    case 'orderAsc':
    case 'orderDesc':
      knownAttribute(q.attribute, kinds);
      parsed.orders.push({ attribute: q.attribute!, desc: q.method === 'orderDesc' });
      return;
    case 'limit':
      if (!Number.isInteger(first) || (first as number) < 1) throw invalid('Invalid query: Invalid limit: Value must be a valid range between 1 and 9,223,372,036,854,775,807');
      parsed.limit = first as number;
      return;
    case 'offset':
      if (!Number.isInteger(first) || (first as number) < 0) throw invalid('Invalid query: Invalid offset: Value must be a valid range between 0 and 9,223,372,036,854,775,807');
      parsed.offset = first as number;
      return;
    case 'cursorAfter':
    case 'cursorBefore':
      if (typeof first !== 'string' || first === '') throw invalid('Invalid query: Invalid cursor: Cursor must contain at most 36 chars.');
      parsed.cursor = { id: first, after: q.method === 'cursorAfter' };
      return;
    case 'select':
      for (const attribute of q.values) if (attribute !== '*') knownAttribute(String(attribute), kinds);
      parsed.select = q.values.map(String);
  }
}

/** A row's value for `attribute` in comparable form: lower-cased text, milliseconds, numbers. */
function valueOf(row: FakeRow, attribute: string): unknown {
  switch (attribute) {
    case '$id':
      return row.id;
    case '$sequence':
      return row.sequence;
    case '$createdAt':
      return row.createdAt;
    case '$updatedAt':
      return row.updatedAt;
    default:
      return row.data[attribute] ?? null;
  }
}

/** A query value in the same form as the stored one it is compared with. */
function comparable(kind: AttributeKind, v: unknown): unknown {
  if (kind === 'datetime') return Date.parse(String(v));
  if (kind === 'sequence') return Number(v);
  if (typeof v === 'string') return v.toLowerCase();
  return v;
}

const fold = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

function matches(row: FakeRow, f: Filter, kinds: Map<string, AttributeKind>): boolean {
  if (f.nested) return f.method === 'and' ? f.nested.every((n) => matches(row, n, kinds)) : f.nested.some((n) => matches(row, n, kinds));
  const stored = fold(valueOf(row, f.attribute!));
  if (f.method === 'isNull') return stored === null;
  if (f.method === 'isNotNull') return stored !== null;
  if (stored === null) return false; // SQL: NULL matches no comparison
  const kind = kinds.get(f.attribute!)!;
  const values = f.values.map((v) => comparable(kind, v));
  const s = stored as number | string | boolean;
  switch (f.method) {
    case 'equal':
      return values.includes(s);
    case 'notEqual':
      return !values.includes(s);
    case 'lessThan':
      return s < (values[0] as typeof s);
    case 'lessThanEqual':
      return s <= (values[0] as typeof s);
    case 'greaterThan':
      return s > (values[0] as typeof s);
    case 'greaterThanEqual':
      return s >= (values[0] as typeof s);
    case 'between':
      return s >= (values[0] as typeof s) && s <= (values[1] as typeof s);
    case 'startsWith':
      return values.some((v) => String(s).startsWith(String(v)));
    case 'endsWith':
      return values.some((v) => String(s).endsWith(String(v)));
    case 'contains':
      return values.some((v) => String(s).includes(String(v)));
    case 'search':
      return values.some((v) => String(v).split(/\s+/).some((word) => String(s).split(/\W+/).includes(word)));
    default:
      throw new Error(`unhandled filter ${f.method}`);
  }
}

/** MariaDB order: NULL first ascending, last descending; text case-insensitively. */
function compareBy(orders: ParsedQueries['orders']) {
  return (a: FakeRow, b: FakeRow): number => {
    for (const { attribute, desc } of orders) {
      const [x, y] = [fold(valueOf(a, attribute)), fold(valueOf(b, attribute))];
      if (x === y) continue;
      const c = x === null ? -1 : y === null ? 1 : (x as number) < (y as number) ? -1 : 1;
      return desc ? -c : c;
    }
    return 0;
  };
}

export function runQueries(f: Family, table: FakeTable, parsed: ParsedQueries, withTotal: boolean): { total: number; rows: FakeRow[] } {
  const kinds = attributeKinds(table);
  const matched = [...table.rows.values()].filter((row) => parsed.filters.every((flt) => matches(row, flt, kinds)));
  const orders = [...parsed.orders];
  if (!orders.some((o) => o.attribute === '$id' || o.attribute === '$sequence')) orders.push({ attribute: '$sequence', desc: false });
  const compare = compareBy(orders);
  let page = matched.sort(compare);
  if (parsed.cursor) {
    const cursor = table.rows.get(parsed.cursor.id);
    if (!cursor) throw new AppwriteError(400, 'general_cursor_not_found', `${capital(f.row)} '${parsed.cursor.id}' for the 'cursor' value not found.`);
    const nullOrder = orders.find((o) => valueOf(cursor, o.attribute) === null);
    if (nullOrder) throw new AppwriteError(400, 'database_query_order_null', `The order attribute '${nullOrder.attribute}' had a null value. Cursor pagination requires all ${f.row}s order attribute values are non-null.`);
    page = parsed.cursor.after ? page.filter((r) => compare(r, cursor) > 0) : page.filter((r) => compare(r, cursor) < 0);
  }
  const rows = parsed.cursor && !parsed.cursor.after ? page.reverse().slice(parsed.offset, parsed.offset + parsed.limit).reverse() : page.slice(parsed.offset, parsed.offset + parsed.limit);
  return { total: withTotal ? Math.min(matched.length, TOTAL_CAP) : 0, rows };
}
