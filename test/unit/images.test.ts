import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalImage, parseImageRef, withDigest } from '../../src/api/image-ref.js';
import { imagesToResolve, resolveImages } from '../../src/apply/resolve-images.js';
import { digestFields, imageToWrite, liveImage } from '../../src/plan/image-pins.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { buildServiceSpec } from '../../src/plan/swarm-spec.js';
import { encodeRegistryAuth, RegistryCredentials, type HelperRunner } from '../../src/swarm/registry-auth.js';
import { TerminalError } from '../../src/errors.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { ImageWatch } from '../../src/controller/image-watch.js';
import { createLogger } from '../../src/log.js';
import { desiredFrom, service } from '../helpers/manifests.js';

const digestA = 'sha256:' + 'a'.repeat(64);
const digestB = 'sha256:' + 'b'.repeat(64);

describe('image references, as the docker CLI reads them', () => {
  it('finds the registry, repository, tag and digest', () => {
    assert.deepEqual(parseImageRef('nginx'), { registry: 'docker.io', repository: 'nginx' });
    assert.deepEqual(parseImageRef('docker.io/library/nginx:1.27'), {
      registry: 'docker.io',
      repository: 'nginx',
      tag: '1.27',
    });
    assert.deepEqual(parseImageRef('localhost:5000/team/app:2@' + digestA), {
      registry: 'localhost:5000',
      repository: 'team/app',
      tag: '2',
      digest: digestA,
    });
    assert.deepEqual(parseImageRef('grafana/grafana'), { registry: 'docker.io', repository: 'grafana/grafana' });
  });

  it('means :latest by an untagged image, as docker stack deploy writes it', () => {
    assert.equal(canonicalImage('nginx'), 'nginx:latest');
    assert.equal(canonicalImage('docker.io/library/nginx'), 'nginx:latest');
    assert.equal(canonicalImage('registry.example.com/app'), 'registry.example.com/app:latest');
    assert.equal(canonicalImage('app@' + digestA), 'app@' + digestA);
    assert.equal(withDigest('app:1', digestB), `app:1@${digestB}`);
  });
});

describe('pinned images', () => {
  const desired = desiredFrom(service('web', 'image: registry.example.com/app:1', '  namespace: shop\n')).services[0];
  const pinned = { ...desired, pin: { digest: digestB, platforms: [{ Architecture: 'amd64', OS: 'linux' }] } };
  const liveSpec = (image: string) => ({ Name: 'shop_web', TaskTemplate: { ContainerSpec: { Image: image } } });

  it('reads the requested image and the digest it is pinned to from a live spec', () => {
    assert.deepEqual(liveImage(liveSpec(`registry.example.com/app:1@${digestA}`)), {
      requested: 'registry.example.com/app:1',
      digest: digestA,
    });
    assert.deepEqual(liveImage(liveSpec('nginx')), { requested: 'nginx:latest' });
  });

  it('writes the resolved digest, and carries the live one forward when none was resolved', () => {
    assert.equal(
      imageToWrite(pinned, liveSpec(`registry.example.com/app:1@${digestA}`)).image,
      `registry.example.com/app:1@${digestB}`,
    );
    assert.deepEqual(imageToWrite(pinned, undefined).platforms, [{ Architecture: 'amd64', OS: 'linux' }]);
    assert.equal(
      imageToWrite(desired, liveSpec(`registry.example.com/app:1@${digestA}`)).image,
      `registry.example.com/app:1@${digestA}`,
    );
    assert.equal(
      imageToWrite(desired, liveSpec(`registry.example.com/app:0@${digestA}`)).image,
      'registry.example.com/app:1',
    );
    const spec = buildServiceSpec(pinned, { applySet: 'x', networkIds: new Map() });
    assert.equal(spec.TaskTemplate?.ContainerSpec?.Image, `registry.example.com/app:1@${digestB}`);
    assert.equal(
      spec.Labels?.['swarm.controller/image'],
      'registry.example.com/app:1',
      'the requested reference is kept',
    );
  });

  it('plans a new digest under the same tag as an image change that restarts tasks', () => {
    assert.deepEqual(digestFields(pinned, liveSpec(`registry.example.com/app:1@${digestA}`)), [
      { path: 'spec.image@digest', before: digestA, after: digestB },
    ]);
    assert.deepEqual(digestFields(pinned, liveSpec(`registry.example.com/app:1@${digestB}`)), []);
    assert.deepEqual(
      digestFields(desired, liveSpec(`registry.example.com/app:1@${digestA}`)),
      [],
      'nothing resolved: no change',
    );

    const swarm = new FakeSwarm();
    const spec = buildServiceSpec(desired, { applySet: 'shop', networkIds: new Map() });
    spec.TaskTemplate!.ContainerSpec!.Image = `registry.example.com/app:1@${digestA}`;
    void swarm.createService(spec);
    const live = { services: [...swarm.services.values()], networks: [], configs: [], secrets: [], routeConfigs: [] };
    const plan = buildPlan({ networks: [], services: [pinned], routes: [], configs: [], secrets: [] }, live, {
      applySet: 'shop',
    });
    assert.equal(plan.changes.length, 1);
    assert.equal(plan.changes[0].action, 'update');
    assert.equal(plan.changes[0].restartsTasks, true);
    assert.equal(plan.changes[0].reason, 'image changed');
    const unpinned = buildPlan({ networks: [], services: [desired], routes: [], configs: [], secrets: [] }, live, {
      applySet: 'shop',
    });
    assert.equal(
      unpinned.changes.length,
      0,
      'a pinned service whose tag is unchanged plans nothing under --resolve-image never',
    );
  });
});

describe('--resolve-image', () => {
  const desired = desiredFrom(
    service('web', 'image: registry.example.com/app:1', '  namespace: shop\n') +
      service('api', 'image: registry.example.com/app:1', '  namespace: shop\n') +
      service('db', 'image: postgres:16', '  namespace: shop\n') +
      service('cache', `image: redis@${digestA}`, '  namespace: shop\n'),
  );
  const liveWith = (image: string) => [
    { ID: 'x', Version: { Index: 1 }, Spec: { Name: 'shop_db', TaskTemplate: { ContainerSpec: { Image: image } } } },
  ];

  it('asks for each image once, never for one that names its digest; changed: only new or changed images', () => {
    assert.deepEqual(
      [...imagesToResolve(desired.services, [], 'always').keys()],
      ['registry.example.com/app:1', 'postgres:16'],
    );
    assert.deepEqual([...imagesToResolve(desired.services, [], 'never').keys()], []);
    const unchanged = liveWith(`postgres:16@${digestA}`) as never;
    assert.deepEqual(
      [...imagesToResolve(desired.services, unchanged, 'changed').keys()],
      ['registry.example.com/app:1'],
    );
    assert.deepEqual(
      [...imagesToResolve(desired.services, liveWith('postgres:15') as never, 'changed').keys()].sort(),
      ['postgres:16', 'registry.example.com/app:1'],
    );
  });

  it('pins what resolved, reports refusals as problems and unreachable registries as warnings', async () => {
    const swarm = new FakeSwarm();
    swarm.registry.set('registry.example.com/app:1', { digest: digestB, platforms: [] });
    const r = await resolveImages(desired, [], 'always', swarm);
    assert.deepEqual(
      r.desired.services.map((s) => [s.ref.name, s.pin?.digest]),
      [
        ['web', digestB],
        ['api', digestB],
        ['db', undefined],
        ['cache', undefined],
      ],
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.warnings.map((w) => [w.image, w.services.map((s) => s.name)]),
      [['postgres:16', ['db']]],
    );
  });
});

describe('registry credentials, found as the docker CLI finds them', () => {
  const config = (content: object) => {
    const dir = mkdtempSync(join(tmpdir(), 'sc-docker-config-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(content));
    return { DOCKER_CONFIG: dir };
  };
  const decode = (auth: string | undefined) =>
    auth ? JSON.parse(Buffer.from(auth, 'base64url').toString()) : undefined;

  it('reads `auths` (by host, whatever scheme or path the key has), Docker Hub under index.docker.io/v1/', async () => {
    const creds = new RegistryCredentials(
      config({
        auths: {
          'https://registry.example.com/v2/': { auth: Buffer.from('alice:s3cret').toString('base64') },
          'https://index.docker.io/v1/': { auth: Buffer.from('bob:hub').toString('base64') },
        },
      }),
    );
    assert.deepEqual(decode(await creds.authFor('registry.example.com')), {
      username: 'alice',
      password: 's3cret',
      serveraddress: 'registry.example.com',
    });
    assert.equal(decode(await creds.authFor('docker.io')).username, 'bob');
    assert.equal(await creds.authFor('ghcr.io'), undefined);
  });

  it('asks credHelpers, then credsStore, with docker-credential-<name> get', async () => {
    const asked: string[] = [];
    const helper: HelperRunner = async (name, url) => {
      asked.push(`${name} ${url}`);
      if (name === 'ecr-login')
        return { code: 0, stdout: JSON.stringify({ Username: 'AWS', Secret: 'token-1' }), stderr: '' };
      if (url === 'https://index.docker.io/v1/')
        return { code: 0, stdout: JSON.stringify({ Username: '<token>', Secret: 'idt' }), stderr: '' };
      return { code: 1, stdout: 'credentials not found in native keychain', stderr: '' };
    };
    const creds = new RegistryCredentials(
      config({ credsStore: 'pass', credHelpers: { '1.dkr.ecr.aws': 'ecr-login' } }),
      helper,
    );
    assert.deepEqual(decode(await creds.authFor('1.dkr.ecr.aws')), {
      username: 'AWS',
      password: 'token-1',
      serveraddress: '1.dkr.ecr.aws',
    });
    assert.deepEqual(decode(await creds.authFor('docker.io')), {
      identitytoken: 'idt',
      serveraddress: 'https://index.docker.io/v1/',
    });
    assert.equal(await creds.authFor('quay.io'), undefined, '"credentials not found" means none');
    await creds.authFor('docker.io');
    assert.deepEqual(
      asked,
      ['ecr-login 1.dkr.ecr.aws', 'pass https://index.docker.io/v1/', 'pass quay.io'],
      'each registry asked once',
    );
  });

  it('says which helper failed, without the secret', async () => {
    const helper: HelperRunner = async () => ({ code: 1, stdout: '', stderr: 'gpg: decryption failed: No secret key' });
    const creds = new RegistryCredentials(config({ credsStore: 'pass' }), helper);
    await assert.rejects(creds.authFor('registry.example.com'), (err: unknown) => {
      assert.ok(err instanceof TerminalError && err.code === 'SC5007');
      assert.match(
        err.message,
        /docker-credential-pass .* failed for registry registry\.example\.com: gpg: decryption failed/,
      );
      return true;
    });
  });

  it('encodes X-Registry-Auth as the CLI does (base64 with the URL alphabet and padding)', () => {
    const encoded = encodeRegistryAuth({ username: 'a', password: 'b?>', serveraddress: 'r' });
    assert.doesNotMatch(encoded, /[+/]/);
    assert.match(encoded, /=$/, 'padded, as Go base64.URLEncoding wants');
    assert.deepEqual(decode(encoded), { username: 'a', password: 'b?>', serveraddress: 'r' });
  });
});

describe('controller run: images per revision and --image-check', () => {
  const desired = desiredFrom(
    service('web', 'image: registry.example.com/app:1', '  namespace: shop\n') +
      service('db', 'image: registry.example.com/db:16', '  namespace: shop\n'),
  );
  const counted: string[] = [];
  const watch = (swarm: FakeSwarm) =>
    new ImageWatch(
      swarm,
      { mode: 'always', checkIntervalMs: 300_000 },
      createLogger({ level: 'silent' }),
      {
        imageCheck: (result, n) => counted.push(`${result}:${n}`),
        pinnedImages: (n) => counted.push(`pinned:${n}`),
      },
      () => Date.parse('2026-12-06T00:00:00Z'),
    );

  it('pins a revision, then finds a digest that moved and returns the desired state to roll out', async () => {
    const swarm = new FakeSwarm();
    swarm.registry.set('registry.example.com/app:1', { digest: digestA, platforms: [] });
    swarm.registry.set('registry.example.com/db:16', { digest: digestA, platforms: [] });
    const w = watch(swarm);
    const first = await w.forRevision(desired, []);
    assert.equal(first.problems.length, 0);
    assert.equal(await w.check(first.desired), undefined, 'nothing moved');
    swarm.registry.set('registry.example.com/app:1', { digest: digestB, platforms: [] });
    const next = await w.check(first.desired);
    assert.deepEqual(
      next?.services.map((s) => s.pin?.digest),
      [digestB, digestA],
    );
    assert.deepEqual(w.status().lastChange?.changed, [
      { image: 'registry.example.com/app:1', from: digestA, to: digestB },
    ]);
    assert.deepEqual(counted, ['pinned:2', 'unchanged:0', 'changed:1', 'pinned:2']);
  });
});
