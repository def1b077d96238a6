/**
 * A list-watch cache of one kind of object, selected by labels (an informer, docs/protocols/kubernetes-api.md
 * §4): list, remember the list's resourceVersion, watch from it, apply every event; an expired
 * resourceVersion (410, as an HTTP status or an ERROR event) re-lists; any other error marks the
 * cache unsynced and re-lists after a back-off; a full re-list every `resyncMs` is the resync.
 *
 * Why not client-node's informer: it stops for good after any error but a 410 and does not say
 * whether its cache can be trusted. Here `synced()` is false from an error until the next complete
 * list, so the runner refuses to report (and the controller to decide) from a stale cache while
 * the API server is out of reach.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';

export interface WatchClient {
  watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (type: string, obj: any) => void, done: (err: any) => void): Promise<AbortController>;
}

export interface ListWatchOptions<T extends KubernetesObject> {
  /** The collection's path, e.g. /apis/batch/v1/namespaces/video/jobs. */
  path: string;
  labelSelector: string;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  watch: WatchClient;
  log: Logger;
  /** Something in the cache changed (added, modified, deleted, re-listed). */
  onChange: () => void;
  /** An object left (a DELETED event): its final state. */
  onDeleted?: (obj: T) => void;
  resyncMs: number;
  /** Back-off after errors: first and longest wait. Defaults to 500 ms and 15 s. */
  backoffMs?: { min: number; max: number };
  /** The server closes a watch after this long (it re-opens at once). Defaults to 300. */
  watchTimeoutSeconds?: number;
}

export interface ListWatch<T extends KubernetesObject> {
  start(): void;
  stop(): void;
  /** True after a complete list and until the next error. */
  synced(): boolean;
  /** Resolves at the first complete list. */
  firstSync(): Promise<void>;
  items(): T[];
  get(name: string): T | undefined;
  /**
   * Puts an object this process just wrote (a create's answer) into the cache, where it stays even
   * if a list that began before the write comes back without it.
   */
  pin(obj: T): void;
  /** Drops an object this process just deleted. */
  remove(name: string): void;
}

class Expired extends Error {}

const nameOf = (o: KubernetesObject): string => o.metadata?.name ?? '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createListWatch<T extends KubernetesObject>(opts: ListWatchOptions<T>): ListWatch<T> {
  const backoff = opts.backoffMs ?? { min: 500, max: 15_000 };
  const cache = new Map<string, T>();
  /** Objects written by this process, with the number of the list during which they were written. */
  const pins = new Map<string, number>();
  let listNo = 0;
  let resourceVersion = '';
  let synced = false;
  let stopped = true;
  let current: AbortController | undefined;
  let aborting = false;
  let resyncTimer: NodeJS.Timeout | undefined;
  let resolveFirst!: () => void;
  const first = new Promise<void>((r) => (resolveFirst = r));

  async function relist(): Promise<void> {
    const no = ++listNo;
    const list = await opts.list();
    const fresh = new Map(list.items.map((o) => [nameOf(o), o]));
    for (const [name, pinnedAt] of pins) {
      // Written after this list began: the list may not show it yet.
      if (pinnedAt > no && !fresh.has(name) && cache.has(name)) fresh.set(name, cache.get(name)!);
      else pins.delete(name);
    }
    for (const [name, old] of cache) if (!fresh.has(name)) opts.onDeleted?.(old);
    cache.clear();
    for (const [name, o] of fresh) cache.set(name, o);
    resourceVersion = list.metadata?.resourceVersion ?? '';
    if (!synced) opts.log.info({ path: opts.path, objects: cache.size }, 'watch cache synced');
    synced = true;
    resolveFirst();
    opts.onChange();
  }

  function onEvent(type: string, obj: any): void {
    if (type === 'ERROR') {
      if (obj?.code === 410) throw new Expired(obj.message ?? 'resourceVersion expired');
      throw Object.assign(new Error(`watch error: ${obj?.message ?? JSON.stringify(obj)}`), { statusCode: obj?.code });
    }
    const rv = obj?.metadata?.resourceVersion;
    if (type === 'ADDED' || type === 'MODIFIED') {
      cache.set(nameOf(obj), obj as T);
      pins.delete(nameOf(obj));
      opts.onChange();
    } else if (type === 'DELETED') {
      const had = cache.delete(nameOf(obj));
      pins.delete(nameOf(obj));
      if (had) opts.onDeleted?.(obj as T);
      opts.onChange();
    }
    if (typeof rv === 'string' && rv) resourceVersion = rv;
  }

  /** One watch request; resolves when the server ends the stream, rejects on an error. */
  function watchOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err: unknown) => {
        if (settled) return;
        settled = true;
        current?.abort();
        current = undefined;
        if (aborting) {
          aborting = false;
          resolve();
        } else if (err) reject(err);
        else resolve();
      };
      const query = { resourceVersion, labelSelector: opts.labelSelector, allowWatchBookmarks: true, timeoutSeconds: opts.watchTimeoutSeconds ?? 300 };
      opts.watch
        .watch(
          opts.path,
          query,
          (type, obj) => {
            if (settled) return;
            try {
              onEvent(type, obj);
            } catch (err) {
              settle(err);
            }
          },
          (err) => settle(err),
        )
        .then((c) => {
          if (settled) c.abort();
          else current = c;
        }, settle);
    });
  }

  async function loop(): Promise<void> {
    let wait = backoff.min;
    while (!stopped) {
      try {
        if (!resourceVersion) await relist();
        await watchOnce();
        wait = backoff.min;
      } catch (err) {
        if (stopped) return;
        const e = err as { statusCode?: number; code?: number; message?: string };
        resourceVersion = '';
        if (err instanceof Expired || e.statusCode === 410 || e.code === 410) {
          opts.log.info({ path: opts.path }, 'watch expired (410): listing again');
          continue;
        }
        if (synced) opts.log.warn({ path: opts.path, err: e.message }, 'watch failed: cache unsynced until the next list');
        synced = false;
        opts.onChange();
        await sleep(wait);
        wait = Math.min(wait * 2, backoff.max);
      }
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      resyncTimer = setInterval(() => {
        // A full list replaces the cache: whatever a watch may have missed is caught here.
        resourceVersion = '';
        if (current) {
          aborting = true;
          current.abort();
        }
      }, opts.resyncMs);
      void loop();
    },
    stop() {
      stopped = true;
      synced = false;
      clearInterval(resyncTimer);
      if (current) {
        aborting = true;
        current.abort();
      }
    },
    synced: () => synced,
    firstSync: () => first,
    items: () => [...cache.values()],
    get: (name) => cache.get(name),
    pin(obj) {
      cache.set(nameOf(obj), obj);
      pins.set(nameOf(obj), listNo + 1);
      opts.onChange();
    },
    remove(name) {
      cache.delete(name);
      pins.delete(name);
    },
  };
}
