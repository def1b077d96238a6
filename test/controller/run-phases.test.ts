/**
 * Where a chunked run stands (src/controller/run-phases.ts), table-tested: the latest phase that
 * exists speaks for the run, a Complete phase is followed by the next one's Job, the prepare pod's
 * plan decides between encode and "published whole", and a run without phases is its own Job.
 */
import type { V1Job } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decidePhase, type RunJobs } from '../../src/controller/run-phases.ts';

const test = suite('run phases');

type State = 'running' | 'complete' | 'failed' | 'finishing';
const CONDITIONS: Record<State, string[]> = { running: [], finishing: ['SuccessCriteriaMet'], complete: ['SuccessCriteriaMet', 'Complete'], failed: ['FailureTarget', 'Failed'] };
const job = (name: string, state: State, phase?: string): V1Job => ({
  metadata: { name, labels: phase ? { 'vcs/phase': phase, 'vcs/run': 'vcs-5-1' } : {} },
  status: { conditions: CONDITIONS[state].map((type) => ({ type, status: 'True' })) },
});
const prepare = (s: State) => job('vcs-5-1', s, 'prepare');
const encode = (s: State) => job('vcs-5-1-encode', s, 'encode');
const assemble = (s: State) => job('vcs-5-1-assemble', s, 'assemble');

/** The decision in short: report <job name>, create <phase>, read-plan, or null. */
function decision(jobs: RunJobs, chunks?: number | null): string | null {
  const d = decidePhase(jobs, chunks);
  if (!d) return null;
  if (d.kind === 'report') return `report ${d.job.metadata!.name}`;
  if (d.kind === 'read-plan') return 'read-plan';
  return d.phase === 'encode' ? `create encode from ${d.from.metadata!.name} (${d.chunks} chunks)` : `create assemble from ${d.from.metadata!.name}`;
}

test('each state of the phases, and what the runner does with it', () => {
  const rows: [string, RunJobs, number | null | undefined, string | null][] = [
    ['no Job', {}, undefined, null],
    ['a run without phases, running', { prepare: job('vcs-5-1', 'running') }, undefined, 'report vcs-5-1'],
    ['a run without phases, Complete: its own outcome, no plan read', { prepare: job('vcs-5-1', 'complete') }, undefined, 'report vcs-5-1'],
    ['prepare running', { prepare: prepare('running') }, undefined, 'report vcs-5-1'],
    ['prepare finishing (SuccessCriteriaMet): still running, no next phase yet', { prepare: prepare('finishing') }, undefined, 'report vcs-5-1'],
    ['prepare failed: the run failed', { prepare: prepare('failed') }, undefined, 'report vcs-5-1'],
    ['prepare Complete, plan not read', { prepare: prepare('complete') }, undefined, 'read-plan'],
    ['prepare Complete with a plan', { prepare: prepare('complete') }, 4, 'create encode from vcs-5-1 (4 chunks)'],
    ['prepare Complete without a plan (published whole, or the pod is gone)', { prepare: prepare('complete') }, null, 'report vcs-5-1'],
    ['encode running', { prepare: prepare('complete'), encode: encode('running') }, undefined, 'report vcs-5-1-encode'],
    ['encode finishing', { prepare: prepare('complete'), encode: encode('finishing') }, undefined, 'report vcs-5-1-encode'],
    ['encode failed', { prepare: prepare('complete'), encode: encode('failed') }, undefined, 'report vcs-5-1-encode'],
    ['encode Complete', { prepare: prepare('complete'), encode: encode('complete') }, undefined, 'create assemble from vcs-5-1-encode'],
    ['encode Complete, the prepare Job gone (TTL)', { encode: encode('complete') }, undefined, 'create assemble from vcs-5-1-encode'],
    ['encode running, the prepare Job gone', { encode: encode('running') }, undefined, 'report vcs-5-1-encode'],
    ['assemble running', { prepare: prepare('complete'), encode: encode('complete'), assemble: assemble('running') }, undefined, 'report vcs-5-1-assemble'],
    ['assemble Complete: the run’s outcome', { prepare: prepare('complete'), encode: encode('complete'), assemble: assemble('complete') }, undefined, 'report vcs-5-1-assemble'],
    ['assemble failed', { encode: encode('complete'), assemble: assemble('failed') }, undefined, 'report vcs-5-1-assemble'],
    ['assemble alone (the others gone)', { assemble: assemble('running') }, undefined, 'report vcs-5-1-assemble'],
  ];
  for (const [what, jobs, chunks, expected] of rows) assert.is(decision(jobs, chunks), expected, what);
});

test('pure: the same Jobs always give the same decision, and the Jobs are not changed', () => {
  const jobs = { prepare: prepare('complete'), encode: encode('complete') };
  const before = structuredClone(jobs);
  assert.is(decision(jobs), decision(jobs));
  assert.equal(jobs, before);
});

test.run();
