import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import yargs, { type Argv } from 'yargs';
import { buildCli } from '../../src/cli.ts';
import {
  ConfigError,
  defaultOf,
  loadConfig,
  parseBitrate,
  printableSettings,
  readEnvironment,
  SECRET_SETTINGS,
  settingNames,
  settingOf,
  settingText,
  systemEnvironment,
  transcoderSettingsEnvironment,
  unusedSettingsGiven,
} from '../../src/config.ts';
import { ladderFromSettings } from '../../src/contract.ts';
import { ERRORS } from '../../src/errors.ts';
import { renderEnvExample, renderErrorTable, renderSettingsTable } from '../../src/reference.ts';
import { REDACT_PATHS } from '../../src/log.ts';
import { ROOT } from '../support/vcs.ts';
import { freePort } from '../support/service.ts';
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
  assert.equal([c.RATE_LIMIT_WINDOW, c.RATE_LIMIT_MAX_REQUESTS, c.CLEANUP_TEMP_AFTER, c.AUTO_CLEANUP_ENABLED], [900000, 100, 3600000, true]);
  // Departure: the plan's example keeps videos 90 days; deleting published videos is opt-in here.
  assert.equal([c.DELETE_OLD_VIDEOS_AFTER, c.CLEANUP_HOUR], [0, 3]);
  assert.equal([c.ALLOW_LOCAL_SOURCES, c.ALLOW_PRIVATE_SOURCES, c.PROCESSING_TIMEOUT], [false, false, 7200000]);
  assert.equal([c.DOWNLOAD_TIMEOUT, c.DOWNLOAD_IDLE_TIMEOUT], [3600000, 60000]);
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
  assert.equal(problemsOf({ CHUNK_PARALLELISM: '2', CHUNK_DURATION: '45' }), ['CHUNK_DURATION must be a multiple of SEGMENT_DURATION (10) so every chunk boundary is a segment boundary, got 45']);
  assert.equal(problemsOf({ CHUNK_PARALLELISM: '2', CHUNK_DURATION: '12', SEGMENT_DURATION: '6' }), []);
  assert.equal(problemsOf({ SEGMENT_DURATION: '8' }), [], 'chunking off: the chunk length is not checked, a segment length valid before stays valid');
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

test('.env.example is rendered from the settings table (npm run docs), so every default and description is current', () => {
  assert.fixture(readFileSync(path.join(ROOT, '.env.example'), 'utf8'), renderEnvExample());
});

test('the README settings table is rendered from the settings table (npm run docs)', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = /<!-- settings:start -->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme)?.[1];
  assert.ok(table, 'README has the settings markers');
  assert.fixture(table!, renderSettingsTable());
});

test('the README error-code table is rendered from the error catalogue (npm run docs)', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = /<!-- errors:start -->\n([\s\S]*?)\n<!-- errors:end -->/.exec(readme)?.[1];
  assert.ok(table, 'README has the errors markers');
  assert.fixture(table!, renderErrorTable());
  for (const code of Object.keys(ERRORS)) assert.match(table!, `| \`${code}\` |`, code);
});

test('rendered documentation: literal defaults as they parse, derived ones by their rule, never "undefined"', () => {
  const example = renderEnvExample();
  for (const name of settingNames()) {
    const setting = settingOf(name);
    if (setting.example) assert.match(example, `(default: ${setting.default}; ${setting.example.why})\n${name}=${setting.example.value}\n`, name);
    else if (setting.default !== undefined && setting.default !== '' && !setting.derived) assert.match(example, `\n${name}=${setting.default}\n`, name);
    else assert.match(example, `\n# ${name}=\n`, name);
  }
  const table = renderSettingsTable();
  assert.not.match(table, 'undefined');
  assert.match(table, '| `CONTROLLER_URL` | http://vcs-controller:$INTERNAL_PORT |');
  assert.match(table, '| `JOB_ACTIVE_DEADLINE_SECONDS` | PROCESSING_TIMEOUT in seconds |');
  assert.match(table, /\| `NODE_ENV` \| `production` \| — \| Not used yet/);
});

test('a .env copied from .env.example keeps the storage in the clone; the defaults stay without it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-dotenv-'));
  try {
    await writeFile(path.join(dir, '.env'), renderEnvExample());
    const settings = loadConfig(readEnvironment({ cwd: dir }));
    assert.is(settings.STORAGE_PATH, path.resolve('storage'));
    assert.is(loadConfig({}).STORAGE_PATH, '/var/www/video-compression/storage');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('every setting’s value reads back from its text (what a child process or a Job receives)', () => {
  const env = {
    API_KEY_HASHES: `${'a'.repeat(64)},${'b'.repeat(64)}`,
    ALLOWED_REFERERS: 'wp.example,www.wp.example',
    TRANSCODER_NODE_SELECTOR: 'workload=ffmpeg,disk=ssd',
    TRANSCODER_TOLERATIONS: '[{"key":"dedicated","operator":"Equal","value":"ffmpeg","effect":"NoSchedule"}]',
    TRANSCODER_AFFINITY: '{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[]}}}',
    HIGH_BITRATE: '4.5M',
  };
  const c = loadConfig(env);
  const again = loadConfig(Object.fromEntries(settingNames().map((name) => [name, settingText(c[name])])));
  for (const name of settingNames()) assert.equal(again[name], c[name], name);
});

test('secrets: hidden by vcs config, redacted in logs, never passed to a transcoder', () => {
  assert.equal([...SECRET_SETTINGS].sort(), ['ADMIN_SESSION_SECRET', 'API_KEY', 'API_KEY_HASHES', 'APPWRITE_API_KEY', 'PROGRESS_SECRET', 'PUBLISHER_CALLBACK_URL', 'SENTRY_DSN', 'WEBHOOK_SECRET', 'WEBHOOK_URLS']);
  for (const name of SECRET_SETTINGS) for (const p of [name, `env.${name}`, `settings.${name}`]) assert.ok(REDACT_PATHS.includes(p), p);
  const c = loadConfig({ API_KEY: 'k', APPWRITE_API_KEY: 'a', PROGRESS_SECRET: 'p', API_KEY_HASHES: '' });
  const shown = printableSettings(c);
  assert.equal([shown.API_KEY, shown.APPWRITE_API_KEY, shown.PROGRESS_SECRET, shown.API_KEY_HASHES, shown.SENTRY_DSN], ['[set]', '[set]', '[set]', null, null]);
  assert.is(shown.KEYFRAME_INTERVAL, 2, 'a name with KEY in it is no secret');
  for (const where of ['local', 'pod'] as const) {
    const env = transcoderSettingsEnvironment(c, where);
    for (const name of SECRET_SETTINGS) assert.not.ok(name in env, `${name} to ${where}`);
  }
});

test('what reaches a transcoder: its settings (FFmpeg paths only on this machine), plus the system environment, nothing else of ours', () => {
  const c = loadConfig({ MAX_SOURCE_BYTES: '1000', LOG_LEVEL: 'debug', FFMPEG_PATH: '/opt/ffmpeg/bin/ffmpeg', STORE: 'appwrite', APPWRITE_ENDPOINT: 'https://aw.example/v1', APPWRITE_PROJECT_ID: 'p', APPWRITE_API_KEY: 'k' });
  const local = transcoderSettingsEnvironment(c, 'local');
  assert.equal(local.MAX_SOURCE_BYTES, '1000');
  assert.equal([local.FFMPEG_PATH, local.FFPROBE_PATH], ['/opt/ffmpeg/bin/ffmpeg', '/opt/ffmpeg/bin/ffprobe']);
  const pod = transcoderSettingsEnvironment(c, 'pod');
  assert.not.ok('FFMPEG_PATH' in pod, 'a pod’s image brings its own FFmpeg');
  assert.equal(Object.keys(pod).sort(), Object.keys(local).filter((k) => !k.startsWith('FF')).sort());
  for (const name of ['STORE', 'APPWRITE_ENDPOINT', 'APPWRITE_API_KEY', 'PORT', 'HIGH_QUALITY_CRF']) assert.not.ok(name in local, name);
  assert.equal(systemEnvironment({ PATH: '/bin', HOME: '/root', API_KEY: 'k', APPWRITE_API_KEY: 'a', STORE: 'appwrite', LOG_LEVEL: 'debug' }), { PATH: '/bin', HOME: '/root' });
  // The transcoder validates what it receives on its own.
  assert.is(loadConfig({ ...systemEnvironment({ PATH: '/bin' }), ...local }).MAX_SOURCE_BYTES, 1000);
});

test('settings nothing reads yet are said so: in the docs and, when set, as a warning at start', () => {
  const unused = settingNames().filter((name) => settingOf(name).notUsedYet);
  assert.equal(unused, ['NODE_ENV']);
  for (const name of unused) assert.equal(settingOf(name).usedBy, [], name);
  assert.equal(unusedSettingsGiven({ NODE_ENV: 'production' }), [], 'defaults are not a choice');
  assert.equal(
    unusedSettingsGiven({ SENTRY_DSN: 'https://k@sentry.example/1', NODE_ENV: 'development', PORT: '8080' }).map((w) => w.name),
    ['NODE_ENV'],
  );
  assert.match(unusedSettingsGiven({ NODE_ENV: 'test' })[0]!.message, /^NODE_ENV is set but not used yet: /);
  // Everything else is read by some process.
  for (const name of settingNames().filter((n) => !settingOf(n).notUsedYet)) assert.ok(settingOf(name).usedBy.length > 0, name);
});

test('PORT and INTERNAL_PORT must differ; bind addresses are IP addresses', () => {
  assert.match(problemsOf({ PORT: '3001' })[0] ?? '', /^INTERNAL_PORT must differ from PORT/);
  assert.equal(problemsOf({ BIND_ADDRESS: 'localhost', INTERNAL_BIND_ADDRESS: '10.0.0.300' }), [
    'BIND_ADDRESS must be an IP address to listen on, such as 127.0.0.1, 0.0.0.0 or ::, got "localhost"',
    'INTERNAL_BIND_ADDRESS must be an IP address to listen on, such as 127.0.0.1, 0.0.0.0 or ::, got "10.0.0.300"',
  ]);
  const c = loadConfig({});
  assert.equal([c.BIND_ADDRESS, c.INTERNAL_PORT, c.INTERNAL_BIND_ADDRESS, c.TRUST_PROXY, c.TRUSTED_PROXY_HOPS], ['0.0.0.0', 3001, '127.0.0.1', false, 1]);
});

test('a transcoder run (vcs transcode with its job in the environment) reads no .env: only what its runner passed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-dotenv-'));
  try {
    // A .env for the service: the Appwrite store, and a key that must never reach a transcoder.
    await writeFile(path.join(dir, '.env'), 'STORE=appwrite\nAPPWRITE_ENDPOINT=https://aw.example/v1\nAPPWRITE_PROJECT_ID=p\nAPI_KEY=service-secret\n');
    assert.is((await runVcs(['config'], {}, { cwd: dir })).code, 78, 'the service’s commands read it (and find APPWRITE_API_KEY missing)');
    const job = {
      VCS_JOB_NAME: 'vcs-3-1',
      VCS_VIDEO_ID: '3',
      VCS_SOURCE_URL: pathToFileURL(path.join(dir, 'missing.mp4')).href,
      VCS_OUTPUT_DIR: path.join(dir, 'hls', '3'),
      VCS_WORK_DIR: path.join(dir, 'work', 'vcs-3-1'),
      VCS_RESULT_PATH: path.join(dir, 'result.json'),
      VCS_LADDER: JSON.stringify(ladderFromSettings(loadConfig({}))),
      ALLOW_LOCAL_SOURCES: 'true',
    };
    const run = await runVcs(['transcode'], job, { cwd: dir });
    assert.is(run.code, 2, run.stderr);
    assert.is(JSON.parse(await readFile(job.VCS_RESULT_PATH, 'utf8')).error.code, 'VCS_ERR_SOURCE_NOT_FOUND');
    assert.not.match(run.stdout + run.stderr, 'service-secret');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the CLI stops at start with the message when a setting is bad', async () => {
  const run = await runVcs(['config'], { MAX_CONCURRENT_JOBS: 'lots' });
  assert.is(run.code, 78);
  assert.match(run.stderr, /MAX_CONCURRENT_JOBS must be an integer 1–1000, got "lots"/);
});

test('start-up failures name the variable: a missing FFmpeg stops vcs serve, a missing or absent cluster configuration stops vcs controller', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-start-'));
  try {
    const local = { STORAGE_PATH: path.join(dir, 'storage'), TEMP_PATH: path.join(dir, 'tmp'), PORT: String(await freePort()), INTERNAL_PORT: String(await freePort()) };
    const serve = await runVcs(['serve'], { ...local, FFMPEG_PATH: path.join(dir, 'no-ffmpeg') }, { cwd: dir, timeoutMs: 30_000 });
    assert.is(serve.code, 78, serve.stderr);
    assert.match(serve.stderr, `FFMPEG_PATH=${path.join(dir, 'no-ffmpeg')}: no such program`);
    const kube = { RUNNER: 'kubernetes', STORAGE_PATH: local.STORAGE_PATH, HOME: dir };
    const missing = await runVcs(['controller'], { ...kube, KUBECONFIG: path.join(dir, 'nope') }, { cwd: dir, timeoutMs: 30_000 });
    assert.is(missing.code, 78, missing.stderr);
    assert.match(missing.stderr, `KUBECONFIG=${path.join(dir, 'nope')}: no such file`);
    const none = await runVcs(['controller'], kube, { cwd: dir, timeoutMs: 30_000 });
    assert.is(none.code, 78, none.stderr);
    assert.match(none.stderr, 'no cluster configured: set KUBECONFIG');
    assert.not.match(none.stdout + none.stderr, 'skipTLSVerify');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** yargs' command registry (reached through its internal methods: there is no public listing). */
interface CommandRegistry {
  getCommands(): string[];
  getCommandHandlers(): Record<string, { description: string | false; builder: unknown; original: string }>;
}
const registryOf = (y: Argv): CommandRegistry =>
  (y as unknown as { getInternalMethods(): { getCommandInstance(): CommandRegistry } }).getInternalMethods().getCommandInstance();

/** Each command of `y` with its description and, for a group, its subcommands (its builder run on a fresh yargs). */
function commandsOf(y: Argv): { name: string; description: string | false; subcommands: { name: string; description: string | false }[] }[] {
  const registry = registryOf(y);
  return registry.getCommands().map((name) => {
    const { description, builder } = registry.getCommandHandlers()[name]!;
    const group = yargs([]);
    if (typeof builder === 'function') builder(group);
    const sub = registryOf(group);
    return { name, description, subcommands: sub.getCommands().map((s) => ({ name: s, description: sub.getCommandHandlers()[s]!.description })) };
  });
}

/** Help text with its wrapping undone, so a description reads as one line. */
const unwrapped = (text: string) => text.replace(/\s+/g, ' ');

test('vcs --help lists every command of the CLI, and each group’s help its subcommands, with their descriptions', async () => {
  const commands = commandsOf(buildCli(yargs, [], {}));
  assert.ok(commands.some((c) => c.subcommands.length > 0), 'the groups’ subcommands are found');
  const run = await runVcs(['--help']);
  assert.is(run.code, 0);
  for (const { name, description } of commands) {
    assert.type(description, 'string', `vcs ${name} has a description`);
    // A command with positionals (vcs retry <id>) shows them before its description.
    const positionals = registryOf(buildCli(yargs, [], {})).getCommandHandlers()[name]!.original.split(' ').slice(1).join(' ');
    assert.ok(unwrapped(run.stdout).includes(` vcs ${name}${positionals ? ` ${positionals}` : ''} ${description} `), `vcs --help lists vcs ${name}`);
  }
  for (const { name, subcommands } of commands.filter((c) => c.subcommands.length > 0)) {
    const help = await runVcs([name, '--help']);
    assert.is(help.code, 0, `vcs ${name} --help`);
    for (const sub of subcommands) {
      assert.type(sub.description, 'string', `vcs ${name} ${sub.name} has a description`);
      assert.ok(unwrapped(help.stdout).includes(` vcs ${name} ${sub.name} ${sub.description} `), `vcs ${name} --help lists vcs ${name} ${sub.name}`);
    }
  }
});

test.run();
