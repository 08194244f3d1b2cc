/**
 * `controller describe`: one object as a person reads it, kubectl-style: a header of fields,
 * the status the controller keeps (phase, reason, drift), the live spec in the manifest view,
 * a service's update state and its latest tasks with their errors, and the engine's recent
 * events about it. Pure.
 */
import type { SwarmEvent, SwarmService, SwarmTask } from '../api/swarm-types.js';
import type { ObjectEntry, ProxyReplicaEntry, ServedRouteEntry } from '../status/format.js';
import { ageText } from '../status/reader.js';
import type { StoredRollout } from '../rollout/rollout-record.js';
import type { Paint } from './colour.js';
import { healthColour } from './get-view.js';
import { rolloutSection } from './rollout-view.js';
import { renderTable } from './table.js';

export interface DescribedObject {
  kind: string;
  /** namespace/name, or the Swarm name when unknown. */
  name: string;
  swarmName: string;
  /** The apply set or app whose status lists it. */
  app?: string;
  status?: ObjectEntry;
  /** The manifest view of the live object (YAML), or a short listing for configs and secrets. */
  spec: string;
  updateStatus?: SwarmService['UpdateStatus'];
  /** Newest first. */
  tasks: SwarmTask[];
  /** Oldest first. */
  events: SwarmEvent[];
  /** A route: how the route tier's status says it is served, and the proxy replicas. */
  route?: {
    proxy: string;
    generation: number;
    served?: ServedRouteEntry;
    broken?: string;
    replicas: ProxyReplicaEntry[];
  };
  /**
   * A service or route with a rollout strategy: its rollout record (the latest of the route's);
   * null: read, none; undefined: not read (the section is left out).
   */
  rollout?: StoredRollout | null;
}

const indent = (text: string, by = '  ') => text.replace(/^(?=.)/gm, by);

export function renderDescribe(d: DescribedObject, o: { now: number; paint: Paint }): string {
  const p = o.paint;
  const ago = (iso: string | undefined) => (iso ? `${ageText(o.now - Date.parse(iso))} ago` : '-');
  const field = (k: string, v: string) => `${`${k}:`.padEnd(13)}${v}`;
  const out = [field('Name', d.name), field('Kind', d.kind), field('Swarm name', d.swarmName)];
  out.push(field('App', d.app ?? '<not in the status of any controller>'));
  const s = d.status;
  if (s) {
    const phase =
      s.phase === 'Ready'
        ? p.green(s.phase)
        : s.phase === 'Failed' || s.phase === 'Stalled'
          ? p.red(s.phase)
          : p.yellow(s.phase);
    out.push(field('Phase', phase), field('Reason', s.reason || '-'), field('Revision', s.revision ?? '-'));
    out.push(field('Updated', `${s.updatedAt} (${ago(s.updatedAt)})`));
    out.push(
      field(
        'Drift',
        s.drift
          ? `${s.drift.repaired ? 'repaired' : 'reported, not repaired'} ${ago(s.drift.at)}: ${s.drift.fields.join(', ')}`
          : 'none seen',
      ),
    );
  }
  if (d.updateStatus?.State)
    out.push(field('Update', `${d.updateStatus.State}${d.updateStatus.Message ? `: ${d.updateStatus.Message}` : ''}`));
  out.push(
    '',
    p.bold('Spec (live, manifest view; secret values masked):'),
    d.spec ? indent(d.spec).trimEnd() : '  <not in the Swarm>',
  );
  if (d.kind === 'Service') {
    out.push('', p.bold('Tasks (newest first):'));
    if (!d.tasks.length) out.push('  <none>');
    else
      out.push(
        indent(
          renderTable(
            ['TASK', 'SLOT', 'NODE', 'DESIRED', 'STATE', 'SINCE', 'ERROR'],
            d.tasks.map((t) => [
              t.ID.slice(0, 12),
              t.Slot === undefined ? '-' : String(t.Slot),
              (t.NodeID ?? '-').slice(0, 12),
              t.DesiredState ?? '-',
              t.Status?.State ?? '-',
              ago(t.Status?.Timestamp ?? t.UpdatedAt),
              t.Status?.Err ? p.red(t.Status.Err) : '',
            ]),
          ),
        ).trimEnd(),
      );
  }
  if (d.kind === 'Route') out.push('', ...routeSection(d.route, p));
  if (d.rollout !== undefined) out.push('', ...rolloutSection(d.rollout ?? undefined, o));
  out.push('', p.bold('Events (the engine keeps its last 256; the past hour):'));
  if (!d.events.length) out.push('  <none>');
  else
    out.push(
      indent(
        renderTable(
          ['TIME', 'ACTION', 'DETAIL'],
          d.events.map((e) => {
            const a = e.Actor?.Attributes ?? {};
            const detail = Object.entries(a)
              .filter(([k]) => k !== 'name')
              .map(([k, v]) => `${k}=${v}`)
              .join(' ');
            return [e.time ? new Date(e.time * 1000).toISOString() : '-', e.Action, detail];
          }),
        ),
      ).trimEnd(),
    );
  return out.join('\n') + '\n';
}

/** A route's backends and servers with their health as each proxy replica sees it, then the replicas. */
function routeSection(r: DescribedObject['route'], p: Paint): string[] {
  if (!r) return [p.bold('Served:'), '  <not in the status of any route tier>'];
  const out = [p.bold(`Served by ${r.proxy} (table generation ${r.generation}; health as the proxies see it):`)];
  if (r.broken) out.push(`  ${p.red('broken')}: ${r.broken}`);
  else if (!r.served) out.push('  <not in the table>');
  else {
    const rows = r.served.backends.flatMap((b) =>
      b.servers.length
        ? b.servers.map((s) => [
            b.service,
            String(b.weight),
            `${s.address}:${s.port}`,
            s.task.slice(0, 12),
            s.health ? healthColour(p, s.health) : '-',
            (s.proxies ?? [])
              .map(
                (x) =>
                  `${x.replica.slice(0, 12)}=${x.state ?? x.health}${x.weight !== undefined ? `/w${x.weight}` : ''}`,
              )
              .join(' ') || '-',
          ])
        : [[b.service, String(b.weight), '<no server>', '-', '-', '-']],
    );
    out.push(
      indent(
        renderTable(['BACKEND', 'WEIGHT', 'SERVER', 'TASK', 'HEALTH', 'PER PROXY (STATE/WEIGHT)'], rows),
      ).trimEnd(),
    );
  }
  out.push('', p.bold('Proxy replicas:'));
  if (!r.replicas.length) out.push('  <none>');
  else
    out.push(
      indent(
        renderTable(
          ['TASK', 'ADDRESS', 'GENERATION', 'TABLE', 'PROBLEM'],
          r.replicas.map((x) => [
            x.task.slice(0, 12),
            x.address,
            String(x.generation ?? '?'),
            x.inSync ? p.green('current') : p.red('behind'),
            [x.lastError, x.statsError ? `view of the servers: ${x.statsError}` : null].filter(Boolean).join('; ') ||
              '-',
          ]),
        ),
      ).trimEnd(),
    );
  return out;
}
