/**
 * Delivering notifications (the plan's "Monitoring Integrations"): each event to every webhook and
 * to the publisher callback, in the background — the controller never waits — with retries and
 * back-off (1 s, 2 s, 4 s … for `attempts` tries), every outcome counted and logged. Generic
 * targets and the publisher callback get the signed JSON body; Slack and Discord their messages.
 */
import { randomUUID } from 'node:crypto';
import type { VideoJob } from '../jobs/model.ts';
import type { Logger } from '../log.ts';
import { bodyFor, eventBody, signature, targetKind, type NotifyEvent, type TargetKind } from './notify-format.ts';

export type DeliveryTarget = TargetKind | 'publisher';

export interface NotifierOptions {
  webhooks: readonly string[];
  /** Which events the webhooks get (the publisher callback gets completed and failed). */
  events: ReadonlySet<NotifyEvent>;
  publisherUrl?: string;
  secret?: string;
  log: Logger;
  now?: () => number;
  attempts?: number;
  firstDelayMs?: number;
  timeoutMs?: number;
  /** Counts each delivery's outcome (metrics). */
  record?: (target: DeliveryTarget, result: 'delivered' | 'failed') => void;
}

export interface Notifier {
  notify(event: NotifyEvent, video: VideoJob): void;
  /** Resolves when no delivery is in flight (tests; shutdown). */
  idle(): Promise<void>;
  close(): void;
}

/**
 * A URL for the log: scheme and host only. WEBHOOK_URLS is a secret: chat hook paths are
 * credentials, and so may be a generic receiver's path (a token in it, as many services issue).
 */
const shown = (url: string): string => {
  const u = new URL(url);
  return u.pathname === '/' ? u.origin : `${u.origin}/…`;
};

export function createNotifier(o: NotifierOptions): Notifier {
  const now = o.now ?? Date.now;
  const attempts = o.attempts ?? 5;
  const firstDelay = o.firstDelayMs ?? 1000;
  const inFlight = new Set<Promise<void>>();
  /** Back-off waits, and how to end each early (close). */
  const waits = new Map<NodeJS.Timeout, () => void>();
  let closed = false;

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        waits.delete(t);
        resolve();
      }, ms);
      t.unref();
      waits.set(t, resolve);
    });

  async function deliver(url: string, target: DeliveryTarget, event: NotifyEvent, body: string, id: string): Promise<void> {
    for (let attempt = 1; attempt <= attempts && !closed; attempt++) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'video-compression-service', 'X-VCS-Event': event, 'X-VCS-Delivery': id };
      if (o.secret && (target === 'generic' || target === 'publisher')) headers['X-VCS-Signature'] = signature(o.secret, Math.floor(now() / 1000), body);
      let problem: string;
      try {
        const res = await fetch(url, { method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
        await res.body?.cancel();
        if (res.ok) {
          o.record?.(target, 'delivered');
          o.log.info({ target, url: shown(url), event, delivery: id, attempt }, 'notification delivered');
          return;
        }
        problem = `HTTP ${res.status}`;
        // A client error other than rate limiting will not change by retrying.
        if (res.status < 500 && res.status !== 429 && res.status !== 408) attempt = attempts;
      } catch (err) {
        problem = (err as Error).message;
      }
      if (attempt >= attempts) {
        o.record?.(target, 'failed');
        o.log.warn({ target, url: shown(url), event, delivery: id, attempts: attempt, problem }, 'notification not delivered');
        return;
      }
      await wait(firstDelay * 2 ** (attempt - 1));
    }
  }

  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  return {
    notify(event, video) {
      if (closed) return;
      const id = randomUUID();
      const b = eventBody(event, video, new Date(now()).toISOString(), id);
      if (o.events.has(event)) for (const url of o.webhooks) track(deliver(url, targetKind(url), event, bodyFor(targetKind(url), b), id));
      if (o.publisherUrl && event !== 'video.started') track(deliver(o.publisherUrl, 'publisher', event, bodyFor('generic', b), id));
    },
    async idle() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
    close() {
      closed = true;
      for (const [t, resolve] of waits) {
        clearTimeout(t);
        resolve();
      }
      waits.clear();
    },
  };
}
