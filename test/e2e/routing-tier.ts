/**
 * A routing tier for end-to-end tests and benchmarks: its own control and edge networks, a
 * proxy service (the proxy image, host-mode ports on this node) and a controller service
 * (`controller run`, in the cluster so it can reach task addresses on the overlays), all
 * under one namespace and apply set, sharing a token secret. Traffic from the tests goes only
 * to the proxy's host-mode ports at the published address (harness.ts: 127.0.0.1, or the test
 * engine's namespace address).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  removeControllerRecords,
  removeNamespace,
  repoRoot,
} from './harness.js';

export interface TierOptions {
  /** Namespace and apply set of the tier, e.g. "e2e-edge". */
  ns: string;
  httpPort: number;
  httpsPort: number;
  /** Extra secrets the proxy mounts (TLS certificates). */
  proxySecrets?: string[];
  /** Extra `controller run` arguments. */
  runArgs?: string[];
  /** Proxy replicas (default 1). With more than one on a single node, give httpPort 0: no host ports. */
  proxyReplicas?: number;
  /** Placement constraints of the proxy service (on a multi-node Swarm: the node whose host-mode ports the test calls). */
  proxyConstraints?: string[];
  /** Controller replicas (default 1): with 2, one leads and the other stands by (leader failover tests). */
  controllerReplicas?: number;
  /** Placement constraints of the controller service (default: node.role == manager); its status is read through DOCKER_HOST's engine, so it must run there. */
  controllerConstraints?: string[];
  /** Files the controller reads beside its source (a --notifications file), mounted read-only under `tierFilesDir`. */
  controllerFiles?: Record<string, string>;
  /**
   * The controller's manifest source instead of the tier's directory: `arg` is its `--source`
   * (e.g. a bare repository `/tmp/x/repo.git#main:deploy`), `dir` the host directory mounted
   * read-only at the same path. The source must hold the tier's own manifests: `prepare` gets
   * them (tier.yaml's text) before the tier is applied, to commit them there.
   */
  source?: { arg: string; dir: string; prepare: (tierYaml: string) => void | Promise<void> };
}

/** Where the controller container finds `controllerFiles`. */
export const tierFilesDir = '/etc/sc-tier';

export interface Tier extends TierOptions {
  dir: string;
  tokenSecret: string;
  /** The edge network's Swarm name, for the routed services to join. */
  edge: string;
}

/** The test app, controller and proxy images on the test engine (built elsewhere and loaded when it cannot build). */
export function buildImages(): void {
  execFileSync(join(repoRoot, 'scripts/engine-images.sh'), [], {
    env: { ...process.env, DOCKER_HOST: ensureSwarm() },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function tierManifests(t: Tier): string {
  const socket = ensureSwarm().replace(/^unix:\/\//, '');
  const token = `{name: ${t.tokenSecret}, target: swarm-controller-proxy-token}`;
  const proxySecrets = [token, ...(t.proxySecrets ?? [])].join(', ');
  return `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: control, namespace: ${t.ns}}
spec: {attachable: true}
---
apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: edge, namespace: ${t.ns}}
spec: {attachable: true}
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: proxy, namespace: ${t.ns}}
spec:
  image: swarm-controller/proxy:dev
  args: [proxy]
  replicas: ${t.proxyReplicas ?? 1}
  endpointMode: dnsrr
  networks: [control, edge]
${
  t.httpPort
    ? `  ports:
    - {target: 80, published: ${t.httpPort}, mode: host}
    - {target: 443, published: ${t.httpsPort}, mode: host}
`
    : ''
}  secrets: [${proxySecrets}]
  stopGracePeriod: 10s
${t.proxyConstraints?.length ? `  placement: {constraints: [${t.proxyConstraints.map((c) => JSON.stringify(c)).join(', ')}]}\n` : ''}---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: controller, namespace: ${t.ns}}
spec:
  image: swarm-controller/controller:dev
  args: [run, --source, ${JSON.stringify(t.source?.arg ?? t.dir)}, --set, ${t.ns}, --interval, 5s, --resync, 30s, --lease-duration, 5s, --proxy-service, ${t.ns}_proxy, --proxy-network, ${t.ns}_control${(t.runArgs ?? []).map((a) => `, ${JSON.stringify(a)}`).join('')}]
  replicas: ${t.controllerReplicas ?? 1}
  endpointMode: dnsrr
  networks: [control]
  secrets: [${token}]
  mounts:
    - {type: bind, source: ${socket}, target: /var/run/docker.sock}
    - {type: bind, source: ${t.source?.dir ?? t.dir}, target: ${t.source?.dir ?? t.dir}, readOnly: true}
${t.controllerFiles ? `    - {type: bind, source: ${t.dir}.files, target: ${tierFilesDir}, readOnly: true}\n` : ''}  placement: {constraints: [${(t.controllerConstraints ?? ['node.role == manager']).map((c) => JSON.stringify(c)).join(', ')}]}
  stopGracePeriod: 15s
`;
}

/** Creates the tier from scratch and waits until its controller reports every proxy replica in step. */
export async function startTier(o: TierOptions): Promise<Tier> {
  ensureSwarm();
  await stopTier(o.ns);
  const t: Tier = {
    ...o,
    dir: mkdtempSync(join(tmpdir(), `sc-${o.ns}-`)),
    tokenSecret: `${o.ns}-proxy-token`,
    edge: `${o.ns}_edge`,
  };
  if (t.controllerFiles) {
    // Beside the source directory, not in it: the controller would read them as manifests.
    mkdirSync(`${t.dir}.files`);
    for (const [name, text] of Object.entries(t.controllerFiles)) writeFileSync(join(`${t.dir}.files`, name), text);
  }
  await docker('secret', 'rm', t.tokenSecret).catch(() => '');
  execFileSync('docker', ['secret', 'create', t.tokenSecret, '-'], {
    input: randomBytes(32).toString('hex'),
    env: { ...process.env, DOCKER_HOST: ensureSwarm() },
  });
  await writeTier(t);
  await t.source?.prepare(tierManifests(t));
  const r = await controller(['apply', '-f', t.dir, '--set', t.ns, '--wait', '--timeout', '120s']);
  if (r.code !== 0) throw new Error(`the routing tier did not start:\n${r.stdout}${r.stderr}`);
  await eventually(
    async () => {
      const s = await routeStatus(t).catch(() => undefined);
      return !!s && s.replicas.length > 0 && s.replicas.every((x) => x.inSync);
    },
    90_000,
    'the controller to reach every proxy replica',
  );
  return t;
}

export async function writeTier(t: Tier): Promise<void> {
  writeFileSync(join(t.dir, 'tier.yaml'), tierManifests(t));
}

export async function stopTier(ns: string): Promise<void> {
  // Suspend the tier's apply set, then remove the controller first and wait until it is gone:
  // while it runs unsuspended it repairs what is removed, itself included (docs/run.md).
  if (
    await docker('service', 'inspect', `${ns}_controller`).then(
      () => true,
      () => false,
    )
  ) {
    await controller(['suspend', '--set', ns, '--reason', 'test teardown']);
    // The controller has seen the suspend record (its next lease round) and changes nothing more.
    await eventually(
      async () => {
        const s = await controllerStatus({ ns }).catch(() => undefined);
        if (s) return s.suspended === true;
        // no container to ask (it crashed or is being replaced): nothing of it changes the Swarm now
        return !(await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${ns}_controller`));
      },
      60_000,
      'the tier controller to report itself suspended',
    );
  }
  await docker('service', 'rm', `${ns}_controller`).catch(() => '');
  await eventually(
    async () => !(await docker('ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${ns}_controller`)),
    60_000,
    'the tier controller to stop',
  );
  await removeNamespace(ns);
  await removeControllerRecords(ns, `${ns}_proxy`);
  await docker('secret', 'rm', `${ns}-proxy-token`).catch(() => '');
}

export interface RouteStatus {
  generation: number;
  checksum: string;
  routes: number;
  /** The routes in the table, with the number of task addresses per backend. */
  served: { route: string; backends: { service: string; servers: number; weight: number }[] }[];
  broken: { route: string; problem: string }[];
  replicas: {
    task: string;
    address: string;
    generation: number;
    checksum: string;
    inSync: boolean;
    lastError: string | null;
  }[];
}

/** The controller's status, read inside its container (its port is not published); with several replicas, the leader's. */
export async function controllerStatus(
  t: Pick<Tier, 'ns'>,
): Promise<Record<string, unknown> & { routes?: RouteStatus }> {
  const ids = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${t.ns}_controller`))
    .split('\n')
    .filter(Boolean);
  if (!ids.length) throw new Error('no controller container');
  let first: (Record<string, unknown> & { routes?: RouteStatus }) | undefined;
  for (const id of ids) {
    const json = await docker(
      'exec',
      id,
      'node',
      '-e',
      'fetch("http://127.0.0.1:8090/status").then((r) => r.text()).then((t) => process.stdout.write(t))',
    ).catch(() => '');
    if (!json) continue;
    const s = JSON.parse(json) as Record<string, unknown> & { routes?: RouteStatus };
    if (s.role === 'leader' || ids.length === 1) return s;
    first ??= s;
  }
  if (!first) throw new Error('no controller answered');
  return first;
}

export async function routeStatus(t: Tier): Promise<RouteStatus> {
  const s = await controllerStatus(t);
  if (!s.routes) throw new Error('the controller status has no routes section');
  return s.routes;
}

/** The proxy agent's own status (reloads, Runtime API updates), read inside the proxy container with its token. */
export async function proxyAgentStatus(
  t: Tier,
): Promise<{ generation: number; reloads: number; runtimeUpdates: number; lastError: string | null }> {
  const ids = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${t.ns}_proxy`))
    .split('\n')
    .filter(Boolean);
  if (!ids.length) throw new Error('no proxy container');
  const script =
    'const t=require("fs").readFileSync("/run/secrets/swarm-controller-proxy-token","utf8").trim();fetch("http://127.0.0.1:8091/v1/status",{headers:{authorization:"Bearer "+t}}).then((r)=>r.text()).then((x)=>process.stdout.write(x))';
  return JSON.parse(await docker('exec', ids[0], 'node', '-e', script)) as {
    generation: number;
    reloads: number;
    runtimeUpdates: number;
    lastError: string | null;
  };
}
