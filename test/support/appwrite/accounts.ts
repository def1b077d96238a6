/**
 * The fake Appwrite server's accounts, for the dashboard's Google sign-in (docs/protocols/appwrite.md
 * §5): the OAuth2 token flow (`GET /account/tokens/oauth2/{provider}` redirects to the provider —
 * here a stand-in identity page on this server, where a test picks a user — which returns to the
 * `success` URL with `userId` and `secret`), `POST /account/sessions/token` (the session's secret
 * in the answer only when called with the API key, as the server SDK does), `GET /account` with
 * `X-Appwrite-Session` (a key there is refused with general_unauthorized_scope),
 * `DELETE /account/sessions/current`, and `GET /teams/{teamId}/memberships` with the key.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { AppwriteError } from './records.ts';

export interface FakeUser {
  $id: string;
  email: string;
  name: string;
  labels: string[];
  /** Team ids the user is a confirmed member of. */
  teams: string[];
  status?: boolean;
}

export interface AccountReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  html?: string;
}

export interface FakeAccounts {
  users: Map<string, FakeUser>;
  teams: Set<string>;
  addUser(user: Omit<FakeUser, '$id'> & { $id?: string }): FakeUser;
  /** Sessions created so far (their ids), to check that the gateway ends the ones it made. */
  readonly sessions: Map<string, { userId: string; secret: string; deleted: boolean }>;
  answer(method: string, url: URL, headers: http.IncomingHttpHeaders, body: Record<string, unknown>, self: string): AccountReply | null;
}

const hex = (n: number) => randomBytes(n).toString('hex');
const iso = () => new Date().toISOString().replace('Z', '+00:00');

export function createAccounts(projectId: string, apiKey: string): FakeAccounts {
  const users = new Map<string, FakeUser>();
  const teams = new Set<string>();
  const flows = new Map<string, { success: string; failure: string }>();
  const tokens = new Map<string, { userId: string; secret: string; used: boolean }>();
  const sessions = new Map<string, { userId: string; secret: string; deleted: boolean }>();

  const accountJson = (u: FakeUser) => ({
    $id: u.$id,
    $createdAt: iso(),
    $updatedAt: iso(),
    name: u.name,
    registration: iso(),
    status: u.status ?? true,
    labels: u.labels,
    passwordUpdate: '',
    email: u.email,
    phone: '',
    emailVerification: true,
    phoneVerification: false,
    mfa: false,
    prefs: {},
    targets: [],
    accessedAt: iso(),
  });
  const sessionBy = (secret: string | undefined) => [...sessions.entries()].find(([, s]) => s.secret === secret && !s.deleted);
  const guest = () => new AppwriteError(401, 'general_unauthorized_scope', 'User (role: guests) missing scopes (["account"])');
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

  function route(method: string, url: URL, headers: http.IncomingHttpHeaders, body: Record<string, unknown>, self: string): AccountReply | null {
    const path = url.pathname.replace(/^\/v1/, '');
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/account\/tokens\/oauth2\/([a-z]+)$/.exec(path))) {
      // A browser carries the project in the query (the web SDK), a server SDK in its header.
      if ((url.searchParams.get('project') ?? headers['x-appwrite-project']) !== projectId) throw new AppwriteError(404, 'project_not_found', 'Project with the requested ID could not be found.');
      if (m[1] !== 'google') throw new AppwriteError(412, 'project_provider_disabled', `This provider is disabled. Please enable the provider from your ${projectId} console to continue.`);
      const flow = hex(8);
      flows.set(flow, { success: url.searchParams.get('success') ?? '', failure: url.searchParams.get('failure') ?? '' });
      return { status: 301, headers: { Location: `${self}/v1/test/identity?flow=${flow}` } };
    }
    if (method === 'GET' && path === '/test/identity') {
      const flow = url.searchParams.get('flow') ?? '';
      if (!flows.has(flow)) return { status: 400, html: '<p>unknown sign-in</p>' };
      const choices = [...users.values()].map((u) => `<li><a class="account" href="/v1/test/identity/choose?flow=${flow}&amp;user=${u.$id}">${escape(u.email)}</a></li>`).join('');
      return { status: 200, html: `<!doctype html><title>Sign in – Google (stand-in)</title><h1>Choose an account</h1><ul>${choices}</ul><a id="cancel" href="/v1/test/identity/choose?flow=${flow}&amp;cancel=1">Cancel</a>` };
    }
    if (method === 'GET' && path === '/test/identity/choose') {
      const flow = flows.get(url.searchParams.get('flow') ?? '');
      if (!flow) return { status: 400, html: '<p>unknown sign-in</p>' };
      flows.delete(url.searchParams.get('flow')!);
      const user = users.get(url.searchParams.get('user') ?? '');
      if (url.searchParams.get('cancel') || !user) {
        const failure = new URL(flow.failure);
        failure.searchParams.set('error', JSON.stringify({ message: 'User cancelled the sign-in', type: 'user_oauth2_provider_error', code: 401 }));
        return { status: 301, headers: { Location: failure.toString() } };
      }
      const secret = hex(32);
      tokens.set(secret, { userId: user.$id, secret, used: false });
      const success = new URL(flow.success);
      success.searchParams.set('userId', user.$id);
      success.searchParams.set('secret', secret);
      return { status: 301, headers: { Location: success.toString() } };
    }
    if (headers['x-appwrite-project'] !== projectId && (path.startsWith('/account') || path.startsWith('/teams'))) {
      throw new AppwriteError(404, 'project_not_found', 'Project with the requested ID could not be found.');
    }
    if (method === 'POST' && path === '/account/sessions/token') {
      const token = tokens.get(String(body.secret ?? ''));
      if (!token || token.used || token.userId !== body.userId) throw new AppwriteError(401, 'user_invalid_token', 'Invalid token passed in the request.');
      token.used = true;
      const id = hex(10);
      const secret = hex(32);
      sessions.set(id, { userId: token.userId, secret, deleted: false });
      const withKey = headers['x-appwrite-key'] === apiKey;
      return { status: 201, body: { $id: id, $createdAt: iso(), $updatedAt: iso(), userId: token.userId, expire: new Date(Date.now() + 365 * 86400_000).toISOString(), provider: 'oauth2', providerUid: '', current: true, secret: withKey ? secret : '' } };
    }
    if (method === 'GET' && path === '/account') {
      if (headers['x-appwrite-key']) throw guest();
      const found = sessionBy(headers['x-appwrite-session'] as string | undefined);
      const user = found && users.get(found[1].userId);
      if (!user) throw guest();
      if (user.status === false) throw new AppwriteError(401, 'user_blocked', 'The current user has been blocked.');
      return { status: 200, body: accountJson(user) };
    }
    if (method === 'DELETE' && path === '/account/sessions/current') {
      const found = sessionBy(headers['x-appwrite-session'] as string | undefined);
      if (!found) throw guest();
      found[1].deleted = true;
      return { status: 204 };
    }
    if (method === 'GET' && (m = /^\/teams\/([^/]+)\/memberships$/.exec(path))) {
      if (headers['x-appwrite-key'] !== apiKey) throw new AppwriteError(401, 'general_unauthorized_scope', 'User (role: guests) missing scopes (["teams.read"])');
      const teamId = decodeURIComponent(m[1]!);
      if (!teams.has(teamId)) throw new AppwriteError(404, 'team_not_found', 'Team with the requested ID could not be found.');
      const wanted = url.searchParams
        .getAll('queries[]')
        .concat([...url.searchParams.entries()].filter(([k]) => /^queries\[\d+\]$/.test(k)).map(([, v]) => v))
        .map((q) => JSON.parse(q) as { method: string; attribute: string; values: string[] })
        .find((q) => q.method === 'equal' && q.attribute === 'userId')?.values;
      const members = [...users.values()].filter((u) => u.teams.includes(teamId) && (!wanted || wanted.includes(u.$id)));
      return {
        status: 200,
        body: {
          total: members.length,
          memberships: members.map((u) => ({ $id: hex(10), $createdAt: iso(), $updatedAt: iso(), userId: u.$id, userName: u.name, userEmail: u.email, userPhone: '', teamId, teamName: teamId, invited: iso(), joined: iso(), confirm: true, mfa: false, roles: ['member'] })),
        },
      };
    }
    return null;
  }

  return {
    users,
    teams,
    sessions,
    addUser(user) {
      const u = { $id: user.$id ?? hex(10), ...user } as FakeUser;
      users.set(u.$id, u);
      for (const t of u.teams) teams.add(t);
      return u;
    },
    answer: route,
  };
}
