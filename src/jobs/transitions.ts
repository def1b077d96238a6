/**
 * The legal moves of `compression_status` (docs/adr/0013), in one table every store checks against.
 * Pure: no store, clock or I/O here.
 */
import { vcsError } from '../errors.ts';
import type { Status } from './model.ts';

/**
 * For each status, the statuses it may move to. Staying put (X → X) is not a move, so no status
 * lists itself.
 */
export const NEXT_STATUSES: Record<Status, readonly Status[]> = {
  // `failed`: cancelled by a user (the dashboard's "clear queue"); it can be queued again.
  pending: ['processing', 'failed', 'deleted'],
  processing: ['completed', 'failed', 'deleted'],
  // Re-compression requested through the API.
  completed: ['pending', 'deleted'],
  // Retry, automatic or through the API.
  failed: ['pending', 'deleted'],
  // Re-queue of a deleted video through the API.
  deleted: ['pending'],
};

export function canTransition(from: Status, to: Status): boolean {
  return NEXT_STATUSES[from].includes(to);
}

/** Throws VCS_ERR_ILLEGAL_TRANSITION unless `from` → `to` is a legal move. */
export function assertTransition(from: Status, to: Status): void {
  if (!canTransition(from, to)) throw vcsError('VCS_ERR_ILLEGAL_TRANSITION', `cannot move video from ${from} to ${to}`);
}

/**
 * The check of every status change: the current status must be one of `expect` when given
 * (compare-and-set: VCS_ERR_CONFLICT otherwise) and the move must be legal
 * (VCS_ERR_ILLEGAL_TRANSITION). Stores call it inside their read-check-write.
 */
export function checkMove(wpPostId: number, current: Status, to: Status, expect?: readonly Status[]): void {
  checkExpected(wpPostId, current, expect);
  assertTransition(current, to);
}

/** Compare-and-set: throws VCS_ERR_CONFLICT unless `current` is one of `expect` (when given). */
export function checkExpected(wpPostId: number, current: Status, expect?: readonly Status[]): void {
  if (expect && !expect.includes(current)) {
    throw vcsError('VCS_ERR_CONFLICT', `video ${wpPostId} is ${current}, expected ${expect.join(' or ')}`);
  }
}
