/**
 * The store's reads as Appwrite queries. Pure: each function returns the JSON query strings
 * node-appwrite's `Query` helpers build (docs/protocols/appwrite.md §4).
 *
 * Queue order (docs/adr/0013: priority high first, then oldest first) is two reads, high then the
 * rest, each ordered by `$createdAt` with the server's `$sequence` tie-breaker (insertion order
 * within one millisecond). One `orderAsc('priority')` would do while every row has a priority
 * (the enum sorts "high" < "normal"), but a publisher's row written before the column existed has
 * none, and the server sorts nulls first.
 */
import { Query } from 'node-appwrite';
import type { Priority, Status } from '../model.ts';
import type { ListQuery, SortField } from '../store.ts';

export const status = (s: Status): string => Query.equal('compression_status', [s]);

/** Pending rows of one queue group; a row without a priority is a normal one. */
export function queueGroup(priority: Priority): string[] {
  const group = priority === 'high' ? Query.equal('priority', ['high']) : Query.or([Query.equal('priority', ['normal']), Query.isNull('priority')]);
  return [status('pending'), group];
}

/** Oldest first; the server appends `$sequence` ASC, so rows created in one millisecond keep their insertion order. */
export const oldestFirst = (): string => Query.orderAsc('$createdAt');

export const byPostId = (wpPostId: number): string => Query.equal('wp_post_id', [wpPostId]);

/** listRetryable: failed, retryable, failed at or before the cutoff, under maxRetries. */
export function retryable(failedBefore: string, maxRetries: number): string[] {
  return [status('failed'), Query.equal('retryable', [true]), Query.lessThanEqual('failed_at', failedBefore), Query.lessThan('retry_count', maxRetries)];
}

/** A search text that is an integer also matches that wp_post_id (as in the embedded store). */
function searchId(search: string): number | null {
  return /^\d+$/.test(search) && Number.isSafeInteger(Number(search)) ? Number(search) : null;
}

/**
 * ListQuery's filters. The title match is `contains`: a substring match under the server's
 * case-insensitive collation, with `%` and `_` taken literally. (`search` would need a fulltext
 * index and matches whole words of three letters or more, so "42" would not find "Video 42%".)
 */
export function listFilters(query: Pick<ListQuery, 'status' | 'search' | 'createdFrom' | 'createdBefore'>): string[] {
  const filters: string[] = [];
  if (query.status) filters.push(status(query.status));
  if (query.createdFrom) filters.push(Query.greaterThanEqual('$createdAt', new Date(query.createdFrom).toISOString()));
  if (query.createdBefore) filters.push(Query.lessThan('$createdAt', new Date(query.createdBefore).toISOString()));
  const search = query.search?.trim();
  if (search) {
    const title = Query.contains('title', [search]);
    const id = searchId(search);
    filters.push(id === null ? title : Query.or([title, Query.equal('wp_post_id', [id])]));
  }
  return filters;
}

/** The document field each sort uses; the creation and update times are the server's own. */
const SORT_ATTRIBUTES: Record<SortField, string> = {
  created_at: '$createdAt',
  wp_post_id: 'wp_post_id',
  title: 'title',
  compression_status: 'compression_status',
  updated_at: '$updatedAt',
};

/**
 * The sort, then insertion order in the same direction for ties, as the embedded store's `seq`.
 * `$sequence` can be named in a query from Appwrite 1.7 on; for an older server (the Databases
 * API family) ties keep the server's own ascending insertion order.
 */
export function listOrder(query: Pick<ListQuery, 'sort' | 'order'>, canOrderBySequence: boolean): string[] {
  const order = query.order === 'desc' ? Query.orderDesc : Query.orderAsc;
  return canOrderBySequence ? [order(SORT_ATTRIBUTES[query.sort]), order('$sequence')] : [order(SORT_ATTRIBUTES[query.sort])];
}
