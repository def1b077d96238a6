/**
 * The internal routes, served only on INTERNAL_PORT (never on the public port, never through the
 * ingress). Their paths are part of the job contract's progress URL and of `vcs cleanup stuck`'s poke.
 */

/** Transcoder runs POST their progress here (HMAC token per run). */
export const PROGRESS_ROUTE = '/internal/progress';
/** Asks the controller for a pass soon (coalesced: many pokes make one pass). */
export const POKE_ROUTE = '/internal/poke';
/** Prometheus exposition. */
export const METRICS_ROUTE = '/metrics';
/** Liveness of the process (and, for a controller, its view of the cluster). */
export const HEALTHZ_ROUTE = '/healthz';
