import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppwriteRow } from '../../../src/jobs/appwrite/api.ts';
import { decodeRow, fillIns, holdsPatch, newVideoRow } from '../../../src/jobs/appwrite/codec.ts';
import { newVideoJob } from '../../../src/jobs/model.ts';

const system = { $id: 'r1', $sequence: '3', $createdAt: '2030-01-01T00:00:00.000+00:00', $updatedAt: '2030-01-01T00:00:05.250+00:00' };
const publisher: AppwriteRow = { ...system, wp_post_id: 9, title: 'T', original_video_url: 'https://wp.example/9.mp4', compression_status: 'pending' };

test('a publisher’s row reads as a new video, with the server’s timestamps', () => {
  assert.equal(decodeRow(publisher), {
    ...newVideoJob({ wp_post_id: 9, title: 'T', original_video_url: 'https://wp.example/9.mp4' }, '2030-01-01T00:00:00.000Z'),
    updated_at: '2030-01-01T00:00:05.250Z',
  });
});

test('stored values win; dates come back in ISO form; big integers as numbers', () => {
  const job = decodeRow({ ...publisher, compression_status: 'failed', compression_step: null, retry_count: 2, started_at: '2030-01-01T00:01:00.000+00:00', total_size: BigInt(5_000_000_123) as unknown as number });
  assert.equal([job.compression_step, job.retry_count, job.started_at, job.total_size], [null, 2, '2030-01-01T00:01:00.000Z', 5_000_000_123]);
});

test('fillIns: the service’s fields a row lacks, as they read', () => {
  assert.equal(fillIns(publisher), { compression_step: 'queued', compression_progress: 0, priority: 'normal', retry_count: 0 });
  assert.equal(fillIns({ ...publisher, compression_status: 'processing', priority: 'high' }), { compression_progress: 0, retry_count: 0 });
});

test('newVideoRow: a new video without timestamps and nulls', () => {
  assert.equal(newVideoRow({ wp_post_id: 1, title: 'A', original_video_url: 'https://x/1.mp4', priority: 'high' }), {
    wp_post_id: 1, title: 'A', original_video_url: 'https://x/1.mp4', compression_status: 'pending', compression_step: 'queued', compression_progress: 0, priority: 'high', retry_count: 0,
  });
});

test('holdsPatch compares dates as instants', () => {
  const job = decodeRow({ ...publisher, failed_at: '2030-01-01T00:02:00.000+00:00', error_message: 'x' });
  assert.ok(holdsPatch(job, { failed_at: '2030-01-01T00:02:00.000Z', error_message: 'x', compression_progress: undefined }));
  assert.not.ok(holdsPatch(job, { error_message: 'y' }));
});

test.run();
