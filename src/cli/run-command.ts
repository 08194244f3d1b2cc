/**
 * `controller run`, `controller suspend` and `controller resume`.
 * run: connects, starts the controller loops and the HTTP endpoints, and on SIGTERM or
 * SIGINT finishes or abandons the action in flight within 10 s, releases the lease, exits 0.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { appMetrics } from '../controller/app-metrics.js';
import { AppSupervisor, type AppSummary } from '../controller/app-supervisor.js';
import { ApplySetLoop, type ApplySetMetricsSink, type ApplySetSettings } from '../controller/apply-set-loop.js';
import { Manager } from '../controller/manager.js';
import { healthText, requestResult } from '../controller/swarm-outage.js';
import { SuspendRecord } from '../controller/suspend-record.js';
import { startHttpServer } from '../controller/http-server.js';
import { runDashboard } from '../dashboard/run-dashboard.js';
import { appStatusBody, routesStatusBody } from '../controller/status-document.js';
import { StatusPublisher } from '../controller/status-publisher.js';
import { controllerMetrics, Registry } from '../controller/metrics.js';
import { TerminalError } from '../errors.js';
import { createLogger } from '../log.js';
import { realClock } from '../queue/clock.js';
import type { SopsLoadOptions } from '../manifest/sops-documents.js';
import { loadAgeIdentities } from '../sops/index.js';
import { parseSourceSpec } from '../source/source-spec.js';
import { SourceError, type DesiredSource } from '../source/types.js';
import { HttpAgentClient } from '../routes/agent-client.js';
import { disabledRouteStatus, RouteSync, type RouteSyncStatus } from '../routes/route-sync.js';
import { Notifier } from '../notify/notifier.js';
import { RolloutController, type RolloutEvent } from '../rollout/rollout-controller.js';
import { rolloutNotice } from '../rollout/rollout-notices.js';
import { rolloutStatusEntry } from '../rollout/rollout-status.js';
import { DockerSwarm } from '../swarm/docker-swarm.js';
import type { RolloutStatusEntry } from '../status/format.js';
import type { CliOptions } from './args.js';
import { runAgeKeyFile } from './command-table.js';
import { announceEngine, engineSelection, planOrApplyCommand, type CommandIo } from './commands.js';
import { loadNotificationsFile } from './notifications-file.js';
import { ensureProxyTokenSecret, proxyTokenSecret } from './proxy-token.js';

export const stopGraceMs = 10_000;

export async function runCommand(options: CliOptions, io: CommandIo, version: string): Promise<number> {
  if (!options.source)
    throw new TerminalError('SC9001', 'run needs --source: a directory or a git URL (see controller --help)');
  const source = buildSource(options.source, options);
  // A notifications file with a mistake stops the start, before anything is read from the Swarm.
  const notifications = options.notificationsFile ? loadNotificationsFile(options.notificationsFile) : undefined;
  const log = createLogger();
  const swarm = await DockerSwarm.connect(engineSelection(options));
  announceEngine(io, swarm);
  const registry = new Registry();
  const m = controllerMetrics(registry);
  const perApp = appMetrics(registry);
  registry.collectProcessMetrics();
  m.buildInfo.set({ version, node: process.version }, 1);
  const sink: ApplySetMetricsSink = {
    queueDepth: (n) => m.queueDepth.set(n),
    reconcile: (kind, result, s) => m.reconcileDuration.observe({ kind, result }, s),
    reconcileError: (kind, type) => m.reconcileErrors.inc({ kind, type }),
    action: (kind, action, result) => m.actions.inc({ kind, action, result }),
    drift: (kind, mode) => m.driftRepairs.inc({ kind, mode: mode as 'repaired' | 'reported' }),
    sync: (result, s, at) => {
      if (result === 'waiting') return; // only apps wait (sync windows, dependencies): their own metrics count it
      const r = result === 'fetch-failed' ? 'failed' : (result as 'success' | 'failed' | 'invalid');
      m.sync.inc({ result: r });
      m.syncDuration.observe(s);
      if (r === 'success') m.lastSyncTimestamp.set(at);
      else m.syncFailures.inc();
    },
    leader: (l) => m.leader.set(l ? 1 : 0),
    imageCheck: (result, changed) => {
      m.imageChecks.inc({ result });
      if (changed) m.imageDigestChanges.inc(changed);
    },
    pinnedImages: (n) => m.pinnedImages.set(n),
    suspended: (v) => m.suspended.set(v ? 1 : 0),
  };
  const identity = options.identity ?? `${hostname()}-${process.pid}`;
  swarm.engine.onRequest((r) => m.engineRequests.inc({ result: requestResult(r.error) }));
  const manager = new Manager({
    swarm,
    identity,
    clock: realClock,
    log,
    metrics: {
      leaseRound: (result) => m.leaseRounds.inc({ result }),
      swarmWritable: (w) => m.swarmWritable.set(w ? 1 : 0),
    },
  });
  const rolloutsRef: { current?: RolloutController } = {};
  const settings: ApplySetSettings = {
    identity,
    applySet: options.applySet,
    drift: options.drift,
    prune: !options.noPrune,
    allowReplace: options.allowReplace,
    maxDeletions: options.maxDeletions,
    timeoutMs: options.timeoutMs,
    pollIntervalMs: options.pollIntervalMs,
    resyncIntervalMs: options.resyncIntervalMs,
    leaseDurationMs: options.leaseDurationMs,
    concurrency: options.concurrency,
    syncTimeoutMs: options.timeoutMs,
    resolveImage: options.resolveImage,
    imageCheckMs: options.imageCheckMs ?? 0,
  };
  const sops = runSops(options);
  const apps = new AppSupervisor({
    manager,
    swarm,
    defaults: settings,
    rootApplySet: options.applySet,
    cacheDir: options.cacheDir,
    credentials: options.gitCredentials,
    sops,
    secretsDir: options.proxySecretsDir,
    clock: realClock,
    log,
    metrics: perApp,
    identity,
    publishStatus: (app, build, active) =>
      new StatusPublisher({
        swarm,
        identity,
        version,
        clock: realClock,
        log: log.child({ component: 'status', app }),
        active,
        intervalMs: options.statusIntervalMs,
        ref: { kind: 'App', name: app },
        build,
      }),
  });
  const loop: ApplySetLoop = new ApplySetLoop({
    hooks: {
      loadOptions: () => Promise.resolve({ sops }),
      // The root source's App manifests: one loop per App (app of apps).
      loaded: (_revision, loaded) => void apps.update(loaded.apps),
    },
    settings,
    swarm,
    source,
    cache: manager.cache,
    clock: realClock,
    log: log.child({ applySet: options.applySet }),
    metrics: sink,
    rollouts: { divert: (i) => rolloutsRef.current?.divert(i) ?? Promise.resolve(undefined) },
  });
  manager.add(loop);
  const routes = startRouteSync(options, swarm, manager, loop, m, log);
  const notifier = notifications
    ? new Notifier(notifications, {
        clock: realClock,
        log: log.child({ applySet: options.applySet }),
        sender: { controller: identity, source: source.describe() },
        metrics: perApp.notify(options.applySet),
      })
    : undefined;
  const git = source.describe().startsWith('git ');
  const notify = (e: RolloutEvent) => {
    const n = notifier && rolloutNotice(e, git);
    if (n) notifier.notify(n);
  };
  const rollouts: RolloutController | undefined = routes?.sync
    ? startRollouts(options, swarm, routes.sync, routes.client!, loop, registry, log, notify)
    : undefined;
  rolloutsRef.current = rollouts;
  const [listenHost, listenPort] = splitListen(options.listen);
  const webhookSecret = options.webhookSecretFile ? readFileSync(options.webhookSecretFile, 'utf8').trim() : '';
  const status = () => ({
    ...loop.status.toJSON(),
    swarm: manager.outage.status,
    images: loop.sync.images.status(),
    ...(routes ? { routes: routes.status() } : {}),
    ...(rollouts ? { rollouts: rollouts.status() } : {}),
  });
  const dashboard = runDashboard({
    applySet: options.applySet,
    status,
    routes: () => routes?.status(),
    ...(rollouts ? { rollouts: () => rollouts.status().map(rolloutStatusEntry) } : {}),
    triggerSync: (t) => loop.triggerSync(t),
    records: swarm,
    version,
    ...(options.dashboardTokenFile ? { tokenFile: options.dashboardTokenFile } : {}),
    clock: realClock,
  });
  const server = await startHttpServer(listenPort, listenHost, {
    status: async () => {
      const list: AppSummary[] = await apps.summaries();
      return { ...status(), ...(list.length ? { apps: list } : {}) };
    },
    app: (name) => apps.status(name),
    ready: () => loop.status.synced || (!loop.isLeader && !!loop.status.revision),
    health: () => healthText(manager.outage.status),
    metrics: () => registry.render(),
    sync: () => loop.triggerSync('webhook'),
    webhookSecret,
    extra: (req, res) => dashboard.handle(req, res),
  });
  const publishers = statusPublishers(options, swarm, loop, routes, identity, version, log, () =>
    rollouts ? rollouts.status().map(rolloutStatusEntry) : [],
  );
  log.info(
    {
      event: 'start',
      identity,
      source: source.describe(),
      applySet: options.applySet,
      listen: options.listen,
      engine: { ...swarm.engine.version, host: swarm.engine.host, via: swarm.engine.endpoint.via },
    },
    'swarm-controller running',
  );
  manager.start();
  for (const p of publishers) p.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ event: 'stop', signal }, `stopping on ${signal}`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await manager.stop(stopGraceMs);
  await Promise.all(publishers.map((p) => p.stop()));
  await apps.stop();
  routes?.stop?.();
  rollouts?.stop();
  await notifier?.stop();
  dashboard.close();
  await new Promise((r) => server.close(() => r(undefined)));
  log.info({ event: 'stopped' }, 'stopped; lease released');
  // Do not wait for idle sockets or sleeping loops to wind down: the work is finished.
  process.exit(0);
}

/**
 * The status written into the Swarm while this replica leads (docs/status-format.md): the apply
 * set's, and the route tier's unless --no-routes.
 */
function statusPublishers(
  options: CliOptions,
  swarm: DockerSwarm,
  loop: ApplySetLoop,
  routes: { status(): RouteSyncStatus } | undefined,
  identity: string,
  version: string,
  log: ReturnType<typeof createLogger>,
  rollouts: () => RolloutStatusEntry[],
): StatusPublisher[] {
  const common = {
    swarm,
    identity,
    version,
    clock: realClock,
    log: log.child({ component: 'status' }),
    active: () => loop.isLeader,
    intervalMs: options.statusIntervalMs,
  };
  const app = new StatusPublisher({
    ...common,
    ref: { kind: 'ApplySet', name: options.applySet },
    build: () => appStatusBody({ ...loop.status.toJSON(), images: loop.sync.images.status() }),
  });
  if (!routes) return [app];
  return [
    app,
    new StatusPublisher({
      ...common,
      ref: { kind: 'Routes', name: options.proxyService },
      build: () => routesStatusBody(routes.status(), rollouts()),
    }),
  ];
}

/**
 * The route reconciler, unless --no-routes. Without a readable token it does not push and says
 * why in the status (the rest of the controller runs on).
 */
function startRouteSync(
  options: CliOptions,
  swarm: DockerSwarm,
  manager: Manager,
  loop: ApplySetLoop,
  m: ReturnType<typeof controllerMetrics>,
  log: ReturnType<typeof createLogger>,
): { status(): RouteSyncStatus; stop?(): void; sync?: RouteSync; client?: HttpAgentClient } | undefined {
  if (options.noRoutes) return undefined;
  const o = {
    proxyService: options.proxyService,
    proxyNetwork: options.proxyNetwork,
    pollIntervalMs: options.routePollMs,
    fullReadIntervalMs: 10_000,
    verifyIntervalMs: 5000,
    // What the replicas see of the servers goes into the status: no point reading it more often than that is written.
    observeIntervalMs: Math.max(1000, options.statusIntervalMs),
  };
  let token: string;
  try {
    token = readFileSync(options.proxyTokenFile, 'utf8').trim();
    if (!token) throw new Error('the file is empty');
  } catch (err) {
    const note = `disabled: cannot read the proxy token ${options.proxyTokenFile} (${(err as Error).message}); mount the secret ${proxyTokenSecret} or give --token-file, or run with --no-routes`;
    log.warn({ event: 'routes.disabled' }, note);
    return { status: () => disabledRouteStatus(o, note) };
  }
  const client = new HttpAgentClient(options.proxyControlPort, token);
  const sync = new RouteSync({
    swarm,
    client,
    stats: client,
    options: o,
    clock: realClock,
    log: log.child({ component: 'routes' }),
    metrics: {
      push: (result, s) => {
        m.proxyPushes.inc({ result });
        m.proxyPushDuration.observe(s);
      },
      table: (generation, served, broken, servers) => {
        m.routeGeneration.set(generation);
        m.routes.set({ state: 'served' }, served);
        m.routes.set({ state: 'broken' }, broken);
        m.routeServers.set(servers);
      },
      replicas: (total, inSync) => {
        m.proxyReplicas.set({ state: 'in_sync' }, inSync);
        m.proxyReplicas.set({ state: 'behind' }, total - inSync);
      },
    },
    isActive: () => loop.isLeader,
  });
  manager.onEvent((e) => sync.notify(e));
  sync.start();
  return { status: () => sync.status(), stop: () => sync.stop(), sync, client };
}

/**
 * Progressive delivery (src/rollout/): needs the route reconciler (it serves the canary's
 * weight) and the proxies' counters. Its transitions are logged as events, and each is also
 * handed to `notify` (the ends of rollouts go to the --notifications receivers).
 */
function startRollouts(
  options: CliOptions,
  swarm: DockerSwarm,
  sync: RouteSync,
  client: HttpAgentClient,
  loop: ApplySetLoop,
  registry: Registry,
  log: ReturnType<typeof createLogger>,
  notify: (e: RolloutEvent) => void,
): RolloutController {
  const p = 'swarm_controller_rollout_';
  const phase = registry.gauge(`${p}phase`, 'Rollouts by service and phase (1 for the current phase).', [
    'service',
    'phase',
  ]);
  const weight = registry.gauge(`${p}canary_weight`, "The canary's share of its route's traffic, in percent.", [
    'service',
  ]);
  const step = registry.gauge(`${p}step`, 'The current step of a rollout (0-based).', ['service']);
  const verdicts = registry.counter(`${p}verdicts_total`, 'Judgements of canary steps, by verdict.', [
    'service',
    'verdict',
  ]);
  const finished = registry.counter(`${p}finished_total`, 'Rollouts finished, by result.', ['result']);
  const phases = ['progressing', 'promoting', 'finalizing', 'succeeded', 'rolling-back', 'rolled-back'];
  const rl = log.child({ component: 'rollout' });
  const rc = new RolloutController({
    swarm,
    routes: {
      serving: (route, canary, w, match) => sync.serving(route, canary, w, match),
      replicaAddresses: () => sync.replicaAddresses(),
      refresh: () => sync.notify({ Type: 'config', Action: 'update' }),
    },
    stats: client,
    clock: realClock,
    log: rl,
    applySet: options.applySet,
    identity: options.identity ?? `${hostname()}-${process.pid}`,
    isLeader: () => loop.isLeader && !loop.status.suspended,
    onEvent: (e) => {
      rl.info({ event: e.type, rollout: e }, `${e.type}: ${e.service}: ${e.reason}`);
      notify(e);
    },
    metrics: {
      state: (service, ph, st, w) => {
        for (const x of phases) phase.set({ service, phase: x }, x === ph ? 1 : 0);
        step.set({ service }, st);
        weight.set({ service }, w);
      },
      verdict: (service, v) => verdicts.inc({ service, verdict: v }),
      finished: (result) => finished.inc({ result }),
    },
  });
  rc.start();
  return rc;
}

/**
 * The source of run and bootstrap, with the git credential flags; a source it cannot be (a
 * credential flag that does not fit it, a bad URL) is the command's error, with its code.
 */
function buildSource(spec: string, options: CliOptions): DesiredSource {
  try {
    return parseSourceSpec(spec, join(options.cacheDir, options.applySet), options.gitCredentials);
  } catch (err) {
    throw err instanceof SourceError ? new TerminalError(err.code, err.reason) : err;
  }
}

/**
 * The age keys of `controller run`, read at every new revision (a rotated Swarm secret is picked
 * up without a restart): --age-key-file, else the Swarm secret sops-age-key when it is mounted,
 * plus SOPS's own variables and default file.
 */
function runSops(options: CliOptions): SopsLoadOptions {
  const files = options.ageKeyFile ? [options.ageKeyFile] : existsSync(runAgeKeyFile) ? [runAgeKeyFile] : [];
  return { identities: () => loadAgeIdentities({ files }) };
}

function splitListen(listen: string): [string, number] {
  const m = /^(?:(.*):)?(\d+)$/.exec(listen);
  if (!m) throw new TerminalError('SC9001', `--listen ${JSON.stringify(listen)}: give host:port or a port`);
  return [m[1] || '0.0.0.0', Number(m[2])];
}

/** Sets the shared suspend flag of an apply set; every replica sees it within a lease round. */
export async function suspendCommand(options: CliOptions, io: CommandIo, suspend: boolean): Promise<number> {
  const swarm = await DockerSwarm.connect(engineSelection(options));
  announceEngine(io, swarm);
  const record = new SuspendRecord({ records: swarm, applySet: options.applySet, clock: realClock });
  await record.setSuspended(suspend, suspend ? (options.reason ?? 'suspended with controller suspend') : undefined);
  io.out(
    `apply set "${options.applySet}" ${suspend ? 'suspended: controllers stop reconciling (routes and status keep being served)' : 'resumed: controllers reconcile again'}\n`,
  );
  return 0;
}

/**
 * `controller bootstrap --repo SRC`: fetches the source once and applies it (with --wait),
 * recording its revision, under the apply set `controller run --source SRC` will use. Run it
 * again and nothing changes; from then on the controller service it created manages itself.
 */
export async function bootstrapCommand(options: CliOptions, io: CommandIo): Promise<number> {
  if (!options.source)
    throw new TerminalError(
      'SC9001',
      'bootstrap needs --repo: the git URL (or directory) holding the controller manifests, as controller run --source takes it',
    );
  const source = buildSource(options.source, options);
  const snapshot = await source.fetch().catch((err: unknown) => {
    throw err instanceof SourceError ? new TerminalError(err.code, err.reason) : err;
  });
  io.out(
    `Bootstrapping apply set "${options.applySet}" from ${source.describe()} at ${snapshot.revision.slice(0, 12)}${snapshot.message ? ` (${snapshot.message})` : ''}\n`,
  );
  const swarm = await DockerSwarm.connect(engineSelection(options));
  announceEngine(io, swarm);
  if (await ensureProxyTokenSecret(swarm))
    io.out(`Created the Swarm secret ${proxyTokenSecret} (the token the controller and the proxy tier share)\n`);
  const flag = await new SuspendRecord({ records: swarm, applySet: options.applySet, clock: realClock }).read();
  if (flag.suspended)
    io.out(
      `Note: apply set "${options.applySet}" is suspended (${flag.reason ?? 'no reason given'}): the controller will not reconcile until "controller resume --set ${options.applySet}"\n`,
    );
  return planOrApplyCommand({ ...options, command: 'apply', files: [snapshot.dir], revision: snapshot.revision }, io);
}
