/**
 * The commands that look without changing anything: `controller get`, `controller describe`
 * and `controller status` (from the Swarm, or from one controller's HTTP /status with --url).
 * They read the status documents through src/status/reader.ts and the live objects through the
 * Swarm interfaces; rendering is in get-view.ts and describe-view.ts.
 */
import { labelObject } from '../api/data-model.js';
import type { AppSummary } from '../controller/app-supervisor.js';
import type { SwarmEvents } from '../api/swarm-access.js';
import { renderStatus, type ControllerStatus } from '../controller/status.js';
import { TerminalError } from '../errors.js';
import { maskEnvModel } from '../plan/render-mask.js';
import { networkModelFromLive } from '../model/network.js';
import { serviceModelFromLive } from '../plan/live-model.js';
import { manifestView } from '../plan/manifest-view.js';
import type { AppStatusDocument, RoutesStatusDocument, StoredStatus } from '../status/format.js';
import { listRollouts } from '../rollout/rollout-record.js';
import { ageText, isAppStatus, isRoutesStatus, readStatuses } from '../status/reader.js';
import type { CliOptions } from './args.js';
import { paint } from './colour.js';
import { announceEngine, engineSelection, type CommandIo } from './commands.js';
import { renderDescribe, type DescribedObject } from './describe-view.js';
import { rolloutOfRoute } from './rollout-view.js';
import { objectName, renderGet, type GetResource } from './get-view.js';

async function statuses(options: CliOptions, io: CommandIo) {
  const swarm = await io.connect(engineSelection(options));
  announceEngine(io, swarm);
  const read = await readStatuses(swarm);
  for (const p of read.problems) io.err(`warning ${p.code}: ${p.message}\n`);
  const only = options.applySetGiven ? options.applySet : undefined;
  const kept = read.statuses.filter((s) => !only || s.document.kind === 'Routes' || s.document.name === only);
  return { swarm, statuses: kept, problems: read.problems };
}

export async function getCommand(options: CliOptions, io: CommandIo): Promise<number> {
  const resource = (options.positionals[1] ?? 'apps') as GetResource;
  const { swarm, statuses: found } = await statuses(options, io);
  if (!found.some((s) => (resource === 'routes' ? isRoutesStatus(s) : isAppStatus(s)))) {
    if (options.output === 'json' || options.output === 'yaml')
      io.out(renderGet(resource, [], { format: options.output, now: Date.now(), paint: paint(false) }));
    io.err(noStatus(resource === 'routes' ? 'routes' : options.applySetGiven ? options.applySet : undefined) + '\n');
    return 0;
  }
  const rollouts = resource === 'routes' ? await listRollouts(swarm).catch(() => undefined) : undefined;
  io.out(
    renderGet(resource, found, {
      format: options.output,
      now: Date.now(),
      paint: paint(options.color),
      ...(rollouts ? { rollouts } : {}),
    }),
  );
  return 0;
}

function noStatus(what: string | undefined): string {
  return what === 'routes'
    ? 'No route status in the Swarm: no controller pushes routes (it runs with --no-routes, or none runs).'
    : `No status in the Swarm${what ? ` for "${what}"` : ''}: no controller runs${what ? ' for it' : ''}, or it has not led yet (see docs/status-format.md).`;
}

/** `controller status`: from the Swarm, or with --url from one controller's HTTP endpoint. */
export async function statusCommand(options: CliOptions, io: CommandIo): Promise<number> {
  if (options.url) return statusFromUrl(options.url, options, io);
  const { statuses: found } = await statuses(options, io);
  const apps = found.filter(isAppStatus);
  if (apps.length === 0)
    throw new TerminalError(
      'SC5101',
      `${noStatus(options.applySetGiven ? options.applySet : undefined)} Give --url http://HOST:8090 to ask a controller directly.`,
    );
  // With Apps, the one apply set is the root whose source lists them: shown, its Apps as lines below.
  const sets = apps.filter((a) => a.document.kind === 'ApplySet');
  const root = !options.applySetGiven && sets.length === 1 ? sets[0] : undefined;
  if (apps.length > 1 && !options.applySetGiven && !root)
    throw new TerminalError(
      'SC5101',
      `the Swarm holds the status of ${apps.length} apply sets or apps (${apps.map((a) => a.document.name).join(', ')}); choose one with --set, or list them with "controller get apps"`,
    );
  const app = root ?? apps[0];
  const children = root ? apps.filter((a) => a.document.kind === 'App') : [];
  const routes = found.find(isRoutesStatus);
  if (options.output === 'json') {
    io.out(JSON.stringify({ ...app.document, ...(routes ? { routesStatus: routes.document } : {}) }, null, 2) + '\n');
  } else {
    const p = paint(options.color);
    const age = `${ageText(app.ageMs)} ago`;
    io.out(
      `status written ${app.stale ? p.red(`${age}: STALE, no leader has written it for over three heartbeats`) : age} by ${app.document.writer.identity} (${app.configName}, ${app.storedBytes} bytes)\n`,
    );
    io.out(renderStatus(asControllerStatus(app.document, routes?.document)));
    io.out(
      renderAppLines(
        children.map(({ document: d }) => ({
          name: d.name,
          ready: d.syncState === 'Synced',
          revision: d.revision,
          lastSync: d.lastSync,
          reason: d.waiting ?? d.syncState,
        })),
      ),
    );
  }
  const last = app.document.lastSync;
  return app.stale || (last && last.result !== 'success') ? 1 : 0;
}

async function statusFromUrl(url: string, options: CliOptions, io: CommandIo): Promise<number> {
  let status: ControllerStatus & { apps?: AppSummary[] };
  try {
    const res = await fetch(new URL('/status', url));
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    status = (await res.json()) as ControllerStatus & { apps?: AppSummary[] };
  } catch (err) {
    throw new TerminalError(
      'SC5001',
      `cannot read the controller's status at ${url}: ${(err as Error).message}; check --url, or leave it out to read the status kept in the Swarm`,
    );
  }
  io.out(
    options.output === 'json'
      ? JSON.stringify(status, null, 2) + '\n'
      : renderStatus(status) + renderAppLines(status.apps ?? []),
  );
  return status.lastSync?.result === 'success' || !status.lastSync ? 0 : 1;
}

interface AppLine {
  name: string;
  ready: boolean;
  revision?: string;
  lastSync?: { result: string };
  reason: string;
}

/** Under the root's status: one line per App (`controller get apps` shows more). */
function renderAppLines(apps: AppLine[]): string {
  if (!apps.length) return '';
  const lines = [`apps: ${apps.filter((a) => a.ready).length}/${apps.length} ready`];
  for (const a of apps)
    lines.push(
      `  ${(a.ready ? 'Ready' : 'NotReady').padEnd(9)} ${a.name}${a.revision ? ` at ${a.revision.slice(0, 12)}` : ''}${a.lastSync ? `, last sync ${a.lastSync.result}` : ''}${a.ready ? '' : `: ${a.reason}`}`,
    );
  return lines.join('\n') + '\n';
}

/** The stored document in the shape the HTTP status has, so one renderer serves both. */
function asControllerStatus(d: AppStatusDocument, r: RoutesStatusDocument | undefined): ControllerStatus {
  return {
    identity: d.writer.identity,
    applySet: d.applySet,
    source: d.source,
    role: 'leader',
    leader: d.leader,
    suspended: d.suspended,
    ...(d.suspendedReason ? { suspendedReason: d.suspendedReason } : {}),
    driftMode: d.driftMode,
    ...(d.revision ? { revision: d.revision } : {}),
    ...(d.pendingRevision ? { pendingRevision: d.pendingRevision } : {}),
    ...(d.waiting ? { waiting: d.waiting } : {}),
    ...(d.lastSync ? { lastSync: d.lastSync } : {}),
    ...(d.nextSyncAt ? { nextSyncAt: d.nextSyncAt } : {}),
    syncs: d.history,
    objects: d.objects,
    counts: d.counts,
    ...(d.images ? { images: d.images } : {}),
    ...(r
      ? {
          routes: {
            active: r.active,
            ...(r.note ? { note: r.note } : {}),
            proxyService: r.proxyService,
            proxyNetwork: r.proxyNetwork,
            generation: r.generation,
            checksum: r.checksum,
            routes: r.served.length,
            servers: r.served.reduce((n, x) => n + x.backends.reduce((m, b) => m + b.servers.length, 0), 0),
            served: r.served.map((x) => ({
              ...x,
              backends: x.backends.map((b) => ({ service: b.service, weight: b.weight, servers: b.servers.length })),
            })),
            broken: r.broken,
            unreadable: r.unreadable,
            replicas: r.replicas,
            lastChangeAt: r.lastChangeAt,
            lastError: r.lastError,
          },
        }
      : {}),
  };
}

const kinds: Record<string, string> = {
  service: 'Service',
  network: 'Network',
  config: 'Config',
  secret: 'Secret',
  route: 'Route',
};

/** `controller describe KIND NAME`. */
export async function describeCommand(options: CliOptions, io: CommandIo): Promise<number> {
  const kind = kinds[options.positionals[1].toLowerCase()];
  const name = options.positionals[2];
  const { swarm, statuses: found } = await statuses(options, io);
  const entry = found
    .filter(isAppStatus)
    .flatMap((s: StoredStatus<AppStatusDocument>) => s.document.objects.map((o) => ({ app: s.document.name, o })))
    .find(({ o }) => o.kind === kind && (objectName(o) === name || o.swarmName === name));
  const swarmName = entry?.o.swarmName ?? name.replace('/', '_');
  const described: DescribedObject = {
    kind,
    name: entry ? objectName(entry.o) : name,
    swarmName,
    ...(entry ? { app: entry.app, status: entry.o } : {}),
    spec: '',
    tasks: [],
    events: [],
  };
  let found_ = false;
  if (kind === 'Service') {
    const svc = await swarm.getService(swarmName);
    if (svc) {
      found_ = true;
      const networks = new Map((await swarm.listNetworks()).map((n) => [n.Id, n.Name]));
      const model = maskEnvModel(serviceModelFromLive(svc, networks), options.maskEnv);
      described.spec = manifestView({ kind, ...splitName(described.name), model });
      described.tasks = (await swarm.listTasks({ service: svc.ID }))
        .sort((a, b) => (b.UpdatedAt ?? '').localeCompare(a.UpdatedAt ?? ''))
        .slice(0, 10);
      described.updateStatus = svc.UpdateStatus;
    }
  } else if (kind === 'Network') {
    const net = (await swarm.listNetworks()).find((n) => n.Name === swarmName);
    if (net) {
      found_ = true;
      described.spec = manifestView({ kind, ...splitName(described.name), model: networkModelFromLive(net) });
    }
  } else if (kind === 'Secret') {
    const s = (await swarm.listSecrets()).filter(
      (x) => x.Spec.Labels?.[labelObject] === swarmName || x.Spec.Name === swarmName,
    );
    if (s.length) {
      found_ = true;
      described.spec =
        s.map((x) => `${x.Spec.Name} (created ${x.CreatedAt ?? '?'}; data never shown)`).join('\n') + '\n';
    }
  } else {
    const c = (await swarm.listConfigs()).filter(
      (x) =>
        x.Spec.Labels?.[labelObject] === swarmName ||
        x.Spec.Name === swarmName ||
        (kind === 'Route' && x.Spec.Name.startsWith(`${swarmName}.route.`)),
    );
    if (c.length) {
      found_ = true;
      described.spec =
        c
          .map((x) =>
            kind === 'Route'
              ? `${x.Spec.Name}:\n${Buffer.from(x.Spec.Data ?? '', 'base64')
                  .toString('utf8')
                  .replace(/^/gm, '  ')}`
              : `${x.Spec.Name} (created ${x.CreatedAt ?? '?'}, ${Buffer.byteLength(x.Spec.Data ?? '', 'base64')} bytes)`,
          )
          .join('\n') + '\n';
    }
  }
  if (!found_ && !entry)
    throw new TerminalError(
      'SC5103',
      `no ${kind} "${name}" in the status of any controller nor in the Swarm; "controller get objects" lists the managed objects (NAME is namespace/name or the Swarm name)`,
    );
  const events = (swarm as Partial<Pick<SwarmEvents, 'recentEvents'>>).recentEvents;
  if (events && found_ && kind !== 'Route')
    described.events = (
      await events.call(swarm, { type: kind.toLowerCase(), name: swarmName }, Date.now() / 1000 - 3600)
    ).slice(-20);
  if (kind === 'Route') {
    const tier =
      found
        .filter(isRoutesStatus)
        .find((s) =>
          [...s.document.served.map((r) => r.route), ...s.document.broken.map((b) => b.route)].includes(described.name),
        ) ?? found.filter(isRoutesStatus)[0];
    if (tier) {
      const d = tier.document;
      const broken = d.broken.find((b) => b.route === described.name)?.problem;
      const served = d.served.find((r) => r.route === described.name);
      described.route = {
        proxy: d.proxyService,
        generation: d.generation,
        ...(served ? { served } : {}),
        ...(broken ? { broken } : {}),
        replicas: d.replicas,
      };
    }
  }
  if (kind === 'Service' || kind === 'Route') {
    const records = await listRollouts(swarm).catch(() => undefined);
    const mine =
      kind === 'Service'
        ? records?.find((r) => r.state.service === swarmName || r.state.canary === swarmName)
        : records && rolloutOfRoute(records, described.name);
    // Shown for every service or route that had one; for the others only when asked by name is it "none".
    if (records && (mine || kind === 'Route')) described.rollout = mine ?? null;
  }
  io.out(renderDescribe(described, { now: Date.now(), paint: paint(options.color) }));
  return 0;
}

function splitName(name: string): { namespace?: string; name: string } {
  const i = name.indexOf('/');
  return i < 0 ? { name } : { namespace: name.slice(0, i), name: name.slice(i + 1) };
}
