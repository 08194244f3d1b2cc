/**
 * A rollout as `controller get routes` (one cell) and `controller describe route|service` (a
 * section) show it, from the rollout record kept in the Swarm (src/rollout/rollout-record.ts),
 * the one `controller rollout status` reads: phase, step, weights, the stable version's baseline
 * and, from the leader's last judgement, every check with its figures and the stable side's
 * drift from its baseline. Pure: records and the time in, text out.
 */
import type { RolloutState, StoredRollout } from '../rollout/rollout-record.js';
import { ageText } from '../status/reader.js';
import type { Paint } from './colour.js';
import { renderTable } from './table.js';

/** The rollout of a route to show: the active one, else the one updated last; undefined when none. */
export function rolloutOfRoute(records: StoredRollout[], route: string): StoredRollout | undefined {
  return records
    .filter((r) => r.state.route === route)
    .sort(
      (a, b) =>
        Number(isActivePhase(b.state)) - Number(isActivePhase(a.state)) || b.state.updatedAt - a.state.updatedAt,
    )[0];
}

const isActivePhase = (s: Pick<RolloutState, 'phase'>) =>
  s.phase === 'progressing' || s.phase === 'promoting' || s.phase === 'finalizing' || s.phase === 'rolling-back';

const stepOf = (s: Pick<RolloutState, 'step' | 'steps'>) => `${Math.min(s.step + 1, s.steps.length)}/${s.steps.length}`;

/**
 * One cell: `canary 25% step 2/4`, `blue-green 100%`, `promoting 100%`, `finalizing`, `rolling back`,
 * `promoted 5m ago`, `rolled back at step 2/4 3m ago`; `—` without a rollout.
 */
export function rolloutCell(r: StoredRollout | undefined, now: number): string {
  if (!r) return '—';
  const s = r.state;
  const ago = `${ageText(now - s.updatedAt)} ago`;
  const pending = r.request ? ` (${r.request} asked)` : '';
  switch (s.phase) {
    case 'progressing':
      return s.strategy === 'blueGreen'
        ? `blue-green ${s.canaryWeight}%${pending}`
        : s.canaryWeight === 0 && s.step === 0
          ? `canary starting${s.baseline === undefined ? ', baseline' : ''}${pending}`
          : `canary ${s.canaryWeight}% step ${stepOf(s)}${pending}`;
    case 'promoting':
      return `promoting ${s.canaryWeight}%${pending}`;
    case 'finalizing':
      return 'finalizing';
    case 'rolling-back':
      return 'rolling back';
    case 'succeeded':
      return `promoted ${ago}`;
    case 'rolled-back':
      return `${s.aborted ? 'aborted' : 'rolled back'} at step ${stepOf(s)} ${ago}`;
    default:
      return s.phase;
  }
}

const msText = (x: number | null | undefined) =>
  x === null || x === undefined ? '-' : `${Math.round(x * 10) / 10} ms`;
const pctText = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);

function figure(name: string, x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x)) return 'unbounded';
  if (name.startsWith('error-rate-ratio')) return `${Math.round(x * 100) / 100}x`;
  if (name.startsWith('error-rate')) return pctText(x);
  return msText(x);
}

/** The Rollout section of `controller describe`: indented lines, a bold title first. */
export function rolloutSection(r: StoredRollout | undefined, o: { now: number; paint: Paint }): string[] {
  const p = o.paint;
  if (!r) return [p.bold('Rollout:'), '  <none>'];
  const s = r.state;
  const ago = (t: number) => `${ageText(o.now - t)} ago`;
  const phase =
    s.phase === 'succeeded'
      ? p.green(s.phase)
      : s.phase === 'rolled-back' || s.phase === 'rolling-back'
        ? p.red(s.phase)
        : p.yellow(s.phase);
  const field = (k: string, v: string) => `  ${`${k}:`.padEnd(12)}${v}`;
  const out = [
    p.bold(`Rollout (record sc-rollout.${s.service}):`),
    field('Phase', `${phase}${s.aborted ? ' (aborted)' : ''}${r.request ? `, ${r.request} asked` : ''}`),
    field(
      'Strategy',
      `${s.strategy}, steps ${s.steps.map((x) => `${x.weight}%/${Math.round(x.holdMs / 1000)}s`).join(' ')}`,
    ),
    field('Step', `${stepOf(s)}, started ${ago(s.stepStartedAt)}`),
    field('Weights', `${s.service} ${100 - s.canaryWeight}%, ${s.canary} ${s.canaryWeight}%`),
    field(
      'Revision',
      `${s.revision.slice(0, 12)}, started ${ago(s.startedAt)}, written by ${s.writer} ${ago(s.updatedAt)}`,
    ),
    field('Reason', s.reason),
    field(
      'Baseline',
      s.baseline === undefined
        ? s.strategy === 'canary'
          ? 'not taken yet'
          : '- (blue-green: no stable traffic to compare with after the switch)'
        : s.baseline === null
          ? 'none (no stable traffic before the first step; latency compared with the stable version only)'
          : `p50 ${msText(s.baseline.p50Ms)}, p99 ${msText(s.baseline.p99Ms)} over ${s.baseline.window.requests} stable requests in ${Math.round(s.baseline.windowMs / 1000)}s before the first step (${ago(s.baseline.takenAt)})`,
    ),
  ];
  const j = s.judgement;
  if (!j) {
    out.push(field('Judgement', 'none recorded yet'));
    return out;
  }
  const verdict =
    j.verdict === 'pass' ? p.green(j.verdict) : j.verdict === 'fail' ? p.red(j.verdict) : p.yellow(j.verdict);
  const side = (w: typeof j.canary) =>
    `${w.requests} requests, ${w.errors} errors (${pctText(w.errorRate)}), p50 ${msText(w.p50Ms)}, p99 ${msText(w.p99Ms)}`;
  out.push(
    field('Judgement', `${verdict} at step ${j.step}/${s.steps.length}, ${ago(j.at)}`),
    field('  canary', side(j.canary)),
    field('  stable', side(j.stable)),
  );
  const drifted = j.checks.filter((c) => c.stableDrift !== undefined);
  if (drifted.length)
    out.push(
      field(
        '  drift',
        drifted
          .map(
            (c) =>
              `stable ${c.name.replace('latency-', '')} ${Number.isFinite(c.stableDrift) ? (c.stableDrift ?? 1).toFixed(2) : '∞'}x its baseline (${msText(c.baselineMs)}), shared delay ${msText(c.sharedDelayMs ?? 0)} removed${c.heldForDrift ? ', held: the machine is slow' : ''}`,
          )
          .join('; '),
      ),
    );
  out.push(
    renderTable(
      ['CHECK', 'VERDICT', 'CANARY', 'LIMIT', 'BASELINE'],
      j.checks.map((c) => [
        c.name,
        c.verdict === 'pass' ? p.green(c.verdict) : c.verdict === 'fail' ? p.red(c.verdict) : p.yellow(c.verdict),
        figure(c.name, c.observed),
        figure(c.name, c.limit),
        c.baselineMs !== undefined ? msText(c.baselineMs) : '-',
      ]),
    )
      .trimEnd()
      .replace(/^/gm, '    '),
  );
  return out;
}
