/**
 * A fake Sentry ingest: the envelope endpoint `POST /api/<project>/envelope/` of Sentry's protocol
 * (https://develop.sentry.dev/sdk/data-model/envelopes/), gzip or plain. Keeps each envelope's raw
 * text (to search for secrets) and its items parsed. DSN: `http://<key>@127.0.0.1:<port>/<project>`.
 */
import { gunzipSync } from 'node:zlib';
import { startServer, type TestServer } from './http-server.ts';

export interface Envelope {
  raw: string;
  header: Record<string, unknown>;
  items: { type: string; payload: Record<string, unknown> }[];
}

export interface SentryIngest {
  dsn: string;
  envelopes: Envelope[];
  /** Events (item type `event`) received so far. */
  events(): Record<string, unknown>[];
  close(): Promise<void>;
}

/** Pure: the lines of an envelope — header, then item header and payload pairs. */
export function parseEnvelope(raw: string): Envelope {
  const lines = raw.split('\n').filter((l) => l.trim());
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  const items: Envelope['items'] = [];
  for (let i = 1; i + 1 < lines.length; i += 2) {
    const itemHeader = JSON.parse(lines[i]!) as { type: string };
    items.push({ type: itemHeader.type, payload: JSON.parse(lines[i + 1]!) as Record<string, unknown> });
  }
  return { raw, header, items };
}

export async function startSentryIngest(key = 'publickey0123', project = '42'): Promise<SentryIngest> {
  const envelopes: Envelope[] = [];
  const server: TestServer = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url?.split('?')[0] !== `/api/${project}/envelope/`) return void res.writeHead(404).end();
      const body = Buffer.concat(chunks);
      envelopes.push(parseEnvelope((req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return {
    dsn: `http://${key}@127.0.0.1:${server.port}/${project}`,
    envelopes,
    events: () => envelopes.flatMap((e) => e.items.filter((i) => i.type === 'event').map((i) => i.payload)),
    close: () => server.close(),
  };
}
