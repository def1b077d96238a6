/**
 * Google sign-in to the dashboard through Appwrite's OAuth2 token flow, against the protocol-level
 * Appwrite server (its stand-in identity page plays Google): admins by ADMIN_EMAILS, by the admin
 * label and by ADMIN_TEAM_ID get a session; anyone else gets a "not an admin" page and no cookie;
 * a cancelled sign-in or a replayed token gets neither; the Appwrite session is ended each time.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAppwriteServer, type FakeAppwrite } from '../../support/appwrite-server.ts';
import { startGateway, type GatewayUnderTest } from '../../support/gateway.ts';

const test = suite('admin sign-in with Google');
let appwrite: FakeAppwrite;
let gw: GatewayUnderTest;

test.before(async () => {
  appwrite = await startAppwriteServer({ buildMs: 0 });
  appwrite.accounts.addUser({ $id: 'u-listed', email: 'Boss@Example.com', name: 'Boss', labels: [], teams: [] });
  appwrite.accounts.addUser({ $id: 'u-label', email: 'label@example.com', name: 'Labelled', labels: ['admin'], teams: [] });
  appwrite.accounts.addUser({ $id: 'u-team', email: 'team@example.com', name: 'Teamed', labels: [], teams: ['video-admins'] });
  appwrite.accounts.addUser({ $id: 'u-other', email: 'visitor@example.com', name: '<b>Visitor</b>', labels: ['editor'], teams: ['other-team'] });
  appwrite.accounts.addUser({ $id: 'u-blocked', email: 'blocked@example.com', name: 'Blocked', labels: ['admin'], teams: [], status: false });
  gw = await startGateway({
    STORE: 'appwrite',
    APPWRITE_ENDPOINT: appwrite.endpoint,
    APPWRITE_PROJECT_ID: appwrite.projectId,
    APPWRITE_API_KEY: appwrite.apiKey,
    ADMIN_EMAILS: 'boss@example.com',
    ADMIN_TEAM_ID: 'video-admins',
    ADMIN_SESSION_SECRET: 'google-test',
  });
});
test.after(async () => {
  await gw?.close();
  await appwrite?.close();
});

const get = (url: string) => fetch(url, { redirect: 'manual' });

/** Through the flow as a browser would, choosing `userId` (or cancelling) on the identity page. */
async function signInAs(userId: string | 'cancel'): Promise<{ final: Response; callback: string }> {
  const start = await get(`${gw.url}/admin/login/google`);
  assert.is(start.status, 302);
  const identity = start.headers.get('location')!;
  assert.ok(identity.startsWith(appwrite.endpoint.replace(/\/v1$/, '')), identity);
  const page = await (await get(identity)).text();
  const link = userId === 'cancel' ? /id="cancel" href="([^"]+)"/.exec(page)![1]! : new RegExp(`href="([^"]+user=${userId})"`).exec(page)![1]!;
  const back = await get(new URL(link.replaceAll('&amp;', '&'), identity).toString());
  assert.is(back.status, 301);
  const callback = back.headers.get('location')!;
  return { final: await get(callback), callback };
}

test('the sign-in page offers Google; the button goes to Appwrite’s OAuth2 token URL and back to /admin/login/oauth', async () => {
  assert.match(await (await fetch(`${gw.url}/admin/login`)).text(), /href="login\/google">Sign in with Google/);
  const { callback } = await signInAs('u-listed');
  assert.match(callback, new RegExp(`^${gw.url}/admin/login/oauth\\?userId=u-listed&secret=[0-9a-f]{64}$`));
  const tokenCall = appwrite.requests.find((r) => r.path === '/account/tokens/oauth2/google')!;
  assert.ok(tokenCall.queries.length === 0 && !tokenCall.headers['x-appwrite-key'], 'asked as a guest, without the key');
});

for (const [userId, email, because] of [
  ['u-listed', 'Boss@Example.com', 'ADMIN_EMAILS lists it'],
  ['u-label', 'label@example.com', 'it carries the "admin" label'],
  ['u-team', 'team@example.com', 'it is a member of team video-admins'],
] as const) {
  test(`an admin by ${because.split(' ').slice(-2).join(' ')} gets a session named by the e-mail`, async () => {
    const { final } = await signInAs(userId);
    assert.equal([final.status, final.headers.get('location')], [303, '/admin/']);
    const cookie = (final.headers.get('set-cookie') ?? '').split(';')[0]!;
    const session = await (await fetch(`${gw.url}/admin/session`, { headers: { cookie } })).json();
    assert.equal([session.subject, session.method], [email, 'appwrite']);
    assert.ok(gw.logs.some((l) => l.msg === 'admin allowed' && l.because === because));
  });
}

test('anyone else sees "not an admin" and gets no session; a blocked account gets the sign-in page back', async () => {
  const blocked = (await signInAs('u-blocked')).final;
  assert.equal([blocked.status, blocked.headers.get('location'), blocked.headers.get('set-cookie')], [302, '/admin/login?failed=google', null]);
  for (const userId of ['u-other']) {
    const { final } = await signInAs(userId);
    assert.is(final.status, 403);
    assert.is(final.headers.get('set-cookie'), null);
    const html = await final.text();
    assert.match(html, /<h1>Not an admin<\/h1>/);
    assert.match(final.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  }
  assert.ok(gw.logs.some((l) => l.msg === 'admin sign-in refused: not an admin' && l.email === 'visitor@example.com'));
});

test('every Appwrite session the gateway made was ended', () => {
  const sessions = [...appwrite.accounts.sessions.values()];
  assert.ok(sessions.length >= 5);
  assert.ok(sessions.every((s) => s.deleted));
});

test('a cancelled sign-in, a replayed token and hostile parameters get the sign-in page back', async () => {
  const { final } = await signInAs('cancel');
  assert.equal([final.status, new URL(final.url || `${gw.url}/x`).pathname], [200, '/admin/login']);
  const { callback } = await signInAs('u-listed');
  const again = await get(callback);
  assert.equal([again.status, again.headers.get('location'), again.headers.get('set-cookie')], [302, '/admin/login?failed=google', null], 'the token is spent');
  for (const q of ['', '?userId=u-listed', `?userId=${'x'.repeat(100)}&secret=s`, '?userId=u-listed&secret=forged', '?userId[]=a&secret=b']) {
    const res = await get(`${gw.url}/admin/login/oauth${q}`);
    assert.equal([res.status, res.headers.get('location')], [302, '/admin/login?failed=google'], q);
  }
  assert.match(await (await fetch(`${gw.url}/admin/login?failed=google`)).text(), /The Google sign-in did not complete/);
});

test.run();
