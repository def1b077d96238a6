/**
 * Where listed pages ended, so that the next page of the same listing starts from a cursor
 * (`cursorAfter(last id)`) instead of an offset. The server skips an offset row by row; a cursor
 * is one index lookup however deep the page (Appwrite docs, "Pagination"). The API lists by
 * offset, so a cursor is only known for a page that follows one this process served shortly
 * before; any other page falls back to the offset.
 */

/** Offsets below this are cheap enough as they are. */
export const CURSOR_FROM_OFFSET = 100;
/** Listings × pages remembered; the oldest is forgotten first. */
const CAPACITY = 500;
/**
 * A cursor says "after this row", an offset "after this many rows": the same page only while the
 * rows before it stay as they were. Someone paging through a list does so within minutes.
 */
const FRESH_MS = 5 * 60_000;

export interface PageCursors {
  /** The id of the row just before `offset` in `listing`, when a page served lately ended there. */
  before(listing: string, offset: number): string | undefined;
  /** Records where the page of `rows` at `offset` ended. */
  record(listing: string, offset: number, rows: readonly { $id: string }[]): void;
  forget(listing: string, offset: number): void;
}

export function createPageCursors(now: () => number = Date.now): PageCursors {
  const ends = new Map<string, { id: string; at: number }>();
  const key = (listing: string, offset: number) => `${offset} ${listing}`;
  return {
    before(listing, offset) {
      const end = offset >= CURSOR_FROM_OFFSET ? ends.get(key(listing, offset)) : undefined;
      return end && now() - end.at <= FRESH_MS ? end.id : undefined;
    },
    record(listing, offset, rows) {
      const last = rows.at(-1);
      if (!last || offset + rows.length < CURSOR_FROM_OFFSET) return;
      const k = key(listing, offset + rows.length);
      ends.delete(k); // re-inserted last: the Map's order is the age order
      ends.set(k, { id: last.$id, at: now() });
      if (ends.size > CAPACITY) ends.delete(ends.keys().next().value!);
    },
    forget: (listing, offset) => void ends.delete(key(listing, offset)),
  };
}
