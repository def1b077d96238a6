import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.ts';
import { jobEnvironment, ladderFromSettings, parseJobEnvironment, type JobSpec } from '../../src/contract.ts';

const job = (over: Partial<JobSpec> = {}): JobSpec => ({
  jobName: 'transcode-7-abcdef12',
  videoId: 7,
  sourceUrl: 'https://example.com/v.mp4',
  outputDir: '/s/hls/7',
  workDir: '/s/temp/transcode-7-abcdef12',
  ladder: ladderFromSettings(loadConfig({ DEINTERLACE_OUTPUT: 'field' })),
  resultPath: '/dev/termination-log',
  ...over,
});

test('the ladder carries the deinterlace output to the transcoder, through VCS_LADDER and back', () => {
  assert.is(ladderFromSettings(loadConfig({})).deinterlaceOutput, 'frame');
  const parsed = parseJobEnvironment(jobEnvironment(job()));
  assert.ok(!('problems' in parsed));
  assert.equal((parsed as JobSpec).ladder, job().ladder);
  assert.is((parsed as JobSpec).ladder.deinterlaceOutput, 'field');
});

test('a ladder from a controller that predates the setting is read as frame output', () => {
  const { deinterlaceOutput, ...older } = job().ladder;
  const parsed = parseJobEnvironment({ ...jobEnvironment(job()), VCS_LADDER: JSON.stringify(older) });
  assert.is(deinterlaceOutput, 'field');
  assert.is((parsed as JobSpec).ladder.deinterlaceOutput, 'frame');
});

test('an unknown deinterlace output is a problem of the job environment', () => {
  const parsed = parseJobEnvironment({ ...jobEnvironment(job()), VCS_LADDER: JSON.stringify({ ...job().ladder, deinterlaceOutput: 'double' }) });
  assert.equal(parsed, { problems: ['VCS_LADDER must be the ladder JSON, deinterlaceOutput must be one of frame, field'] });
});

test.run();
