/**
 * `controller rollout status|promote|abort [NAMESPACE/NAME]`: reads the rollout records kept in
 * the Swarm (src/rollout/rollout-record.ts) and, for promote and abort, sets the request the
 * leader acts on at its next look. Works with any replica down: it talks to the Swarm only.
 */
import { TerminalError } from '../errors.js';
import { realClock } from '../queue/clock.js';
import { RolloutRecords, type StoredRollout } from '../rollout/rollout-record.js';
import { stepLabel } from '../rollout/step-decision.js';
import { DockerSwarm } from '../swarm/docker-swarm.js';
import type { CliOptions } from './args.js';
import { engineSelection, type CommandIo } from './commands.js';

export async function rolloutCommand(options: CliOptions, io: CommandIo): Promise<number> {
  const [, action, target] = options.positionals;
  const service = target ? (target.includes('/') ? target.replace('/', '_') : target) : undefined;
  const swarm = await DockerSwarm.connect(engineSelection(options));
  const records = new RolloutRecords(swarm, realClock);
  if (action === 'status') {
    const all = (await records.list()).filter((r) => !service || r.state.service === service);
    if (service && !all.length)
      throw new TerminalError('SC5009', `no rollout of service ${service}; controller rollout status lists them`);
    if (options.output === 'json')
      io.out(
        JSON.stringify(
          all.map((r) => ({ ...r.state, request: r.request })),
          null,
          2,
        ) + '\n',
      );
    else io.out(all.length ? all.map(render).join('') : 'no rollouts\n');
    return 0;
  }
  if (!service)
    throw new TerminalError('SC9001', `rollout ${action} needs a service: controller rollout ${action} NAMESPACE/NAME`);
  const found = await records.request(service, action === 'promote' ? 'promote' : 'abort');
  io.out(
    `asked the leader to ${action} the rollout of ${service} (now ${found.state.phase}, ${stepLabel(found.state)}); "controller rollout status ${target}" shows when it has\n`,
  );
  return 0;
}

function render(r: StoredRollout): string {
  const s = r.state;
  const age = (t: number) => `${Math.max(0, Math.round((Date.now() - t) / 1000))}s ago`;
  return (
    `${s.service}  ${s.phase}  ${s.phase === 'progressing' ? stepLabel(s) : `weight ${s.canaryWeight}%`}  canary ${s.canary}\n` +
    `  strategy ${s.strategy}, steps ${s.steps.map((x) => `${x.weight || !s.match ? `${x.weight}%` : 'match'}/${Math.round(x.holdMs / 1000)}s`).join(' ')}${s.match ? ', header/cookie matching' : ''}\n` +
    `  revision ${s.revision.slice(0, 12)}, started ${age(s.startedAt)}, step started ${age(s.stepStartedAt)}, written by ${s.writer}\n` +
    `  ${s.reason}\n` +
    (s.baseline
      ? `  baseline p50 ${ms(s.baseline.p50Ms)}, p99 ${ms(s.baseline.p99Ms)} (${s.baseline.window.requests} stable requests before the first step)${drift(s)}\n`
      : '') +
    (r.request ? `  pending request: ${r.request}\n` : '')
  );
}

const ms = (x: number | null) => (x === null ? '-' : `${Math.round(x * 10) / 10} ms`);

/** "; now stable p50 2.50x (shared delay 150 ms)" from the last judgement. */
function drift(s: StoredRollout['state']): string {
  const d = (s.judgement?.checks ?? []).filter((c) => c.stableDrift !== undefined);
  if (!d.length) return '';
  return `; at the last judgement ${d
    .map(
      (c) =>
        `stable ${c.name.replace('latency-', '')} ${(c.stableDrift ?? 1).toFixed(2)}x, shared delay ${ms(c.sharedDelayMs ?? 0)}${c.heldForDrift ? ' (held)' : ''}`,
    )
    .join(', ')}`;
}
