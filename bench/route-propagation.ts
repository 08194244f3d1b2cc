/**
 * Route propagation latency on a real Swarm: from a new task's "running" timestamp (set by
 * the Swarm agent on this node, so on the same clock as this process) to the first request
 * it serves through the proxy. A steady stream of requests goes to 127.0.0.1 (the proxy's
 * host-mode port); the service is scaled up one task at a time, and back down in between.
 * Also reports the proxy agent's and HAProxy's memory in the proxy container.
 *
 *   npm run bench:routes [-- --events 24]
 *
 * Needs the images (scripts/build-images.sh) and the test app (scripts/build-test-app.sh).
 */
import { controller, docker, eventually, manifestDir, removeNamespace } from '../test/e2e/harness.js';
import { percentile, request } from '../test/e2e/load.js';
import { buildImages, startTier, stopTier } from '../test/e2e/routing-tier.js';

const eventsAt = process.argv.indexOf('--events');
const events = eventsAt > 0 ? Number(process.argv[eventsAt + 1]) : 24;
if (!Number.isInteger(events) || events < 1) throw new Error('--events needs a whole number of at least 1');
const ns = 'bench-routes';
const tierNs = 'bench-edge';
const port = 18490;
const url = `http://127.0.0.1:${port}/p/x`;
/** Traefik's Swarm provider polls every 15 s by default (providers.swarm.refreshSeconds). */
const traefikPollMs = 15_000;

const manifests = {
  'app.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: edge, namespace: ${ns}}
spec: {external: true, name: ${tierNs}_edge}
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 1
  endpointMode: dnsrr
  expose: [8080]
  networks: [edge]
  stopGracePeriod: 2s
---
apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: p, namespace: ${ns}}
spec: {pathPrefix: /p, service: web, port: 8080}
`,
};

interface TaskInfo {
  ID: string;
  DesiredState: string;
  Status: { State: string; Timestamp: string; ContainerStatus?: { ContainerID?: string } };
}

async function tasks(): Promise<TaskInfo[]> {
  const ids = (await docker('service', 'ps', '-q', '--filter', 'desired-state=running', `${ns}_web`))
    .split('\n')
    .filter(Boolean);
  if (!ids.length) return [];
  return JSON.parse(await docker('inspect', ...ids)) as TaskInfo[];
}

async function rssKiB(container: string, pid: string): Promise<number> {
  const status = await docker('exec', container, 'cat', `/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  buildImages();
  await removeNamespace(ns);
  await startTier({ ns: tierNs, httpPort: port, httpsPort: 18491 });
  const dir = await manifestDir(ns, manifests);
  const r = await controller(['apply', '-f', dir, '--set', ns, '--wait', '--timeout', '120s']);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);

  // A steady stream of requests; record when each task is first seen.
  const firstSeen = new Map<string, number>();
  let running = true;
  let sent = 0;
  const stream = async () => {
    while (running) {
      sent++;
      const a = await request(url).catch(() => undefined);
      if (a?.task && !firstSeen.has(a.task)) firstSeen.set(a.task, Date.now());
    }
  };
  const streams = Array.from({ length: 4 }, stream);
  await eventually(async () => firstSeen.size >= 1, 60_000, 'the first task to serve');

  const latencies: number[] = [];
  for (let i = 0; i < events; i++) {
    const before = new Set((await tasks()).map((t) => t.ID));
    await docker('service', 'scale', '-d', `${ns}_web=2`);
    let fresh: TaskInfo | undefined;
    await eventually(
      async () => {
        fresh = (await tasks()).find((t) => !before.has(t.ID) && t.Status.State === 'running');
        return !!fresh;
      },
      60_000,
      'the new task to run',
    );
    const hostname = fresh!.Status.ContainerStatus!.ContainerID!.slice(0, 12);
    await eventually(async () => firstSeen.has(hostname), 30_000, `task ${hostname} to serve through the proxy`);
    const ms = firstSeen.get(hostname)! - Date.parse(fresh!.Status.Timestamp);
    latencies.push(ms);
    console.log(
      `event ${i + 1}/${events}: task ${fresh!.ID.slice(0, 12)} running -> first request through the proxy: ${ms} ms`,
    );
    await docker('service', 'scale', '-d', `${ns}_web=1`);
    await eventually(async () => (await tasks()).length === 1, 60_000, 'back to one task');
    await new Promise((res) => setTimeout(res, 1000));
  }
  running = false;
  await Promise.all(streams);

  const proxy = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${tierNs}_proxy`)).split(
    '\n',
  )[0];
  const pids = (
    await docker(
      'exec',
      proxy,
      'sh',
      '-c',
      'for p in /proc/[0-9]*; do echo "${p#/proc/} $(tr "\\0" " " < $p/cmdline)"; done',
    )
  )
    .split('\n')
    .filter(Boolean);
  const agentPid = pids.find((l) => / proxy/.test(l) && /node/.test(l))?.split(' ')[0] ?? '1';
  const haproxyPids = pids.filter((l) => /haproxy/.test(l.split(' ')[1] ?? '')).map((l) => l.split(' ')[0]);
  const agentRss = await rssKiB(proxy, agentPid);
  const haproxyRss = await Promise.all(haproxyPids.map((p) => rssKiB(proxy, p)));

  const p = (q: number) => percentile(latencies, q);
  console.log('\n| route propagation (task running -> first request through the proxy) | ms |');
  console.log('|---|---|');
  console.log(`| scale events | ${latencies.length} |`);
  console.log(`| p50 | ${p(50)} |`);
  console.log(`| p90 | ${p(90)} |`);
  console.log(`| p99 | ${p(99)} |`);
  console.log(`| max | ${Math.max(...latencies)} |`);
  console.log(`| min | ${Math.min(...latencies)} |`);
  console.log(`| requests sent meanwhile | ${sent} |`);
  console.log(
    `\nTraefik's default Swarm poll (15 s) / our p50: ${(traefikPollMs / p(50)).toFixed(0)}x; / our p99: ${(traefikPollMs / p(99)).toFixed(0)}x`,
  );
  console.log(
    `proxy container: agent (node) RSS ${(agentRss / 1024).toFixed(1)} MiB; HAProxy processes RSS ${haproxyRss.map((k) => (k / 1024).toFixed(1)).join(' + ')} MiB`,
  );

  await removeNamespace(ns);
  await stopTier(tierNs);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
