/**
 * `npm run docs`: rewrites the generated reference — .env.example, and the README's contents,
 * settings and error-code tables — from the settings table and the error catalogue (src/reference.ts). The
 * tests fail when these files are not what the code renders.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderEnvExample, renderErrorTable, renderSettingsTable, replaceSection } from '../src/reference.ts';
import { renderToc } from './readme-toc.ts';

const root = path.resolve(import.meta.dirname, '..');
const readme = path.join(root, 'README.md');
let text = await readFile(readme, 'utf8');
text = replaceSection(text, 'settings', renderSettingsTable());
text = replaceSection(text, 'errors', renderErrorTable());
// Last: the contents list the headings the tables above may have added.
text = replaceSection(text, 'toc', renderToc(text));
await writeFile(readme, text);
await writeFile(path.join(root, '.env.example'), renderEnvExample());
process.stdout.write('docs: README.md (contents, settings, errors) and .env.example rewritten\n');
