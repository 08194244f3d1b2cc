/**
 * The soak (issue 16 part 3; `npm run soak`, docs/reliability.md "Soak"): on the multi-node
 * test bed (scripts/cluster.sh), `controller run` as a Swarm service following a git
 * repository, with the proxy tier (two replicas, one per worker) under a steady bounded load,
 * while a commit lands every minute (a rolling update of a routed service), a routed service
 * is scaled every 10 s and a proxy replica is restarted every 10 minutes. It measures failed
 * requests, crashes, the resident memory and open file descriptors of the controller and of
 * each proxy agent over time (slopes after a warm-up by least squares), and the sync latency
 * (commit pushed → the sync of that commit finished, from the controller's status). Prints the
 * report and writes it as report.json and report.md; exits 1 on a failed request or a crash,
 * never on a timing.
 *
 * Traffic goes only to the proxies' host-mode ports on the workers' addresses (namespaces of
 * scripts/cluster.sh), in a loop bounded in time and count. Settings (environment):
 *   SOAK_MINUTES (60), SOAK_SAMPLE_S (10), SOAK_COMMIT_S (60), SOAK_SCALE_S (10),
 *   SOAK_PROXY_RESTART_S (600; a run shorter than two of these restarts once, at its middle),
 *   SOAK_WARMUP_S (a fifth of the run, at most 600), SOAK_OUT (directory of the report;
 *   default a new one under the system's temporary directory).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { useCluster, dockerOn, type ClusterNode } from '../test/cluster/cluster.js';
import { docker, eventually, repoRoot } from '../test/e2e/harness.js';
import { request } from '../test/e2e/load.js';
import { inNamespace, route, service, testAppImage } from '../test/helpers/manifests.js';
import { controllerStatus, routeStatus, startTier, stopTier, type Tier } from '../test/e2e/routing-tier.js';
import { markdown, maxOf, percentile, round, trend, type Series, type SoakReport } from './soak-report.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, not "${process.env[name]}"`);
  return v;
};
const minutes = num('SOAK_MINUTES', 60);
const durationMs = minutes * 60_000;
const sampleMs = num('SOAK_SAMPLE_S', 10) * 1000;
const commitMs = num('SOAK_COMMIT_S', 60) * 1000;
const scaleMs = num('SOAK_SCALE_S', 10) * 1000;
const restartEveryMs = num('SOAK_PROXY_RESTART_S', 600) * 1000;
const warmupMs = num('SOAK_WARMUP_S', Math.min(600, (minutes * 60) / 5)) * 1000;
const ns = 'cl-soak';
const httpPort = 18680;
/** The load: one worker per proxy replica and route, each at most one request per `gapMs` (a new connection each). */
const paths = ['/web/', '/api/'];
const gapMs = 40;
const maxRequests = Math.ceil((durationMs / gapMs) * 2 * paths.length);
const webScale = [2, 3, 4, 3];

const work = mkdtempSync(join(tmpdir(), 'sc-soak-'));
const bare = join(work, 'repo.git');
const clone = join(work, 'clone');
const outDir = process.env.SOAK_OUT ?? mkdtempSync(join(tmpdir(), 'sc-soak-report-'));
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=soak', '-c', 'user.email=soak@example.com', ...args], {
    cwd: clone,
    encoding: 'utf8',
  }).trim();

/** `web` is scaled out of band (drift the controller repairs); `api` is changed by every commit (a rolling update, start-first). */
function appManifests(revision: number): string {
  const svc = (name: string, env: string) =>
    service(
      name,
      [
        `image: ${testAppImage}`,
        'replicas: 2',
        'endpointMode: dnsrr',
        'expose: [8080]',
        'networks: [edge]',
        `env: {STOP_DELAY_MS: "3000"${env}}`,
        'healthcheck: {test: [CMD, /usr/local/bin/node, /app/healthcheck.js], interval: 2s, timeout: 10s, retries: 3}',
        'updateConfig: {order: start-first, monitor: 5s}',
        'restartPolicy: {condition: any, delay: 1s}',
        'stopGracePeriod: 10s',
      ].join('\n'),
      inNamespace(ns),
    ) +
    route(
      name,
      [`pathPrefix: /${name}`, `service: ${name}`, 'port: 8080', 'healthCheck: {path: /healthz, interval: 500ms}'].join(
        '\n',
      ),
      inNamespace(ns),
    );
  return svc('web', '') + svc('api', `, SOAK_REVISION: "${revision}"`);
}

function commit(files: Record<string, string>, message: string): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(clone, 'deploy', name), text);
  git('add', '-A');
  git('commit', '-qm', message);
  git('push', '-q', 'origin', 'main');
  return git('rev-parse', 'HEAD');
}

// ---- the load: workers per proxy address, an address taken out of rotation while its replica restarts

interface Load {
  sent: number;
  ok: number;
  failures: Record<string, number>;
  /** failure text -> first and last second it happened at. */
  windows: Record<string, [number, number]>;
  samples: string[];
  latencies: number[];
  inFlight: Map<string, number>;
  draining: Set<string>;
}

/** The soak's start (the load's), reset when the tier serves; every time in the report counts from it. */
let started = Date.now();
const since = () => Date.now() - started;
const load: Load = {
  sent: 0,
  ok: 0,
  failures: {},
  windows: {},
  samples: [],
  latencies: [],
  inFlight: new Map(),
  draining: new Set(),
};
let loadStopped = false;

async function loadWorker(address: string, path: string): Promise<void> {
  while (!loadStopped && load.sent < maxRequests) {
    await new Promise((r) => setTimeout(r, gapMs)); // pacing the load (a bounded rate), not waiting for an outcome
    if (load.draining.has(address)) continue;
    load.sent++;
    load.inFlight.set(address, (load.inFlight.get(address) ?? 0) + 1);
    const t = performance.now();
    try {
      const a = await request(`http://${address}:${httpPort}${path}`, {}, 10_000);
      load.latencies.push(performance.now() - t);
      if (a.status >= 200 && a.status < 300) load.ok++;
      else fail(`HTTP ${a.status} from ${address}${path}`, a.body.slice(0, 200));
    } catch (err) {
      fail(`${(err as Error).message} (${address}${path})`, '');
    } finally {
      load.inFlight.set(address, load.inFlight.get(address)! - 1);
    }
  }
}

function fail(what: string, detail: string): void {
  load.failures[what] = (load.failures[what] ?? 0) + 1;
  const at = round(since() / 1000, 1);
  load.windows[what] = [load.windows[what]?.[0] ?? at, at];
  if (load.samples.length < 10) load.samples.push(`${(since() / 1000).toFixed(1)} s: ${what} ${detail}`.trim());
}

// ---- processes: resident memory and open fds read from the host's /proc (the nodes share its pid namespace)

function procSample(pid: number): { rssMb: number; fds: number } | undefined {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { rssMb: Number(rss) / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined; // the process is gone (a restart in progress)
  }
}

async function containersOf(node: ClusterNode, service: string): Promise<string[]> {
  return (await dockerOn(node, 'ps', '-q', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${service}`))
    .split('\n')
    .filter(Boolean);
}

const series = new Map<string, Series>();
const pids = new Map<string, number>();
const crashes: string[] = [];
let controllerContainer: string | undefined;
const plannedProxyStops = new Set<string>();
const proxyContainers = new Map<string, string>(); // node name -> container

/** The machine's 1-minute load average at each sample: the soak shares 2 cores with other test runs. */
const loads: number[] = [];

async function sampleProcesses(nodes: ClusterNode[]): Promise<void> {
  loads.push(loadavg()[0]);
  const watch: { name: string; node: ClusterNode; service: string }[] = [
    { name: 'controller', node: nodes[0], service: `${ns}_controller` },
    ...nodes
      .filter((n) => n.role === 'worker')
      .map((n) => ({ name: `proxy agent (${n.name})`, node: n, service: `${ns}_proxy` })),
  ];
  for (const w of watch) {
    const ids = await containersOf(w.node, w.service).catch(() => []);
    const id = ids[0];
    if (w.name === 'controller') {
      if (controllerContainer && id && id !== controllerContainer)
        crashes.push(
          `${(since() / 1000).toFixed(0)} s: the controller's container was replaced (${controllerContainer.slice(0, 12)} → ${id.slice(0, 12)})`,
        );
      if (id) controllerContainer = id;
    } else {
      const before = proxyContainers.get(w.node.name);
      if (before && id && id !== before && !plannedProxyStops.has(before))
        crashes.push(
          `${(since() / 1000).toFixed(0)} s: the proxy on ${w.node.name} was replaced unplanned (${before.slice(0, 12)} → ${id.slice(0, 12)})`,
        );
      if (id) proxyContainers.set(w.node.name, id);
    }
    if (!id) continue;
    if (!pids.has(id)) pids.set(id, Number((await dockerOn(w.node, 'inspect', '-f', '{{.State.Pid}}', id)).trim()));
    const s = procSample(pids.get(id)!);
    if (!s) continue;
    let ser = series.get(id);
    if (!ser) series.set(id, (ser = { name: w.name, container: id, samples: [] }));
    ser.samples.push({ t: since(), rssMb: s.rssMb, fds: s.fds });
  }
}

// ---- syncs: every commit's sync, read from the controller's status (its last 20 syncs)

const pushed: { sha: string; at: number }[] = [];
const applied = new Map<string, number>(); // sha -> ms since start when its sync finished
/** Every sync the status showed, by its start and revision: in report.json, to explain a commit not applied. */
const syncsSeen = new Map<
  string,
  { revision?: string; startedAt: string; result: string; trigger?: string; detail?: string }
>();

async function readSyncs(tier: Tier): Promise<void> {
  const s = (await controllerStatus(tier).catch(() => undefined)) as
    | {
        syncs?: {
          revision?: string;
          startedAt: string;
          durationMs: number;
          result: string;
          trigger?: string;
          detail?: string;
        }[];
      }
    | undefined;
  for (const x of s?.syncs ?? [])
    syncsSeen.set(`${x.startedAt} ${x.revision}`, { ...x, detail: x.detail?.slice(0, 300) });
  for (const x of s?.syncs ?? [])
    if (x.revision && x.result === 'success' && !applied.has(x.revision))
      applied.set(x.revision, Date.parse(x.startedAt) + x.durationMs - started);
}

// ---- the proxy restart: out of the load's rotation, stopped on its node, back when the controller has it in sync

async function restartProxy(tier: Tier, node: ClusterNode): Promise<{ at: number; node: string; backInSyncS: number }> {
  const at = since();
  load.draining.add(node.address);
  await eventually(
    () => (load.inFlight.get(node.address) ?? 0) === 0,
    30_000,
    `requests to ${node.name}'s proxy to finish`,
  );
  const [old] = await containersOf(node, `${ns}_proxy`);
  if (old) {
    plannedProxyStops.add(old);
    await dockerOn(node, 'stop', old);
  }
  const t0 = Date.now();
  await eventually(
    async () => {
      const [id] = await containersOf(node, `${ns}_proxy`);
      if (!id || id === old) return false;
      const st = await routeStatus(tier).catch(() => undefined);
      if (!st || st.replicas.length !== 2 || !st.replicas.every((r) => r.inSync)) return false;
      const answers = await Promise.all(
        paths.map((p) => request(`http://${node.address}:${httpPort}${p}`, {}, 5000).catch(() => undefined)),
      );
      return answers.every((a) => a?.status === 200);
    },
    180_000,
    `the restarted proxy on ${node.name} to be in sync and answer`,
  );
  const backInSyncS = round((Date.now() - t0) / 1000, 1);
  load.draining.delete(node.address);
  return { at: round(at / 1000, 0), node: node.name, backInSyncS };
}

/** The controller's and the proxies' logs, into the report's directory (logs/), before the tier is removed. */
async function saveLogs(nodes: ClusterNode[]): Promise<void> {
  mkdirSync(join(outDir, 'logs'), { recursive: true });
  for (const n of nodes)
    for (const service of [`${ns}_controller`, `${ns}_proxy`])
      for (const id of (await dockerOn(n, 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${service}`))
        .split('\n')
        .filter(Boolean)) {
        const r = spawnSync('docker', ['logs', '--timestamps', id], {
          env: { ...process.env, DOCKER_HOST: n.dockerHost },
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
        });
        writeFileSync(join(outDir, 'logs', `${service}.${n.name}.${id}.log`), `${r.stdout}${r.stderr}`);
      }
}

// ---- the run

/** The cluster as it is when it has a manager and two workers (the cluster tests may leave five nodes), else 1 + 2 started. */
function cluster(): ClusterNode[] {
  try {
    const lines = execFileSync(join(repoRoot, 'scripts/cluster.sh'), ['nodes'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    const managers = lines.filter((l) => l.split(' ')[1] === 'manager').length;
    const workers = lines.filter((l) => l.split(' ')[1] === 'worker').length;
    if (managers >= 1 && workers >= 2) return useCluster({ managers, workers });
  } catch {
    /* not up */
  }
  return useCluster();
}

async function main(): Promise<number> {
  const nodes = cluster();
  const workers = nodes.filter((n) => n.role === 'worker').slice(0, 2);
  const engine = (await docker('version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})')).trim();
  const layout = `${nodes.filter((n) => n.role === 'manager').length} manager(s) + ${nodes.filter((n) => n.role === 'worker').length} workers`;
  console.log(`soak: ${minutes} min on ${layout}, engine ${engine}; work dir ${work}`);

  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  execFileSync('git', ['clone', '-q', bare, clone], { stdio: 'ignore' });
  mkdirSync(join(clone, 'deploy'));
  git('checkout', '-q', '-b', 'main');
  let revision = 0;
  const cleanup = async () => {
    await saveLogs(nodes).catch((err: Error) => console.log(`soak: logs not saved: ${err.message}`));
    await stopTier(ns).catch((err: Error) => console.log(`teardown: ${err.message}`));
    rmSync(work, { recursive: true, force: true });
  };
  // a tier that fails to start is removed too (its controller would keep running on the shared cluster)
  const tier = await startTier({
    ns,
    httpPort,
    httpsPort: 18643,
    proxyReplicas: 2,
    proxyConstraints: ['node.role == worker'],
    controllerConstraints: [`node.labels.sc.node == ${nodes[0].name}`],
    source: {
      arg: `${bare}#main:deploy`,
      dir: work,
      prepare: (tierYaml) => {
        commit({ 'tier.yaml': tierYaml, 'app.yaml': appManifests(revision) }, 'the tier and the app');
      },
    },
  }).catch(async (err: Error) => {
    await cleanup();
    throw err;
  });
  let report: SoakReport;
  try {
    await eventually(
      async () => {
        const answers = await Promise.all(
          workers.flatMap((n) =>
            paths.map((p) => request(`http://${n.address}:${httpPort}${p}`, {}, 5000).catch(() => undefined)),
          ),
        );
        return answers.every((a) => a?.status === 200);
      },
      240_000,
      'both routes to answer through both proxy replicas',
    );
    const begin = Date.now();
    const setupS = ((begin - started) / 1000).toFixed(0);
    started = begin;
    const elapsed = () => Date.now() - begin;
    console.log(`soak: the tier serves (${setupS} s); load, commits, scaling and proxy restarts for ${minutes} min`);

    const loadDone = Promise.all(workers.flatMap((n) => paths.map((p) => loadWorker(n.address, p))));
    const restartAt =
      durationMs < 2 * restartEveryMs
        ? [durationMs / 2]
        : Array.from({ length: Math.floor((durationMs - 1) / restartEveryMs) }, (_, i) => (i + 1) * restartEveryMs);
    const restarts: SoakReport['proxyRestarts'] = [];
    let scaleEvents = 0;
    let nextSample = 0;
    let nextCommit = commitMs;
    let nextScale = scaleMs;
    let restartIndex = 0;
    let busy: Promise<unknown> | undefined;
    const background = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      const q = p.catch((err: Error) => console.log(`soak: ${err.message}`)).finally(() => background.delete(q));
      background.add(q);
      return q;
    };
    while (elapsed() < durationMs) {
      const now = elapsed();
      if (now >= nextSample) {
        nextSample += sampleMs;
        await sampleProcesses(nodes);
        await readSyncs(tier);
      }
      if (now >= nextCommit) {
        nextCommit += commitMs;
        revision++;
        const sha = commit({ 'app.yaml': appManifests(revision) }, `api revision ${revision}`);
        pushed.push({ sha, at: since() });
      }
      if (now >= nextScale) {
        nextScale += scaleMs;
        const n = webScale[scaleEvents % webScale.length];
        scaleEvents++;
        void track(docker('service', 'scale', '--detach', `${ns}_web=${n}`));
      }
      if (restartIndex < restartAt.length && now >= restartAt[restartIndex] && !busy) {
        const node = workers[restartIndex % workers.length];
        restartIndex++;
        console.log(`soak: restarting the proxy replica on ${node.name} at ${(now / 60_000).toFixed(1)} min`);
        busy = track(restartProxy(tier, node).then((r) => restarts.push(r))).finally(() => (busy = undefined));
      }
      await new Promise((r) => setTimeout(r, 250)); // the scheduler's tick: pacing, not a wait for an outcome
    }
    loadStopped = true;
    await loadDone;
    await Promise.all(background);
    // the last commits' syncs: wait for them to be recorded (bounded; one left out is reported, not failed)
    await eventually(
      async () => {
        await readSyncs(tier);
        return pushed.every((p) => applied.has(p.sha));
      },
      60_000,
      'the last commit to be applied',
    ).catch(() => undefined);
    await sampleProcesses(nodes);

    const latencies = pushed.filter((p) => applied.has(p.sha)).map((p) => (applied.get(p.sha)! - p.at) / 1000);
    const failed = Object.values(load.failures).reduce((a, b) => a + b, 0);
    report = {
      startedAt: new Date(begin).toISOString(),
      minutes,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB (shared with other test runs)`,
      engine: `engine ${engine}`,
      layout,
      settings: {
        sampleSeconds: sampleMs / 1000,
        commitSeconds: commitMs / 1000,
        scaleSeconds: scaleMs / 1000,
        proxyRestartSeconds: restartEveryMs / 1000,
        pollInterval: '5s',
        drift: 'repair',
        resync: '30s',
        load: `${workers.length * paths.length} workers (one per proxy replica and route), each at most one request per ${gapMs} ms, a new connection per request`,
      },
      requests: {
        sent: load.sent,
        ok: load.ok,
        failed,
        failures: load.failures,
        windows: load.windows,
        samples: load.samples,
        perSecond: round(load.sent / (durationMs / 1000), 1),
        latencyMs: {
          p50: round(percentile(load.latencies, 50), 1),
          p99: round(percentile(load.latencies, 99), 1),
          max: round(maxOf(load.latencies), 1),
        },
      },
      crashes,
      commits: {
        pushed: pushed.length,
        applied: latencies.length,
        notApplied: pushed.filter((p) => !applied.has(p.sha)).map((p) => p.sha.slice(0, 12)),
      },
      syncLatencyS: {
        p50: round(percentile(latencies, 50), 1),
        p90: round(percentile(latencies, 90), 1),
        p99: round(percentile(latencies, 99), 1),
        max: round(maxOf(latencies), 1),
      },
      scaleEvents,
      proxyRestarts: restarts,
      loadAverage: {
        mean: round(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length), 1),
        max: round(maxOf(loads), 1),
      },
      warmupMinutes: round(warmupMs / 60_000, 1),
      trends: [...series.values()].map((s) => trend(s, warmupMs)),
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      join(outDir, 'report.json'),
      JSON.stringify({ ...report, syncs: [...syncsSeen.values()], series: [...series.values()] }, null, 2) + '\n',
    );
    writeFileSync(join(outDir, 'report.md'), markdown(report));
  } finally {
    await cleanup();
  }
  console.log('\n' + markdown(report));
  console.log(`soak: report written to ${join(outDir, 'report.json')} and ${join(outDir, 'report.md')}`);
  const bad = report.requests.failed > 0 || report.crashes.length > 0;
  if (bad) console.log(`soak: FAILED: ${report.requests.failed} failed request(s), ${report.crashes.length} crash(es)`);
  return bad ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`soak: ${err.stack ?? err.message}`);
    process.exit(2);
  },
);
