/**
 * The README's chart documentation agrees with values.yaml: every value the "Deploy on Kubernetes"
 * table names exists there, and every top-level value is either in the table or deliberately
 * left to values.yaml's own comments.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { CHART } from '../support/helm.ts';
import { ROOT } from '../support/vcs.ts';

/** Values only values.yaml documents (names, security contexts, pull secrets, the helm test). */
const UNLISTED = new Set(['nameOverride', 'fullnameOverride', 'imagePullSecrets', 'podSecurityContext', 'securityContext', 'tests']);

async function tableKeys(): Promise<string[]> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Deploy on Kubernetes'), readme.indexOf('\n## ', readme.indexOf('## Deploy on Kubernetes') + 1));
  const table = section.split('\n').filter((l) => l.startsWith('| `'));
  return table.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

test('every value the README table names exists in values.yaml', async () => {
  const values = parse(await readFile(path.join(CHART, 'values.yaml'), 'utf8'));
  const keys = await tableKeys();
  assert.ok(keys.length > 20, `the table lists ${keys.length} values`);
  for (const key of keys) {
    const parts = key.replace(/\.\*$/, '').split('.');
    let at: unknown = values;
    for (const part of parts) at = (at as Record<string, unknown> | undefined)?.[part];
    assert.ok(at !== undefined, `README names ${key}, which values.yaml does not have`);
  }
});

test('every top-level value is in the README table (or documented in values.yaml only, on purpose)', async () => {
  const values = parse(await readFile(path.join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const tops = new Set((await tableKeys()).map((k) => k.split('.')[0]!));
  const missing = Object.keys(values).filter((k) => !tops.has(k) && !UNLISTED.has(k));
  assert.equal(missing, [], `values missing from the README table: ${missing.join(', ')}`);
});

test.run();
