/**
 * The admin dashboard under ADMIN_PATH (the plan's "ADMIN DASHBOARD"): the sign-in page (an API
 * key, the same hashed keys as the API), the dashboard page, its static assets (built by
 * scripts/build.mjs from ui/admin/ with esbuild), the session endpoint that hands the page its
 * CSRF token, sign-out, and the live feed (Server-Sent Events).
 *
 * Every answer carries a strict Content-Security-Policy (scripts and styles from this origin only,
 * no inline script). The page calls the ordinary /api endpoints with its session cookie and the
 * CSRF token (`adminSessionAuth`): the API keeps accepting Bearer keys as before.
 */
import { spawn } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { vcsError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { AppwriteIdentity } from '../../jobs/appwrite/identity.ts';
import type { JobStore } from '../../jobs/store.ts';
import { packageDir } from '../../volume/layout.ts';
import { readRunLogs } from '../../volume/run-logs.ts';
import type { Keyring } from '../auth.ts';
import { adminEvent, mergeActivity, videoEvent, type AdminLog } from './activity.ts';
import type { LiveFeed } from './live.ts';
import { checkCsrf, csrfToken, newSession, openSession, sealSession, SESSION_COOKIE, SESSION_TTL_MS, CSRF_HEADER, type AdminSession } from './session.ts';

export interface AdminDeps {
  /** ADMIN_PATH, e.g. /admin. */
  path: string;
  secret: Buffer;
  keyring: Keyring;
  live: LiveFeed;
  log: Logger;
  now: () => number;
  /** The built assets (dist/ui/admin). */
  assetsDir: string;
  /** Admin actions through the dashboard: the audit journal, for the activity list. */
  actions: AdminLog;
  store: Pick<JobStore, 'list' | 'get'>;
  /** Google sign-in through Appwrite (STORE=appwrite); absent: API keys only. */
  google?: AppwriteIdentity;
  /** TEMP_PATH: the runs' own logs are under it (src/volume/layout.ts). */
  tempPath: string;
  /** HLS_PATH: the packages, for downloads. */
  hlsPath: string;
}

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'style.css': 'text/css; charset=utf-8' };
const HEARTBEAT_MS = 15_000;

function securityHeaders(ctx: Context): void {
  ctx.set('Content-Security-Policy', CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('X-Frame-Options', 'DENY');
}

/** The signed-in admin of a request, or null. */
export function sessionOf(ctx: Context, deps: Pick<AdminDeps, 'secret' | 'now'>): AdminSession | null {
  return openSession(ctx.cookies.get(SESSION_COOKIE), deps.secret, deps.now());
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * For the API: a request with a valid admin session cookie is the admin's (state-changing ones
 * only with the session's CSRF token); anything else goes to `fallback` (the API key check).
 */
export function adminSessionAuth(deps: Pick<AdminDeps, 'secret' | 'now' | 'log' | 'actions'>, fallback: Middleware): Middleware {
  return async (ctx: Context, next: Next) => {
    const session = ctx.get('authorization') ? null : sessionOf(ctx, deps);
    if (!session) return fallback(ctx, next);
    if (STATE_CHANGING.has(ctx.method) && !checkCsrf(session, ctx.get(CSRF_HEADER) || undefined, deps.secret)) {
      deps.log.warn({ channel: 'audit', admin: session.subject, method: ctx.method, path: ctx.path, ip: ctx.ip }, 'admin call refused: missing or wrong CSRF token');
      throw vcsError('VCS_ERR_FORBIDDEN', `a call made with the admin session needs its CSRF token in the ${CSRF_HEADER} header`);
    }
    ctx.state.admin = session.subject;
    if (!STATE_CHANGING.has(ctx.method)) return next();
    deps.log.info({ channel: 'audit', admin: session.subject, method: ctx.method, path: ctx.path, ip: ctx.ip }, 'admin action');
    await next();
    if (ctx.status < 400) {
      const event = adminEvent(session.subject, ctx.method, ctx.path, new Date(deps.now()).toISOString());
      // The action happened: a journal that cannot be written is logged, not the caller's failure.
      if (event) await deps.actions.record(event, `${ctx.method} ${ctx.path}`).catch((err: Error) => deps.log.error({ err: err.message, admin: session.subject }, 'audit journal not written'));
    }
  };
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/style.css">
<script type="module" src="assets/app.js"></script>
</head>
<body>
${body}
</body>
</html>
`;
}

const FAILURES: Record<string, string> = {
  key: 'That key is not valid.',
  google: 'The Google sign-in did not complete. Try again.',
};

const LOGIN_PAGE = (failed: string | undefined, google: boolean) =>
  page(
    'Sign in · Video compression',
    `<main class="signin">
<h1>Video compression</h1>
${failed !== undefined ? `<p class="error" role="alert">${FAILURES[failed] ?? FAILURES.key}</p>` : ''}
${google ? '<a class="google" href="login/google">Sign in with Google</a>\n<p class="or">or with an API key</p>' : ''}
<form method="post" action="login">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main>`,
  );

/** A video id from the path: digits only, a positive safe integer. */
function videoId(raw: string | undefined): number {
  const id = /^[1-9][0-9]{0,15}$/.test(raw ?? '') ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw vcsError('VCS_ERR_BAD_REQUEST', 'the video id must be a positive integer');
  return id;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const NOT_ADMIN_PAGE = (email: string) =>
  page(
    'Not an admin · Video compression',
    `<main class="signin">
<h1>Not an admin</h1>
<p role="alert" class="error">${escapeHtml(email)} is not allowed into this dashboard.</p>
<p>Ask an admin to add the address to ADMIN_EMAILS, give the account the "admin" label in Appwrite, or add it to the admin team.</p>
<a href="login">Back to sign-in</a>
</main>`,
  );

const DASHBOARD_PAGE = page('Video compression', '<div id="app" data-view="dashboard"><p class="loading">Loading…</p></div>');

export function adminRouter(deps: AdminDeps): Router {
  const router = new Router({ prefix: deps.path, sensitive: true, strict: false });
  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(ASSETS)) {
    try {
      assets.set(name, readFileSync(path.join(deps.assetsDir, name)));
    } catch {
      deps.log.warn({ dir: deps.assetsDir, file: name }, 'admin dashboard asset missing: run npm run build');
    }
  }
  const cookieOptions = (ctx: Context) => ({ httpOnly: true, sameSite: 'strict' as const, secure: ctx.secure, path: '/', overwrite: true });

  router.use(async (ctx, next) => {
    securityHeaders(ctx);
    await next();
  });

  /** Routes for a signed-in admin only. */
  const requireSession = (ctx: Context, next: Next) => {
    if (!sessionOf(ctx, deps)) throw vcsError('VCS_ERR_UNAUTHORIZED', 'not signed in');
    return next();
  };

  // The page itself; /admin/ and /admin alike (relative asset URLs resolve under the path).
  router.get('/', (ctx) => {
    if (!ctx.path.endsWith('/')) return ctx.redirect(`${deps.path}/`);
    if (!sessionOf(ctx, deps)) return ctx.redirect(`${deps.path}/login`);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = DASHBOARD_PAGE;
  });

  router.get('/login', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    const failed = ctx.query.failed;
    ctx.body = LOGIN_PAGE(typeof failed === 'string' ? failed : undefined, deps.google !== undefined);
  });

  const signedIn = (ctx: Context, session: AdminSession) => {
    ctx.cookies.set(SESSION_COOKIE, sealSession(session, deps.secret), { ...cookieOptions(ctx), maxAge: SESSION_TTL_MS });
    deps.log.info({ admin: session.subject, method: session.method, ip: ctx.ip }, 'admin signed in');
    ctx.status = 303;
    ctx.redirect(`${deps.path}/`);
  };

  // Google through Appwrite: off to the provider, back to /login/oauth with a one-time token.
  router.get('/login/google', async (ctx) => {
    if (!deps.google) throw vcsError('VCS_ERR_NOT_FOUND', 'Google sign-in needs STORE=appwrite');
    const base = `${ctx.protocol}://${ctx.host}${deps.path}`;
    ctx.redirect(await deps.google.signInUrl(`${base}/login/oauth`, `${base}/login?failed=google`));
  });

  router.get('/login/oauth', async (ctx) => {
    if (!deps.google) throw vcsError('VCS_ERR_NOT_FOUND', 'Google sign-in needs STORE=appwrite');
    const { userId, secret } = ctx.query;
    if (typeof userId !== 'string' || typeof secret !== 'string' || userId.length > 64 || secret.length > 512) return ctx.redirect(`${deps.path}/login?failed=google`);
    let who;
    try {
      who = await deps.google.identify(userId, secret);
    } catch (err) {
      deps.log.warn({ ip: ctx.ip, err: (err as Error).message }, 'admin sign-in with Google failed');
      return ctx.redirect(`${deps.path}/login?failed=google`);
    }
    if (!who.admin) {
      deps.log.warn({ email: who.email, because: who.because, ip: ctx.ip }, 'admin sign-in refused: not an admin');
      ctx.status = 403;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = NOT_ADMIN_PAGE(who.email);
      return;
    }
    deps.log.info({ email: who.email, because: who.because }, 'admin allowed');
    signedIn(ctx, newSession(who.email, 'appwrite', deps.now()));
  });

  router.post('/login', (ctx) => {
    // Same-origin form posts only (a cross-site page cannot sign a visitor in as someone else).
    const site = ctx.get('sec-fetch-site');
    if (site && site !== 'same-origin' && site !== 'none') throw vcsError('VCS_ERR_FORBIDDEN', 'sign-in is accepted from this site only');
    const key = (ctx.request.body as { key?: unknown } | undefined)?.key;
    const result = typeof key === 'string' && key.length <= 512 ? deps.keyring.check(`Bearer ${key.trim()}`) : ({ ok: false, reason: 'missing' } as const);
    if (!result.ok) {
      deps.log.warn({ ip: ctx.ip, reason: result.reason }, 'admin sign-in refused');
      return ctx.redirect(`${deps.path}/login?failed=key`);
    }
    signedIn(ctx, newSession(`api-key:${result.fingerprint}`, 'api-key', deps.now()));
  });

  router.get('/session', (ctx) => {
    const session = sessionOf(ctx, deps);
    if (!session) throw vcsError('VCS_ERR_UNAUTHORIZED', 'not signed in');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { subject: session.subject, method: session.method, expires: new Date(session.expires).toISOString(), csrf: csrfToken(session, deps.secret) };
  });

  router.get('/activity', requireSession, async (ctx) => {
    const { jobs } = await deps.store.list({ limit: 20, offset: 0, sort: 'updated_at', order: 'desc' });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { events: mergeActivity(20, jobs.map(videoEvent), await deps.actions.recent(20).catch(() => [])) };
  });

  router.get('/videos/:id/logs', requireSession, async (ctx) => {
    const id = videoId(ctx.params.id);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { wp_post_id: id, runs: await readRunLogs(deps.tempPath, id) };
  });

  // Downloads: the package as one tar file, or one rendition as one MPEG-TS file (its segments in
  // playlist order; MPEG-TS concatenates). The original and the single files are plain links.

  // The upload's URL and what the package holds per rendition (folders with a playlist).
  router.get('/videos/:id/files', requireSession, async (ctx) => {
    const id = videoId(ctx.params.id);
    const video = await deps.store.get(id);
    if (!video) throw vcsError('VCS_ERR_NOT_FOUND', 'no such video');
    const dir = packageDir(deps.hlsPath, id);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const renditions = [];
    for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const files = await readdir(path.join(dir, e.name)).catch(() => [] as string[]);
      if (!files.includes('playlist.m3u8')) continue;
      const segments = files.filter((f) => f.endsWith('.ts'));
      const sizes = await Promise.all(files.map((f) => stat(path.join(dir, e.name, f)).then((i) => i.size, () => 0)));
      renditions.push({ name: e.name, segments: segments.length, bytes: sizes.reduce((a, b) => a + b, 0) });
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { original_video_url: video.original_video_url, renditions };
  });

  router.get('/videos/:id/package.tar', requireSession, async (ctx) => {
    const id = videoId(ctx.params.id);
    if (!(await stat(packageDir(deps.hlsPath, id)).then((s) => s.isDirectory(), () => false))) throw vcsError('VCS_ERR_NOT_FOUND', `video ${id} has no package`);
    const tar = spawn('tar', ['-C', deps.hlsPath, '-cf', '-', String(id)], { stdio: ['ignore', 'pipe', 'ignore'] });
    ctx.req.on('close', () => tar.kill());
    ctx.set('Content-Disposition', `attachment; filename="video-${id}-hls.tar"`);
    ctx.type = 'application/x-tar';
    ctx.body = tar.stdout;
  });

  router.get('/videos/:id/:rendition.ts', requireSession, async (ctx) => {
    const id = videoId(ctx.params.id);
    const rendition = ctx.params.rendition ?? '';
    if (!/^[a-z0-9_-]{1,32}$/.test(rendition)) throw vcsError('VCS_ERR_NOT_FOUND', 'no such rendition');
    const dir = path.join(packageDir(deps.hlsPath, id), rendition);
    const playlist = await readFile(path.join(dir, 'playlist.m3u8'), 'utf8').catch(() => null);
    if (playlist === null) throw vcsError('VCS_ERR_NOT_FOUND', `video ${id} has no rendition ${rendition}`);
    // Segment names as the playlist lists them, only plain names inside the rendition's folder.
    const segments = playlist.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (segments.some((s) => !/^[A-Za-z0-9_.-]+\.ts$/.test(s))) throw vcsError('VCS_ERR_INTERNAL', `the playlist of ${rendition} names unexpected files`);
    const sizes = await Promise.all(segments.map((s) => stat(path.join(dir, s)).then((i) => i.size)));
    ctx.set('Content-Disposition', `attachment; filename="video-${id}-${rendition}.ts"`);
    ctx.type = 'video/mp2t';
    ctx.length = sizes.reduce((a, b) => a + b, 0);
    ctx.body = Readable.from(
      (async function* () {
        for (const s of segments) yield* createReadStream(path.join(dir, s));
      })(),
    );
  });

  router.post('/logout', (ctx) => {
    const session = sessionOf(ctx, deps);
    if (session && !checkCsrf(session, ctx.get(CSRF_HEADER) || undefined, deps.secret)) throw vcsError('VCS_ERR_FORBIDDEN', `sign-out needs the session's CSRF token in ${CSRF_HEADER}`);
    ctx.cookies.set(SESSION_COOKIE, '', { ...cookieOptions(ctx), maxAge: 0 });
    if (session) deps.log.info({ admin: session.subject }, 'admin signed out');
    ctx.status = 204;
  });

  router.get('/events', requireSession, (ctx) => {
    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    ctx.status = 200;
    ctx.body = stream;
    stream.write('retry: 5000\n\n');
    const unsubscribe = deps.live.subscribe((snapshot) => stream.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`));
    const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      stream.end();
    };
    ctx.req.on('close', end);
    ctx.res.on('close', end);
  });

  router.get('/assets/:file', (ctx) => {
    const file = ctx.params.file!;
    const body = Object.hasOwn(ASSETS, file) ? assets.get(file) : undefined;
    if (!body) throw vcsError('VCS_ERR_NOT_FOUND', `no asset ${file}`);
    ctx.type = ASSETS[file]!;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = body;
  });

  return router;
}
