/**
 * The admin dashboard (the original plan's layout): statistics, system status and controls, the
 * videos table with filters, search, sort, pagination, per-video and bulk actions, CSV export, and
 * recent activity — live through Server-Sent Events (`events`), with a 10-second refresh when the
 * stream is down. Everything a document holds is shown as text.
 */
import { api, ApiError, loadSession, signOut, type Session } from './api.ts';
import { showDetails } from './details.ts';
import { clear, h } from './dom.ts';
import type { Job } from './types.ts';

interface JobList {
  total: number;
  jobs: Job[];
}
interface Stats {
  total_videos: number;
  completed: number;
  processing: number;
  failed: number;
  pending: number;
  total_storage_used: string;
  videos_today: number;
  average_compression_time: string;
}
interface Snapshot {
  at: string;
  counts: Record<string, number>;
  paused: boolean;
  processing: { wp_post_id: number; title: string; compression_step: string | null; compression_progress: number }[];
}
interface Health {
  status: string;
  worker: { status: string } | null;
  store: { kind: string; connected: boolean; latencyMs: number | null };
  storage: { available: string };
  ffmpeg: { available: boolean; version?: string };
}

const PAGE_SIZE = 20;
const STATUSES = ['pending', 'processing', 'completed', 'failed', 'deleted'];
const state = {
  status: '',
  search: '',
  from: '',
  to: '',
  sort: 'created_at',
  order: 'desc',
  offset: 0,
  total: 0,
  jobs: [] as Job[],
  selected: new Set<number>(),
  processing: new Map<number, string>(),
  paused: false,
};

const root = document.getElementById('app')!;
const el = {
  stats: h('section', { class: 'stats', 'aria-label': 'Statistics' }),
  system: h('section', { class: 'system', 'aria-label': 'System status' }),
  table: h('tbody'),
  pager: h('nav', { class: 'pager', 'aria-label': 'Pages' }),
  activity: h('ol', { class: 'activity' }),
  message: h('p', { class: 'message', role: 'status', 'aria-live': 'polite' }),
  pause: h('button', { type: 'button', id: 'pause' }, 'Pause worker'),
  bulk: h('div', { class: 'bulk' }),
};

function say(text: string, error = false): void {
  el.message.textContent = text;
  el.message.className = error ? 'message error' : 'message';
}

async function act(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    say(what);
    await refresh();
  } catch (err) {
    say(`${what} failed: ${err instanceof ApiError ? err.message : String(err)}`, true);
  }
}

/** Recent activity from the service: videos' latest changes and admins' actions, with who. */
async function loadActivity(): Promise<void> {
  const { events } = await api<{ events: { at: string; kind: string; text: string }[] }>('GET', 'activity');
  clear(el.activity, ...events.map((e) => h('li', { class: e.kind }, h('time', { datetime: e.at }, new Date(e.at).toLocaleString()), ' ', e.text)));
}

function card(label: string, value: string | number, id: string): HTMLElement {
  return h('div', { class: 'card', id: `stat-${id}` }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, String(value)));
}

async function loadStats(): Promise<void> {
  const s = await api<Stats>('GET', '/api/stats');
  clear(
    el.stats,
    card('Total', s.total_videos, 'total'),
    card('Completed', s.completed, 'completed'),
    card('Processing', s.processing, 'processing'),
    card('Failed', s.failed, 'failed'),
    card('Queued', s.pending, 'pending'),
    card('Storage', s.total_storage_used, 'storage'),
    card('Today', s.videos_today, 'today'),
    card('Avg time', s.average_compression_time, 'average'),
  );
}

async function loadSystem(): Promise<void> {
  const res = await fetch('/health', { headers: { Accept: 'application/json' } });
  const health = (await res.json()) as Health;
  const ok = (good: boolean) => (good ? 'ok' : 'bad');
  const worker = health.worker ? (state.paused ? 'paused' : health.worker.status) : state.paused ? 'paused' : 'runs in the controller';
  clear(
    el.system,
    h('h2', {}, 'System'),
    h(
      'dl',
      {},
      h('dt', {}, 'Worker'),
      h('dd', { id: 'sys-worker', class: state.paused ? 'bad' : 'ok' }, worker),
      h('dt', {}, health.store.kind === 'appwrite' ? 'Appwrite' : 'Store'),
      h('dd', { class: ok(health.store.connected), id: 'sys-store' }, health.store.connected ? `connected${health.store.latencyMs === null ? '' : ` (${health.store.latencyMs} ms)`}` : 'unreachable'),
      h('dt', {}, 'Storage'),
      h('dd', {}, `${health.storage.available} available`),
      h('dt', {}, 'FFmpeg'),
      h('dd', { class: ok(health.ffmpeg.available) }, health.ffmpeg.available ? (health.ffmpeg.version ?? 'available') : 'missing'),
      h('dt', {}, 'Last update'),
      h('dd', { id: 'sys-updated' }, new Date().toLocaleTimeString()),
    ),
  );
  el.pause.textContent = state.paused ? 'Resume worker' : 'Pause worker';
}

function progressBar(job: Pick<Job, 'progress' | 'status'>): HTMLElement {
  const value = job.status === 'completed' ? 100 : job.progress;
  const fill = h('span');
  // Through the CSSOM: a style attribute would be refused by the page's CSP (style-src 'self').
  fill.style.width = `${value}%`;
  return h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': value }, fill, h('em', {}, `${value}%`));
}

function row(job: Job): HTMLTableRowElement {
  const id = job.wp_post_id;
  const checkbox = h('input', { type: 'checkbox', 'aria-label': `Select video ${id}` });
  checkbox.checked = state.selected.has(id);
  checkbox.addEventListener('change', () => {
    if (checkbox.checked) state.selected.add(id);
    else state.selected.delete(id);
    renderBulk();
  });
  const poster = job.poster_url ? h('img', { src: `/storage/hls/${id}/poster.jpg`, alt: '', loading: 'lazy', width: 64, height: 36 }) : h('span', { class: 'noposter' });
  const actions = h('td', { class: 'actions' }, h('button', { type: 'button', onclick: () => void showDetails(id, (message) => void act(message, async () => undefined)).catch((err) => say(`Details of video ${id}: ${String(err)}`, true)) }, 'Details'));
  if (job.status === 'failed' || job.status === 'completed' || job.status === 'deleted') {
    actions.append(h('button', { type: 'button', onclick: () => act(`Video ${id} queued again`, () => api('POST', `/api/compress/${id}`, {})) }, job.status === 'failed' ? 'Retry' : 'Re-compress'));
  }
  if (job.status !== 'processing' && job.status !== 'deleted') {
    actions.append(h('button', { type: 'button', onclick: () => act(`Video ${id} queued with high priority`, () => api('POST', `/api/compress/${id}`, { priority: 'high' })) }, 'High priority'));
  }
  if (job.master_playlist_url) {
    actions.append(h('button', { type: 'button', onclick: () => void navigator.clipboard?.writeText(job.master_playlist_url!).then(() => say(`URL of video ${id} copied`)) }, 'Copy URL'));
  }
  if (job.status !== 'deleted') {
    actions.append(
      h('button', { type: 'button', class: 'danger', onclick: () => confirm(`Delete video ${id} and its files?`) && act(`Video ${id} deleted`, () => api('DELETE', `/api/post/${id}`)) }, 'Delete'),
    );
  }
  return h(
    'tr',
    { 'data-id': id, 'data-status': job.status },
    h('td', {}, checkbox),
    h('td', {}, poster),
    h('td', { class: 'title' }, job.title, job.error_message ? h('small', { class: 'error' }, job.error_message) : null),
    h('td', {}, id),
    h('td', {}, h('span', { class: `status ${job.status}` }, job.status)),
    h('td', { class: 'step' }, job.step ?? ''),
    h('td', { class: 'progress' }, progressBar(job)),
    actions,
  );
}

function listUrl(offset: number, limit: number): string {
  const q = new URLSearchParams({ limit: String(limit), offset: String(offset), sort: state.sort, order: state.order });
  if (state.status) q.set('status', state.status);
  if (state.search) q.set('search', state.search);
  if (state.from) q.set('from', state.from);
  if (state.to) q.set('to', state.to);
  return `/api/jobs?${q}`;
}

async function loadTable(): Promise<void> {
  const list = await api<JobList>('GET', listUrl(state.offset, PAGE_SIZE));
  state.total = list.total;
  state.jobs = list.jobs;
  clear(el.table, ...(list.jobs.length ? list.jobs.map(row) : [h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No videos'))]));
  const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
  const page = Math.floor(state.offset / PAGE_SIZE) + 1;
  const go = (p: number) => () => {
    state.offset = (p - 1) * PAGE_SIZE;
    void refresh();
  };
  clear(
    el.pager,
    h('button', { type: 'button', disabled: page <= 1, onclick: go(page - 1) }, '← Previous'),
    h('span', { id: 'page' }, `Page ${page} of ${pages} (${list.total} videos)`),
    h('button', { type: 'button', disabled: page >= pages, onclick: go(page + 1) }, 'Next →'),
  );
  renderBulk();
}

function renderBulk(): void {
  const n = state.selected.size;
  const ids = () => [...state.selected];
  const bulk = (what: string, call: (id: number) => Promise<unknown>) => async () => {
    const chosen = ids();
    for (const id of chosen) await call(id).catch(() => undefined);
    state.selected.clear();
    say(`${what}: ${chosen.length} videos`);
    await refresh();
  };
  clear(
    el.bulk,
    h('span', {}, `${n} selected`),
    h('button', { type: 'button', disabled: n === 0, onclick: bulk('Queued again', (id) => api('POST', `/api/compress/${id}`, {})) }, 'Retry selected'),
    h('button', { type: 'button', class: 'danger', disabled: n === 0, onclick: () => confirm(`Delete ${n} videos and their files?`) && void bulk('Deleted', (id) => api('DELETE', `/api/post/${id}`))() }, 'Delete selected'),
  );
}

/** Every row the filters select, as CSV (fetched page by page). */
async function exportCsv(): Promise<void> {
  const rows: Job[] = [];
  for (let offset = 0; ; offset += 100) {
    const list = await api<JobList>('GET', listUrl(offset, 100));
    rows.push(...list.jobs);
    if (rows.length >= list.total || list.jobs.length === 0) break;
  }
  const cols: (keyof Job)[] = ['wp_post_id', 'title', 'status', 'step', 'progress', 'priority', 'created_at', 'completed_at', 'master_playlist_url', 'error_message'];
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    // Quoted, and a leading = + - @ neutralised, so a spreadsheet never runs a title as a formula.
    return `"${(/^[=+\-@]/.test(s) ? `'${s}` : s).replaceAll('"', '""')}"`;
  };
  const csv = [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\r\n');
  const a = h('a', { href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), download: 'videos.csv' });
  document.body.append(a);
  a.click();
  a.remove();
  say(`Exported ${rows.length} videos`);
}

async function refresh(): Promise<void> {
  await Promise.all([loadStats(), loadTable(), loadSystem(), loadActivity()]);
}

/** A live snapshot: counts and progress bars in place; a video that left processing reloads the view. */
function onSnapshot(s: Snapshot): void {
  state.paused = s.paused;
  for (const [key, value] of Object.entries(s.counts)) {
    const card = document.querySelector(`#stat-${key} .value`);
    if (card) card.textContent = String(value);
  }
  const now = new Map(s.processing.map((p) => [p.wp_post_id, p.title]));
  let changed = false;
  for (const p of s.processing) {
    if (!state.processing.has(p.wp_post_id)) changed = true;
    const tr = el.table.querySelector(`tr[data-id="${p.wp_post_id}"]`);
    if (tr) {
      tr.querySelector('.step')!.textContent = p.compression_step ?? '';
      clear(tr.querySelector('.progress')!, progressBar({ progress: p.compression_progress, status: 'processing' }));
    }
  }
  for (const [id] of state.processing) if (!now.has(id)) changed = true;
  state.processing = now;
  const updated = document.getElementById('sys-updated');
  if (updated) updated.textContent = new Date(s.at).toLocaleTimeString();
  if (changed) void refresh();
}

function live(): void {
  let fallback: number | undefined;
  const source = new EventSource('events');
  source.addEventListener('snapshot', (e) => onSnapshot(JSON.parse((e as MessageEvent<string>).data) as Snapshot));
  source.addEventListener('open', () => {
    if (fallback !== undefined) clearInterval(fallback);
    fallback = undefined;
  });
  source.addEventListener('error', () => {
    // EventSource reconnects by itself; meanwhile the page refreshes every 10 s (the plan's rate).
    fallback ??= window.setInterval(() => void refresh().catch(() => undefined), 10_000);
  });
}

function filters(): HTMLElement {
  const status = h('select', { id: 'filter-status', 'aria-label': 'Status' }, h('option', { value: '' }, 'All'), ...STATUSES.map((s) => h('option', { value: s }, s)));
  const search = h('input', { id: 'search', type: 'search', placeholder: 'Title or post id', 'aria-label': 'Search' });
  const sort = h(
    'select',
    { id: 'sort', 'aria-label': 'Sort by' },
    h('option', { value: 'created_at' }, 'Date'),
    h('option', { value: 'status' }, 'Status'),
    h('option', { value: 'title' }, 'Title'),
    h('option', { value: 'wp_post_id' }, 'Post id'),
  );
  const order = h('select', { id: 'order', 'aria-label': 'Order' }, h('option', { value: 'desc' }, 'Newest first'), h('option', { value: 'asc' }, 'Oldest first'));
  const from = h('input', { id: 'from', type: 'date', 'aria-label': 'Created from' });
  const to = h('input', { id: 'to', type: 'date', 'aria-label': 'Created until' });
  const apply = () => {
    state.status = status.value;
    state.search = search.value.trim();
    state.from = from.value;
    state.to = to.value;
    state.sort = sort.value;
    state.order = order.value;
    state.offset = 0;
    state.selected.clear();
    void refresh();
  };
  let timer: number | undefined;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(apply, 300);
  });
  for (const s of [status, sort, order, from, to]) s.addEventListener('change', apply);
  return h('div', { class: 'filters' }, status, search, h('label', {}, 'From ', from), h('label', {}, 'to ', to), sort, order, h('button', { type: 'button', onclick: () => void refresh() }, 'Refresh'), h('button', { type: 'button', id: 'export', onclick: () => void exportCsv() }, 'Export CSV'));
}

function controls(): HTMLElement {
  el.pause.addEventListener('click', () => {
    const resume = state.paused;
    if (!confirm(resume ? 'Resume the worker?' : 'Pause the worker? Running encodes finish; no new one starts.')) return;
    void act(resume ? 'Worker resumed' : 'Worker paused', async () => {
      await api('POST', `/api/worker/${resume ? 'resume' : 'pause'}`);
      state.paused = !resume;
    });
  });
  return h(
    'div',
    { class: 'controls' },
    el.pause,
    h('button', { type: 'button', class: 'danger', onclick: () => confirm('Cancel every queued video?') && act('Queue cleared', () => api('POST', '/api/queue/clear')) }, 'Clear queue'),
    h('button', { type: 'button', onclick: () => confirm('Remove old temporary files now?') && act('Cleanup done', () => api('POST', '/api/cleanup')) }, 'Run cleanup'),
  );
}

function layout(session: Session): void {
  clear(
    root,
    h('header', {}, h('h1', {}, 'Video compression'), h('span', { class: 'who', id: 'who' }, session.subject), h('button', { type: 'button', id: 'signout', onclick: () => void signOut() }, 'Sign out')),
    el.message,
    el.stats,
    h('div', { class: 'columns' }, el.system, h('section', { class: 'controls-box', 'aria-label': 'Controls' }, h('h2', {}, 'Controls'), controls())),
    h(
      'section',
      { class: 'videos', 'aria-label': 'Videos' },
      h('h2', {}, 'Videos'),
      filters(),
      el.bulk,
      h(
        'div',
        { class: 'scroll' },
        h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, ''), h('th', {}, 'Title'), h('th', {}, 'Id'), h('th', {}, 'Status'), h('th', {}, 'Step'), h('th', {}, 'Progress'), h('th', {}, 'Actions'))), el.table),
      ),
      el.pager,
    ),
    h('section', { 'aria-label': 'Recent activity' }, h('h2', {}, 'Recent activity'), el.activity),
  );
}

async function main(): Promise<void> {
  if (root?.dataset.view !== 'dashboard') return; // the sign-in page needs no script
  const session = await loadSession();
  if (!session) {
    location.href = 'login';
    return;
  }
  layout(session);
  state.paused = (await api<{ paused: boolean }>('GET', '/api/worker')).paused;
  await refresh();
  live();
}

void main();
