/**
 * `controller rollback SERVICE`: returns a managed service to the spec it had before the last
 * update (Swarm's PreviousSpec, which is the previously applied revision when the controller
 * made that update), shows field by field what that changes, and with --wait waits until the
 * tasks run the restored spec. Config and secret versions the previous spec mounts are kept by
 * the version collector (it never removes what a previous spec mounts), so they are still there.
 */
import { labelRevision, ownershipOf } from '../api/labels.js';
import type { SwarmReader } from '../api/swarm-access.js';
import { TerminalError } from '../errors.js';
import { diffModels } from '../plan/field-diff.js';
import { maskEnvFields } from '../plan/render-mask.js';
import { serviceModelFromLive } from '../plan/live-model.js';
import type { CliOptions } from './args.js';
import { announceEngine, engineSelection, exitCodes, type CommandIo } from './commands.js';

export async function rollbackCommand(options: CliOptions, io: CommandIo): Promise<number> {
  const target = options.positionals[1];
  if (!target)
    throw new TerminalError(
      'SC9001',
      'rollback needs a service: controller rollback NAMESPACE/NAME (or its Swarm name, NAMESPACE_NAME)',
    );
  const swarmName = target.includes('/') ? target.replace('/', '_') : target;
  const swarm = await io.connect(engineSelection(options));
  announceEngine(io, swarm);
  const svc = await swarm.getService(swarmName);
  if (!svc) throw new TerminalError('SC9001', `service "${swarmName}" does not exist in the Swarm`);
  const own = ownershipOf(svc.Spec.Labels);
  if (own.state !== 'owned')
    throw new TerminalError(
      'SC4002',
      `service "${swarmName}" was not created by swarm-controller; roll it back with docker service rollback`,
    );
  if (options.applySetGiven && own.applySet !== options.applySet)
    throw new TerminalError(
      'SC4001',
      `service "${swarmName}" belongs to apply set "${own.applySet}", not "${options.applySet}"`,
    );
  if (!svc.PreviousSpec)
    throw new TerminalError(
      'SC5004',
      `service "${swarmName}" has no previous spec to return to (it was never updated)`,
    );
  const networks = new Map((await swarm.listNetworks()).map((n) => [n.Id, n.Name]));
  const now = serviceModelFromLive(svc, networks);
  const before = serviceModelFromLive({ ...svc, Spec: svc.PreviousSpec }, networks);
  const fields = maskEnvFields(diffModels(now, before), options.maskEnv);
  const from = svc.Spec.Labels?.[labelRevision];
  const to = svc.PreviousSpec.Labels?.[labelRevision];
  io.out(
    `Rolling back service ${swarmName} (apply set "${own.applySet}") to its previous spec${to ? ` (revision ${to.slice(0, 12)})` : ''}${from ? `, from revision ${from.slice(0, 12)}` : ''}:\n`,
  );
  if (!fields.length) io.out('  (the previous spec equals the current one in every managed field)\n');
  for (const f of fields)
    io.out(
      `  ${f.path}: ${f.sensitive ? '(sensitive value changed)' : `${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)}`}\n`,
    );
  if (options.dryRun) return exitCodes.ok;
  await swarm.rollbackService(svc.ID, svc.Version.Index, svc.Spec);
  io.out('Rollback requested from Swarm.\n');
  io.err(
    `note: if a controller run follows apply set "${own.applySet}" with drift repair, it will restore the manifests' spec; suspend it first (controller suspend --set ${own.applySet}) or revert the commit in git\n`,
  );
  if (!options.wait) return exitCodes.ok;
  const result = await waitForRollback(swarm, swarmName, options.timeoutMs);
  io.out(`${result.ok ? 'Converged' : 'NOT converged'}: ${result.detail}\n`);
  return result.ok ? exitCodes.ok : exitCodes.error;
}

/**
 * Swarm reports a requested rollback as rollback_started, then rollback_completed (or
 * rollback_paused when it fails); done when completed and the desired tasks run.
 */
async function waitForRollback(
  swarm: SwarmReader,
  name: string,
  timeoutMs: number,
): Promise<{ ok: boolean; detail: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const svc = await swarm.getService(name);
    if (!svc) return { ok: false, detail: 'the service disappeared' };
    const state = svc.UpdateStatus?.State ?? '';
    if (state === 'rollback_paused')
      return {
        ok: false,
        detail: `Swarm paused the rollback${svc.UpdateStatus?.Message ? `: ${svc.UpdateStatus.Message}` : ''}`,
      };
    if (state === 'rollback_completed') {
      const tasks = await swarm.listTasks({ service: svc.ID, desiredState: 'running' });
      const running = tasks.filter((t) => t.Status?.State === 'running').length;
      const desired = svc.Spec.Mode?.Replicated?.Replicas ?? tasks.length;
      if (running >= desired) return { ok: true, detail: `rollback completed, ${running}/${desired} tasks running` };
    }
    if (Date.now() >= deadline)
      return {
        ok: false,
        detail: `rollback not complete after ${Math.round(timeoutMs / 1000)}s (state ${state || 'none'})`,
      };
    await new Promise((r) => setTimeout(r, 500));
  }
}
