import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, defaultOf, inheritedEnvironment, loadConfig, parseBitrate, SETTINGS, type SettingName } from '../../src/config.ts';
import { ROOT } from '../support/vcs.ts';
import { runVcs } from '../support/vcs.ts';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

test('defaults are the original plan’s', () => {
  const c = loadConfig({});
  assert.equal(
    [c.PORT, c.WORKER_INTERVAL, c.MAX_CONCURRENT_JOBS, c.RETRY_FAILED_AFTER, c.SEGMENT_DURATION, c.HIGH_QUALITY_CRF, c.MEDIUM_QUALITY_CRF, c.LOW_QUALITY_CRF],
    [3000, 120000, 1, 3600000, 10, 23, 28, 32],
  );
  assert.equal([c.HIGH_RESOLUTION, c.MEDIUM_RESOLUTION, c.LOW_RESOLUTION, c.HIGH_BITRATE, c.MEDIUM_BITRATE, c.LOW_BITRATE, c.AUDIO_BITRATE], [1080, 480, 360, 5_000_000, 2_500_000, 1_000_000, 128_000]);
  assert.equal([c.STORAGE_PATH, c.TEMP_PATH, c.HLS_PATH], ['/var/www/video-compression/storage', '/var/www/video-compression/storage/temp', '/var/www/video-compression/storage/hls']);
  assert.equal([c.DATABASE_ID, c.COLLECTION_ID, c.FFMPEG_PATH, c.FFPROBE_PATH, c.LOG_LEVEL, c.ADMIN_PATH, c.STORE, c.RUNNER], ['video_compression', 'posts', '/usr/bin/ffmpeg', '/usr/bin/ffprobe', 'info', '/admin', 'sqlite', 'local']);
  assert.equal([c.RATE_LIMIT_WINDOW, c.RATE_LIMIT_MAX_REQUESTS, c.CLEANUP_TEMP_AFTER, c.DELETE_OLD_VIDEOS_AFTER, c.AUTO_CLEANUP_ENABLED], [900000, 100, 3600000, 90, true]);
  assert.equal([c.ALLOW_LOCAL_SOURCES, c.ALLOW_PRIVATE_SOURCES, c.PROCESSING_TIMEOUT], [false, false, 7200000]);
  assert.is(c.PUBLIC_URL, 'http://localhost:3000');
});

test('derived defaults follow the settings they come from', () => {
  const c = loadConfig({ STORAGE_PATH: '/data', PORT: '8080', FFMPEG_PATH: '/opt/ff/bin/ffmpeg' });
  assert.equal([c.TEMP_PATH, c.HLS_PATH, c.PUBLIC_URL, c.FFPROBE_PATH], ['/data/temp', '/data/hls', 'http://localhost:8080', '/opt/ff/bin/ffprobe']);
});

test('bad values: every problem named with the variable and what was expected', () => {
  assert.equal(problemsOf({ PORT: 'abc', SEGMENT_DURATION: '0', AUTO_CLEANUP_ENABLED: 'maybe', HIGH_BITRATE: 'fast', LOG_LEVEL: 'loud', PUBLIC_URL: 'ftp://x' }), [
    'PORT must be an integer 1–65535, got "abc"',
    'PUBLIC_URL must be an absolute http(s) URL, got "ftp://x"',
    'SEGMENT_DURATION must be an integer 2–30, got "0"',
    'HIGH_BITRATE must be a bit rate such as 5000k, 5M or 5000000, got "fast"',
    'AUTO_CLEANUP_ENABLED must be true or false, got "maybe"',
    'LOG_LEVEL must be one of debug, info, warn, error, fatal, got "loud"',
  ]);
});

test('cross checks: segments a multiple of the keyframe interval; ladder order', () => {
  assert.equal(problemsOf({ SEGMENT_DURATION: '7' }), ['SEGMENT_DURATION must be a multiple of KEYFRAME_INTERVAL (2) so every segment starts on a keyframe, got 7']);
  assert.match(problemsOf({ MEDIUM_RESOLUTION: '1200' })[0] ?? '', /HIGH_RESOLUTION > MEDIUM_RESOLUTION > LOW_RESOLUTION/);
  assert.equal(problemsOf({ STORE: 'appwrite' }), ['STORE=appwrite needs APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID, APPWRITE_API_KEY']);
  assert.equal(problemsOf({ STORE: 'appwrite', APPWRITE_ENDPOINT: 'https://aw.example', APPWRITE_PROJECT_ID: 'p', APPWRITE_API_KEY: 'k' }), [
    'APPWRITE_ENDPOINT must end in /v1 (the API version), got "https://aw.example"',
  ]);
  assert.equal(problemsOf({ STORE: 'appwrite', APPWRITE_ENDPOINT: 'https://aw.example/v1', APPWRITE_PROJECT_ID: 'p', APPWRITE_API_KEY: 'k' }), []);
  assert.equal(problemsOf({ STORE: 'mongo' }), ['STORE must be one of sqlite, appwrite, got "mongo"']);
});

test('interlaced sources: a picture per frame unless field output is asked for', () => {
  assert.is(loadConfig({}).DEINTERLACE_OUTPUT, 'frame');
  assert.is(loadConfig({ DEINTERLACE_OUTPUT: 'Field' }).DEINTERLACE_OUTPUT, 'field');
  assert.equal(problemsOf({ DEINTERLACE_OUTPUT: 'double' }), ['DEINTERLACE_OUTPUT must be one of frame, field, got "double"']);
});

test('bit rates', () => {
  assert.equal(['5000k', '5M', '2.5M', '128000'].map(parseBitrate), [5_000_000, 5_000_000, 2_500_000, 128_000]);
});

test('.env.example documents every setting with its default', () => {
  const text = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const line = text.split('\n').find((l) => l.replace(/^#\s*/, '').startsWith(`${name}=`));
    assert.ok(line, `${name} is in .env.example`);
    const value = line!.replace(/^#\s*/, '').slice(name.length + 1).trim();
    const documented = defaultOf(name);
    if (documented !== undefined && !SETTINGS[name].derivedDefault) assert.is(value, documented, `${name} default`);
  }
});

test('the README configuration table lists every setting', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const name of Object.keys(SETTINGS)) assert.ok(readme.includes(`| \`${name}\``), `${name} in README`);
});

test('secrets are not passed on to child processes', () => {
  assert.equal(inheritedEnvironment({ PATH: '/bin', API_KEY: 'k', APPWRITE_API_KEY: 'a', HOME: '/root' }), { PATH: '/bin', HOME: '/root' });
  assert.equal(inheritedEnvironment({ PATH: '/bin', STORE: 'appwrite', APPWRITE_ENDPOINT: 'https://aw.example/v1', APPWRITE_TIMEOUT: '1000' }), { PATH: '/bin' }, 'nor the store’s settings');
});

test('the CLI stops at start with the message when a setting is bad', async () => {
  const run = await runVcs(['config'], { MAX_CONCURRENT_JOBS: 'lots' });
  assert.is(run.code, 78);
  assert.match(run.stderr, /MAX_CONCURRENT_JOBS must be an integer 1–1000, got "lots"/);
});

test('vcs --help lists every command', async () => {
  const run = await runVcs(['--help']);
  assert.is(run.code, 0);
  for (const cmd of ['transcode', 'config']) assert.match(run.stdout, new RegExp(`vcs ${cmd} +\\S`));
});

test.run();
