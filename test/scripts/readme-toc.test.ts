/**
 * The README as a guide that cannot rot: its contents list is what scripts/readme-toc.ts renders
 * (npm run docs), every `#anchor` link lands on a heading, and every file or folder it links to is
 * in the repository (nothing it cites lives elsewhere).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { headings, renderToc } from '../../scripts/readme-toc.ts';
import { ROOT } from '../support/vcs.ts';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

test('GitHub’s anchors: punctuation dropped, code spans by their text, repeats numbered', () => {
  const md = '## The Appwrite store (`STORE=appwrite`)\n```\n## not a heading\n```\n### Single server (systemd + nginx)\n## Runbooks\n## Runbooks\n';
  assert.equal(
    headings(md).map((h) => h.anchor),
    ['the-appwrite-store-storeappwrite', 'single-server-systemd--nginx', 'runbooks', 'runbooks-1'],
  );
});

test('the contents list is current (npm run docs)', () => {
  const toc = /<!-- toc:start -->\n([\s\S]*?)\n<!-- toc:end -->/.exec(README)?.[1];
  assert.ok(toc, 'README has the toc markers');
  assert.fixture(toc!, renderToc(README));
});

test('every #anchor link lands on a heading', () => {
  const anchors = new Set(headings(README).map((h) => h.anchor));
  const links = [...README.matchAll(/\]\(#([^)\s]+)\)/g)].map((m) => m[1]!);
  assert.ok(links.length > 10);
  assert.equal(links.filter((a) => !anchors.has(a)), [], 'links to missing headings');
});

test('every file or folder the README links to is in the repository', () => {
  const targets = [...README.matchAll(/\]\((?!#|https?:|mailto:)([^)\s#]+)(#[^)\s]*)?\)/g)].map((m) => m[1]!);
  // Paths written as code (`docs/adr/0019-….md`, `deploy/nginx/…`) are citations too; built
  // output (dist/) and paths with placeholders are not files of the repository.
  const cited = [...README.matchAll(/`((?:docs|deploy|charts|k8s|monitoring|scripts|src|test|bench|transcoder|ui|bin)\/[^`\s]+)`/g)].map((m) => m[1]!).filter((p) => !/[<>*{}$]/.test(p));
  assert.ok(targets.length >= 4 && cited.length > 20, `${targets.length} links, ${cited.length} cited paths`);
  assert.equal([...targets, ...cited].filter((t) => !existsSync(path.join(ROOT, decodeURIComponent(t)))), [], 'cited files that are not in the repository');
  assert.not.match(README, /\.\.\/shared|ORIGINAL-PLAN|DESIGN\.md/, 'documents that are not in the repository');
});

test.run();
