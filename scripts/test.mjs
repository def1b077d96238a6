#!/usr/bin/env node
// Type-checks the project (tsc --noEmit, counted as one test), then runs every test file (uvu) in
// its own Node process, in two lanes (below), and ends with the line "N passed, N failed". A file
// that crashes counts as failed. Usage: npm test [-- pattern] (a pattern skips the type check)
//
// Two lanes keep the suite short on a 2-core machine: the files that encode real video (FFmpeg
// runs at nice 10 inside them) run one after another in a second lane at nice 5, beside the rest,
// which run one after another in the first lane at normal priority — so the timing-sensitive
// tests there (leases, timeouts, pokes) are not starved. Output of the first lane is printed live,
// the second lane's file by file as each ends.
//
// The container image test spends most of its minutes building the image (downloads, unpacking,
// compiling a native module) and runs nothing time-sensitive: it runs beside both, at nice 10,
// and its output is printed when it ends.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pattern = process.argv[2] ? new RegExp(process.argv[2]) : null;

function findTests(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) return name === 'support' ? [] : findTests(full);
      return name.endsWith('.test.ts') ? [full] : [];
    });
}

const files = findTests(path.join(root, 'test')).filter((f) => !pattern || pattern.test(path.relative(root, f)));
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];
const started = Date.now();

// Type checking is part of the suite: a type error fails it like a failing test (reported as one).
if (!pattern) {
  const t0 = Date.now();
  // The service (tsconfig.json) and the dashboard's browser code (ui/tsconfig.json: DOM types).
  const tscOf = (project) => spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', path.join(root, project)], { cwd: root, encoding: 'utf8' });
  const runs = [tscOf('tsconfig.json'), tscOf('ui/tsconfig.json')];
  const tsc = { status: runs.every((r) => r.status === 0) ? 0 : 1, stdout: runs.map((r) => r.stdout).join(''), stderr: runs.map((r) => r.stderr).join('') };
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (tsc.status === 0) {
    passed += 1;
    console.log(`--- tsc --noEmit: no type errors, ${seconds} s`);
  } else {
    failed += 1;
    broken.push('tsc --noEmit (type errors)');
    process.stdout.write(tsc.stdout + tsc.stderr);
    console.log(`--- tsc --noEmit: type errors, ${seconds} s`);
  }
}

const BACKGROUND = new Set(['test/image.test.ts']);
/** The files that encode real video: the second lane. */
const ENCODING = [/^test\/service\//, /^test\/maintenance\//, /^test\/transcoder\/(transcode|rejections|phases)\.test\.ts$/, /^test\/build\.test\.ts$/, /^test\/ui\/admin\.test\.ts$/];
const encodes = (rel) => ENCODING.some((re) => re.test(rel));

/** Runs one test file; `live`: its output goes to the terminal as it comes, else only in the result (at `nice`). */
function runFile(file, live, nice = 10) {
  return new Promise((resolve) => {
    let text = '';
    const command = live ? [process.execPath, '--import', 'tsx', file] : ['nice', '-n', String(nice), process.execPath, '--import', 'tsx', file];
    const child = spawn(command[0], command.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    child.stdout.on('data', (d) => { text += d; if (live) process.stdout.write(d); });
    child.stderr.on('data', (d) => { text += d; if (live) process.stderr.write(d); });
    child.on('close', (code) => resolve({ text: strip(text), raw: text, code }));
  });
}

function record(rel, output, seconds) {
  const num = (label) => Number((new RegExp(`${label}:\\s+(\\d+)`).exec(output.text) ?? [])[1] ?? NaN);
  const total = num('Total');
  const ok = num('Passed');
  const skip = num('Skipped') || 0;
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    failed += 1;
    broken.push(`${rel} (no summary, exit ${output.code})`);
  } else {
    passed += ok;
    skipped += skip;
    const bad = total - ok - skip;
    failed += bad;
    if (bad > 0 || output.code !== 0) broken.push(`${rel} (${bad} failed, exit ${output.code})`);
    if (bad === 0 && output.code !== 0) failed += 1;
  }
  console.log(`--- ${rel}: ${seconds} s`);
}

const since = (t0) => ((Date.now() - t0) / 1000).toFixed(1);
const background = files
  .filter((f) => BACKGROUND.has(path.relative(root, f)))
  .map((file) => {
    const t0 = Date.now();
    return runFile(file, false).then((output) => ({ rel: path.relative(root, file), output, seconds: since(t0) }));
  });

const rest = files.filter((f) => !BACKGROUND.has(path.relative(root, f)));
const secondLane = (async () => {
  for (const file of rest.filter((f) => encodes(path.relative(root, f)))) {
    const t0 = Date.now();
    const output = await runFile(file, false, 5);
    const rel = path.relative(root, file);
    console.log(`\n--- ${rel} (second lane):`);
    process.stdout.write(output.raw);
    record(rel, output, since(t0));
  }
})();
for (const file of rest.filter((f) => !encodes(path.relative(root, f)))) {
  const t0 = Date.now();
  const output = await runFile(file, true);
  record(path.relative(root, file), output, since(t0));
}
await secondLane;
for (const { rel, output, seconds } of await Promise.all(background)) {
  console.log(`\n--- ${rel} (ran beside the others):`);
  process.stdout.write(output.raw);
  record(rel, output, seconds);
}

console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (broken.length) console.log(`Failing:\n  ${broken.join('\n  ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
