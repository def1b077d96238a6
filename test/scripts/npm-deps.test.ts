/**
 * scripts/npm-deps.sh (called by scripts/install.sh): `npm ci` runs when node_modules is missing,
 * stale or half-installed, and not again when it matches the lockfile — run against a project
 * folder with an `npm` on PATH that records its calls.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../support/vcs.ts';

test('npm ci once, skipped while node_modules matches package.json, package-lock.json and Node; again after a change or a failed install', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-npm-deps-'));
  try {
    const project = path.join(dir, 'project');
    const bin = path.join(dir, 'bin');
    const calls = path.join(dir, 'calls');
    await mkdir(project);
    await mkdir(bin);
    await writeFile(path.join(project, 'package.json'), '{"name":"x"}\n');
    await writeFile(path.join(project, 'package-lock.json'), '{"lockfileVersion":3}\n');
    // The fake npm: records its arguments, makes node_modules, fails when told to.
    await writeFile(path.join(bin, 'npm'), `#!/bin/sh\necho "$*" >>"${calls}"\n[ -f "${dir}/fail" ] && exit 1\nmkdir -p node_modules\n`);
    await chmod(path.join(bin, 'npm'), 0o755);
    const run = () => spawnSync('bash', [path.join(ROOT, 'scripts/npm-deps.sh'), project], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const called = async () => (await readFile(calls, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean).length;

    assert.is(run().status, 0);
    assert.is(await called(), 1, 'first run installs');
    const again = run();
    assert.is(again.status, 0);
    assert.is(await called(), 1, 'second run installs nothing');
    assert.match(again.stdout, 'npm dependencies up to date');

    await writeFile(path.join(project, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
    await writeFile(path.join(dir, 'fail'), '');
    assert.is.not(run().status, 0, 'a failed install fails the script');
    await rm(path.join(dir, 'fail'));
    assert.is(run().status, 0);
    assert.is(await called(), 3, 'a changed lockfile installs, and a failed install is retried');
    run();
    assert.is(await called(), 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
