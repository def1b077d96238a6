/**
 * `vcs maintenance migrate-storage`: every package under HLS_PATH copied to a new storage root,
 * each copy checked by SHA-256 (verified-copy.ts) and moved into place whole (the transcoder's
 * atomic publish), then — with a new public URL — the video's document switched to the new URLs,
 * and only after that, when asked, the old copy removed. Each step of each package is recorded in
 * a journal in the target (docs/adr/0021), so a run that is interrupted starts again where it
 * stopped and never repeats a finished step.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { RENDITION_NAMES } from '../contract.ts';
import { vcsError } from '../errors.ts';
import type { JobStore } from '../jobs/store.ts';
import { packageUrls } from '../jobs/urls.ts';
import type { Logger } from '../log.ts';
import { treeInfo } from '../files.ts';
import { removePackage } from '../volume/cleanup.ts';
import { HIDDEN_WORK_PREFIXES, packageDir } from '../volume/layout.ts';
import { publishPackage } from '../../transcoder/publish.ts';
import { openJournal } from './journal.ts';
import { exists } from './package.ts';
import { copyVerified } from './verified-copy.ts';

/** In the target root; a dot name, so the HLS file server never serves it. */
export const MIGRATION_JOURNAL = '.vcs-migration.jsonl';

export type MigrationEntry =
  | { event: 'start'; at: string; from: string; public_url: string | null }
  | { event: 'copied'; at: string; wp_post_id: number; files: number; bytes: number; sha256: string }
  | { event: 'switched'; at: string; wp_post_id: number; master_playlist_url: string | null }
  | { event: 'removed'; at: string; wp_post_id: number; bytes: number };

/** Packages are staged beside their target (same filesystem, so moved in with a rename) under a work-folder name the temp sweep knows. */
const STAGING_PREFIX = `${HIDDEN_WORK_PREFIXES[0]}migrate-`;

type Step = Exclude<MigrationEntry['event'], 'start'>;

export interface MigrateOptions {
  store: Pick<JobStore, 'get' | 'update'>;
  /** The current HLS_PATH. */
  from: string;
  /** The new storage root for packages (the next HLS_PATH). */
  to: string;
  /** The new URL base (as PUBLIC_URL); null keeps the documents' URLs. */
  publicUrl: string | null;
  removeOld: boolean;
  dryRun: boolean;
  log: Logger;
  now: () => number;
  /** Stops the run between two packages; run again to resume. */
  signal: AbortSignal;
}

export interface MigrateReport {
  packages: number;
  /** Done in an earlier run (the journal says so). */
  already_done: number[];
  copied: number[];
  switched: number[];
  removed: number[];
  failed: { wp_post_id: number; reason: string }[];
  bytes_copied: number;
  /** Stopped by the signal before every package was visited. */
  stopped: boolean;
}

/** Package folders of a storage root ({wp_post_id}/), in id order. */
export async function packageIds(root: string): Promise<number[]> {
  const names = await readdir(root, { withFileTypes: true }).catch(() => []);
  return names
    .filter((e) => e.isDirectory() && /^[1-9][0-9]*$/.test(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => a - b);
}

/** The steps a package still needs, in order (switched only with a new URL; removed only when asked, after it). */
export function stepsToDo(done: ReadonlySet<Step>, o: Pick<MigrateOptions, 'publicUrl' | 'removeOld'>): Step[] {
  const wanted: Step[] = ['copied', ...(o.publicUrl ? (['switched'] as const) : []), ...(o.removeOld ? (['removed'] as const) : [])];
  return wanted.filter((s) => !done.has(s));
}

/** Refuses to continue someone else's migration: a journal records where it copies from and to which URL. */
function checkSameMigration(start: MigrationEntry | undefined, o: MigrateOptions): void {
  if (start?.event !== 'start' || (start.from === path.resolve(o.from) && start.public_url === o.publicUrl)) return;
  throw vcsError(
    'VCS_ERR_BAD_REQUEST',
    `${path.join(o.to, MIGRATION_JOURNAL)} belongs to a migration from ${start.from} with --public-url ${start.public_url ?? '(none)'}; finish that one with the same options, or choose another --to`,
  );
}

export async function migrateStorage(o: MigrateOptions): Promise<MigrateReport> {
  const journal = await openJournal<MigrationEntry>(path.join(o.to, MIGRATION_JOURNAL));
  checkSameMigration(journal.entries[0], o);
  const done = new Map<number, Set<Step>>();
  for (const e of journal.entries) if (e.event !== 'start') done.set(e.wp_post_id, (done.get(e.wp_post_id) ?? new Set()).add(e.event));
  const at = () => new Date(o.now()).toISOString();
  const record = async (entry: MigrationEntry) => {
    if (!o.dryRun) await journal.append(entry);
  };
  if (journal.entries.length === 0) await record({ event: 'start', at: at(), from: path.resolve(o.from), public_url: o.publicUrl });
  // What a killed run was copying: copied again from scratch when its package comes up.
  const leftovers = o.dryRun ? [] : (await readdir(o.to).catch(() => [] as string[])).filter((n) => n.startsWith(STAGING_PREFIX));
  for (const name of leftovers) await rm(path.join(o.to, name), { recursive: true, force: true });

  // Packages already removed from the old root are still known from the journal.
  const ids = [...new Set([...(await packageIds(o.from)), ...done.keys()])].sort((a, b) => a - b);
  const report: MigrateReport = { packages: ids.length, already_done: [], copied: [], switched: [], removed: [], failed: [], bytes_copied: 0, stopped: false };
  for (const [i, id] of ids.entries()) {
    if (o.signal.aborted) {
      report.stopped = true;
      break;
    }
    const steps = stepsToDo(done.get(id) ?? new Set(), o);
    const target = packageDir(o.to, id);
    // A copy the journal knows, since deleted from the target by hand, is copied again.
    if (!steps.includes('copied') && !(await exists(target))) steps.unshift('copied');
    if (steps.length === 0) {
      report.already_done.push(id);
      continue;
    }
    try {
      for (const step of steps) await STEPS[step](id, o, record, report, at);
      o.log.info({ videoId: id, steps, done: i + 1, of: ids.length, dryRun: o.dryRun }, 'package migrated');
    } catch (err) {
      const reason = (err as Error).message;
      report.failed.push({ wp_post_id: id, reason });
      o.log.warn({ videoId: id, reason, done: i + 1, of: ids.length }, 'package not migrated; run again to resume');
    }
  }
  return report;
}

type Recorder = (entry: MigrationEntry) => Promise<void>;
type StepRun = (id: number, o: MigrateOptions, record: Recorder, report: MigrateReport, at: () => string) => Promise<void>;

const STEPS: { [S in Step]: StepRun } = {
  async copied(id, o, record, report, at) {
    const source = packageDir(o.from, id);
    if (!(await exists(source))) throw new Error(`${source} is gone, and the journal has no verified copy of it`);
    if (o.dryRun) {
      report.copied.push(id);
      report.bytes_copied += (await treeInfo(source)).bytes;
      return;
    }
    const staging = path.join(o.to, `${STAGING_PREFIX}${id}`);
    // Where a copy already in place (its journal line lost to a kill) goes while it is replaced.
    const retired = `${staging}.retired`;
    try {
      const copy = await copyVerified(source, staging);
      await mkdir(retired, { recursive: true });
      await publishPackage(staging, packageDir(o.to, id), retired);
      await record({ event: 'copied', at: at(), wp_post_id: id, ...copy });
      report.copied.push(id);
      report.bytes_copied += copy.bytes;
    } finally {
      await rm(staging, { recursive: true, force: true });
      await rm(retired, { recursive: true, force: true });
    }
  },

  async switched(id, o, record, report, at) {
    const video = await o.store.get(id);
    // A package without a published document (an orphan, a video since deleted) has no URLs to switch.
    const urls = video?.master_playlist_url
      ? packageUrls(o.publicUrl!, id, { renditions: RENDITION_NAMES.filter((n) => video[`hls_${n}_url`] !== null).map((name) => ({ name })) })
      : null;
    if (urls && !o.dryRun) await o.store.update(id, urls, [video!.compression_status]);
    await record({ event: 'switched', at: at(), wp_post_id: id, master_playlist_url: urls?.master_playlist_url ?? null });
    if (urls) report.switched.push(id);
  },

  async removed(id, o, record, report, at) {
    const bytes = o.dryRun ? await treeInfo(packageDir(o.from, id)).then((t) => t.bytes, () => 0) : await removePackage(o.from, id);
    await record({ event: 'removed', at: at(), wp_post_id: id, bytes });
    report.removed.push(id);
  },
};
