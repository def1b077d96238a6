/**
 * SENTRY_DSN: errors to Sentry. Each process that has the DSN initialises the SDK once, lazily (the
 * SDK is loaded only then), without its default integrations — no OpenTelemetry, no module hooks, no
 * breadcrumbs, no request data: what is sent is what we choose. Two kinds of events:
 * every line logged at error or fatal (`logged`), and every video that fails (`videoFailed`),
 * tagged `video_id` and grouped by error code. `beforeSend` removes every configured secret's
 * value, URL credentials and query strings (signed URLs) from the whole event.
 */
import { SECRET_SETTINGS, type Settings } from '../config.ts';
import type { Process } from '../config/settings.ts';

export interface ErrorReporter {
  /** A parsed log line at error or fatal level, logged by this process. */
  logged(line: Record<string, unknown>): void;
  videoFailed(video: { wp_post_id: number; failed_at_step: string | null; error_code: string | null; error_message: string | null }): void;
  /** Sends what is queued; resolves after at most `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>;
}

/** Log fields that are the event's frame, not its extra data. */
const FRAME = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err']);

/** Every secret setting's value (lists item by item), longest first so a secret inside another goes with it. */
export function secretValues(settings: Partial<Settings>): string[] {
  const values = SECRET_SETTINGS.flatMap((name) => {
    const v = settings[name];
    return Array.isArray(v) ? v.map(String) : v === undefined || v === null || v === '' ? [] : [String(v)];
  });
  // Very short values would redact ordinary words; no real key is this short.
  return [...new Set(values.filter((v) => v.length >= 6))].sort((a, b) => b.length - a.length);
}

/** Pure: `text` with the secrets, URL user:password and URL query strings replaced. */
export function scrubText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    // As written, and as it appears inside a JSON string (quotes and backslashes escaped).
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) out = out.split(form).join('[redacted]');
  }
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@"']+@/gi, '$1[redacted]@').replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s"'?#]+)\?[^\s"'#]*/gi, '$1?[redacted]');
}

export async function startErrorReporter(settings: Settings, program: Process): Promise<ErrorReporter | undefined> {
  if (!settings.SENTRY_DSN) return undefined;
  // @sentry/core with its server client, not @sentry/node: the same event pipeline (scopes,
  // envelopes, rate limits) without OpenTelemetry, bundler plugins and the Sentry CLI, which would
  // add ~90 MB to every install and image for integrations this service turns off anyway.
  const Sentry = await import('@sentry/core');
  const { ServerRuntimeClient, nodeStackLineParser } = await import('@sentry/core/server');
  const secrets = secretValues(settings);
  const client = new ServerRuntimeClient({
    dsn: settings.SENTRY_DSN,
    platform: 'node',
    runtime: { name: 'node', version: process.version },
    stackParser: Sentry.createStackParser(nodeStackLineParser()),
    // Nothing about users or requests, no breadcrumbs, no integrations: errors are all we send.
    sendDefaultPii: false,
    integrations: [],
    beforeBreadcrumb: () => null,
    transport: (options) =>
      Sentry.createTransport(options, async (request) => {
        const res = await fetch(options.url, { method: 'POST', body: request.body as BodyInit, headers: options.headers, signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        return { statusCode: res.status, headers: { 'x-sentry-rate-limits': res.headers.get('x-sentry-rate-limits'), 'retry-after': res.headers.get('retry-after') } };
      }),
    beforeSend(event) {
      delete event.request;
      delete event.user;
      return JSON.parse(scrubText(JSON.stringify(event), secrets)) as typeof event;
    },
  });
  Sentry.setCurrentClient(client);
  client.init();
  Sentry.getCurrentScope().setTag('process', program);
  return {
    logged(line) {
      Sentry.withScope((scope) => {
        scope.setLevel(Number(line.level) >= 60 ? 'fatal' : 'error');
        const videoId = line.videoId ?? line.wp_post_id;
        if (videoId !== undefined) scope.setTag('video_id', String(videoId));
        if (typeof line.part === 'string') scope.setTag('part', line.part);
        scope.setExtras(Object.fromEntries(Object.entries(line).filter(([k]) => !FRAME.has(k))));
        const err = line.err as { type?: string; message?: string; stack?: string } | string | undefined;
        if (err && typeof err === 'object' && typeof err.stack === 'string') {
          const error = new Error(err.message ?? String(line.msg));
          error.name = err.type ?? 'Error';
          error.stack = err.stack;
          scope.setExtra('log_message', line.msg);
          Sentry.captureException(error);
        } else {
          if (typeof err === 'string') scope.setExtra('error', err);
          Sentry.captureMessage(String(line.msg ?? 'error'));
        }
      });
    },
    videoFailed(video) {
      Sentry.withScope((scope) => {
        scope.setLevel('error');
        scope.setTag('video_id', String(video.wp_post_id));
        if (video.failed_at_step) scope.setTag('step', video.failed_at_step);
        if (video.error_code) scope.setTag('error_code', video.error_code);
        scope.setExtra('error_message', video.error_message);
        // One issue per kind of failure, not one per video.
        scope.setFingerprint(['video-failed', video.error_code ?? 'unknown']);
        Sentry.captureMessage(`video ${video.wp_post_id} failed at ${video.failed_at_step ?? 'an unknown step'}: ${video.error_code ?? 'no code'}`);
      });
    },
    async flush(timeoutMs = 2000) {
      await Sentry.flush(timeoutMs);
    },
  };
}
