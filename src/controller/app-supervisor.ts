/**
 * The Apps of `controller run` (app of apps): each valid revision of the root source hands its
 * App manifests here; an App that is new gets its own ApplySetLoop (its source, apply set,
 * interval, prune, suspend) added to the Manager, where it is elected by its own lease; one
 * whose manifest changed is stopped and started again with the new one; one no longer declared
 * is stopped (its objects stay in the Swarm; docs/decisions.md). Each App's sync gets what
 * issue 14 adds: the age keys for SOPS files and its variables when loading a revision, its
 * sync windows and dependencies as a gate (a revision that may not run yet waits, the reason in
 * status), its notifications (app-notices.ts), its metrics with the label app. A dependant is
 * looked at again as soon as an App it depends on syncs or one of its objects becomes Ready. An App that fails (a source that cannot
 * be built or fetched, a refused revision) shows it in its own status and stops nothing else.
 * While this replica leads an App, that App's status document (kind App, src/status/format.ts)
 * is written into the Swarm through `publishStatus`, which is what `controller get apps` reads.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AppManifest } from '../api/schemas.js';
import type { ImageRegistry, SwarmAccess, SwarmRecords } from '../api/swarm-access.js';
import type { LoadedApp } from '../manifest/app-checks.js';
import { appApplySet } from '../manifest/app-checks.js';
import type { LoadOptions } from '../manifest/load.js';
import type { SopsLoadOptions } from '../manifest/sops-documents.js';
import type { Logger } from '../log.js';
import { compileNotifications } from '../notify/config.js';
import { Notifier } from '../notify/notifier.js';
import type { Clock } from '../queue/clock.js';
import { compileWindows } from '../schedule/compile-windows.js';
import { decideSync, type SyncWindow } from '../schedule/windows.js';
import { parseSourceSpec } from '../source/source-spec.js';
import { SourceError, type DesiredSource } from '../source/types.js';
import type { GitCredentialOptions } from '../source/git-auth.js';
import { parseDuration } from '../units.js';
import { AppNotices } from './app-notices.js';
import type { AppMetrics } from './app-metrics.js';
import { dependencyReadiness, type Readiness } from './app-readiness.js';
import { readAppVariables } from './app-variables.js';
import { ApplySetLoop, type ApplySetSettings } from './apply-set-loop.js';
import { appStatusBody, type AppStatusBody } from './status-document.js';
import type { Manager } from './manager.js';
import type { ControllerStatus } from './status.js';

export interface AppSupervisorOptions {
  manager: Manager;
  swarm: SwarmAccess & SwarmRecords & ImageRegistry;
  /** The controller's settings, which each App's spec overrides where it says. */
  defaults: ApplySetSettings;
  /** The root's apply set: no App may take it. */
  rootApplySet: string;
  /** Where each App's git cache lives (`<cacheDir>/apps/<applySet>`). */
  cacheDir: string;
  /** The controller's git credential flags, for Apps that give none of their own. */
  credentials: GitCredentialOptions;
  /** The age keys for SOPS-encrypted files, read at each new revision. */
  sops: SopsLoadOptions;
  /** Where Secrets of variablesFrom are read (/run/secrets). */
  secretsDir: string;
  clock: Clock;
  log: Logger;
  metrics: AppMetrics;
  identity: string;
  /**
   * Writes an App's status document into the Swarm while `active()` (a StatusPublisher in
   * `controller run`); absent: no document (tests).
   */
  publishStatus?: (app: string, build: () => AppStatusBody, active: () => boolean) => StatusPublishing;
}

/** A running status writer: started with the App, stopped with it. */
export interface StatusPublishing {
  start(): void;
  stop(): Promise<void>;
}

/** One App as `controller status` and `controller get apps` show it. */
export interface AppSummary {
  name: string;
  applySet: string;
  source: string;
  dependsOn: string[];
  role: 'leader' | 'standby';
  suspended: boolean;
  ready: boolean;
  /** Why not Ready, or what it waits for. */
  reason: string;
  revision?: string;
  pendingRevision?: string;
  waiting?: string;
  lastSync?: ControllerStatus['lastSync'];
  counts: ControllerStatus['counts'];
}

interface Running {
  manifest: AppManifest;
  hash: string;
  loop: ApplySetLoop;
  notifier?: Notifier;
  publishing?: StatusPublishing;
  windows: SyncWindow[];
}

export class AppSupervisor {
  private readonly apps = new Map<string, Running>();
  private updating: Promise<void> = Promise.resolve();

  constructor(private readonly o: AppSupervisorOptions) {}

  /** A new valid root revision's Apps; serialised, so two revisions never interleave. */
  update(apps: LoadedApp[]): Promise<void> {
    this.updating = this.updating
      .then(() => this.apply(apps))
      .catch((err: unknown) => {
        this.o.log.error({ err: (err as Error).message }, 'could not update the apps');
      });
    return this.updating;
  }

  private async apply(apps: LoadedApp[]): Promise<void> {
    const wanted = new Map(apps.map((a) => [a.manifest.metadata.name, a.manifest]));
    for (const [name, r] of [...this.apps]) {
      const m = wanted.get(name);
      if (m && hashOf(m) === r.hash) continue;
      await this.stopApp(name, r, m ? 'its manifest changed' : 'the root source no longer declares it');
    }
    for (const [name, m] of wanted) if (!this.apps.has(name)) this.startApp(m);
  }

  private async stopApp(name: string, r: Running, why: string): Promise<void> {
    this.o.log.info({ event: 'app.stop', app: name }, `stopping app ${name}: ${why}`);
    this.apps.delete(name);
    await this.o.manager.remove(r.loop.name);
    await r.publishing?.stop();
    await r.notifier?.stop();
  }

  private startApp(m: AppManifest): void {
    const name = m.metadata.name;
    const applySet = appApplySet(m);
    const log = this.o.log.child({ app: name, applySet });
    const source = this.sourceOf(m, applySet);
    const windows = compileWindows(m.spec.syncWindows ?? []).windows;
    const compiled = m.spec.notifications ? compileNotifications(m.spec.notifications).config : undefined;
    const notifier = compiled
      ? new Notifier(compiled, {
          clock: this.o.clock,
          log,
          sender: { controller: this.o.identity, source: source.describe() },
          metrics: this.o.metrics.notify(name),
        })
      : undefined;
    const intervalNs = m.spec.interval ? parseDuration(m.spec.interval) : undefined;
    const interval = intervalNs === undefined ? undefined : Math.round(intervalNs / 1e6); // ns to the loop's ms
    // The notices read the loop, and the loop's hooks call the notices: made right after it.
    const late: { notices?: AppNotices } = {};
    const loop = new ApplySetLoop({
      settings: {
        ...this.o.defaults,
        applySet,
        prune: m.spec.prune ?? true,
        pollIntervalMs: interval ?? this.o.defaults.pollIntervalMs,
      },
      swarm: this.o.swarm,
      source,
      cache: this.o.manager.cache,
      clock: this.o.clock,
      log,
      metrics: this.o.metrics.sink(name),
      ...(m.spec.suspend ? { suspendedBySpec: 'suspend: true in the App manifest' } : {}),
      hooks: {
        loadOptions: () => this.loadOptions(m),
        gate: (manual) => this.gate(name, m, windows, manual),
        applying: (revision, message) => late.notices?.applying(revision, message),
        recorded: (record, leading) => {
          late.notices?.recorded(record, leading);
          this.o.metrics.metrics.waiting.set({ app: name }, record.result === 'waiting' ? 1 : 0);
          if (record.result === 'success' && leading) this.wakeDependants(name);
        },
      },
    });
    const notices = notifier
      ? new AppNotices({
          app: name,
          notifier,
          git: source.describe().startsWith('git '),
          now: () => this.o.clock.now(),
          isLeader: () => loop.isLeader,
          current: () => ({ revision: loop.desired?.revision, objects: loop.status.toJSON().objects }),
        })
      : undefined;
    late.notices = notices;
    if (notices) loop.status.onObject((s) => notices.object(s));
    // A sync can succeed before its tasks run (health checks): wake the dependants again when an
    // object of this App becomes Ready, so they do not wait for their next poll.
    const phases = new Map<string, string>();
    loop.status.onObject((s) => {
      const before = phases.get(s.id);
      phases.set(s.id, s.phase);
      if (s.phase === 'Ready' && before !== 'Ready' && loop.isLeader) this.wakeDependants(name);
    });
    const publishing = this.o.publishStatus?.(
      name,
      () => this.document(name, m, loop),
      () => loop.isLeader,
    );
    this.apps.set(name, { manifest: m, hash: hashOf(m), loop, notifier, publishing, windows });
    this.o.log.info({ event: 'app.start', app: name, applySet, source: source.describe() }, `starting app ${name}`);
    this.o.manager.addRunning(loop);
    publishing?.start();
  }

  /** The App's status document body: the apply set's, named for the App, with its dependencies. */
  private document(name: string, m: AppManifest, loop: ApplySetLoop): AppStatusBody {
    const body = appStatusBody({ ...loop.status.toJSON(), images: loop.sync.images.status() }, 'App');
    return { ...body, name, ...(m.spec.dependsOn?.length ? { dependsOn: m.spec.dependsOn } : {}) };
  }

  /** The App's source; one that cannot be built fails every fetch with the reason, in its own status. */
  private sourceOf(m: AppManifest, applySet: string): DesiredSource {
    const c = m.spec.credentials ?? {};
    const credentials: GitCredentialOptions = {
      sshKeyFile: c.sshKeyFile ?? this.o.credentials.sshKeyFile,
      sshKnownHostsFile: c.sshKnownHostsFile ?? this.o.credentials.sshKnownHostsFile,
      ...((c.tokenFile ?? this.o.credentials.tokenFile)
        ? { tokenFile: c.tokenFile ?? this.o.credentials.tokenFile }
        : {}),
      username: c.username ?? this.o.credentials.username,
      given: new Set(),
    };
    const fragment = m.spec.ref || m.spec.path ? `#${m.spec.ref ?? ''}${m.spec.path ? `:${m.spec.path}` : ''}` : '';
    const cache = join(this.o.cacheDir, 'apps', applySet);
    try {
      if (applySet === this.o.rootApplySet)
        throw new SourceError(
          `App "${m.metadata.name}": apply set "${applySet}" is the controller's own (--set); give the App another spec.applySet`,
          { code: 'SC8101' },
        );
      const plain = parseSourceSpec(m.spec.repository, cache, credentials);
      if (plain.describe().startsWith('directory ')) {
        if (m.spec.ref)
          throw new SourceError(
            `App "${m.metadata.name}": ref "${m.spec.ref}" given for a directory, which has no refs`,
          );
        return m.spec.path ? parseSourceSpec(`dir:${join(m.spec.repository, m.spec.path)}`, cache) : plain;
      }
      return fragment ? parseSourceSpec(`git:${m.spec.repository}${fragment}`, cache, credentials) : plain;
    } catch (err) {
      const reason = err instanceof SourceError ? err : new SourceError((err as Error).message);
      return {
        describe: () => `unusable source ${m.spec.repository}`,
        fetch: () => Promise.reject(reason),
      };
    }
  }

  private async loadOptions(m: AppManifest): Promise<LoadOptions> {
    const hasVariables = m.spec.variables || m.spec.variablesFrom?.length;
    const variables = hasVariables
      ? await readAppVariables(m.metadata.name, m.spec, { configs: this.o.swarm, secretsDir: this.o.secretsDir })
      : undefined;
    return {
      sops: this.o.sops,
      ...(variables ? { variables: { ...variables, setWith: "the App's spec.variables or variablesFrom" } } : {}),
    };
  }

  /** Sync windows first (a manual sync passes those that allow it), then every dependency Ready. */
  private async gate(
    name: string,
    m: AppManifest,
    windows: SyncWindow[],
    manual: boolean,
  ): Promise<{ allowed: boolean; reason: string }> {
    const decision = decideSync(windows, this.o.clock.now(), { manual });
    if (!decision.allowed) return { allowed: false, reason: decision.reason };
    for (const dep of m.spec.dependsOn ?? []) {
      const r = await this.readiness(dep, true);
      if (!r.ready) return { allowed: false, reason: `waiting for ${r.reason}` };
    }
    return { allowed: true, reason: windows.length ? decision.reason : '' };
  }

  /**
   * Whether App `name` is Ready, from the live Swarm. `fresh`: list the services now rather than
   * take the shared snapshot, which can be a second older than the object status that woke the
   * gate (and would then hold the dependant until its next poll).
   */
  async readiness(name: string, fresh = false): Promise<Readiness> {
    const dep = this.apps.get(name);
    if (!dep) return { ready: false, reason: `App "${name}" is not running here` };
    const live = fresh ? { services: await this.o.swarm.listServices() } : await this.o.manager.cache.get();
    return dependencyReadiness(
      {
        name,
        desired: dep.loop.desired,
        pendingRevision: dep.loop.status.pendingRevision,
        suspended: dep.loop.status.suspended,
      },
      live.services,
    );
  }

  private wakeDependants(name: string): void {
    for (const [other, r] of this.apps)
      if (other !== name && (r.manifest.spec.dependsOn ?? []).includes(name)) r.loop.triggerSync('dependency');
  }

  /** `controller sync --app`: a manual sync of this replica's loop of the App (the leader acts on it). */
  loop(name: string): ApplySetLoop | undefined {
    return this.apps.get(name)?.loop;
  }

  /** Every App, sorted by name, with whether it is Ready. */
  async summaries(): Promise<AppSummary[]> {
    const out: AppSummary[] = [];
    for (const [name, r] of [...this.apps].sort(([a], [b]) => a.localeCompare(b))) {
      const s = r.loop.status.toJSON();
      const readiness = await this.readiness(name).catch((err: unknown): Readiness => ({
        ready: false,
        reason: `cannot read the Swarm: ${(err as Error).message}`,
      }));
      this.o.metrics.metrics.ready.set({ app: name }, readiness.ready ? 1 : 0);
      out.push({
        name,
        applySet: s.applySet,
        source: s.source,
        dependsOn: r.manifest.spec.dependsOn ?? [],
        role: s.role,
        suspended: s.suspended,
        ready: readiness.ready,
        reason: readiness.ready ? '' : (s.waiting ?? readiness.reason),
        ...(s.revision ? { revision: s.revision } : {}),
        ...(s.pendingRevision ? { pendingRevision: s.pendingRevision } : {}),
        ...(s.waiting ? { waiting: s.waiting } : {}),
        ...(s.lastSync ? { lastSync: s.lastSync } : {}),
        counts: s.counts,
      });
    }
    return out;
  }

  /** One App's full status. */
  status(name: string): ControllerStatus | undefined {
    const r = this.apps.get(name);
    return r ? { ...r.loop.status.toJSON(), images: r.loop.sync.images.status() } : undefined;
  }

  get names(): string[] {
    return [...this.apps.keys()].sort();
  }

  /** On shutdown: the status writers and notifiers stop (the Manager stops the loops). */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.apps.values()].map(async (r) => {
        await r.publishing?.stop();
        await r.notifier?.stop();
      }),
    );
  }
}

function hashOf(m: AppManifest): string {
  return createHash('sha256').update(JSON.stringify(m)).digest('hex');
}
