/**
 * One catalogue of coded errors (STYLE 11). An error carries its code, the HTTP status the API
 * answers with, whether its message may be shown to clients, and whether it is permanent (a
 * transcoder exits 2 for those, and the controller does not retry them).
 */
export interface ErrorKind {
  status: number;
  permanent: boolean;
  expose: boolean;
}

export const ERRORS = {
  // Sources (transcoder)
  VCS_ERR_SOURCE_FORBIDDEN: { status: 422, permanent: true, expose: true },
  VCS_ERR_SOURCE_NOT_FOUND: { status: 422, permanent: true, expose: true },
  VCS_ERR_SOURCE_REJECTED: { status: 422, permanent: true, expose: true },
  VCS_ERR_SOURCE_UNAVAILABLE: { status: 502, permanent: false, expose: true },
  VCS_ERR_SOURCE_TOO_LARGE: { status: 422, permanent: true, expose: true },
  VCS_ERR_SOURCE_EMPTY: { status: 422, permanent: true, expose: true },
  VCS_ERR_DOWNLOAD_FAILED: { status: 502, permanent: false, expose: true },
  VCS_ERR_DOWNLOAD_TIMEOUT: { status: 504, permanent: false, expose: true },
  VCS_ERR_NOT_A_VIDEO: { status: 422, permanent: true, expose: true },
  VCS_ERR_SOURCE_UNREADABLE: { status: 422, permanent: true, expose: true },
  VCS_ERR_SOURCE_TRUNCATED: { status: 422, permanent: true, expose: true },
  VCS_ERR_SOURCE_LIMITS: { status: 422, permanent: true, expose: true },
  // Encoding and publishing (transcoder)
  VCS_ERR_FFMPEG_FAILED: { status: 500, permanent: false, expose: true },
  VCS_ERR_FFMPEG_MISSING: { status: 500, permanent: false, expose: true },
  VCS_ERR_SELF_CHECK_FAILED: { status: 500, permanent: false, expose: true },
  VCS_ERR_PUBLISH_FAILED: { status: 500, permanent: false, expose: true },
  VCS_ERR_CANCELLED: { status: 503, permanent: false, expose: true },
  VCS_ERR_BAD_JOB: { status: 500, permanent: true, expose: true },
  // API
  VCS_ERR_BAD_REQUEST: { status: 400, permanent: true, expose: true },
  VCS_ERR_UNAUTHORIZED: { status: 401, permanent: true, expose: true },
  VCS_ERR_FORBIDDEN: { status: 403, permanent: true, expose: true },
  VCS_ERR_METHOD_NOT_ALLOWED: { status: 405, permanent: true, expose: true },
  VCS_ERR_RATE_LIMITED: { status: 429, permanent: false, expose: true },
  VCS_ERR_CANCELLED_BY_USER: { status: 409, permanent: true, expose: true },
  // Store and controller
  VCS_ERR_NOT_FOUND: { status: 404, permanent: true, expose: true },
  VCS_ERR_CONFLICT: { status: 409, permanent: true, expose: true },
  VCS_ERR_ILLEGAL_TRANSITION: { status: 409, permanent: true, expose: true },
  VCS_ERR_STORE_UNAVAILABLE: { status: 503, permanent: false, expose: true },
  VCS_ERR_PROCESSING_TIMEOUT: { status: 500, permanent: false, expose: true },
  VCS_ERR_RUN_FAILED: { status: 500, permanent: false, expose: true },
  // Anything unexpected
  VCS_ERR_INTERNAL: { status: 500, permanent: false, expose: false },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERRORS;

export class VcsError extends Error {
  readonly status: number;
  readonly permanent: boolean;
  readonly expose: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VcsError';
    const kind: ErrorKind = ERRORS[code];
    this.status = kind.status;
    this.permanent = kind.permanent;
    this.expose = kind.expose;
  }
}

export const vcsError = (code: ErrorCode, message: string, cause?: unknown): VcsError => new VcsError(code, message, { cause });

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/** Any thrown value as a VcsError (unknown errors become VCS_ERR_INTERNAL, message kept for logs). */
export function asVcsError(err: unknown): VcsError {
  if (err instanceof VcsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new VcsError('VCS_ERR_INTERNAL', message, { cause: err });
}
