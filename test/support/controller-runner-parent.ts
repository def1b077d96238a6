/**
 * The parent of the lifeline test (test/controller/local-runner.test.ts): a stand-in for `vcs serve`
 * that creates a local runner in argv[2] (runs folder), starts one `hang` run of the fake
 * transcoder (events to argv[3]), prints the child's pid and waits to be killed.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createLocalRunner } from '../../src/controller/local-runner.ts';
import { FAKE_COMMAND, TEST_LADDER, fakeEnv, silentLog } from './fake-transcoder-runs.ts';

const [runsDir, eventLog] = process.argv.slice(2) as [string, string];
const jobName = 'vcs-1-1';
const runner = createLocalRunner({ command: FAKE_COMMAND, baseEnv: fakeEnv('hang', { log: eventLog }), runsDir, maxRunning: 1, log: silentLog() });
await runner.start({
  jobName,
  videoId: 1,
  sourceUrl: 'https://wp.example/uploads/1.mp4',
  outputDir: path.join(runsDir, 'out'),
  workDir: path.join(runsDir, 'work'),
  ladder: TEST_LADDER,
  resultPath: path.join(runsDir, `${jobName}.result.json`),
});
const record = JSON.parse(await readFile(path.join(runsDir, `${jobName}.run.json`), 'utf8')) as { pid: number };
process.stdout.write(`${JSON.stringify({ pid: record.pid })}\n`);
// Far longer than the test waits; only ends a parent whose test died before killing it.
setTimeout(() => process.exit(0), 60_000);
