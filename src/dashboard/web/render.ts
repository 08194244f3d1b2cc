/**
 * The dashboard page's HTML, as strings, from the dashboard state (../state.ts): the apply sets,
 * one table row per object (keyed by its id, so the page replaces only rows whose text changed),
 * the sync history, the routes with their backends, the rollouts and the proxy replicas. Pure and free of the
 * DOM: the browser (app.ts) puts the strings in place; tests and the benchmark call it in Node.
 * Every value from the status is escaped. Imports types only (erased by tsc), so the compiled
 * file loads in the browser as it is.
 */
import type {
  AppStatusDocument,
  ObjectEntry,
  RolloutStatusEntry,
  RolloutWindowEntry,
  RouteServerEntry,
  RoutesStatusDocument,
  SyncEntry,
} from '../../status/format.js';
import type { DashboardEntry, DashboardState } from '../state.js';

export function esc(v: string | number | null | undefined): string {
  return String(v ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const short = (rev: string | undefined) => (rev ? rev.slice(0, 12) : '—');

function badge(text: string, tone: string): string {
  return `<span class="badge ${tone}">${esc(text)}</span>`;
}

const phaseTone: Record<string, string> = {
  Ready: 'ok',
  Progressing: 'busy',
  Pending: 'busy',
  Failed: 'bad',
  Stalled: 'bad',
};
const syncTone: Record<string, string> = {
  Synced: 'ok',
  Progressing: 'busy',
  Degraded: 'bad',
  SyncFailed: 'bad',
  Unknown: 'muted',
};
const resultTone: Record<string, string> = { success: 'ok', failed: 'bad', invalid: 'bad', 'fetch-failed': 'bad' };

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "12 s ago", "3 min ago", from two ISO times (or the time as given when it does not parse). */
export function ago(iso: string | null | undefined, nowIso: string): string {
  if (!iso) return '—';
  const d = Date.parse(nowIso) - Date.parse(iso);
  if (Number.isNaN(d)) return iso;
  if (d < 0) return 'now';
  if (d < 60_000) return `${Math.round(d / 1000)} s ago`;
  if (d < 3_600_000) return `${Math.round(d / 60_000)} min ago`;
  if (d < 86_400_000) return `${(d / 3_600_000).toFixed(1)} h ago`;
  return `${(d / 86_400_000).toFixed(1)} d ago`;
}

/**
 * What the controller will do about an object, in words: the plan for it as its phase and drift
 * say (a Ready object without drift: nothing; drift under --drift=report: the fields it would
 * repair; a failed one: retried; a stalled one: waits for a change).
 */
export function planFor(o: ObjectEntry, app: Pick<AppStatusDocument, 'driftMode' | 'suspended'>): string {
  const fields = o.drift?.fields.join(', ') ?? '';
  if (app.suspended && o.phase !== 'Ready') return 'suspended: nothing is applied until resume';
  switch (o.phase) {
    case 'Ready':
      if (o.drift && !o.drift.repaired && app.driftMode === 'report') return `would repair: ${fields}`;
      return o.drift?.repaired ? `in sync (repaired ${fields})` : 'in sync';
    case 'Progressing':
      return 'applying, waiting to converge';
    case 'Pending':
      return 'waiting for a dependency';
    case 'Failed':
      if (o.drift && !o.drift.repaired) return `drift reported, not repaired: ${fields}`;
      return 'retried with backoff';
    case 'Stalled':
      return 'not retried until the manifest or the object changes';
    default:
      return '';
  }
}

/** The cells of one object's row (the row element itself is the page's, keyed by the object's id). */
export function objectCells(o: ObjectEntry, app: AppStatusDocument): string {
  const drift = o.drift
    ? `<span title="seen ${esc(o.drift.at)}">${esc(o.drift.fields.join(', '))}</span>${o.drift.repaired ? ' ' + badge('repaired', 'ok') : ' ' + badge('drifted', 'warn')}`
    : '';
  return (
    `<td>${esc(app.name)}</td>` +
    `<td>${esc(o.kind)}</td>` +
    `<td class="mono">${esc(o.id)}</td>` +
    `<td>${badge(o.phase, phaseTone[o.phase] ?? 'muted')}</td>` +
    `<td class="reason">${esc(o.reason)}</td>` +
    `<td>${drift}</td>` +
    `<td>${esc(planFor(o, app))}</td>`
  );
}

/** One card per apply set (or app): revision, sync state, last sync, counts, leader, and its actions. */
export function appCard(
  entry: DashboardEntry<AppStatusDocument>,
  state: Pick<DashboardState, 'at' | 'actions'>,
): string {
  const a = entry.document;
  const c = a.counts;
  const last = a.lastSync;
  const actions = state.actions
    ? `<div class="actions">` +
      `<button data-action="sync" data-set="${esc(a.applySet)}">Sync now</button>` +
      (a.suspended
        ? `<button data-action="resume" data-set="${esc(a.applySet)}">Resume</button>`
        : `<button data-action="suspend" data-set="${esc(a.applySet)}">Suspend</button>`) +
      `</div>`
    : '';
  return (
    `<article class="card" data-set="${esc(a.applySet)}">` +
    `<header><h3>${esc(a.name)}</h3> ${badge(a.syncState, syncTone[a.syncState] ?? 'muted')}` +
    (a.suspended ? ` ${badge('Suspended', 'warn')}` : '') +
    (entry.stale ? ` ${badge('stale', 'warn')}` : '') +
    `</header>` +
    `<dl>` +
    `<dt>revision</dt><dd class="mono" title="${esc(a.revision)}">${esc(short(a.revision))}</dd>` +
    `<dt>source</dt><dd class="mono">${esc(a.source)}</dd>` +
    `<dt>last sync</dt><dd>${last ? `${badge(last.result, resultTone[last.result] ?? 'muted')} ${esc(ago(last.startedAt, state.at))}, ${esc(seconds(last.durationMs))}` : '—'}</dd>` +
    `<dt>objects</dt><dd>${c.Ready} ready, ${c.Progressing + c.Pending} progressing, ${c.Failed + c.Stalled} failing${a.drifted ? `, ${a.drifted} drifted` : ''}</dd>` +
    `<dt>leader</dt><dd class="mono">${esc(a.leader || '—')}</dd>` +
    `<dt>drift</dt><dd>${esc(a.driftMode)}</dd>` +
    (a.suspendedReason ? `<dt>suspended</dt><dd>${esc(a.suspendedReason)}</dd>` : '') +
    `</dl>${actions}</article>`
  );
}

export function historyRows(apps: DashboardEntry<AppStatusDocument>[], at: string): string {
  const rows: { app: string; s: SyncEntry }[] = [];
  for (const e of apps) for (const s of e.document.history) rows.push({ app: e.document.name, s });
  rows.sort((x, y) => (x.s.startedAt < y.s.startedAt ? 1 : x.s.startedAt > y.s.startedAt ? -1 : 0));
  if (rows.length === 0) return `<tr><td colspan="7" class="muted">no sync yet</td></tr>`;
  return rows
    .map(
      ({ app, s }) =>
        `<tr><td>${esc(app)}</td><td title="${esc(s.startedAt)}">${esc(ago(s.startedAt, at))}</td>` +
        `<td>${esc(s.trigger)}</td><td class="mono" title="${esc(s.revision)}">${esc(short(s.revision))}</td>` +
        `<td>${esc(s.message ?? '')}</td><td class="num">${esc(seconds(s.durationMs))}</td>` +
        `<td>${badge(s.result, resultTone[s.result] ?? 'muted')} <span class="reason">${esc(s.detail)}</span></td></tr>`,
    )
    .join('');
}

const healthTone: Record<string, string> = {
  up: 'ok',
  unchecked: 'ok',
  down: 'bad',
  maint: 'warn',
  drain: 'warn',
  mixed: 'warn',
  unknown: 'muted',
};

/** One server: its address, and when the proxies were read, its health with each replica's view in the title. */
function serverCell(s: RouteServerEntry): string {
  const address = `${esc(s.address)}:${esc(s.port)}`;
  if (!s.health) return `<span class="mono" title="task ${esc(s.task)}">${address}</span>`;
  const each = (s.proxies ?? [])
    .map((x) => `${x.replica}: ${x.state ?? 'not reported'}${x.weight !== undefined ? `, weight ${x.weight}` : ''}`)
    .join('\n');
  return (
    `<span class="server" data-health="${esc(s.health)}" title="task ${esc(s.task)}\n${esc(each)}">` +
    `<span class="mono">${address}</span> ${badge(s.health, healthTone[s.health] ?? 'muted')}</span>`
  );
}

/** The backend's count: servers the proxies see up, or (not read) servers in the table. */
function serversBadge(servers: RouteServerEntry[]): string {
  if (!servers.length) return badge('no server', 'bad');
  if (!servers.some((s) => s.health)) return badge(`${servers.length} in table`, 'ok');
  const up = servers.filter((s) => s.health === 'up' || s.health === 'unchecked').length;
  return badge(`${up}/${servers.length} up`, up === servers.length ? 'ok' : up === 0 ? 'bad' : 'warn');
}

/** Every route and backend: weight as a share of the route, its servers, broken routes after. */
export function routeRows(routes: RoutesStatusDocument | undefined): string {
  if (!routes) return `<tr><td colspan="5" class="muted">routes are not pushed by this controller</td></tr>`;
  const out: string[] = [];
  for (const r of routes.served) {
    const total = r.backends.reduce((n, b) => n + b.weight, 0) || 1;
    r.backends.forEach((b, i) => {
      const servers = b.servers.length ? b.servers.map(serverCell).join(' ') : '<span class="muted">—</span>';
      out.push(
        `<tr>` +
          (i === 0
            ? `<td rowspan="${r.backends.length}" class="mono">${esc(r.route)}</td>` +
              `<td rowspan="${r.backends.length}">${esc(r.hosts.join(', ') || '*')}${esc(r.pathPrefix)}</td>`
            : '') +
          `<td class="mono">${esc(b.service)}</td>` +
          `<td class="num">${b.weight} (${Math.round((100 * b.weight) / total)}%)</td>` +
          `<td>${serversBadge(b.servers)} ${servers}</td>` +
          `</tr>`,
      );
    });
  }
  for (const b of routes.broken)
    out.push(
      `<tr><td class="mono">${esc(b.route)}</td><td colspan="3">${badge('broken', 'bad')}</td><td class="reason">${esc(b.problem)}</td></tr>`,
    );
  for (const u of routes.unreadable)
    out.push(
      `<tr><td class="mono">${esc(u.configName)}</td><td colspan="3">${badge('unreadable', 'bad')}</td><td class="reason">${esc(u.problem)}</td></tr>`,
    );
  return out.join('') || `<tr><td colspan="5" class="muted">no routes</td></tr>`;
}

const rolloutTone: Record<string, string> = {
  progressing: 'warn',
  promoting: 'warn',
  finalizing: 'warn',
  succeeded: 'ok',
  'rolling-back': 'bad',
  'rolled-back': 'bad',
};

const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(2)}%`);
const msText = (v: number | null) => (v === null ? '—' : `${Math.round(v)} ms`);

/** One side of a judgement: requests, error rate, p50 and p99. */
function windowText(label: string, w: RolloutWindowEntry): string {
  return `<div class="window" data-side="${label}">${label} ${w.requests} req, errors ${pct(w.errorRate)}, p50 ${msText(w.p50Ms)}, p99 ${msText(w.p99Ms)}</div>`;
}

/** Every rollout of the routed services: phase, step, weight, and the last judgement canary against stable. */
export function rolloutRows(routes: RoutesStatusDocument | undefined): string {
  const list: RolloutStatusEntry[] = routes?.rollouts ?? [];
  if (!list.length) return `<tr><td colspan="6" class="muted">no rollout</td></tr>`;
  return list
    .map((r) => {
      const j = r.judgement;
      const verdict = j
        ? `${badge(j.verdict, j.verdict === 'pass' ? 'ok' : j.verdict === 'fail' ? 'bad' : 'warn')}` +
          windowText('canary', j.canary) +
          windowText('stable', j.stable) +
          (j.baseline ? windowText('baseline', j.baseline) : '') +
          (j.drift ? `<div class="window muted" data-side="drift">${esc(j.drift)}</div>` : '')
        : '<span class="muted">not judged yet</span>';
      return (
        `<tr data-service="${esc(r.service)}"><td class="mono">${esc(r.service)}<div class="muted">${esc(r.route)} · ${esc(r.strategy)} · ${esc(r.revision.slice(0, 12))}</div></td>` +
        `<td>${badge(r.phase, rolloutTone[r.phase] ?? 'muted')}${r.request ? ` ${badge(`${r.request} requested`, 'warn')}` : ''}</td>` +
        `<td class="num">${r.step}/${r.steps}</td>` +
        `<td class="num">${r.weight}%</td>` +
        `<td>${verdict}</td>` +
        `<td class="reason">${esc(r.reason)}</td></tr>`
      );
    })
    .join('');
}

export function replicaRows(routes: RoutesStatusDocument | undefined, at: string): string {
  if (!routes) return `<tr><td colspan="5" class="muted">—</td></tr>`;
  if (routes.replicas.length === 0)
    return `<tr><td colspan="5" class="muted">no proxy replica found${routes.note ? `: ${esc(routes.note)}` : ''}</td></tr>`;
  return routes.replicas
    .map(
      (x) =>
        `<tr><td class="mono">${esc(x.task)}</td><td class="mono">${esc(x.address)}</td>` +
        `<td class="num">${esc(x.generation ?? '?')} / ${esc(routes.generation)}</td>` +
        `<td>${x.inSync ? badge('current table', 'ok') : badge('behind', 'bad')}${x.lastError ? ` <span class="reason">${esc(x.lastError)}</span>` : ''}` +
        `${x.statsError ? ` ${badge('view not read', 'warn')} <span class="reason">${esc(x.statsError)}</span>` : ''}</td>` +
        `<td>${esc(ago(x.lastPushAt, at))}</td></tr>`,
    )
    .join('');
}

/** The line under the title: who serves the page, the route table, problems reading the status. */
export function summaryLine(s: DashboardState): string {
  const r = s.routes?.document;
  const parts = [
    s.origin === 'run' ? `served by controller run ${esc(s.server)}` : `read from the Swarm by ${esc(s.server)}`,
    `${s.apps.length} apply set${s.apps.length === 1 ? '' : 's'}`,
  ];
  if (r)
    parts.push(
      r.active
        ? `route table generation ${r.generation}, ${r.served.length} routes, ${r.replicas.filter((x) => x.inSync).length}/${r.replicas.length} proxies current`
        : `routes: ${esc(r.note ?? 'not pushed')}`,
    );
  parts.push(s.actions ? 'actions need the token' : 'read-only');
  const problems = s.problems.map((p) => `<div class="problem">${esc(p)}</div>`).join('');
  return parts.join(' · ') + problems;
}
