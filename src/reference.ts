/**
 * The reference documentation, rendered from the catalogues it documents: `.env.example` (also
 * printed by `vcs config --example`) and the README's settings table from the settings table
 * (src/config/settings.ts), and the README's error codes from the error catalogue
 * (src/errors.ts). `npm run docs` writes them; a test checks the files in the repository are what
 * these functions render, so they cannot drift. Pure.
 */
import { settingNames, settingOf, type SettingName } from './config/settings.ts';
import { ERRORS, type ErrorCode, type ErrorKind } from './errors.ts';

const HEADER = [
  '# Video compression service settings: every variable, its default and what it does.',
  '# Copy to .env (read at start; the real environment wins) and change what you need.',
  '# Commented-out lines are unset or derived from other settings; "not used yet" marks settings',
  '# of the original plan that nothing reads so far (setting them only logs a warning).',
  '# Generated from src/config/settings.ts (npm run docs).',
];

/** How the default reads in the documentation. */
function documentedDefault(name: SettingName): { text: string; literal: boolean } {
  const setting = settingOf(name);
  if (setting.derived) return { text: setting.derived.text, literal: false };
  if (setting.default === undefined) return { text: 'unset', literal: false };
  return { text: setting.default, literal: true };
}

function describe(name: SettingName): string {
  const setting = settingOf(name);
  return setting.notUsedYet ? `Not used yet (${setting.notUsedYet}). ${setting.description}` : setting.description;
}

export function renderEnvExample(): string {
  const lines = [...HEADER];
  let group = '';
  for (const name of settingNames()) {
    const setting = settingOf(name);
    if (setting.group !== group) {
      group = setting.group;
      lines.push('', `# --- ${group} ---`);
    }
    const { text, literal } = documentedDefault(name);
    lines.push(`# ${describe(name)}${setting.secret ? ' [secret]' : ''}${literal ? '' : ` (default: ${text})`}`);
    lines.push(literal && setting.default !== '' ? `${name}=${setting.default}` : `# ${name}=`);
  }
  return `${lines.join('\n')}\n`;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The README's settings table (Markdown). */
export function renderSettingsTable(): string {
  const rows = ['| variable | default | read by | meaning |', '|---|---|---|---|'];
  for (const name of settingNames()) {
    const setting = settingOf(name);
    const { text, literal } = documentedDefault(name);
    const shown = literal ? (text === '' ? 'empty' : `\`${text}\``) : text;
    const readers = setting.usedBy.length ? setting.usedBy.join(', ') : '—';
    rows.push(`| \`${name}\` | ${cell(shown)} | ${readers} | ${cell(describe(name))}${setting.secret ? ' (secret)' : ''} |`);
  }
  return rows.join('\n');
}

/** The README's table of error codes (Markdown). */
export function renderErrorTable(): string {
  const rows = ['| code | HTTP | retried | meaning |', '|---|---|---|---|'];
  for (const [code, kind] of Object.entries(ERRORS) as [ErrorCode, ErrorKind][]) {
    rows.push(`| \`${code}\` | ${kind.status} | ${kind.permanent ? 'no' : 'yes'} | ${cell(kind.describe)} |`);
  }
  return rows.join('\n');
}

/** Replaces what stands between `<!-- name:start -->` and `<!-- name:end -->` in `text`. */
export function replaceSection(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->\n`;
  const end = `\n<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end, from);
  if (from < 0 || to < 0) throw new Error(`no ${name} section (<!-- ${name}:start --> … <!-- ${name}:end -->)`);
  return `${text.slice(0, from + start.length)}${content}${text.slice(to)}`;
}
