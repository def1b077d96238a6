/**
 * The structure of the code, checked on its import graph (README, "Design"): every source file
 * belongs to a part, every part to a layer; a file imports only parts of its own layer or below,
 * parts of one layer import each other in one direction only, the two edges (gateway, controller)
 * never import each other, and the transcoder depends on the job contract and the foundation
 * only. And there is no cycle, between parts or between files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './support/vcs.ts';

/** Parts, most specific path first, with their layer (0 foundation … 5 entry). */
const PARTS: { part: string; layer: number; files: RegExp }[] = [
  { part: 'entry', layer: 5, files: /^(bin\/.*|src\/cli\.ts)$/ },
  { part: 'roots', layer: 4, files: /^src\/roots\// },
  { part: 'gateway', layer: 3, files: /^src\/gateway\// },
  { part: 'controller', layer: 3, files: /^src\/controller\// },
  { part: 'maintenance', layer: 3, files: /^src\/maintenance\// },
  { part: 'http', layer: 2, files: /^src\/http\// },
  { part: 'metrics', layer: 2, files: /^src\/metrics\// },
  { part: 'transcoder', layer: 1, files: /^transcoder\// },
  { part: 'jobs', layer: 1, files: /^src\/jobs\// },
  { part: 'volume', layer: 1, files: /^src\/volume\// },
  { part: 'contract', layer: 1, files: /^src\/(contract|steps)\.ts$/ },
  { part: 'foundation', layer: 0, files: /^src\/(config\.ts|config\/.*|errors\.ts|log\.ts|log\/.*|files\.ts|reference\.ts)$/ },
];

/** Within a layer, who may import whom (a part not listed imports no part of its layer). */
const SAME_LAYER: Record<string, string[]> = {
  transcoder: ['contract'],
  jobs: ['contract'],
  volume: [],
  contract: [],
  http: [],
  metrics: [],
  gateway: [],
  controller: [],
  maintenance: [],
};

const partOf = (file: string) => PARTS.find((p) => p.files.test(file));

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js|mjs)$/.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** Relative imports of a file (static, re-exports, type-only and dynamic), resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => path.normalize(path.join(path.dirname(file), s)));
}

const files = [...sourceFiles('src'), ...sourceFiles('transcoder'), ...sourceFiles('bin')];
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every source file belongs to a part', () => {
  for (const file of files) assert.ok(partOf(file), `${file} has no part: add it to PARTS (and to README, "Design")`);
});

test('no file imports a part above its own, and parts of one layer import each other only as allowed', () => {
  const problems: string[] = [];
  for (const [file, imports] of graph) {
    const from = partOf(file)!;
    for (const target of imports) {
      const to = partOf(target);
      if (!to) {
        problems.push(`${file} imports ${target}, which is no source file of a part`);
        continue;
      }
      if (to.part === from.part) continue;
      if (to.layer > from.layer) problems.push(`${file} (${from.part}, layer ${from.layer}) imports ${target} (${to.part}, layer ${to.layer})`);
      else if (to.layer === from.layer && !(SAME_LAYER[from.part] ?? []).includes(to.part)) problems.push(`${file} (${from.part}) imports ${target} (${to.part}) of the same layer`);
    }
  }
  assert.equal(problems, []);
});

test('the transcoder depends on the job contract and the foundation only', () => {
  for (const [file, imports] of graph) {
    if (partOf(file)!.part !== 'transcoder') continue;
    for (const target of imports) assert.ok(['transcoder', 'contract', 'foundation'].includes(partOf(target)?.part ?? ''), `${file} imports ${target}`);
  }
});

test('no cycle: between parts, or between files', () => {
  const partEdges = new Map<string, Set<string>>();
  for (const [file, imports] of graph) {
    for (const target of imports) {
      const [a, b] = [partOf(file)?.part, partOf(target)?.part];
      if (a && b && a !== b) partEdges.set(a, (partEdges.get(a) ?? new Set()).add(b));
    }
  }
  assert.equal(findCycle(partEdges), null, 'a cycle between parts');
  const fileEdges = new Map([...graph].map(([f, imports]) => [f, new Set(imports)]));
  assert.equal(findCycle(fileEdges), null, 'a cycle between files');
});

/** A cycle in a directed graph as the list of its nodes, or null. */
function findCycle(edges: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

test('the checker sees what it checks: imports of every kind are found', () => {
  assert.ok(graph.get('src/cli.ts')!.includes('src/roots/serve.ts'), 'a dynamic import');
  assert.ok(graph.get('src/log.ts')!.includes('src/config.ts'), 'an import with a type');
  assert.ok(graph.get('src/config.ts')!.includes('src/config/settings.ts'), 'a re-export');
  assert.ok(files.length > 60, `${files.length} files`);
  assert.equal(findCycle(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])]])), ['a', 'b', 'c', 'a']);
});

test.run();
