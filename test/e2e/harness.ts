/**
 * End-to-end harness: a real single-node Swarm (started by scripts/local-swarm.sh when
 * DOCKER_HOST is not set), the test-app image, and the real `controller` command run as a
 * child process. Every test works in its own namespace and apply set and removes what it
 * made.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
import { repoRoot } from '../helpers/repo.js';

export { repoRoot };
const cli = join(repoRoot, 'dist/src/cli/main.js');

let dockerHost: string | undefined;

/**
 * Where the host reaches ports published in host mode on the test engine: SC_PUBLISHED_ADDR as
 * `scripts/local-swarm.sh up` prints it, 127.0.0.1 for the bookworm engine in the host's network
 * namespace, the engine's namespace address for the others.
 */
export const publishedAddr = process.env.SC_PUBLISHED_ADDR || '127.0.0.1';
/** Where the test engine reaches the host (a registry of a test, say): SC_HOST_ADDR, as above. */
export const hostAddr = process.env.SC_HOST_ADDR || '127.0.0.1';

/**
 * The engine of scripts/local-swarm.sh that the test Swarm is, and its state dir (the socket's
 * directory, which holds dockerd.pid): SC_ENGINE, else what the state dir's path says
 * (/run/sc-swarm or $SC_SWARM_DIR: bookworm; /run/sc-swarm-<engine>); engine undefined when
 * neither says.
 */
export function localEngine(): { engine: string | undefined; stateDir: string | undefined } {
  const host = ensureSwarm();
  if (!host.startsWith('unix://')) return { engine: process.env.SC_ENGINE, stateDir: undefined };
  const stateDir = dirname(host.slice('unix://'.length));
  const named =
    stateDir === (process.env.SC_SWARM_DIR ?? '/run/sc-swarm')
      ? 'bookworm'
      : /^\/run\/sc-swarm-([a-z]+)$/.exec(stateDir)?.[1];
  return { engine: process.env.SC_ENGINE || named, stateDir };
}

/** Starts (or reuses) the local Swarm and builds the test image; returns DOCKER_HOST. */
export function ensureSwarm(): string {
  if (dockerHost) return dockerHost;
  if (process.env.DOCKER_HOST) {
    dockerHost = process.env.DOCKER_HOST;
  } else {
    const out = execFileSync(join(repoRoot, 'scripts/local-swarm.sh'), ['up'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const m = /DOCKER_HOST=(\S+)/.exec(out);
    if (!m) throw new Error(`scripts/local-swarm.sh up printed no DOCKER_HOST: ${out}`);
    dockerHost = m[1]!;
    const published = /SC_PUBLISHED_ADDR=(\S+)/.exec(out)?.[1] ?? '127.0.0.1';
    if (published !== publishedAddr)
      throw new Error(
        `the engine scripts/local-swarm.sh started publishes ports at ${published}: ` +
          'run eval "$(scripts/local-swarm.sh up)" with the same SC_ENGINE before the tests',
      );
  }
  execFileSync(join(repoRoot, 'scripts/build-test-app.sh'), [], {
    env: { ...process.env, DOCKER_HOST: dockerHost },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return dockerHost;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real controller command against the test Swarm. */
export function controller(
  args: string[],
  options: { input?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const host = ensureSwarm();
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env, DOCKER_HOST: host, NO_COLOR: '1' },
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs the docker CLI against the test Swarm. */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, {
    env: { ...process.env, DOCKER_HOST: ensureSwarm() },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

export async function inspectService(
  name: string,
): Promise<{ ID: string; Version: { Index: number }; Spec: Record<string, any>; UpdateStatus?: { State?: string } }> {
  return JSON.parse(await docker('service', 'inspect', name))[0];
}

export async function serviceExists(name: string): Promise<boolean> {
  return (await docker('service', 'ls', '--format', '{{.Name}}')).split('\n').includes(name);
}

export async function networkExists(name: string): Promise<boolean> {
  return (await docker('network', 'ls', '--format', '{{.Name}}')).split('\n').includes(name);
}

/** Every service's and network's version, to prove that a run wrote nothing. */
export async function swarmVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ids = (await docker('service', 'ls', '-q')).split('\n').filter(Boolean);
  if (ids.length)
    for (const s of JSON.parse(await docker('service', 'inspect', ...ids)))
      out[`service/${s.Spec.Name}`] = `${s.ID}@${s.Version.Index}`;
  for (const line of (await docker('network', 'ls', '--format', '{{.Name}} {{.ID}}')).split('\n').filter(Boolean)) {
    const [name, id] = line.split(' ');
    out[`network/${name}`] = id!;
  }
  return out;
}

/**
 * Removes the records `controller run` keeps in the Swarm for an apply set (or an App of that
 * name): its lease, its state and every version of its status (and of the route tier's status,
 * given the proxy service).
 */
export async function removeControllerRecords(set: string, proxyService?: string): Promise<void> {
  const of = [`ApplySet/${set}`, `App/${set}`, ...(proxyService ? [`Routes/${proxyService}`] : [])];
  const ids: string[] = [];
  for (const o of of)
    ids.push(
      ...(await docker('config', 'ls', '-q', '--filter', `label=swarm.controller/status-of=${o}`))
        .split('\n')
        .filter(Boolean),
    );
  await docker('config', 'rm', `swarm-controller-lease.${set}`, `swarm-controller-state.${set}`, ...ids).catch(
    () => '',
  );
}

/** Removes every service and network of a namespace (what `docker stack rm` would). */
export async function removeNamespace(namespace: string): Promise<void> {
  const services = (await docker('service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${namespace}`))
    .split('\n')
    .filter(Boolean);
  if (services.length) await docker('service', 'rm', ...services);
  const configs = (await docker('config', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${namespace}`))
    .split('\n')
    .filter(Boolean);
  if (configs.length) await docker('config', 'rm', ...configs);
  for (let i = 0; i < 60; i++) {
    const networks = (await docker('network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${namespace}`))
      .split('\n')
      .filter(Boolean);
    if (networks.length === 0) return;
    try {
      await docker('network', 'rm', ...networks);
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** What the first task of a service (running the test app, which has node) sees at a path. */
export async function readInTask(service: string, path: string): Promise<string> {
  const id = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`))
    .split('\n')
    .filter(Boolean)[0];
  if (!id) throw new Error(`no task container of ${service}`);
  return docker(
    'exec',
    id,
    '/usr/local/bin/node',
    '-e',
    `process.stdout.write(require('fs').readFileSync(${JSON.stringify(path)}))`,
  );
}

/** Writes manifests into a fresh directory named after the apply set. */
export async function manifestDir(set: string, files: Record<string, string>): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'sc-e2e-')), set);
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

export async function rewrite(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

/** The tests' one "wait until" (test/helpers/eventually.ts), here in real time. */
export { eventually } from '../helpers/eventually.js';

export function planJson(r: CliResult): {
  summary: Record<string, number>;
  changes: {
    id: string;
    action: string;
    restartsTasks: boolean;
    fields: { path: string; before: unknown; after: unknown }[];
  }[];
  blockers: { code: string; id: string }[];
  notes: { id: string }[];
} {
  return JSON.parse(r.stdout);
}
