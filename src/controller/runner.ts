/**
 * The runner interface (docs/adr/0012): where transcoder runs happen. `local-runner` spawns child
 * processes; `kube-runner` creates batch/v1 Jobs. The controller only sees `RunStatus`es.
 */
import type { JobSpec, TranscodeResult } from '../contract.ts';

export type RunPhase = 'running' | 'succeeded' | 'failed' | 'lost';

export interface RunStatus {
  /** `vcs-<id>-<attempt>`, the same as the video's job_name. */
  jobName: string;
  videoId: number;
  phase: RunPhase;
  /** Epoch milliseconds. */
  startedAt: number;
  finishedAt?: number;
  /** The transcoder's result JSON, when it wrote one. */
  result?: TranscodeResult;
  /** Exit code of a finished local run. */
  exitCode?: number | null;
  /** Why a run failed or was lost when there is no result (e.g. "BackoffLimitExceeded"). */
  reason?: string;
  /** Whether a failure without a result must not be retried (e.g. Kubernetes PodFailurePolicy on exit 2). */
  permanent?: boolean;
  /**
   * A lost run that was stopped on purpose by a graceful shutdown (it wrote its cancellation): its
   * restart is not counted against MAX_RETRIES. A run that died with its service or node is not
   * interrupted, and its restart is counted, so an encode that keeps killing its host ends.
   */
  interrupted?: boolean;
}

/**
 * The runner cannot tell now (e.g. the Kubernetes API server is unreachable): nothing is known
 * about the run, so nothing may be decided from it. The controller leaves the video as it is and
 * looks again at the next pass; it never fails a video for this.
 */
export class RunnerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunnerUnavailableError';
  }
}

export interface Runner {
  /** Starts a run. Idempotent by job name: starting a name that exists adopts it. */
  start(job: JobSpec): Promise<void>;
  /** Every run the runner knows: running ones and finished ones not yet forgotten. */
  list(): Promise<RunStatus[]>;
  /**
   * Moves runs spread over several Jobs (Kubernetes, docs/adr/0022) on to their next phase; only
   * the runs named in `current` (those the store's processing videos are on). Runners whose runs
   * are one process or one Job do not have it.
   */
  advance?(current: ReadonlySet<string>): Promise<void>;
  /** Stops a run (SIGTERM / Job deletion). Unknown names are ignored. */
  stop(jobName: string, reason: string): Promise<void>;
  /** Drops a finished run once its outcome is recorded in the store. */
  forget(jobName: string): Promise<void>;
  /** Called whenever a run changes phase, so the controller can pass at once. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}
