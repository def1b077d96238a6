/**
 * The everyday commands — enqueue, status, list, pause, resume, retry, delete, logs — as clients
 * of the running service's API (VCS_URL, API_KEY): the same rules and errors as the API, because
 * the API decides. Answers are printed as the API's JSON on stdout (list and logs as text, or JSON
 * with --json); refusals as one line on stderr, with the exit codes of CLI_EXIT.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { Settings } from '../config.ts';
import { vcsError } from '../errors.ts';
import { positiveInt } from '../gateway/validate.ts';
import { PRIORITIES, STATUSES } from '../jobs/model.ts';
import type { ServiceClient } from './service-client.ts';

export interface CliIo {
  /** The settings, validated (the CLI exits on a bad one). */
  settings: () => Settings;
  cwd: string;
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(text: string): unknown };
}

/** One row of GET /api/jobs, as far as the table shows it. */
interface JobRowView {
  wp_post_id: number;
  title: string;
  status: string;
  step: string | null;
  progress: number;
  created_at: string;
}

/** How often --watch asks; the transcoder reports about every 2 s. */
const WATCH_INTERVAL_MS = 1000;
const TITLE_CELLS = 40;

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Pure: the videos of one page of GET /api/jobs as an aligned table with a footer. */
export function renderJobTable(page: { total: number; page: number; limit: number; jobs: JobRowView[] }): string {
  const cut = (s: string) => (s.length > TITLE_CELLS ? `${s.slice(0, TITLE_CELLS - 1)}…` : s);
  const rows = [
    ['ID', 'STATUS', 'STEP', 'TITLE', 'CREATED'],
    ...page.jobs.map((j) => [String(j.wp_post_id), j.status, j.status === 'processing' ? `${j.step ?? ''} ${j.progress}%` : (j.step ?? ''), cut(j.title), j.created_at.slice(0, 16).replace('T', ' ')]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '));
  const pages = Math.max(1, Math.ceil(page.total / page.limit));
  return `${lines.join('\n')}\npage ${page.page} of ${pages} · ${page.total} video${page.total === 1 ? '' : 's'}\n`;
}

/** Pure: the runs' logs of a video as text, oldest run first (the latest ends the output). */
export function renderRunLogs(logs: { wp_post_id: number; runs: { job: string; modified: string; bytes: number; lines: string[] }[] }): string {
  if (logs.runs.length === 0) return `video ${logs.wp_post_id} has no run logs (it has not started, or its logs were removed with its files)\n`;
  return [...logs.runs]
    .reverse()
    .map((r) => `== ${r.job} · ${r.modified} · ${r.bytes} bytes ==\n${r.lines.map((l) => `${l}\n`).join('')}`)
    .join('');
}

/** A command module whose handler's arguments are typed by its builder. */
function cmd<U>(command: string, describe: string, builder: (a: Argv) => Argv<U>, handler: (args: ArgumentsCamelCase<U>) => Promise<void>): CommandModule<{}, U> {
  return { command, describe, builder, handler };
}

/** The commands, for `yargs.command([...])`; each builds its client from the settings when it runs. */
export function serviceCommands(io: CliIo): CommandModule<{}, any>[] {
  /** Runs one call against the service: prints its refusal and sets the exit code. */
  const withService = async (name: string, work: (client: ServiceClient) => Promise<number | void>) => {
    const { createServiceClient, ServiceError, CLI_EXIT } = await import('./service-client.ts');
    try {
      process.exitCode = (await work(createServiceClient(io.settings()))) ?? 0;
    } catch (err) {
      io.stderr.write(`vcs ${name}: ${(err as Error).message}\n`);
      // A check made here before any call (an id, a local file) is a refusal like the API's.
      const status = (err as { status?: number }).status ?? 500;
      process.exitCode = err instanceof ServiceError ? err.exitCode : status < 500 ? CLI_EXIT.refused : 1;
    }
  };
  const id = (raw: unknown) => positiveInt(raw, 'wp_post_id');
  const idArg = (a: Argv) => a.positional('id', { type: 'string', describe: 'wp_post_id', demandOption: true });

  return [
    cmd(
      'enqueue',
      'Add a video to the running service’s queue (or queue a finished or failed one again, from this source)',
      (a) =>
        a
          .option('id', { type: 'string', demandOption: true, describe: 'wp_post_id, a positive integer' })
          .option('source', { type: 'string', demandOption: true, describe: 'http(s) URL of the upload, or a local file (vcs serve with the embedded store, on this machine)' })
          .option('title', { type: 'string', describe: 'title (default: the file name for a new video; kept for a known one)' })
          .option('priority', { choices: PRIORITIES, default: 'normal' as const, describe: 'high skips the queue' }),
      (args) =>
        withService('enqueue', async (client) => {
          const { enqueue } = await import('./enqueue.ts');
          const queued = await enqueue(client, { id: id(args.id), source: args.source, title: args.title, priority: args.priority }, io.cwd);
          io.stdout.write(`${JSON.stringify(queued)}\n`);
          if (queued.paused) io.stderr.write(`vcs enqueue: the service is paused: video ${queued.wp_post_id} waits until vcs resume\n`);
        }),
    ),
    cmd(
      'status',
      'Show one video (--id), following it with --watch until it completes or fails; without --id the worker and the counts',
      (a) =>
        a
          .option('id', { type: 'string', describe: 'wp_post_id' })
          .option('watch', { type: 'boolean', default: false, describe: 'follow the video: a live progress bar on a terminal, a line per change otherwise; exit 0 completed, 1 failed or deleted' })
          .check((v) => (v.watch && v.id === undefined ? '--watch needs --id' : true)),
      (args) =>
        withService('status', async (client) => {
          if (args.id === undefined) return void io.stdout.write(json(await client.call('GET', '/api/worker')));
          if (!args.watch) return void io.stdout.write(json(await client.call('GET', `/api/post/${id(args.id)}`)));
          const { watchVideo } = await import('./watch.ts');
          const out = { tty: io.stdout.isTTY === true, columns: io.stdout.columns, write: (t: string) => io.stdout.write(t) };
          return (await watchVideo(client, id(args.id), out, { intervalMs: WATCH_INTERVAL_MS })) === 'completed' ? 0 : 1;
        }),
    ),
    cmd(
      'list',
      'List videos (the filters of GET /api/jobs): a table, or the API’s JSON with --json',
      (a) =>
        a
          .option('status', { choices: STATUSES, describe: 'only videos in this status' })
          .option('search', { type: 'string', describe: 'title contains the text, or wp_post_id equals it' })
          .option('from', { type: 'string', describe: 'created on or after this day (YYYY-MM-DD) or ISO time' })
          .option('to', { type: 'string', describe: 'created on or before this day (the whole day), or before this ISO time' })
          .option('page', { type: 'number', default: 1, describe: 'page, from 1' })
          .option('limit', { type: 'number', default: 20, describe: 'videos per page, 1–100' })
          .option('sort', { choices: ['created_at', 'wp_post_id', 'title', 'status', 'updated_at'] as const, default: 'created_at' as const })
          .option('order', { choices: ['asc', 'desc'] as const, default: 'desc' as const })
          .option('json', { type: 'boolean', default: false, describe: 'print the API’s JSON' }),
      (args) =>
        withService('list', async (client) => {
          const page = Number.isSafeInteger(args.page) && args.page >= 1 ? args.page : NaN;
          if (Number.isNaN(page)) throw vcsError('VCS_ERR_BAD_REQUEST', `--page must be a positive integer, got ${args.page}`);
          const query = { status: args.status, search: args.search, from: args.from, to: args.to, limit: args.limit, offset: (page - 1) * args.limit, sort: args.sort, order: args.order };
          const answer = await client.call<{ total: number; page: number; limit: number; jobs: JobRowView[] }>('GET', '/api/jobs', { query });
          io.stdout.write(args.json ? json(answer) : renderJobTable(answer));
        }),
    ),
    cmd('pause', 'Pause the worker: nothing new starts, running encodes finish', (a) => a, () =>
      withService('pause', async (client) => void io.stdout.write(json(await client.call('POST', '/api/worker/pause')))),
    ),
    cmd('resume', 'Resume the worker', (a) => a, () => withService('resume', async (client) => void io.stdout.write(json(await client.call('POST', '/api/worker/resume'))))),
    cmd(
      'retry <id>',
      'Queue a failed video again (or compress a completed one again), with a fresh retry budget',
      (a) => idArg(a).option('priority', { choices: PRIORITIES, default: 'normal' as const, describe: 'high skips the queue' }),
      (args) =>
        withService('retry', async (client) => {
          const queued = await client.call<{ paused?: boolean }>('POST', `/api/compress/${id(args.id)}`, { body: { priority: args.priority } });
          io.stdout.write(json(queued));
          if (queued.paused) io.stderr.write(`vcs retry: the service is paused: the video waits until vcs resume\n`);
        }),
    ),
    cmd(
      'delete <id>',
      'Delete a video: stop its run, mark it deleted and remove its HLS files and run logs (unless --keep-files)',
      (a) => idArg(a).option('keep-files', { type: 'boolean', default: false, describe: 'keep the HLS package and the run logs on disk' }),
      (args) =>
        withService('delete', async (client) => void io.stdout.write(json(await client.call('DELETE', `/api/post/${id(args.id)}`, { query: { delete_files: !args.keepFiles } })))),
    ),
    cmd(
      'logs <id>',
      'Print the transcoder’s own log of each run (attempt) of a video, the latest last',
      (a) => idArg(a).option('json', { type: 'boolean', default: false, describe: 'print the API’s JSON' }),
      (args) =>
        withService('logs', async (client) => {
          const logs = await client.call<Parameters<typeof renderRunLogs>[0]>('GET', `/api/post/${id(args.id)}/logs`);
          io.stdout.write(args.json ? json(logs) : renderRunLogs(logs));
        }),
    ),
  ];
}
