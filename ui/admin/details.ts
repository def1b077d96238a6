/**
 * A video's details in a dialog: every field the API gives, its error and failed step, its URLs
 * (with copy buttons), and — for a published package — a preview player (hls.js, bundled, never
 * from a CDN) with a quality menu listing the renditions with their resolution and bit rate.
 */
import Hls from 'hls.js/light';
import { api } from './api.ts';
import { clear, h } from './dom.ts';
import type { Post } from './types.ts';

let hls: Hls | null = null;
const dialog = h('dialog', { class: 'details', 'aria-labelledby': 'details-title' });
dialog.addEventListener('close', () => {
  hls?.destroy();
  hls = null;
});
document.body.append(dialog);

const row = (label: string, value: string | number | null | undefined) => [h('dt', {}, label), h('dd', {}, value === null || value === undefined || value === '' ? '—' : String(value))];

function player(id: number): HTMLElement {
  const video = h('video', { controls: true, muted: true, playsinline: true, id: 'preview', width: 480 }) as HTMLVideoElement;
  const quality = h('select', { id: 'quality', 'aria-label': 'Quality' }, h('option', { value: '-1' }, 'Auto'));
  const info = h('p', { class: 'levels', id: 'level' });
  const src = `/storage/hls/${id}/master.m3u8`;
  if (Hls.isSupported()) {
    hls = new Hls({ capLevelToPlayerSize: false });
    hls.loadSource(src);
    hls.attachMedia(video);
    hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
      data.levels.forEach((l, i) => quality.append(h('option', { value: i }, `${l.height}p · ${Math.round(l.bitrate / 1000)} kb/s`)));
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
      const level = hls?.levels[data.level];
      if (level) info.textContent = `Playing ${level.height}p (${Math.round(level.bitrate / 1000)} kb/s)`;
      video.dataset.level = String(data.level);
    });
    quality.addEventListener('change', () => {
      if (hls) hls.currentLevel = Number(quality.value);
    });
  } else video.src = src; // Safari plays HLS itself
  return h('section', { class: 'player' }, video, h('div', { class: 'quality' }, h('label', { for: 'quality' }, 'Quality '), quality, info));
}

interface Files {
  original_video_url: string;
  renditions: { name: string; segments: number; bytes: number }[];
}

interface RunLog {
  job: string;
  modified: string;
  bytes: number;
  lines: string[];
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const QUIET = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'job', 'videoId']);

/** One pino line as the plan's readable format: time, level, message, the other fields. */
function readable(line: string): string {
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(o)
      .filter(([k]) => !QUIET.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${String(o.time ?? '')} ${LEVELS[Number(o.level)] ?? o.level} ${String(o.msg ?? '')}${extra ? `  ${extra}` : ''}`;
  } catch {
    return line;
  }
}

/** Each run's own log, newest first; the newest open. */
async function runLogs(id: number): Promise<HTMLElement> {
  const { runs } = await api<{ runs: RunLog[] }>('GET', `videos/${id}/logs`);
  if (runs.length === 0) return h('p', { class: 'nolog' }, 'No transcoder log for this video.');
  return h(
    'section',
    { class: 'logs' },
    h('h3', {}, 'Transcoder log'),
    ...runs.map((run, i) => h('details', { open: i === 0 }, h('summary', {}, `${run.job} · ${new Date(run.modified).toLocaleString()}`), h('pre', { class: 'log' }, run.lines.map(readable).join('\n')))),
  );
}

/** Downloads: the upload, the poster and master playlist, the whole package (tar) or one rendition as a file. */
function downloads(post: Post, original: string): HTMLElement {
  const id = post.wp_post_id;
  const link = (href: string, text: string, download?: string) => h('a', { href, download, rel: 'noopener', target: download ? undefined : '_blank' }, text);
  // Only web links become links: a document may hold anything.
  const items = [h('li', {}, /^https?:\/\//i.test(original) ? link(original, 'Original upload') : h('span', {}, `Original upload: ${original}`))];
  if (post.status === 'completed' && post.urls) {
    items.push(h('li', {}, link(`/storage/hls/${id}/poster.jpg`, 'Poster', `video-${id}-poster.jpg`)));
    items.push(h('li', {}, link(`/storage/hls/${id}/master.m3u8`, 'Master playlist', `video-${id}-master.m3u8`)));
    items.push(h('li', {}, link(`videos/${id}/package.tar`, 'Package (.tar)')));
    for (const name of ['high', 'medium', 'low']) if (post.urls[`hls_${name}_url`]) items.push(h('li', {}, link(`videos/${id}/${name}.ts`, `${name} rendition (.ts)`)));
  }
  return h('section', { class: 'downloads' }, h('h3', {}, 'Download'), h('ul', {}, ...items));
}

/** Deleting from the dialog: with its files, or keeping them (`delete_files=false`). */
function deletion(post: Post, after: (message: string) => void): HTMLElement | null {
  if (post.status === 'deleted') return null;
  const id = post.wp_post_id;
  const remove = (keepFiles: boolean) => async () => {
    if (!confirm(keepFiles ? `Delete video ${id} and keep its files?` : `Delete video ${id} and its files?`)) return;
    await api('DELETE', `/api/post/${id}${keepFiles ? '?delete_files=false' : ''}`);
    dialog.close();
    after(`Video ${id} deleted${keepFiles ? ' (files kept)' : ''}`);
  };
  return h(
    'div',
    { class: 'controls' },
    h('button', { type: 'button', class: 'danger', id: 'delete-with-files', onclick: remove(false) }, 'Delete with files'),
    h('button', { type: 'button', class: 'danger', id: 'delete-keep-files', onclick: remove(true) }, 'Delete, keep files'),
  );
}

export async function showDetails(id: number, after: (message: string) => void = () => undefined): Promise<void> {
  const [post, logs, files] = await Promise.all([api<Post>('GET', `/api/post/${id}`), runLogs(id), api<Files>('GET', `videos/${id}/files`)]);
  const urls = Object.entries(post.urls ?? {}).filter(([, u]) => u);
  clear(
    dialog,
    h('header', {}, h('h2', { id: 'details-title' }, post.title), h('button', { type: 'button', class: 'close', 'aria-label': 'Close', onclick: () => dialog.close() }, '×')),
    h(
      'dl',
      {},
      ...row('Post id', post.wp_post_id),
      ...row('Status', post.status),
      ...row('Step', post.step),
      ...row('Progress', `${post.progress}%`),
      ...row('Priority', post.priority),
      ...row('Created', post.created_at),
      ...row('Started', post.started_at),
      ...row('Completed', post.completed_at),
      ...row('Duration', post.duration_seconds === null ? null : `${post.duration_seconds.toFixed(1)} s`),
      ...row('Size', post.total_size === null ? null : `${(post.total_size / 1e6).toFixed(1)} MB`),
      ...row('Retries', post.retry_count),
      ...row('Error', post.error_message),
      ...row('Failed at step', post.failed_at_step),
      ...row('Failed at', post.failed_at),
      ...row('Last watched', post.last_accessed_at),
    ),
    urls.length
      ? h(
          'ul',
          { class: 'urls' },
          ...urls.map(([name, url]) => h('li', {}, h('span', {}, `${name}: `), h('a', { href: url!, target: '_blank', rel: 'noopener' }, url!), ' ', h('button', { type: 'button', onclick: () => void navigator.clipboard?.writeText(url!) }, 'Copy'))),
        )
      : null,
    post.status === 'completed' ? player(post.wp_post_id) : null,
    files.renditions.length
      ? h(
          'section',
          { class: 'renditions' },
          h('h3', {}, 'Renditions'),
          h(
            'ul',
            {},
            ...files.renditions.map((r) =>
              h('li', {}, `${r.name}: ${(r.bytes / 1e6).toFixed(1)} MB in ${r.segments} segments${post.duration_seconds ? `, ${Math.round((r.bytes * 8) / post.duration_seconds / 1000)} kb/s on average` : ''}`),
            ),
          ),
        )
      : null,
    downloads(post, files.original_video_url),
    logs,
    deletion(post, after),
  );
  dialog.showModal();
}
