/**
 * The few facts of Appwrite's OpenAPI spec the fake server is checked against: for each route it
 * serves, the success status and response schemas; for each schema, its required properties and
 * their types. They are kept in `openapi-facts.ts` so tests do not need the 3 MB spec; when the
 * spec is there (../shared/appwrite beside the repository) a test re-extracts them and compares.
 *
 * Regenerate: node --import tsx test/support/appwrite/openapi.ts --write
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

export const SPEC_FILE = fileURLToPath(new URL('../../../../shared/appwrite/open-api3-latest-server.json', import.meta.url));

type Json = Record<string, any>;

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
    const [method, route] = key.split(' ') as [string, string];
    const op = spec.paths[route]?.[method.toLowerCase()];
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

/** Properties whose real type differs from the spec's (PROTOCOL 4.1: `code` is an integer on the wire). */
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

async function write(): Promise<void> {
  const spec = JSON.parse(readFileSync(SPEC_FILE, 'utf8'));
  const facts = extractFacts(spec, await fakeRouteKeys());
  const file = fileURLToPath(new URL('./openapi-facts.ts', import.meta.url));
  const header = `/**\n * Generated by test/support/appwrite/openapi.ts from shared/appwrite/${path.basename(SPEC_FILE)}\n * (${facts.source}): the routes the fake Appwrite server serves and the response schemas\n * it must match. Regenerate with: node --import tsx test/support/appwrite/openapi.ts --write\n */\nimport type { Facts } from './openapi.ts';\n\n`;
  // One line per route and per schema: short, and a regenerated file diffs line by line.
  const lines = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)},`).join('\n');
  const body = `{\n  source: ${JSON.stringify(facts.source)},\n  routes: {\n${lines(facts.routes)}\n  },\n  schemas: {\n${lines(facts.schemas)}\n  },\n}`;
  writeFileSync(file, `${header}export const FACTS: Facts = ${body};\n`);
  console.log(`wrote ${file}: ${Object.keys(facts.routes).length} routes, ${Object.keys(facts.schemas).length} schemas`);
}

if (process.argv.includes('--write') && process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!existsSync(SPEC_FILE)) throw new Error(`${SPEC_FILE} is missing`);
  await write();
}
