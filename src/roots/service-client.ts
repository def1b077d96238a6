/**
 * The CLI's way to a running service: its HTTP API at VCS_URL, with API_KEY as the Bearer key. The
 * everyday commands go through it and never open a store themselves, so they act on the videos
 * of the service that runs, whatever store their own settings would name (README, "Command line").
 */
import type { Settings } from '../config.ts';

/** How a command ends when the service cannot be asked or refuses (README, "Command line"). */
export const CLI_EXIT = {
  /** The service answered 4xx: a bad id or option, an unknown video, a conflict, a missing key. */
  refused: 2,
  /** No service answers at VCS_URL, or it failed (5xx) — EX_UNAVAILABLE. */
  unavailable: 69,
} as const;

export class ServiceError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export interface ServiceClient {
  readonly url: string;
  call<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'DELETE', path: string, opts?: { query?: Record<string, string | number | boolean | undefined>; body?: unknown }): Promise<T>;
}

/** A DELETE waits up to 15 s for a run to stop; every other call answers at once. */
const CALL_TIMEOUT_MS = 30_000;

/** What to do about a refusal the user can fix here (a key), added to the service's own message. */
function hintFor(status: number, message: string): string {
  if (status !== 401) return '';
  if (/none configured/.test(message)) return ' — start the service with API_KEY set (vcs apikey generate makes one) and give the CLI the same API_KEY';
  return ' — set API_KEY (environment or .env) to a key the service accepts';
}

export function createServiceClient(settings: Pick<Settings, 'VCS_URL' | 'API_KEY'>, fetchFn: typeof fetch = fetch): ServiceClient {
  const base = settings.VCS_URL;
  return {
    url: base,
    async call<T>(method: string, path: string, opts: { query?: Record<string, string | number | boolean | undefined>; body?: unknown } = {}): Promise<T> {
      const url = new URL(path, `${base}/`);
      for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
      const headers: Record<string, string> = { accept: 'application/json' };
      if (settings.API_KEY) headers.authorization = `Bearer ${settings.API_KEY}`;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetchFn(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        throw new ServiceError(`no service answers at ${base} (${cause}): start it (vcs serve), or set VCS_URL to where it runs`, CLI_EXIT.unavailable);
      }
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ServiceError(`${base} is not the video compression service (${method} ${url.pathname} answered ${res.status}, not JSON)`, CLI_EXIT.unavailable, res.status);
      }
      if (res.ok) return body as T;
      const error = (body as { error?: { code?: string; message?: string } }).error;
      const message = error?.message ?? `${res.status} ${res.statusText}`;
      throw new ServiceError(`${message}${hintFor(res.status, message)}`, res.status >= 500 ? CLI_EXIT.unavailable : CLI_EXIT.refused, res.status, error?.code);
    },
  };
}
