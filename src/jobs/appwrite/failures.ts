/**
 * What an Appwrite failure means, and the retry of the transient ones. node-appwrite throws an
 * AppwriteException for every answer ≥ 400 (`code` = HTTP status, `type` = the body's type), a
 * TypeError("fetch failed") when the connection fails (refused, reset, DNS), and our timeout's
 * DOMException("TimeoutError") when no answer came in time (api.ts).
 */
import { AppwriteException } from 'node-appwrite';
import { vcsError } from '../../errors.ts';

export type FailureKind =
  /** Worth another try: 5xx, 408, 429, a timeout, a connection refused or reset. */
  | 'transient'
  /** The key is unknown, revoked, expired, for another project, or lacks a scope. */
  | 'auth'
  /** The project or the route does not exist: APPWRITE_ENDPOINT or APPWRITE_PROJECT_ID is wrong. */
  | 'config'
  /** The database or the table is missing: `vcs appwrite setup` has not run. */
  | 'schema'
  /** The row asked for does not exist. */
  | 'not-found'
  /** 409: a duplicate id or unique value, or a compare-and-set that lost. */
  | 'conflict'
  /** Any other refusal (a bad query or value): a bug or a schema mismatch, never retried. */
  | 'refused';

const SCHEMA_MISSING = new Set(['database_not_found', 'table_not_found', 'collection_not_found', 'column_not_found', 'attribute_not_found']);
/** Statuses the server passes through that a later try may not see (docs/protocols/appwrite.md §6). */
const TRANSIENT_STATUSES = new Set([408, 429]);

export function classify(err: unknown): FailureKind | null {
  if (err instanceof AppwriteException) {
    if (err.code >= 500 || TRANSIENT_STATUSES.has(err.code)) return 'transient';
    if (err.code === 401 || err.code === 403) return 'auth';
    if (err.code === 409) return 'conflict';
    if (err.code === 404) {
      if (err.type === 'project_not_found' || err.type === 'general_route_not_found') return 'config';
      if (SCHEMA_MISSING.has(err.type)) return 'schema';
      return 'not-found';
    }
    return 'refused';
  }
  if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'transient';
  // undici: "fetch failed" with the socket error as its cause.
  if (err instanceof TypeError && err.message === 'fetch failed') return 'transient';
  // A proxy's error page sent as JSON, or a body cut off mid-way.
  if (err instanceof SyntaxError) return 'transient';
  return null;
}

/** A short, log-friendly account of a failure (never the key). */
export function describeFailure(err: unknown): string {
  if (err instanceof AppwriteException) return `${err.code}${err.type ? ` ${err.type}` : ''}: ${err.message.slice(0, 300)}`;
  if (err instanceof DOMException && err.name === 'TimeoutError') return 'no answer in time (APPWRITE_TIMEOUT)';
  if (err instanceof Error) {
    const cause = err.cause as { code?: string; message?: string } | undefined;
    return cause?.code ?? cause?.message ?? err.message;
  }
  return String(err);
}

export interface RetryPolicy {
  /** Tries after the first one. */
  retries: number;
  /** The backoff ceiling doubles from here on each try: 200 ms, 400 ms, 800 ms … */
  baseDelayMs: number;
  maxDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** 0 ≤ x < 1; Math.random unless a test fixes it. */
  random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * "Full jitter" (a random wait between 0 and the doubled ceiling): many clients that failed
 * together do not come back together.
 */
export function backoffMs(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor((policy.random ?? Math.random)() * ceiling);
}

/**
 * Runs `operation`, trying again after transient failures while the policy allows. A transient
 * failure that outlasts the retries becomes VCS_ERR_STORE_UNAVAILABLE; anything else is thrown
 * as it came, for the caller to interpret (a 404 or a 409 usually means something to it).
 */
export async function withRetries<T>(what: string, operation: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      if (classify(err) !== 'transient') throw err;
      if (attempt >= policy.retries) {
        throw vcsError('VCS_ERR_STORE_UNAVAILABLE', `Appwrite unavailable (${what}): ${describeFailure(err)}; gave up after ${attempt + 1} tries`, err);
      }
      await (policy.sleep ?? defaultSleep)(backoffMs(attempt, policy));
    }
  }
}

/**
 * The coded error for a failure the caller did not handle itself. Configuration problems name
 * the setting to fix or the command to run; they are what `init()` reports at start.
 */
export function storeFailure(what: string, err: unknown): unknown {
  const detail = describeFailure(err);
  switch (classify(err)) {
    case 'auth':
      return /role: applications/.test(detail)
        ? vcsError('VCS_ERR_STORE_UNAVAILABLE', `Appwrite API key lacks a scope (${what}): ${detail}; give APPWRITE_API_KEY the databases, tables/collections, columns/attributes, indexes and rows/documents read and write scopes`, err)
        : vcsError('VCS_ERR_STORE_UNAVAILABLE', `Appwrite API key rejected (${what}): ${detail}; check APPWRITE_API_KEY and APPWRITE_PROJECT_ID`, err);
    case 'config':
      return vcsError('VCS_ERR_STORE_UNAVAILABLE', `Appwrite answered ${detail} (${what}); check APPWRITE_ENDPOINT (it ends in /v1), APPWRITE_PROJECT_ID and APPWRITE_API`, err);
    case 'schema':
      return vcsError('VCS_ERR_STORE_UNAVAILABLE', `Appwrite ${detail} (${what}): run vcs appwrite setup`, err);
    case 'transient':
      return vcsError('VCS_ERR_STORE_UNAVAILABLE', `Appwrite unavailable (${what}): ${detail}`, err);
    case 'not-found':
    case 'conflict':
    case 'refused':
      return vcsError('VCS_ERR_INTERNAL', `Appwrite refused ${what}: ${detail}`, err);
    case null:
      return err;
  }
}
