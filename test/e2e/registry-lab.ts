/**
 * A real private registry for the tests: Debian's docker-registry (distribution 2.8) with basic
 * auth from an htpasswd file, plain HTTP, on an address the engine under test reaches and treats
 * as insecure (127.0.0.1 for an engine in the host's namespace: the engine trusts 127.0.0.0/8;
 * otherwise the host address its scripts gave it `--insecure-registry` for, $SC_HOST_ADDR).
 * Storage and logins live in a temp directory; `stop()` ends the process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RegistryLab {
  /** host:port, the registry part of image references. */
  address: string;
  user: string;
  password: string;
  /** A docker config directory logged in to this registry (`auths`), made by the real `docker login`. */
  loggedIn: string;
  /** Pushes a local image of `engine` as `<address>/<repository>:<tag>`; returns the pushed digest. */
  push(engine: string, localImage: string, repositoryTag: string): string;
  stop(): void;
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRegistry(
  engine: string,
  host = process.env.SC_HOST_ADDR || '127.0.0.1',
): Promise<RegistryLab> {
  const dir = mkdtempSync(join(tmpdir(), 'sc-registry-'));
  const user = 'e2e-deployer';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', user, password]));
  const port = await freePort(host);
  const address = `${host}:${port}`;
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: {level: warn}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
      `http: {addr: "${address}"}`,
      `auth: {htpasswd: {realm: e2e, path: ${join(dir, 'htpasswd')}}}`,
    ].join('\n') + '\n',
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await fetch(`http://${address}/v2/`).then(
      (r) => r.status === 401,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`docker-registry did not start on ${address}: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const loggedIn = join(dir, 'docker-config');
  const docker = (config: string | undefined, ...args: string[]) =>
    execFileSync('docker', [...(config ? ['--config', config] : []), ...args], {
      env: { ...process.env, DOCKER_HOST: engine },
      input: args[0] === 'login' ? password : undefined,
      stdio: ['pipe', 'pipe', 'pipe'],
    }).toString();
  docker(loggedIn, 'login', address, '-u', user, '--password-stdin');
  return {
    address,
    user,
    password,
    loggedIn,
    push(engineHost, localImage, repositoryTag) {
      const target = `${address}/${repositoryTag}`;
      execFileSync('docker', ['tag', localImage, target], { env: { ...process.env, DOCKER_HOST: engineHost } });
      const out = execFileSync('docker', ['--config', loggedIn, 'push', target], {
        env: { ...process.env, DOCKER_HOST: engineHost },
      }).toString();
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
      if (!digest) throw new Error(`docker push ${target} printed no digest: ${out}`);
      return digest;
    },
    stop: () => {
      child.kill('SIGTERM');
    },
  };
}
