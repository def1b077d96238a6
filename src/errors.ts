/**
 * One catalogue of coded errors (conventions 11). An error carries its code, the HTTP status the API
 * answers with, whether its message may be shown to clients, and whether it is permanent (a
 * transcoder exits 2 for those, and the controller does not retry them). The README's table of
 * error codes is rendered from this catalogue (`describe`), so it cannot drift.
 */
export interface ErrorKind {
  status: number;
  permanent: boolean;
  expose: boolean;
  /** Where it comes from and what to do about it, for the README. */
  describe: string;
  /**
   * The code an HTTP error of this status gets when nothing more specific was thrown (a body
   * parser's 413, the router's 405); one per status.
   */
  forStatus?: true;
}

export const ERRORS = {
  // Sources (transcoder)
  VCS_ERR_SOURCE_FORBIDDEN: { status: 422, permanent: true, expose: true, describe: 'The source URL is not allowed: a scheme other than http(s), a local file where those are off, or a host on a private, loopback, link-local or metadata address (ALLOW_PRIVATE_SOURCES).' },
  VCS_ERR_SOURCE_NOT_FOUND: { status: 422, permanent: true, expose: true, describe: 'The source answered 404/410, its host does not exist, or the local file is missing.' },
  VCS_ERR_SOURCE_REJECTED: { status: 422, permanent: true, expose: true, describe: 'The source refused access (401/403, another 4xx), redirected too often (MAX_REDIRECTS), is not a regular file, or the URL is malformed or carries credentials.' },
  VCS_ERR_SOURCE_UNAVAILABLE: { status: 502, permanent: false, expose: true, describe: 'The source server answered 408, 429 or 5xx; retried later.' },
  VCS_ERR_SOURCE_TOO_LARGE: { status: 422, permanent: true, expose: true, describe: 'The upload is larger than MAX_SOURCE_BYTES (announced or while downloading).' },
  VCS_ERR_SOURCE_EMPTY: { status: 422, permanent: true, expose: true, describe: 'The upload is empty (0 bytes).' },
  VCS_ERR_DOWNLOAD_FAILED: { status: 502, permanent: false, expose: true, describe: 'The download broke off (connection reset or closed early, fewer bytes than announced); retried later.' },
  VCS_ERR_DOWNLOAD_TIMEOUT: { status: 504, permanent: false, expose: true, describe: 'The fetch took longer than DOWNLOAD_TIMEOUT, or the source sent nothing for DOWNLOAD_IDLE_TIMEOUT; retried later.' },
  VCS_ERR_NOT_A_VIDEO: { status: 422, permanent: true, expose: true, describe: 'The upload is not a video: served as a web page, image or playlist, a container outside the allow-list, audio only, or no video stream.' },
  VCS_ERR_SOURCE_UNREADABLE: { status: 422, permanent: true, expose: true, describe: 'FFmpeg cannot read the upload (corrupt, truncated header, no picture size or duration, no decodable frame).' },
  VCS_ERR_SOURCE_TRUNCATED: { status: 422, permanent: true, expose: true, describe: 'The upload decodes to clearly less than the duration it claims (an interrupted upload).' },
  VCS_ERR_SOURCE_LIMITS: { status: 422, permanent: true, expose: true, describe: 'The picture is larger than 8K or smaller than 16 pixels, or the video is longer than 24 hours.' },
  // Encoding and publishing (transcoder)
  VCS_ERR_FFMPEG_FAILED: { status: 500, permanent: false, expose: true, describe: 'FFmpeg failed or was killed while encoding (the message has its last lines, or the signal: SIGKILL is usually the out-of-memory killer); retried later.' },
  VCS_ERR_FFMPEG_MISSING: { status: 500, permanent: false, expose: true, describe: 'FFMPEG_PATH or FFPROBE_PATH does not point at a program.' },
  VCS_ERR_SELF_CHECK_FAILED: { status: 500, permanent: false, expose: true, describe: 'The encoded package failed its own check (playlists, segments, keyframe alignment, sizes) and was not published; retried later.' },
  VCS_ERR_PUBLISH_FAILED: { status: 500, permanent: false, expose: true, describe: 'The checked package could not be moved into HLS_PATH (TEMP_PATH on another filesystem, permissions, disk full).' },
  VCS_ERR_CANCELLED: { status: 503, permanent: false, expose: true, describe: 'The run was stopped (SIGTERM: shutdown, a deleted video, a timeout); run again when the service restarts.' },
  VCS_ERR_WORK_LOST: { status: 500, permanent: false, expose: true, describe: 'A phase of a chunked run (Kubernetes) found its run’s work folder on the volume missing, unreadable or another run’s; the video is encoded again from its first phase.' },
  VCS_ERR_BAD_JOB: { status: 500, permanent: true, expose: true, describe: 'The job contract the transcoder received is incomplete or unsafe (a bug or a hand-made Job).' },
  // API
  VCS_ERR_BAD_REQUEST: { status: 400, permanent: true, expose: true, forStatus: true, describe: 'A field, parameter or body is invalid; the message names it.' },
  VCS_ERR_UNAUTHORIZED: { status: 401, permanent: true, expose: true, forStatus: true, describe: 'The API key is missing or wrong (Authorization: Bearer <key>), or none is configured; or the admin page without a session.' },
  VCS_ERR_FORBIDDEN: { status: 403, permanent: true, expose: true, forStatus: true, describe: 'Hotlink protection: the Referer names a site not in ALLOWED_REFERERS; or an admin-session call without its CSRF token.' },
  VCS_ERR_METHOD_NOT_ALLOWED: { status: 405, permanent: true, expose: true, forStatus: true, describe: 'The route exists but not with this method (the Allow header lists those it takes).' },
  VCS_ERR_PAYLOAD_TOO_LARGE: { status: 413, permanent: true, expose: true, forStatus: true, describe: 'The request body is over 64 KB.' },
  VCS_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, permanent: true, expose: true, forStatus: true, describe: 'The request body is not JSON (send Content-Type: application/json).' },
  VCS_ERR_RATE_LIMITED: { status: 429, permanent: false, expose: true, forStatus: true, describe: 'Too many requests from this client; Retry-After says when to try again.' },
  VCS_ERR_CANCELLED_BY_USER: { status: 409, permanent: true, expose: true, describe: 'The video was cancelled from the queue (POST /api/queue/clear); queue it again to encode it.' },
  // Store and controller
  VCS_ERR_NOT_FOUND: { status: 404, permanent: true, expose: true, forStatus: true, describe: 'No such video, file or route.' },
  VCS_ERR_CONFLICT: { status: 409, permanent: true, expose: true, forStatus: true, describe: 'The video’s state does not allow this now (it exists already, it is being compressed, it changed meanwhile).' },
  VCS_ERR_ILLEGAL_TRANSITION: { status: 409, permanent: true, expose: true, describe: 'A status change the document model does not allow (e.g. completed → processing).' },
  VCS_ERR_STORE_UNAVAILABLE: { status: 503, permanent: false, expose: true, describe: 'The store (the SQLite file or Appwrite) cannot be reached or refused the call after retries.' },
  VCS_ERR_PROCESSING_TIMEOUT: { status: 500, permanent: false, expose: true, describe: 'The video stayed in processing longer than PROCESSING_TIMEOUT and was stopped.' },
  VCS_ERR_RUN_FAILED: { status: 500, permanent: false, expose: true, describe: 'The transcoder run ended without a result of its own (could not start, crashed, the Job failed: deadline, back-off limit).' },
  VCS_ERR_RUN_LOST: {
    status: 500,
    permanent: true,
    expose: true,
    describe: 'The transcoder died with its service or node more often than MAX_RETRIES allows (often the out-of-memory killer); the video is not run again automatically.',
  },
  // Anything unexpected
  VCS_ERR_INTERNAL: { status: 500, permanent: false, expose: false, forStatus: true, describe: 'An unexpected error; logged with its stack, never shown to clients.' },
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

/** Whether a recorded error code (from a document or a result) is one that can never succeed. */
export function isPermanentCode(code: string | null | undefined): boolean {
  return code !== null && code !== undefined && isErrorCode(code) && ERRORS[code].permanent;
}

const CODE_FOR_STATUS = new Map<number, ErrorCode>(
  (Object.entries(ERRORS) as [ErrorCode, ErrorKind][]).filter(([, kind]) => kind.forStatus).map(([code, kind]) => [kind.status, code]),
);

/** The code of an HTTP error that came without one: the catalogue's code for its status. */
export function codeForStatus(status: number): ErrorCode {
  return CODE_FOR_STATUS.get(status) ?? (status >= 500 ? 'VCS_ERR_INTERNAL' : 'VCS_ERR_BAD_REQUEST');
}

/** Any thrown value as a VcsError (unknown errors become VCS_ERR_INTERNAL, message kept for logs). */
export function asVcsError(err: unknown): VcsError {
  if (err instanceof VcsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new VcsError('VCS_ERR_INTERNAL', message, { cause: err });
}
