/**
 * `controller describe`: one object as a person reads it, kubectl-style: a header of fields,
 * the status the controller keeps (phase, reason, drift), the live spec in the manifest view,
 * a service's update state and its latest tasks with their errors, and the engine's recent
 * events about it. Pure.
 */
import type { SwarmEvent, SwarmService, SwarmTask } from '../api/swarm-types.js';
import type { ObjectEntry } from '../status/format.js';
import { ageText } from '../status/reader.js';
import type { Paint } from './colour.js';
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
