#!/usr/bin/env node
// Compiles src/, transcoder/ and bin/ into dist/ (tsconfig.build.json), and bundles the admin
// dashboard's browser code (ui/admin/app.ts, with esbuild) into dist/ui/admin/ beside its
// stylesheet. With --if-stale it does
// nothing when dist/ is newer than every source file and build setting, so `npm start` never runs
// stale output and costs nothing when the build is current. Usage: node scripts/build.mjs [--if-stale]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const stamp = path.join(root, 'dist/.tsbuildinfo');
const inputs = ['src', 'transcoder', 'bin', 'ui'];
const settings = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

function stale() {
  let built;
  try {
    built = statSync(stamp).mtimeMs;
  } catch {
    return true;
  }
  const sources = Math.max(...inputs.map((d) => newest(path.join(root, d))), ...settings.map((f) => statSync(path.join(root, f)).mtimeMs));
  return sources > built;
}

if (process.argv.includes('--if-stale') && !stale()) process.exit(0);
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// The dashboard's script: one ES module for current browsers, no inline code (the page's CSP).
const ui = path.join(root, 'dist/ui/admin');
mkdirSync(ui, { recursive: true });
const { build } = await import('esbuild');
await build({
  entryPoints: [path.join(root, 'ui/admin/app.ts')],
  outfile: path.join(ui, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(path.join(root, 'ui/admin/style.css'), path.join(ui, 'style.css'));
// tsc leaves its build info untouched when nothing changed: mark the build current all the same.
utimesSync(stamp, new Date(), new Date());
