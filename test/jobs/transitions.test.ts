import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VcsError } from '../../src/errors.ts';
import { STATUSES } from '../../src/jobs/model.ts';
import { assertTransition, canTransition } from '../../src/jobs/transitions.ts';

const test = suite('transitions');

// Written out independently of NEXT_STATUSES so a slip in the map shows up here.
const LEGAL = new Set([
  'pending→processing',
  'processing→completed',
  'processing→failed',
  'failed→pending',
  'completed→pending',
  'deleted→pending',
  'pending→deleted',
  'pending→failed',
  'processing→deleted',
  'completed→deleted',
  'failed→deleted',
]);

// Every one of the 5 × 5 pairs, including X → X.
for (const from of STATUSES) {
  for (const to of STATUSES) {
    const legal = LEGAL.has(`${from}→${to}`);
    test(`${from} → ${to} is ${legal ? 'legal' : 'illegal'}`, () => {
      assert.is(canTransition(from, to), legal);
      if (legal) {
        assertTransition(from, to);
        return;
      }
      try {
        assertTransition(from, to);
        assert.unreachable('expected VCS_ERR_ILLEGAL_TRANSITION');
      } catch (err) {
        assert.instance(err, VcsError);
        assert.is((err as VcsError).code, 'VCS_ERR_ILLEGAL_TRANSITION');
        assert.is((err as VcsError).message, `cannot move video from ${from} to ${to}`);
      }
    });
  }
}

test.run();
