/**
 * The few facts of Appwrite's OpenAPI spec the fake server is checked against: for each route it
 * serves, the success status and response schemas; for each schema, its required properties and
 * their types. They come from `openapi-subset.json.gz`, a verbatim excerpt of Appwrite's 3 MB
 * server spec (open-api3-latest-server.json, published in the appwrite/appwrite repository under
 * app/config/specs/): the operations of the routes the fake serves and every schema they reference,
 * with the spec's version, checksum and the extraction date in `x-subset`. They are kept in
 * `openapi-facts.ts`; a test re-derives them from the subset and compares.
 *
 * After the fake gains a route, or for a new Appwrite release, cut a new subset from a full spec
 * (this also rewrites the facts):
 *   node --import tsx test/support/appwrite/openapi.ts --spec path/to/open-api3-latest-server.json
 * Rewrite the facts alone from the subset:
 *   node --import tsx test/support/appwrite/openapi.ts --write
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FAMILIES } from './records.ts';
import { familyRoutes } from './routes.ts';

export interface PropertyFact {
  type: string;
  nullable?: true;
  /** Schemas an array's items may be (any of). */
  items?: string[];
}

export interface SchemaFact {
  required: string[];
  properties: Record<string, PropertyFact>;
}

export interface RouteFact {
  operationId: string;
  /** Status → schemas the body may be (any of); [] for no body. */
  responses: Record<string, string[]>;
}

export interface Facts {
  source: string;
  routes: Record<string, RouteFact>;
  schemas: Record<string, SchemaFact>;
}

export const SUBSET_FILE = fileURLToPath(new URL('./openapi-subset.json.gz', import.meta.url));

type Json = Record<string, any>;

/** The embedded excerpt of the spec, shaped like the full spec (openapi, info, paths, components.schemas). */
export function readSubset(): Json {
  return JSON.parse(gunzipSync(readFileSync(SUBSET_FILE)).toString('utf8'));
}

/** "METHOD /path" → the spec's operation object, if the spec has it. */
export const operationOf = (spec: Json, key: string): Json | undefined => {
  const [method, route] = key.split(' ') as [string, string];
  return spec.paths[route]?.[method.toLowerCase()];
};

const refName = (ref: string) => ref.replace('#/components/schemas/', '');

/** Schema names a `{$ref}` / `{oneOf|anyOf: [{$ref}]}` stands for. */
function refs(schema: Json | undefined): string[] {
  if (!schema) return [];
  if (schema.$ref) return [refName(schema.$ref)];
  return [...(schema.oneOf ?? []), ...(schema.anyOf ?? [])].flatMap((s: Json) => refs(s));
}

export function extractFacts(spec: Json, routeKeys: string[]): Facts {
  const facts: Facts = { source: `Appwrite ${spec.info.version}`, routes: {}, schemas: {} };
  const wanted = new Set<string>(['error']);
  for (const key of routeKeys) {
    const op = operationOf(spec, key);
    if (!op) continue;
    const responses: Record<string, string[]> = {};
    for (const [status, response] of Object.entries<Json>(op.responses)) {
      responses[status] = refs(response.content?.['application/json']?.schema);
      responses[status]!.forEach((n) => wanted.add(n));
    }
    facts.routes[key] = { operationId: op.operationId, responses };
  }
  const queue = [...wanted];
  while (queue.length) {
    const name = queue.shift()!;
    if (facts.schemas[name]) continue;
    const schema = spec.components.schemas[name] as Json;
    const properties: Record<string, PropertyFact> = {};
    for (const [prop, p] of Object.entries<Json>(schema.properties ?? {})) {
      const fact: PropertyFact = { type: p.type ?? 'object' };
      if (p.nullable) fact.nullable = true;
      const items = refs(p.items);
      if (items.length) {
        fact.items = items;
        queue.push(...items);
      }
      properties[prop] = fact;
    }
    facts.schemas[name] = { required: schema.required ?? [], properties };
  }
  return facts;
}

/** "METHOD /path" of every route the fake serves, both families. */
export async function fakeRouteKeys(): Promise<string[]> {
  return Object.values(FAMILIES).flatMap((f) => familyRoutes(f, new Map(), { now: Date.now, buildMs: 0, withoutVarchar: false }).map((r) => `${r.method} ${r.path}`));
}

/** Properties whose real type differs from the spec's (docs/protocols/appwrite.md §6: `code` is an integer on the wire). */
const KNOWN_DEVIATIONS: Record<string, string> = { 'error.code': 'integer' };

const TYPE_CHECKS: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  integer: (v) => Number.isInteger(v),
  number: (v) => typeof v === 'number',
  boolean: (v) => typeof v === 'boolean',
  array: (v) => Array.isArray(v),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};

/** What keeps `body` from matching `schema`; [] when it matches. */
export function shapeProblems(facts: Facts, schemaName: string, body: unknown, at = schemaName): string[] {
  const schema = facts.schemas[schemaName];
  if (!schema) return [`${at}: schema ${schemaName} is not in the facts`];
  if (!TYPE_CHECKS.object!(body)) return [`${at}: not an object`];
  const o = body as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of schema.required) if (!(key in o)) problems.push(`${at}.${key}: missing`);
  for (const [key, value] of Object.entries(o)) {
    const prop = schema.properties[key];
    if (!prop || (value === null && (prop.nullable || !schema.required.includes(key)))) continue;
    const type = KNOWN_DEVIATIONS[`${schemaName}.${key}`] ?? prop.type;
    if (!TYPE_CHECKS[type]?.(value)) problems.push(`${at}.${key}: ${JSON.stringify(value)} is not ${type}`);
    if (prop.items && Array.isArray(value)) {
      value.forEach((item, i) => {
        const each = prop.items!.map((name) => shapeProblems(facts, name, item, `${at}.${key}[${i}]`));
        if (!each.some((p) => p.length === 0)) problems.push(`${at}.${key}[${i}]: matches none of ${prop.items!.join(', ')} (${each[0]!.join('; ')})`);
      });
    }
  }
  return problems;
}

/** `body` against any of `schemas`. */
export function matchesAny(facts: Facts, schemas: string[], body: unknown): string[] {
  const each = schemas.map((name) => shapeProblems(facts, name, body));
  return each.some((p) => p.length === 0) ? [] : [`matches none of ${schemas.join(', ')}: ${each.flat().slice(0, 5).join('; ')}`];
}

/** Every schema name a `$ref` anywhere inside `value` points to. */
function refsWithin(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => refsWithin(v, into));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') into.add(refName(v));
      else refsWithin(v, into);
    }
  }
  return into;
}

/**
 * The part of a full spec the facts come from, copied verbatim: the operations of `routeKeys`
 * and every schema they reference, directly or through other schemas (and `error`).
 */
export function extractSubset(spec: Json, routeKeys: string[], provenance: Json): Json {
  const paths: Json = {};
  for (const key of routeKeys) {
    const op = operationOf(spec, key);
    if (!op) continue;
    const [method, route] = key.split(' ') as [string, string];
    paths[route] = { ...paths[route], [method.toLowerCase()]: op };
  }
  const names = refsWithin(paths, new Set(['error']));
  for (const name of names) refsWithin(spec.components.schemas[name], names); // a Set iterates what is added meanwhile
  const schemas = Object.fromEntries([...names].sort().map((name) => [name, spec.components.schemas[name]]));
  return { 'x-subset': provenance, openapi: spec.openapi, info: spec.info, paths, components: { schemas } };
}

async function writeSubset(specFile: string): Promise<void> {
  const raw = readFileSync(specFile);
  const spec = JSON.parse(raw.toString('utf8'));
  const subset = extractSubset(spec, await fakeRouteKeys(), {
    of: path.basename(specFile),
    version: spec.info.version,
    sha256: createHash('sha256').update(raw).digest('hex'),
    extracted: new Date().toISOString().slice(0, 10),
    contents: 'the operations of the routes the fake Appwrite server serves and every schema they reference, verbatim',
  });
  // Indented before compression, so `zcat` shows it readably.
  writeFileSync(SUBSET_FILE, gzipSync(`${JSON.stringify(subset, null, 2)}\n`, { level: 9 }));
  console.log(`wrote ${SUBSET_FILE}: ${Object.keys(subset.paths).length} paths, ${Object.keys(subset.components.schemas).length} schemas`);
}

async function writeFacts(): Promise<void> {
  const subset = readSubset();
  const facts = extractFacts(subset, await fakeRouteKeys());
  const file = fileURLToPath(new URL('./openapi-facts.ts', import.meta.url));
  const header = `/**\n * Generated by test/support/appwrite/openapi.ts from openapi-subset.json.gz, an excerpt of\n * ${subset['x-subset'].of} (${facts.source}): the routes the fake Appwrite server serves and\n * the response schemas it must match. Regenerate with: node --import tsx test/support/appwrite/openapi.ts --write\n */\nimport type { Facts } from './openapi.ts';\n\n`;
  // One line per route and per schema: short, and a regenerated file diffs line by line.
  const lines = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)},`).join('\n');
  const body = `{\n  source: ${JSON.stringify(facts.source)},\n  routes: {\n${lines(facts.routes)}\n  },\n  schemas: {\n${lines(facts.schemas)}\n  },\n}`;
  writeFileSync(file, `${header}export const FACTS: Facts = ${body};\n`);
  console.log(`wrote ${file}: ${Object.keys(facts.routes).length} routes, ${Object.keys(facts.schemas).length} schemas`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const specAt = process.argv.indexOf('--spec');
  if (specAt > 0) {
    const specFile = process.argv[specAt + 1];
    if (!specFile) throw new Error('--spec needs the path of a full open-api3-latest-server.json');
    await writeSubset(specFile);
    await writeFacts();
  } else if (process.argv.includes('--write')) {
    await writeFacts();
  } else {
    console.error('usage: openapi.ts --spec <open-api3-latest-server.json> | --write');
    process.exitCode = 64;
  }
}
