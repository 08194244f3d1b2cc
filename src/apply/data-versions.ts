/**
 * Writing Configs and Secrets: a version per content, created once (a retry finds it and
 * goes on), labels updated on the current version, every version removed on delete, and old
 * versions collected: beyond `retain`, and only when no service mounts them. Safe to run
 * again at any point.
 */
import { dataVersionLabels, mountedName, storedData, type DataKind, type DesiredData } from '../api/data-model.js';
import { labelRevision, ownershipOf } from '../api/labels.js';
import type { SwarmAccess } from '../api/swarm-access.js';
import type { SwarmConfig, SwarmSecret, SwarmService } from '../api/swarm-types.js';
import { AlreadyExistsError, TerminalError, TransientError } from '../errors.js';
import type { ActionContext, ActionResult } from './actions.js';

async function listKind(swarm: SwarmAccess, kind: DataKind): Promise<(SwarmConfig | SwarmSecret)[]> {
  return kind === 'Config' ? swarm.listConfigs() : swarm.listSecrets();
}

/**
 * Creates the version for the desired content if missing, and sets its labels. `name`: the
 * plan found the content under another name (a version taken over from stack deploy); `adopt`:
 * that object may carry no controller labels yet, and gets them.
 */
export async function putData(
  ctx: ActionContext,
  d: DesiredData,
  options: { name?: string; adopt?: boolean } = {},
): Promise<ActionResult> {
  if (d.external || !d.data) throw new TerminalError('SC5004', `${d.ref.kind} ${d.swarmName} has no content to write`);
  const name = options.name ?? mountedName(d);
  const labels = { ...dataVersionLabels(d, ctx.applySet), ...(ctx.revision ? { [labelRevision]: ctx.revision } : {}) };
  const existing = (await listKind(ctx.swarm, d.ref.kind)).find((o) => o.Spec.Name === name);
  if (!existing) {
    try {
      const templating = d.model.templateDriver ?? undefined;
      if (d.ref.kind === 'Config') await ctx.swarm.createConfig(name, labels, d.data.toString('utf8'), templating);
      else await ctx.swarm.createSecret(name, labels, d.data, templating);
      ctx.forgetData?.();
      return { summary: `version ${name} created`, wrote: true };
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      return putData(ctx, d); // created meanwhile (a retry): check its labels
    }
  }
  const own = ownershipOf(existing.Spec.Labels);
  if (!(own.state === 'unmanaged' && options.adopt) && (own.state !== 'owned' || own.applySet !== ctx.applySet))
    throw new TerminalError(
      'SC4001',
      `${d.ref.kind.toLowerCase()} ${name} is not owned by apply set "${ctx.applySet}"; not changed`,
    );
  const current = existing.Spec.Labels ?? {};
  const same =
    Object.keys(labels).length === Object.keys(current).length &&
    Object.entries(labels).every(([k, v]) => current[k] === v || k === labelRevision);
  if (same) return { summary: 'already up to date', wrote: false };
  if (d.ref.kind === 'Config') {
    const withData =
      (await ctx.swarm.listConfigs([`swarm.controller/object=${d.swarmName}`])).find((c) => c.ID === existing.ID) ??
      (await ctx.swarm.listConfigs()).find((c) => c.ID === existing.ID) ??
      existing;
    await ctx.swarm.updateConfigLabels(withData, labels);
  } else {
    await ctx.swarm.updateSecretLabels(existing, labels);
  }
  return { summary: 'labels updated', wrote: true };
}

/** Removes every version of a deleted object, waiting while services still let go of them. */
export async function deleteData(ctx: ActionContext, kind: DataKind, stem: string): Promise<ActionResult> {
  const deadline = ctx.clock.now() + ctx.timeoutMs;
  let removed = 0;
  for (;;) {
    const mine = storedData(kind, await listKind(ctx.swarm, kind)).find(
      (s) => s.stem === stem && s.applySet === ctx.applySet,
    );
    if (!mine || mine.versions.length === 0)
      return {
        summary: removed ? `deleted (${removed} version${removed === 1 ? '' : 's'})` : 'already gone',
        wrote: removed > 0,
      };
    try {
      for (const v of mine.versions) {
        await (kind === 'Config' ? ctx.swarm.removeConfig(v.id) : ctx.swarm.removeSecret(v.id));
        removed++;
      }
    } catch (err) {
      if (!(err instanceof TransientError) || ctx.clock.now() >= deadline) throw err;
      await ctx.clock.sleep(ctx.pollMs);
    }
  }
}

export interface CollectedVersions {
  removed: string[];
  /** Old versions kept because a service still mounts them. */
  inUse: string[];
}

/**
 * Removes old versions of this apply set's desired configs and secrets: all but the newest
 * `retain` (the current one always kept), and never one a service mounts or would mount
 * again on a rollback (its previous spec). Reads the Swarm
 * itself; call it after an apply (or a reconcile) has moved the services.
 */
export async function collectOldVersions(
  swarm: SwarmAccess,
  applySet: string,
  desired: DesiredData[],
): Promise<CollectedVersions> {
  const out: CollectedVersions = { removed: [], inUse: [] };
  const managed = desired.filter((d) => !d.external);
  if (!managed.length) return out;
  const services = await swarm.listServices();
  for (const kind of ['Config', 'Secret'] as const) {
    const wanted = managed.filter((d) => d.ref.kind === kind);
    if (!wanted.length) continue;
    const used = mountedIds(services, kind);
    const stored = storedData(kind, await listKind(swarm, kind));
    for (const d of wanted) {
      const s = stored.find((x) => x.stem === d.swarmName && x.applySet === applySet);
      if (!s) continue;
      const current = mountedName(d);
      const keep = new Set([
        current,
        ...s.versions
          .filter((v) => v.name !== current)
          .slice(0, d.model.retain - 1)
          .map((v) => v.name),
      ]);
      for (const v of s.versions) {
        if (keep.has(v.name)) continue;
        if (used.has(v.id) || used.has(v.name)) {
          out.inUse.push(v.name);
          continue;
        }
        try {
          await (kind === 'Config' ? swarm.removeConfig(v.id) : swarm.removeSecret(v.id));
          out.removed.push(v.name);
        } catch (err) {
          if (!(err instanceof TransientError)) throw err;
          out.inUse.push(v.name); // taken into use meanwhile; the next collection retries
        }
      }
    }
  }
  return out;
}

/** IDs and names mounted by any service's spec, or by its previous spec (what a rollback returns to). */
function mountedIds(services: SwarmService[], kind: DataKind): Set<string> {
  const out = new Set<string>();
  for (const s of services) {
    for (const spec of [s.Spec, s.PreviousSpec]) {
      const c = spec?.TaskTemplate?.ContainerSpec;
      for (const r of kind === 'Config' ? (c?.Configs ?? []) : (c?.Secrets ?? [])) {
        const ref = r as { ConfigID?: string; ConfigName?: string; SecretID?: string; SecretName?: string };
        for (const v of [ref.ConfigID, ref.ConfigName, ref.SecretID, ref.SecretName]) if (v) out.add(v);
      }
    }
  }
  return out;
}
