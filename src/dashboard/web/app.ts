/**
 * The dashboard page in the browser: follows GET /dashboard/api/events (server-sent events) and
 * puts each state in place. Sections are replaced only when their HTML changed; the objects
 * table keeps one row per object id and rewrites only rows whose cells changed, so an update
 * touching a few of 1,000 objects costs a few rows. Filters (text, phase) hide rows without
 * re-rendering. Actions send the token the user typed (kept in this tab's sessionStorage) as a
 * Bearer token. Measures itself in `window.dashboardTimings` (first render, last update), read
 * by the browser tests and bench/dashboard.ts.
 */
import type { DashboardState } from '../state.js';
import { appCard, historyRows, objectCells, replicaRows, rolloutRows, routeRows, summaryLine } from './render.js';

interface Timings {
  /** ms from navigation start to the first state on screen. */
  firstRender: number | null;
  /** ms the first state took to put on screen, from its arrival (layout included). */
  firstRenderWork: number | null;
  /** ms the last update took, from the event's arrival to its last DOM change (layout included). */
  lastUpdate: number | null;
  updates: number;
  /** Object rows written by the last update (created or changed). */
  lastRowsWritten: number;
}

declare global {
  interface Window {
    dashboardTimings: Timings;
    dashboardState: DashboardState | null;
  }
}

window.dashboardTimings = {
  firstRender: null,
  firstRenderWork: null,
  lastUpdate: null,
  updates: 0,
  lastRowsWritten: 0,
};
window.dashboardState = null;

const $ = (id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
};

const sections = new Map<string, string>();
/** Replaces an element's content when its HTML changed. */
function put(id: string, html: string): void {
  if (sections.get(id) === html) return;
  sections.set(id, html);
  $(id).innerHTML = html;
}

interface Row {
  tr: HTMLTableRowElement;
  html: string;
  phase: string;
  text: string;
}
const rows = new Map<string, Row>();

/**
 * Objects not Ready go in the first table body, the rest in the second, each in id order: a
 * change of phase moves one row from one body to the other, and nothing else moves.
 */
function renderObjects(state: DashboardState): number {
  const attention: string[] = [];
  const ready: string[] = [];
  const seen = new Set<string>();
  let written = 0;
  for (const e of state.apps)
    for (const o of e.document.objects) {
      const key = `${e.document.name}\u0000${o.id}`;
      seen.add(key);
      (o.phase === 'Ready' ? ready : attention).push(key);
      const html = objectCells(o, e.document);
      const row = rows.get(key);
      if (row && row.html === html) continue;
      written++;
      const text = `${e.document.name} ${o.id} ${o.reason}`.toLowerCase();
      if (row) {
        if ((row.phase === 'Ready') !== (o.phase === 'Ready')) row.tr.remove();
        row.tr.innerHTML = html;
        Object.assign(row, { html, phase: o.phase, text });
      } else {
        const tr = document.createElement('tr');
        tr.innerHTML = html;
        rows.set(key, { tr, html, phase: o.phase, text });
      }
    }
  for (const [key, row] of rows)
    if (!seen.has(key)) {
      row.tr.remove();
      rows.delete(key);
    }
  place($('objects-attention'), attention);
  place($('objects-body'), ready);
  applyFilter();
  $('objects-count').textContent = `${seen.size}`;
  return written;
}

/** Puts the rows of `keys` in that order in `body`, moving only those not already in place. */
function place(body: HTMLElement, keys: string[]): void {
  let cursor = body.firstChild;
  for (const k of keys) {
    const tr = rows.get(k)!.tr;
    if (tr === cursor) cursor = cursor.nextSibling;
    else body.insertBefore(tr, cursor);
  }
}

function applyFilter(): void {
  const text = ($('filter') as HTMLInputElement).value.trim().toLowerCase();
  const phase = ($('phase') as HTMLSelectElement).value;
  let shown = 0;
  for (const row of rows.values()) {
    const visible =
      (!text || row.text.includes(text)) &&
      (phase === '' || (phase === 'not-ready' ? row.phase !== 'Ready' : row.phase === phase));
    if (row.tr.hidden === visible) row.tr.hidden = !visible;
    if (visible) shown++;
  }
  $('objects-shown').textContent = `${shown}`;
}

function render(state: DashboardState): void {
  const started = performance.now();
  window.dashboardState = state;
  put('summary', summaryLine(state));
  put(
    'apps',
    state.apps.map((e) => appCard(e, state)).join('') || '<p class="muted">no apply set has written its status yet</p>',
  );
  const written = renderObjects(state);
  put('history-body', historyRows(state.apps, state.at));
  put('routes-body', routeRows(state.routes?.document));
  put('rollouts-body', rolloutRows(state.routes?.document));
  put('replicas-body', replicaRows(state.routes?.document, state.at));
  $('token-box').hidden = !state.actions;
  void document.body.offsetHeight; // include style and layout in the measurement
  const t = window.dashboardTimings;
  if (t.firstRender === null) {
    t.firstRender = performance.now();
    t.firstRenderWork = t.firstRender - started;
  } else t.lastUpdate = performance.now() - started;
  t.updates++;
  t.lastRowsWritten = written;
  document.body.dataset.updates = String(t.updates);
}

function setLive(live: boolean, text: string): void {
  const el = $('live');
  el.textContent = text;
  el.className = `badge ${live ? 'ok' : 'warn'}`;
}

function connect(): void {
  const events = new EventSource('/dashboard/api/events');
  events.addEventListener('open', () => setLive(true, 'live'));
  events.addEventListener('error', () => setLive(false, 'reconnecting…'));
  events.addEventListener('state', (e) => render(JSON.parse((e as MessageEvent<string>).data) as DashboardState));
  events.addEventListener('problem', (e) => {
    const p = JSON.parse((e as MessageEvent<string>).data) as { message: string };
    setLive(false, `cannot read the status: ${p.message}`);
  });
}

async function act(action: string, set: string): Promise<void> {
  const token = ($('token') as HTMLInputElement).value.trim();
  const out = $('action-result');
  if (!token) {
    out.textContent = 'Type the dashboard token first.';
    out.className = 'badge warn';
    return;
  }
  sessionStorage.setItem('dashboard-token', token);
  const res = await fetch(`/dashboard/api/actions/${action}?set=${encodeURIComponent(set)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await res.json().catch(() => ({}))) as { message?: string; error?: string };
  out.textContent = res.ok ? (body.message ?? `${action}: accepted`) : `${action} refused: ${body.error ?? res.status}`;
  out.className = `badge ${res.ok ? 'ok' : 'bad'}`;
}

$('token-box').addEventListener('submit', (e) => e.preventDefault());
$('filter').addEventListener('input', applyFilter);
$('phase').addEventListener('change', applyFilter);
($('token') as HTMLInputElement).value = sessionStorage.getItem('dashboard-token') ?? '';
$('apps').addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).closest('button[data-action]');
  if (b instanceof HTMLButtonElement) void act(b.dataset.action ?? '', b.dataset.set ?? '');
});
connect();
