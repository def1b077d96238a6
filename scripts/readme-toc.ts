/**
 * The README's table of contents, rendered from its `##` and `###` headings with GitHub's own
 * anchor rules (github-slugger, the library GitHub-compatible renderers use), so a link always
 * lands on its heading. `npm run docs` writes it between the `toc` markers. Pure.
 */
import GithubSlugger from 'github-slugger';

/** The headings outside fenced code blocks, with the anchors GitHub gives them. */
export function headings(markdown: string): { level: number; text: string; anchor: string }[] {
  const slugger = new GithubSlugger();
  const out: { level: number; text: string; anchor: string }[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^(#{1,6}) +(.+?) *#*$/.exec(line);
    // GitHub slugs the heading's text as shown: code spans and links count by their text.
    if (m) out.push({ level: m[1]!.length, text: m[2]!, anchor: slugger.slug(m[2]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replaceAll('`', '')) });
  }
  return out;
}

/** A nested list of links to every `##` heading and its `###` headings. */
export function renderToc(markdown: string): string {
  return headings(markdown)
    .filter((h) => (h.level === 2 || h.level === 3) && h.text !== 'Contents')
    .map((h) => `${h.level === 3 ? '  ' : ''}- [${h.text.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')}](#${h.anchor})`)
    .join('\n');
}
