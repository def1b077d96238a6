/**
 * Rows ↔ VideoJob. Pure. A row the publisher created holds only wp_post_id, title,
 * original_video_url and compression_status; every other column reads as null unless the table
 * gives it a default, so the fields the service owns read as what a new video has in the
 * embedded store (step queued, progress 0, priority normal, no retries), and the first write the
 * service makes stores those values.
 */
import { newVideoJob, type NewVideo, type VideoJob, type VideoPatch } from '../model.ts';
import type { AppwriteRow } from './api.ts';
import { JOB_COLUMNS, JOB_COLUMN_KEYS, type JobColumn } from './schema.ts';

/** A new video's values (model.ts), the one place they are decided. */
const NEW_VIDEO = newVideoJob({ wp_post_id: 0, title: '', original_video_url: '' }, '');

/** What a field the service owns reads as while the row has no value for it. */
const READ_DEFAULTS: Partial<Record<JobColumn, (row: AppwriteRow) => unknown>> = {
  compression_status: () => NEW_VIDEO.compression_status,
  // A pending video waits in the queue; other statuses keep whatever step they recorded.
  compression_step: (row) => ((row.compression_status ?? 'pending') === 'pending' ? NEW_VIDEO.compression_step : null),
  compression_progress: () => NEW_VIDEO.compression_progress,
  priority: () => NEW_VIDEO.priority,
  retry_count: () => NEW_VIDEO.retry_count,
};

/** Appwrite dates (`2026-05-24T10:05:12.345+00:00`) as the ISO form the rest of the service uses. */
const isoDate = (value: unknown): string => new Date(String(value)).toISOString();

function decodeValue(column: JobColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (JOB_COLUMNS[column].kind) {
    case 'datetime':
      return isoDate(value);
    case 'integer':
    case 'float':
      // json-bigint turns integers past 2^53 into bigint.
      return Number(value);
    default:
      return value;
  }
}

export function decodeRow(row: AppwriteRow): VideoJob {
  const job: Record<string, unknown> = { created_at: isoDate(row.$createdAt), updated_at: isoDate(row.$updatedAt) };
  for (const column of JOB_COLUMN_KEYS) {
    job[column] = decodeValue(column, row[column]) ?? READ_DEFAULTS[column]?.(row) ?? null;
  }
  return job as unknown as VideoJob;
}

/** The service-owned fields the row lacks, as decodeRow reads them: written with the next change. */
export function fillIns(row: AppwriteRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [column, read] of Object.entries(READ_DEFAULTS)) {
    if (row[column] === null || row[column] === undefined) {
      const value = read(row);
      if (value !== null) out[column] = value;
    }
  }
  return out;
}

/** A patch as row data: undefined leaves a field as it is, null clears it. */
export function encodePatch(patch: VideoPatch): Record<string, unknown> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
}

/** Whether `job` already holds `patch` (a write that landed although its answer was lost). */
export function holdsPatch(job: VideoJob, patch: VideoPatch): boolean {
  return Object.entries(encodePatch(patch)).every(([key, value]) => {
    const current = job[key as keyof VideoJob];
    return key.endsWith('_at') && typeof value === 'string' && typeof current === 'string' ? Date.parse(value) === Date.parse(current) : current === value;
  });
}

/** A new video's row: newVideoJob's values, without the server's timestamps and the nulls. */
export function newVideoRow(video: NewVideo): Record<string, unknown> {
  const job = newVideoJob(video, '');
  return Object.fromEntries(JOB_COLUMN_KEYS.filter((key) => job[key] !== null).map((key) => [key, job[key]]));
}
