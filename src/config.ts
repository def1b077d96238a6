/**
 * The one module that reads the environment. Every setting is declared once, with its metadata,
 * in src/config/settings.ts; `loadConfig()` validates them all and throws a single `ConfigError`
 * that names every bad variable and what was expected. What other parts need to know about the
 * settings — which are secret, which travel to a transcoder, how `vcs config` shows them — is
 * derived here from that metadata, never listed again elsewhere.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { Invalid, type Env } from './config/parsers.ts';
import { SETTINGS, settingNames, settingOf, type SettingName, type Settings } from './config/settings.ts';

export { parseBitrate } from './config/parsers.ts';
export { SETTINGS, settingNames, settingOf, X264_PRESETS } from './config/settings.ts';
export type { Env } from './config/parsers.ts';
export type { Process, SettingName, Settings } from './config/settings.ts';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** The default of a setting as documented: literal, derived from other settings, or unset. */
export function defaultOf(name: SettingName, env: Env = {}): string | undefined {
  const setting = settingOf(name);
  return setting.derived ? setting.derived.value(env) : setting.default;
}

/** Pure: validates `env` and returns every setting, or throws one ConfigError naming each bad variable. */
export function loadConfig(env: Env): Settings {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const name of settingNames()) {
    const given = env[name];
    const raw = given !== undefined && given !== '' ? given : defaultOf(name, env);
    if (raw === undefined) {
      out[name] = undefined;
      continue;
    }
    try {
      out[name] = settingOf(name).parse(raw, env);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      problems.push(`${name} must be ${err.message}, got ${JSON.stringify(raw)}`);
    }
  }
  if (problems.length === 0) problems.push(...crossChecks(out as Settings));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Settings;
}

function crossChecks(c: Settings): string[] {
  const problems: string[] = [];
  if (c.SEGMENT_DURATION % c.KEYFRAME_INTERVAL !== 0) {
    problems.push(
      `SEGMENT_DURATION must be a multiple of KEYFRAME_INTERVAL (${c.KEYFRAME_INTERVAL}) so every segment starts on a keyframe, got ${c.SEGMENT_DURATION}`,
    );
  }
  // Only when chunking is on: a segment length that worked before (8 s with the 60 s default) stays valid.
  if (c.CHUNK_PARALLELISM > 1 && c.CHUNK_DURATION % c.SEGMENT_DURATION !== 0) {
    problems.push(`CHUNK_DURATION must be a multiple of SEGMENT_DURATION (${c.SEGMENT_DURATION}) so every chunk boundary is a segment boundary, got ${c.CHUNK_DURATION}`);
  }
  if (!(c.HIGH_RESOLUTION > c.MEDIUM_RESOLUTION && c.MEDIUM_RESOLUTION > c.LOW_RESOLUTION)) {
    problems.push(
      `HIGH_RESOLUTION > MEDIUM_RESOLUTION > LOW_RESOLUTION is expected, got ${c.HIGH_RESOLUTION}, ${c.MEDIUM_RESOLUTION}, ${c.LOW_RESOLUTION}`,
    );
  }
  if (c.PORT === c.INTERNAL_PORT) problems.push(`INTERNAL_PORT must differ from PORT (the internal routes are never on the public port), got ${c.PORT} for both`);
  if (c.RUNNER === 'kubernetes') problems.push(...kubernetesChecks(c));
  if (c.STORE === 'appwrite') problems.push(...appwriteChecks(c));
  return problems;
}

/** The Appwrite store needs the connection; node-appwrite's endpoint includes the API version. */
function appwriteChecks(c: Settings): string[] {
  const missing = (['APPWRITE_ENDPOINT', 'APPWRITE_PROJECT_ID', 'APPWRITE_API_KEY'] as const).filter((name) => c[name] === undefined);
  if (missing.length) return [`STORE=appwrite needs ${missing.join(', ')}`];
  if (!/\/v1$/.test(c.APPWRITE_ENDPOINT!)) return [`APPWRITE_ENDPOINT must end in /v1 (the API version), got ${JSON.stringify(c.APPWRITE_ENDPOINT)}`];
  return [];
}

/** Transcoder pods see only the volume mounted at STORAGE_PATH; a lease must outlive its renewals. */
function kubernetesChecks(c: Settings): string[] {
  const problems: string[] = [];
  for (const name of ['HLS_PATH', 'TEMP_PATH'] as const) {
    if (!c[name].startsWith(c.STORAGE_PATH + path.sep)) problems.push(`${name} must be inside STORAGE_PATH (${c.STORAGE_PATH}), the volume the transcoder pods mount, got ${c[name]}`);
  }
  const { LEADER_ELECTION_LEASE_DURATION: lease, LEADER_ELECTION_RENEW_DEADLINE: renew, LEADER_ELECTION_RETRY_PERIOD: retry } = c;
  if (!(lease > renew && renew > retry)) {
    problems.push(`LEADER_ELECTION_LEASE_DURATION > LEADER_ELECTION_RENEW_DEADLINE > LEADER_ELECTION_RETRY_PERIOD is expected (a leader stops before a standby may take over), got ${lease}, ${renew}, ${retry}`);
  }
  return problems;
}

/**
 * The process environment merged over `.env` in the working directory (the real environment wins,
 * as with dotenv); `dotenv: false` reads the process environment alone. The only place
 * `process.env` is read.
 */
export function readEnvironment(opts: { cwd?: string; dotenv?: boolean } = {}): Env {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.dotenv === false) return { ...process.env };
  let fromFile: Record<string, string> = {};
  try {
    fromFile = parseEnv(readFileSync(path.join(cwd, '.env'), 'utf8')) as Record<string, string>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { ...fromFile, ...process.env };
}

// ------------------------------------------------------------------------------------------------
// Derived from the metadata

/** The secret settings (never shown, logged or passed on). */
export const SECRET_SETTINGS: readonly SettingName[] = settingNames().filter((name) => settingOf(name).secret);

/** A parsed value as the text that parses back to it (lists comma-separated, objects as JSON). */
export function settingText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    // Label maps (TRANSCODER_NODE_SELECTOR) read back as key=value pairs.
    if (entries.every(([, v]) => typeof v === 'string')) return entries.map(([k, v]) => `${k}=${v}`).join(',');
    return JSON.stringify(value);
  }
  return String(value);
}

/**
 * The settings a transcoder run receives in its environment, as text: for a local child
 * (`local`: including paths of this machine's FFmpeg) or a Job pod (`pod`). The ladder travels in
 * the job contract (VCS_LADDER), not here; secrets never travel.
 */
export function transcoderSettingsEnvironment(settings: Settings, where: 'local' | 'pod'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of settingNames()) {
    const reach = settingOf(name).transcoder;
    if (reach === 'everywhere' || (reach === 'local' && where === 'local')) {
      const value = settings[name];
      if (value !== undefined) out[name] = settingText(value);
    }
  }
  return out;
}

/**
 * What a local child process inherits from this process's environment: everything that is not a
 * setting of ours (PATH, HOME, locale, TZ…). Settings reach a child only through
 * transcoderSettingsEnvironment, so no secret and no store setting can leak into it.
 */
export function systemEnvironment(env: Env): Record<string, string> {
  const ours = new Set<string>(settingNames());
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !ours.has(k)) out[k] = v;
  return out;
}

/** The effective settings for `vcs config`: secrets as "[set]" when they hold something, never their value. */
export function printableSettings(settings: Settings): Record<string, unknown> {
  return Object.fromEntries(
    settingNames().map((name) => {
      const value = settings[name];
      if (!settingOf(name).secret) return [name, value ?? null];
      const empty = value === undefined || (Array.isArray(value) && value.length === 0);
      return [name, empty ? null : '[set]'];
    }),
  );
}

/** Settings the environment sets that nothing reads yet: each with a warning for the log at start. */
export function unusedSettingsGiven(env: Env): { name: SettingName; message: string }[] {
  return settingNames()
    .filter((name) => settingOf(name).notUsedYet && env[name] !== undefined && env[name] !== '' && env[name] !== defaultOf(name, env))
    .map((name) => ({ name, message: `${name} is set but not used yet: ${settingOf(name).notUsedYet}` }));
}
