/**
 * Google sign-in in a real browser: `vcs serve` on the protocol-level Appwrite server (its identity
 * page stands in for Google), Chromium clicking through as an admin and as someone who is not.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser } from 'playwright-core';
import { appwriteServeEnv, setUpSchema } from '../support/appwrite-fixtures.ts';
import { startAppwriteServer, type FakeAppwrite } from '../support/appwrite-server.ts';
import { launchChromium } from '../support/browser.ts';
import { servicePorts, startServe, type ServeProcess } from '../support/service.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const test = suite('admin sign-in with Google, in Chromium');
let tmp = '';
let appwrite: FakeAppwrite;
let serve: ServeProcess;
let browser: Browser;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-google-ui-'));
  appwrite = await startAppwriteServer({ buildMs: 0 });
  await setUpSchema(appwrite, 'tablesdb');
  appwrite.accounts.addUser({ $id: 'u-admin', email: 'admin@example.com', name: 'Admin', labels: [], teams: [] });
  appwrite.accounts.addUser({ $id: 'u-visitor', email: 'visitor@example.com', name: 'Visitor', labels: [], teams: [] });
  serve = await startServe({ ...(await servicePorts()), ...appwriteServeEnv(appwrite), STORAGE_PATH: tmp, ADMIN_EMAILS: 'admin@example.com', ADMIN_SESSION_SECRET: 'google-ui' });
  browser = await launchChromium();
});

test.after(async () => {
  await browser?.close();
  serve?.child.kill('SIGTERM');
  await serve?.exited;
  await appwrite?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('an admin clicks through Google and lands on the dashboard, named by the e-mail', async () => {
  const page = await (await browser.newContext()).newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${serve.url}/admin/`);
  await page.click('text=Sign in with Google');
  await page.waitForSelector('text=Choose an account');
  await page.click('text=admin@example.com');
  await page.waitForSelector('#who');
  assert.is(await page.textContent('#who'), 'admin@example.com');
  assert.match(page.url(), /\/admin\/$/);
  assert.equal(errors, []);
});

test('someone else sees "Not an admin" and is not signed in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${serve.url}/admin/login`);
  await page.click('text=Sign in with Google');
  await page.click('text=visitor@example.com');
  await page.waitForSelector('h1');
  assert.is(await page.textContent('h1'), 'Not an admin');
  assert.match((await page.textContent('[role=alert]')) ?? '', /visitor@example.com is not allowed/);
  assert.equal((await context.cookies()).filter((c) => c.name === 'vcs_admin'), []);
  await page.goto(`${serve.url}/admin/`);
  assert.match(page.url(), /\/admin\/login$/);
});

test.run();
