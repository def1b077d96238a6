/**
 * The compiled `vcs` (dist/bin/vcs.js) the benchmarks run, as a deployment runs it; each
 * benchmark's npm script builds it first when a source is newer (scripts/build.mjs --if-stale).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export const BUILT_VCS = path.resolve(import.meta.dirname, '../dist/bin/vcs.js');

if (!existsSync(BUILT_VCS)) throw new Error(`${BUILT_VCS} is missing: run npm run build (the bench:* scripts do)`);
