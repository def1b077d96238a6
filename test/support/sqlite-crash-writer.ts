/**
 * The child of the SQLite crash test (test/jobs/sqlite-store.test.ts): creates videos one after
 * another in the file named by argv[2], moves each to processing, and prints its wp_post_id once
 * both writes have returned (committed). It runs until the test kills it.
 */
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';

/** Far more than the test waits for; only stops a writer whose test died before killing it. */
const MAX_VIDEOS = 1_000_000;

const store = createSqliteStore({ file: process.argv[2]!, now: Date.now });
await store.init();
for (let id = 1; id <= MAX_VIDEOS; id++) {
  await store.create({ wp_post_id: id, title: `Crash ${id}`, original_video_url: `https://wp.example/uploads/${id}.mp4` });
  await store.transition(id, 'processing', { job_name: `vcs-${id}-1` });
  process.stdout.write(`${id}\n`);
}
