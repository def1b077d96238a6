/**
 * Where a chunked run stands (docs/adr/0022), pure: from the Jobs of its phases, what the runner
 * reports for the run and which Job it must create next. Level-triggered: the decision depends on
 * the Jobs alone (and the prepare phase's chunk count, read from its pod), so a controller that
 * restarts in any phase takes the run up where the Jobs say it is.
 *
 *   prepare (the run's own Job) ─ Complete with a plan ─▶ encode (Indexed) ─ Complete ─▶ assemble
 *
 * - The latest phase that exists speaks for the run: its status while it runs, its outcome once it
 *   failed; a failed phase ends the run (its Job already retried as its spec says).
 * - A Complete prepare Job whose pod wrote a plan (`chunks`) is followed by the encode Job; one
 *   whose pod published the whole run (a short source) or a run without phases is the run's outcome.
 * - A Complete encode Job is followed by the assemble Job, whose outcome is the run's.
 */
import type { V1Job } from '@kubernetes/client-node';
import { jobState } from './job-outcome.ts';
import { LABEL } from './job-manifest.ts';

export interface RunJobs {
  prepare?: V1Job;
  encode?: V1Job;
  assemble?: V1Job;
}

export type PhaseDecision =
  /** This Job's status (running or finished) is the run's. */
  | { kind: 'report'; job: V1Job }
  /** The prepare Job is Complete: its chunk count (from its pod) decides; decide again with it. */
  | { kind: 'read-plan'; prepare: V1Job }
  /** Create the next phase's Job from `from` (the run is running meanwhile). */
  | { kind: 'create'; phase: 'encode'; from: V1Job; chunks: number }
  | { kind: 'create'; phase: 'assemble'; from: V1Job };

/**
 * `chunks`: the prepare pod's plan once read — a count, or null when it wrote none (it published
 * the run itself, or its result is lost); undefined while not read. Null when no Job is given.
 */
export function decidePhase(jobs: RunJobs, chunks?: number | null): PhaseDecision | null {
  if (jobs.assemble) return { kind: 'report', job: jobs.assemble };
  if (jobs.encode) {
    return jobState(jobs.encode).state === 'succeeded' ? { kind: 'create', phase: 'assemble', from: jobs.encode } : { kind: 'report', job: jobs.encode };
  }
  const prepare = jobs.prepare;
  if (!prepare) return null;
  const phased = prepare.metadata?.labels?.[LABEL.phase] === 'prepare';
  if (!phased || jobState(prepare).state !== 'succeeded') return { kind: 'report', job: prepare };
  if (chunks === undefined) return { kind: 'read-plan', prepare };
  return chunks === null ? { kind: 'report', job: prepare } : { kind: 'create', phase: 'encode', from: prepare, chunks };
}
