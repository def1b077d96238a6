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

/**
 * The order in which groups are documented: what everyone sets first (where it listens and
 * stores), then transcoding, the API and its limits, operations, and the two optional back ends.
 * A group not named here follows in the order it is declared.
 */
const GROUP_ORDER = ['Server', 'Storage', 'Shapes of the service', 'Worker', 'FFmpeg', 'Sources', 'API security', 'Admin dashboard', 'Cleanup', 'Monitoring', 'Appwrite connection', 'Kubernetes (RUNNER=kubernetes, vcs controller)'];

/** Every setting, grouped, in documentation order. */
export function settingGroups(): { group: string; names: SettingName[] }[] {
  const groups: { group: string; names: SettingName[] }[] = [];
  for (const name of settingNames()) {
    const title = settingOf(name).group;
    const found = groups.find((g) => g.group === title);
    if (found) found.names.push(name);
    else groups.push({ group: title, names: [name] });
  }
  const rank = (title: string) => (GROUP_ORDER.includes(title) ? GROUP_ORDER.indexOf(title) : GROUP_ORDER.length);
  return groups.map((g, i) => ({ g, i })).sort((a, b) => rank(a.g.group) - rank(b.g.group) || a.i - b.i).map(({ g }) => g);
}

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
  for (const { group, names } of settingGroups()) {
    lines.push('', `# --- ${group} ---`);
    for (const name of names) {
      const setting = settingOf(name);
      const { text, literal } = documentedDefault(name);
      if (setting.example) {
        lines.push(`# ${describe(name)} (default: ${text}; ${setting.example.why})`, `${name}=${setting.example.value}`);
        continue;
      }
      lines.push(`# ${describe(name)}${setting.secret ? ' [secret]' : ''}${literal ? '' : ` (default: ${text})`}`);
      lines.push(literal && setting.default !== '' ? `${name}=${setting.default}` : `# ${name}=`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The README's settings tables (Markdown), one per group under a heading. */
export function renderSettingsTable(): string {
  const out: string[] = [];
  for (const { group, names } of settingGroups()) {
    out.push(`#### ${group}`, '', '| variable | default | read by | meaning |', '|---|---|---|---|');
    for (const name of names) {
      const setting = settingOf(name);
      const { text, literal } = documentedDefault(name);
      const shown = literal ? (text === '' ? 'empty' : `\`${text}\``) : text;
      const readers = setting.usedBy.length ? setting.usedBy.join(', ') : '—';
      out.push(`| \`${name}\` | ${cell(shown)} | ${readers} | ${cell(describe(name))}${setting.secret ? ' (secret)' : ''} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
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
