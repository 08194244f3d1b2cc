/**
 * Private registries and pinned images against a real registry (registry-lab.ts: Debian's
 * docker-registry with basic auth) and the real engine: the login of the docker configuration
 * goes with every create and update (as `--with-registry-auth`), images are pinned to their
 * digest (`--resolve-image`), a tag pushed again rolls out, and what the registry refuses is an
 * error at the manifest's image line with nothing written. No password ever appears in output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  inspectService,
  manifestDir,
  removeNamespace,
  rewrite,
  serviceExists,
  swarmVersions,
  type CliResult,
} from './harness.js';
import { startRegistry, type RegistryLab } from './registry-lab.js';
import { startRun } from './run-controller.js';

const ns = 'e2e-registry';

const manifest = (image: string) => ({
  'web.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  image: ${image}
  replicas: 1
  stopGracePeriod: 1s
  updateConfig: {order: start-first, monitor: 1s}
`,
});

describe('private registries and pinned images', { timeout: 600_000 }, () => {
  let engine: string;
  let registry: RegistryLab;
  let image: string;
  let dir: string;
  let firstDigest: string;
  let secondDigest: string;
  const outputs: CliResult[] = [];
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const r = await controller(args, { env });
    outputs.push(r);
    return r;
  };

  before(async () => {
    engine = ensureSwarm();
    registry = await startRegistry(engine);
    image = `${registry.address}/e2e/private:1`;
    firstDigest = registry.push(engine, 'swarm-controller/test-app:1', 'e2e/private:1');
    // Only the registry has it now: the node must pull it, with the login.
    await docker('rmi', image);
    dir = await manifestDir(ns, manifest(image));
  });

  after(async () => {
    await removeNamespace(ns);
    registry?.stop();
    await docker('rmi', 'e2e-registry/app:2').catch(() => '');
    await docker('rmi', 'e2e-registry/app:3').catch(() => '');
    for (const r of outputs) {
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(registry.password), 'the password never shows');
    }
  });

  it('without a login: an error at the image line naming the image and the registry; nothing written', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sc-no-login-'));
    const before = await swarmVersions();
    const r = await run(['apply', '-f', dir], { DOCKER_CONFIG: empty });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `web\\.yaml:5:3: error SC5008: Service "${ns}/web" spec\\.image: registry ${registry.address.replace(/\./g, '\\.')} wants a login for image "${image.replace(/\./g, '\\.')}"`,
      ),
    );
    assert.match(r.stderr, /fix: run "docker login /);
    assert.match(r.stderr, /1 image refused by the registry; nothing was sent to the Swarm\./);
    assert.deepEqual(await swarmVersions(), before);
  });

  it('with a wrong password: the registry refused the login; nothing written', async () => {
    const wrong = mkdtempSync(join(tmpdir(), 'sc-wrong-login-'));
    const auth = Buffer.from(`${registry.user}:not-the-password`).toString('base64');
    writeFileSync(join(wrong, 'config.json'), JSON.stringify({ auths: { [registry.address]: { auth } } }));
    const r = await run(['plan', '-f', dir], { DOCKER_CONFIG: wrong });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error SC5008: .*registry \S+ refused the login of the docker configuration for image/);
    assert.equal(await serviceExists(`${ns}_web`), false);
  });

  it('a tag that does not exist is an error naming it', async () => {
    const missing = await manifestDir(ns, manifest(`${registry.address}/e2e/private:404`));
    const r = await run(['plan', '-f', missing], { DOCKER_CONFIG: registry.loggedIn });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error SC5008: .*image "\S+\/e2e\/private:404" does not exist in registry/);
  });

  it('with the login: pinned to the digest, the login sent along, and the task runs', async () => {
    const plan = await run(['plan', '-f', dir], { DOCKER_CONFIG: registry.loggedIn });
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(
      plan.stdout,
      new RegExp(`spec\\.image: "${image.replace(/\./g, '\\.')}"`),
      'plans show the requested reference',
    );
    assert.match(
      plan.stdout,
      new RegExp(`spec\\.image: "${image.replace(/\./g, '\\.')}"\n\\s+spec\\.image@digest: "${firstDigest}"`),
    );
    const apply = await run(['apply', '-f', dir, '--wait', '--timeout', '120s'], { DOCKER_CONFIG: registry.loggedIn });
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    const spec = (await inspectService(`${ns}_web`)).Spec;
    assert.equal(spec.TaskTemplate.ContainerSpec.Image, `${image}@${firstDigest}`);
    assert.equal(spec.Labels['swarm.controller/image'], image);
    assert.deepEqual(spec.TaskTemplate.Placement.Platforms, [{ Architecture: 'amd64', OS: 'linux' }]);
  });

  it('plans nothing and writes nothing while the digest is the same', async () => {
    const before = await swarmVersions();
    const plan = await run(['plan', '-f', dir], { DOCKER_CONFIG: registry.loggedIn });
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    const apply = await run(['apply', '-f', dir], { DOCKER_CONFIG: registry.loggedIn });
    assert.equal(apply.code, 0, apply.stderr);
    assert.deepEqual(await swarmVersions(), before);
  });

  it('a new digest pushed under the same tag is planned as an image change and rolls out', async () => {
    // Another image under the same tag (the test-app tags are one image): a commit with a new label.
    const container = (await docker('create', 'swarm-controller/test-app:1')).trim();
    await docker('commit', '--change', 'LABEL e2e.registry.build=2', container, 'e2e-registry/app:2');
    await docker('rm', container);
    secondDigest = registry.push(engine, 'e2e-registry/app:2', 'e2e/private:1');
    await docker('rmi', image);
    assert.notEqual(secondDigest, firstDigest);
    const never = await run(['plan', '-f', dir, '--resolve-image', 'never'], { DOCKER_CONFIG: registry.loggedIn });
    assert.equal(never.code, 0, '--resolve-image never does not ask the registry: no change');
    const changed = await run(['plan', '-f', dir, '--resolve-image', 'changed'], { DOCKER_CONFIG: registry.loggedIn });
    assert.equal(changed.code, 0, '--resolve-image changed asks only for changed references: no change');
    const plan = await run(['plan', '-f', dir], { DOCKER_CONFIG: registry.loggedIn });
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /reason: image changed, restarts tasks/);
    assert.match(plan.stdout, new RegExp(`spec\\.image@digest: "${firstDigest}" -> "${secondDigest}"`));
    const apply = await run(['apply', '-f', dir, '--wait', '--timeout', '120s'], { DOCKER_CONFIG: registry.loggedIn });
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.equal((await inspectService(`${ns}_web`)).Spec.TaskTemplate.ContainerSpec.Image, `${image}@${secondDigest}`);
    await eventually(
      async () => {
        const ids = (await docker('service', 'ps', '-q', '--filter', 'desired-state=running', `${ns}_web`))
          .split('\n')
          .filter(Boolean);
        if (ids.length !== 1) return false;
        const task = JSON.parse(await docker('inspect', ids[0]))[0];
        return task.Spec.ContainerSpec.Image === `${image}@${secondDigest}` && task.Status.State === 'running';
      },
      60_000,
      'the task on the new digest',
    );
  });

  it('controller run --image-check finds a new digest under the tag and rolls it out, saying so in status and metrics', async () => {
    const run = await startRun(ns, dir, ['--image-check', '2s'], { DOCKER_CONFIG: registry.loggedIn });
    try {
      await eventually(
        async () => (await run.status().catch(() => ({}) as Record<string, any>)).lastSync?.result === 'success',
        60_000,
        'the first sync',
      );
      const container = (await docker('create', 'swarm-controller/test-app:1')).trim();
      await docker('commit', '--change', 'LABEL e2e.registry.build=3', container, 'e2e-registry/app:3');
      await docker('rm', container);
      const thirdDigest = registry.push(engine, 'e2e-registry/app:3', 'e2e/private:1');
      await docker('rmi', image, 'e2e-registry/app:3');
      await eventually(
        async () =>
          (await inspectService(`${ns}_web`)).Spec.TaskTemplate.ContainerSpec.Image === `${image}@${thirdDigest}`,
        60_000,
        'the service on the new digest',
      );
      const status = await run.status();
      assert.equal(status.images.mode, 'always');
      assert.equal(status.images.checkIntervalMs, 2000);
      assert.ok(status.images.lastCheck, 'the last check is shown');
      assert.deepEqual(status.images.lastChange.changed, [{ image, from: secondDigest, to: thirdDigest }]);
      assert.match(await run.metrics(), /^swarm_controller_image_digest_changes_total 1$/m);
      assert.match(run.output(), new RegExp(`image ${image.replace(/\./g, '\\.')} has a new digest: rolling it out`));
      assert.match(run.output(), new RegExp(`"from":"${secondDigest}","to":"${thirdDigest}"`));
    } finally {
      assert.equal(await run.stop(), 0);
    }
  });

  it('takes the login from a credential helper (credsStore)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sc-cred-helper-'));
    const bin = join(home, 'bin');
    mkdirSync(bin);
    // The docker-credential-* protocol: `get`, the server URL on stdin, JSON on stdout.
    writeFileSync(
      join(bin, 'docker-credential-e2e'),
      `#!/bin/sh\nread url\nif [ "$url" = "${registry.address}" ]; then printf '{"ServerURL":"%s","Username":"${registry.user}","Secret":"${registry.password}"}' "$url"; else echo "credentials not found in native keychain"; exit 1; fi\n`,
    );
    chmodSync(join(bin, 'docker-credential-e2e'), 0o755);
    const config = join(home, 'docker');
    mkdirSync(config);
    writeFileSync(join(config, 'config.json'), JSON.stringify({ credsStore: 'e2e' }));
    await rewrite(dir, manifest(image.replace(':1', ':1')));
    const r = await run(['plan', '-f', dir], { DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH ?? ''}` });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
