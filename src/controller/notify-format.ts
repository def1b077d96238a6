/**
 * What a notification says (pure): the event of a video, as the generic signed JSON body, a Slack
 * message or a Discord message, and the signature a receiver checks — HMAC-SHA256 over
 * `<timestamp>.<body>` with WEBHOOK_SECRET, sent as `X-VCS-Signature: t=<unix seconds>,v1=<hex>`,
 * so a receiver can verify the body and refuse replays (an old timestamp).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { VideoJob } from '../jobs/model.ts';

export type NotifyEvent = 'video.started' | 'video.completed' | 'video.failed';
export type TargetKind = 'generic' | 'slack' | 'discord';

export interface EventBody {
  event: NotifyEvent;
  /** Unique per event: receivers drop repeats (retries send the same id). */
  id: string;
  at: string;
  video: {
    wp_post_id: number;
    title: string;
    status: string;
    master_playlist_url: string | null;
    poster_url: string | null;
    duration_seconds: number | null;
    error_code: string | null;
    error_message: string | null;
    failed_at_step: string | null;
    retryable: boolean | null;
  };
}

export function eventBody(event: NotifyEvent, video: VideoJob, at: string, id: string): EventBody {
  return {
    event,
    id,
    at,
    video: {
      wp_post_id: video.wp_post_id,
      title: video.title,
      status: video.compression_status,
      master_playlist_url: video.master_playlist_url,
      poster_url: video.poster_url,
      duration_seconds: video.duration_seconds,
      error_code: video.error_code,
      error_message: video.error_message,
      failed_at_step: video.failed_at_step,
      retryable: video.retryable,
    },
  };
}

/** A Slack or Discord hook URL is recognised by its host; anything else gets the generic body. */
export function targetKind(url: string): TargetKind {
  const host = new URL(url).hostname;
  if (host === 'hooks.slack.com') return 'slack';
  if ((host === 'discord.com' || host === 'discordapp.com') && new URL(url).pathname.startsWith('/api/webhooks/')) return 'discord';
  return 'generic';
}

function sentence(b: EventBody): string {
  const v = b.video;
  if (b.event === 'video.completed') return `Video #${v.wp_post_id} “${v.title}” is ready: ${v.master_playlist_url ?? ''}`.trim();
  if (b.event === 'video.started') return `Video #${v.wp_post_id} “${v.title}” started compressing`;
  return `Video #${v.wp_post_id} “${v.title}” failed at ${v.failed_at_step ?? 'an unknown step'}: ${v.error_message ?? v.error_code ?? 'no message'}${v.retryable ? ' (will be retried)' : ''}`;
}

/** The request body for a target of `kind`. Chat messages never ping anyone. */
export function bodyFor(kind: TargetKind, b: EventBody): string {
  if (kind === 'slack') return JSON.stringify({ text: sentence(b) });
  if (kind === 'discord') return JSON.stringify({ content: sentence(b), allowed_mentions: { parse: [] } });
  return JSON.stringify(b);
}

export function signature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: the signature matches and is at most `toleranceSeconds` old. */
export function verifySignature(secret: string, header: string | undefined, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signature(secret, t, body));
  const given = Buffer.from(header!);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
