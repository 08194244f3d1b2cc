/**
 * Connecting as the docker CLI does, against real parts: contexts made by the real docker CLI
 * (`docker context create` / `use` in a config directory of the test's own), and an engine
 * reached over ssh through a real OpenSSH server in a network namespace of the test's own
 * (ssh-lab.ts), whose sessions run `docker system dial-stdio` against the test Swarm.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFileSync, existsSync } from 'node:fs';
import {
  ensureSwarm,
  localEngine,
  manifestDir,
  publishedAddr,
  removeNamespace,
  repoRoot,
  swarmVersions,
  type CliResult,
} from './harness.js';
import { asRootWithHome, startSshLab, type SshLab } from './ssh-lab.js';

const ns = 'e2e-conn';
const cli = join(repoRoot, 'dist/src/cli/main.js');

const manifests = {
  'app.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: net, namespace: ${ns}}
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 0
  networks: [net]
`,
};

/** The controller with exactly this environment (no DOCKER_HOST unless given), as root with `home`. */
function controllerAs(home: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  const argv = asRootWithHome(home, [process.execPath, cli, ...args]);
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' };
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: repoRoot, env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('connecting as the docker CLI does: contexts, DOCKER_HOST, ssh', { timeout: 300_000 }, () => {
  let engine: string;
  let lab: SshLab;
  let config: string;
  let dir: string;

  before(async () => {
    engine = ensureSwarm();
    lab = await startSshLab({ name: 'sc-e2e-ssh', prefix: '10.219.7', sessionEnv: { DOCKER_HOST: engine } });
    config = mkdtempSync(join(tmpdir(), 'sc-docker-config-'));
    const dockerCli = (...args: string[]) =>
      execFileSync('docker', ['--config', config, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: 'pipe' });
    dockerCli('context', 'create', 'lab-ssh', '--docker', `host=ssh://root@${lab.address}`);
    dockerCli('context', 'create', 'lab-unix', '--docker', `host=${engine}`);
    dockerCli('context', 'use', 'lab-ssh');
    dir = await manifestDir(ns, manifests);
  });

  after(async () => {
    lab?.stop();
    await removeNamespace(ns);
  });

  it('plans and applies over ssh through the current context of config.json', async () => {
    const plan = await controllerAs(lab.clientHome, ['plan', '-f', dir], { DOCKER_CONFIG: config });
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    assert.match(
      plan.stdout,
      new RegExp(
        `^Apply set "${ns}" on ssh://root@${lab.address.replace(/\./g, '\\.')} \\(context "lab-ssh" \\(currentContext in ${config}/config\\.json\\)\\), engine \\S+, API 1\\.\\d+$`,
        'm',
      ),
    );
    const apply = await controllerAs(lab.clientHome, ['apply', '-f', dir, '--wait', '--timeout', '60s'], {
      DOCKER_CONFIG: config,
    });
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(apply.stderr, /Apply complete: 2 of 2 changes applied/);
  });

  it('writes nothing on a second apply over ssh (DOCKER_CONTEXT)', async () => {
    const before = await swarmVersions();
    const apply = await controllerAs(lab.clientHome, ['apply', '-f', dir], {
      DOCKER_CONFIG: config,
      DOCKER_CONTEXT: 'lab-ssh',
    });
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stderr, /^Engine: ssh:\/\/root@\S+ \(context "lab-ssh" \(DOCKER_CONTEXT\)\)/m);
    assert.deepEqual(await swarmVersions(), before);
  });

  it('follows the CLI order: --context, --host, DOCKER_HOST, DOCKER_CONTEXT, config.json', async () => {
    const plan = (args: string[], env: Record<string, string>) =>
      controllerAs(lab.clientHome, ['plan', '-f', dir, ...args], { DOCKER_CONFIG: config, ...env });
    const viaHost = await plan([], { DOCKER_HOST: engine, DOCKER_CONTEXT: 'lab-ssh' });
    assert.equal(viaHost.code, 0, viaHost.stderr);
    assert.match(viaHost.stdout, new RegExp(`^Apply set "${ns}" on ${engine} \\(DOCKER_HOST\\)`, 'm'));
    const viaFlag = await plan(['--context', 'lab-unix'], { DOCKER_HOST: 'unix:///nonexistent.sock' });
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    assert.match(viaFlag.stdout, /^Apply set "e2e-conn" on unix:\/\/\S+ \(context "lab-unix" \(--context\)\)/m);
    const both = await plan(['--context', 'lab-unix', '--host', engine], {});
    assert.equal(both.code, 1);
    assert.match(both.stderr, /conflicting options: either specify --host or --context, not both/);
  });

  it('refuses an unknown context, naming those that exist', async () => {
    const r = await controllerAs(lab.clientHome, ['plan', '-f', dir], {
      DOCKER_CONFIG: config,
      DOCKER_CONTEXT: 'lab-shh',
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /error SC5007: docker context "lab-shh" \(DOCKER_CONTEXT\) does not exist; the contexts are: default, lab-ssh, lab-unix/,
    );
  });

  it('names an engine it cannot reach, and how it was chosen', async () => {
    const r = await controllerAs(lab.clientHome, ['plan', '-f', dir, '--host', 'unix:///run/sc-nothing-here.sock'], {});
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /error SC5001: cannot reach the Docker engine at unix:\/\/\/run\/sc-nothing-here\.sock \(--host\)/,
    );
  });

  // The newer engines of scripts/local-swarm.sh also listen on TCP with TLS (client files in tls/client).
  const tlsDir = localEngine().stateDir ? join(localEngine().stateDir!, 'tls', 'client') : '';
  const noTls =
    !tlsDir || !existsSync(tlsDir) ? 'the engine under test has no TLS listener (bookworm): runs on sid' : false;

  it('speaks TLS to tcp:// with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', { skip: noTls }, async () => {
    const host = `tcp://${publishedAddr}:2376`;
    const r = await controllerAs(lab.clientHome, ['plan', '-f', dir], {
      DOCKER_HOST: host,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: tlsDir,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^Apply set "${ns}" on ${host.replace(/\./g, '\\.')} \\(DOCKER_HOST\\), engine`, 'm'),
    );
    // Without a client certificate the engine refuses the connection.
    const caOnly = mkdtempSync(join(tmpdir(), 'sc-ca-only-'));
    copyFileSync(join(tlsDir, 'ca.pem'), join(caOnly, 'ca.pem'));
    const refused = await controllerAs(lab.clientHome, ['plan', '-f', dir], {
      DOCKER_HOST: host,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: caOnly,
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /error SC5001: cannot reach the Docker engine at tcp:\/\/\S+:2376 \(DOCKER_HOST\)/);
  });

  it('uses the TLS files of a context made by docker context create', { skip: noTls }, async () => {
    execFileSync(
      'docker',
      [
        '--config',
        config,
        'context',
        'create',
        'lab-tls',
        '--docker',
        `host=tcp://${publishedAddr}:2376,ca=${tlsDir}/ca.pem,cert=${tlsDir}/cert.pem,key=${tlsDir}/key.pem`,
      ],
      { stdio: 'pipe' },
    );
    const r = await controllerAs(lab.clientHome, ['plan', '-f', dir, '--context', 'lab-tls'], {
      DOCKER_CONFIG: config,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /on tcp:\/\/\S+:2376 \(context "lab-tls" \(--context\)\)/);
  });

  it('refuses an ssh host whose key does not match known_hosts, and writes nothing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sc-wrong-known-hosts-'));
    execFileSync('cp', ['-a', join(lab.clientHome, '.ssh'), home]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(home, 'other')]);
    const otherKey = readFileSync(join(home, 'other.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    writeFileSync(join(home, '.ssh', 'known_hosts'), `${lab.address} ${otherKey}\n`);
    const before = await swarmVersions();
    const r = await controllerAs(home, ['apply', '-f', dir, '--set', ns], { DOCKER_CONFIG: config });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /error SC5001: cannot reach the Docker engine at ssh:\/\/root@\S+ \(context "lab-ssh"/);
    assert.match(r.stderr, /Host key verification failed/);
    assert.deepEqual(await swarmVersions(), before);
  });
});
