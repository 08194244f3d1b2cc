/**
 * `controller get apps|objects|routes`: the status documents read from the Swarm as tables
 * (normal and wide) or as JSON/YAML lists. Pure: documents and the time in, text out.
 */
import { stringify } from 'yaml';
import type {
  AppStatusDocument,
  ObjectEntry,
  RouteServerEntry,
  ServedRouteEntry,
  ServerHealth,
  StoredStatus,
} from '../status/format.js';
import { ageText, isAppStatus, isRoutesStatus } from '../status/reader.js';
import type { StoredRollout } from '../rollout/rollout-record.js';
import type { Paint } from './colour.js';
import { rolloutCell, rolloutOfRoute } from './rollout-view.js';
import { renderTable } from './table.js';

export type GetResource = 'apps' | 'objects' | 'routes';
export type GetFormat = 'text' | 'wide' | 'json' | 'yaml';

export interface GetViewOptions {
  format: GetFormat;
  now: number;
  paint: Paint;
  /** The rollout records (routes: the ROLLOUT column); undefined: not read. */
  rollouts?: StoredRollout[];
}

const short = (rev: string | undefined) => (rev ? rev.slice(0, 12) : '<none>');
const since = (iso: string | undefined, now: number) => (iso ? ageText(now - Date.parse(iso)) : '<none>');
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** `shop/web` from `Service/shop/web`. */
export const objectName = (o: Pick<ObjectEntry, 'id' | 'kind'>) =>
  o.id.startsWith(`${o.kind}/`) ? o.id.slice(o.kind.length + 1) : o.id;

function phaseColour(p: Paint, phase: string): string {
  if (phase === 'Ready' || phase === 'Synced') return p.green(phase);
  if (phase === 'Failed' || phase === 'Stalled' || phase === 'Degraded' || phase === 'SyncFailed') return p.red(phase);
  return p.yellow(phase);
}

export interface ObjectRow extends ObjectEntry {
  /** The apply set or app it belongs to. */
  app: string;
}

export function objectRows(statuses: StoredStatus[]): ObjectRow[] {
  return statuses.filter(isAppStatus).flatMap((s) => s.document.objects.map((o) => ({ app: s.document.name, ...o })));
}

export function routeRows(statuses: StoredStatus[]): (ServedRouteEntry & { proxy: string; state: string })[] {
  return statuses.filter(isRoutesStatus).flatMap((s) => [
    ...s.document.served.map((r) => ({ ...r, proxy: s.document.proxyService, state: 'Served' })),
    ...s.document.broken.map((b) => ({
      route: b.route,
      hosts: [],
      pathPrefix: '',
      backends: [],
      proxy: s.document.proxyService,
      state: `Broken: ${b.problem}`,
    })),
  ]);
}

export function renderGet(resource: GetResource, statuses: StoredStatus[], o: GetViewOptions): string {
  if (o.format === 'json' || o.format === 'yaml') {
    const items =
      resource === 'apps'
        ? statuses.filter(isAppStatus).map((s) => s.document)
        : resource === 'objects'
          ? objectRows(statuses)
          : routeRows(statuses).map((r) => {
              const ro = o.rollouts && rolloutOfRoute(o.rollouts, r.route);
              return ro
                ? {
                    ...r,
                    rollout: {
                      service: ro.state.service,
                      canary: ro.state.canary,
                      phase: ro.state.phase,
                      step: Math.min(ro.state.step + 1, ro.state.steps.length),
                      steps: ro.state.steps.length,
                      weight: ro.state.canaryWeight,
                      summary: rolloutCell(ro, o.now),
                    },
                  }
                : r;
            });
    const list = { kind: 'List', items };
    return o.format === 'json' ? JSON.stringify(list, null, 2) + '\n' : stringify(list);
  }
  const wide = o.format === 'wide';
  if (resource === 'apps') return appsTable(statuses.filter(isAppStatus), wide, o);
  if (resource === 'objects') return objectsTable(objectRows(statuses), wide, o);
  return routesTable(statuses, wide, o);
}

function appsTable(statuses: StoredStatus<AppStatusDocument>[], wide: boolean, o: GetViewOptions): string {
  const headers = ['NAME', 'KIND', 'SYNC', 'REVISION', 'READY', 'LAST SYNC', 'UPDATED'];
  if (wide) headers.push('LEADER', 'DRIFTED', 'SUSPENDED', 'SOURCE', 'DEPENDS ON', 'WAITING');
  const rows = statuses.map((s) => {
    const d = s.document;
    const total = Object.values(d.counts).reduce((a, b) => a + b, 0);
    const last = d.lastSync ? `${d.lastSync.result} ${since(d.lastSync.startedAt, o.now)} ago` : '<none>';
    const row = [
      d.name,
      d.kind,
      phaseColour(o.paint, d.syncState),
      short(d.revision),
      `${d.counts.Ready}/${total}`,
      last,
      s.stale ? o.paint.red(`${ageText(s.ageMs)} ago (stale)`) : `${ageText(s.ageMs)} ago`,
    ];
    if (wide)
      row.push(
        d.leader || '<none>',
        String(d.drifted),
        d.suspended ? 'yes' : 'no',
        d.source,
        d.dependsOn?.join(',') || '-',
        d.waiting ?? '-',
      );
    return row;
  });
  return renderTable(headers, rows);
}

function objectsTable(rows: ObjectRow[], wide: boolean, o: GetViewOptions): string {
  const headers = ['APP', 'KIND', 'NAME', 'PHASE', 'AGE', 'REASON'];
  if (wide) headers.splice(5, 0, 'SWARM NAME', 'REVISION', 'DRIFT');
  return renderTable(
    headers,
    rows.map((r) => {
      const row = [r.app, r.kind, objectName(r), phaseColour(o.paint, r.phase), since(r.updatedAt, o.now)];
      if (wide)
        row.push(
          r.swarmName,
          short(r.revision),
          r.drift ? `${r.drift.repaired ? 'repaired' : 'reported'} ${since(r.drift.at, o.now)} ago` : '-',
        );
      row.push(wide ? r.reason : clip(r.reason, 60));
      return row;
    }),
  );
}

/** `2 up, 1 down`: the servers' health as the proxies see it; `-` when the writer did not read them. */
export function healthSummary(servers: RouteServerEntry[], p: Paint): string {
  if (!servers.some((s) => s.health)) return '-';
  const counts = new Map<ServerHealth, number>();
  for (const s of servers) counts.set(s.health ?? 'unknown', (counts.get(s.health ?? 'unknown') ?? 0) + 1);
  return [...counts].map(([h, n]) => healthColour(p, h, `${n} ${h}`)).join(', ');
}

export function healthColour(p: Paint, h: ServerHealth, text: string = h): string {
  if (h === 'up' || h === 'unchecked') return p.green(text);
  if (h === 'down') return p.red(text);
  return p.yellow(text);
}

/** `10.0.0.5:80 down (p1 DOWN w1, p2 DOWN w1)` when the proxies were read, else the address. */
export function serverText(s: RouteServerEntry, p: Paint): string {
  const at = `${s.address}:${s.port}`;
  if (!s.health) return at;
  const each = (s.proxies ?? [])
    .map((x) => `${x.replica.slice(0, 12)} ${x.state ?? '?'}${x.weight !== undefined ? ` w${x.weight}` : ''}`)
    .join(', ');
  return `${at} ${healthColour(p, s.health)}${each ? ` (${each})` : ''}`;
}

function routesTable(statuses: StoredStatus[], wide: boolean, o: GetViewOptions): string {
  const headers = ['NAME', 'HOSTS', 'PATH', 'STATE', 'BACKENDS', 'SERVERS'];
  if (o.rollouts) headers.push('ROLLOUT');
  if (wide) headers.push('HEALTH (PROXIES)', 'PROXY', 'ADDRESSES');
  const rows = routeRows(statuses).map((r) => {
    const servers = r.backends.reduce((n, b) => n + b.servers.length, 0);
    const row = [
      r.route,
      r.hosts.length ? r.hosts.join(',') : '*',
      r.pathPrefix || '-',
      r.state === 'Served' ? o.paint.green(r.state) : o.paint.red(r.state),
      r.backends.map((b) => `${b.service}(w${b.weight})`).join(',') || '-',
      String(servers),
    ];
    if (o.rollouts) row.push(rolloutCell(rolloutOfRoute(o.rollouts, r.route), o.now));
    if (wide)
      row.push(
        healthSummary(
          r.backends.flatMap((b) => b.servers),
          o.paint,
        ),
        r.proxy,
        r.backends.flatMap((b) => b.servers.map((x) => serverText(x, o.paint))).join(', ') || '-',
      );
    return row;
  });
  const table = renderTable(headers, rows);
  const replicas = statuses.filter(isRoutesStatus).map((s) => {
    const d = s.document;
    const inSync = d.replicas.filter((x) => x.inSync).length;
    const head = `proxy ${d.proxyService}: generation ${d.generation}, ${inSync}/${d.replicas.length} replica(s) hold the current table${d.active ? '' : ` (not pushed: ${d.note ?? 'inactive'})`}`;
    if (!wide) return head;
    return [
      head,
      ...d.replicas.map(
        (x) =>
          `  ${x.task.slice(0, 12)} ${x.address}: generation ${x.generation ?? '?'}, ${x.inSync ? o.paint.green('current table') : o.paint.red('behind')}` +
          `${x.lastError ? `; push: ${x.lastError}` : ''}${x.statsError ? `; view of the servers: ${x.statsError}` : ''}`,
      ),
    ].join('\n');
  });
  return table + (replicas.length ? replicas.join('\n') + '\n' : '');
}
