/**
 * Tests of the manifest API generated from crds/*.yaml: the schemas compile with ajv, accept
 * complete manifests, reject unknown fields and wrong types, and the generated files on disk
 * are up to date (the same check as `npm run gen:check`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  GenerateError,
  findRepoRoot,
  findStaleFiles,
  generateFiles,
  loadCrds,
  writeGeneratedFiles,
} from '../../scripts/generate.js';
import {
  findKind,
  kinds,
  supportedApiVersions,
  type NetworkManifest,
  type ServiceManifest,
} from '../../src/api/schemas.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>(kinds.map((k) => [k.kind, ajv.compile(k.schema)]));

function errorsOf(kind: string, manifest: unknown): ErrorObject[] {
  const validate = validators.get(kind);
  assert.ok(validate, `no validator for ${kind}`);
  return validate(manifest) ? [] : [...(validate.errors ?? [])];
}

function assertValid(kind: string, manifest: unknown): void {
  const errors = errorsOf(kind, manifest);
  assert.deepEqual(errors, [], `expected a valid ${kind}:\n${ajv.errorsText(errors, { separator: '\n' })}`);
}

/** Asserts that validation fails with an error of `keyword` at `instancePath`. */
function assertRejected(kind: string, manifest: unknown, instancePath: string, keyword: string): ErrorObject {
  const errors = errorsOf(kind, manifest);
  const match = errors.find((e) => e.instancePath === instancePath && e.keyword === keyword);
  assert.ok(
    match,
    `expected a "${keyword}" error at "${instancePath}", got:\n${errors.map((e) => `  ${e.instancePath} ${e.keyword}: ${e.message}`).join('\n') || '  (valid)'}`,
  );
  return match;
}

/** A deep copy of `base` changed by `edit`. */
function withChange<T>(base: T, edit: (copy: any) => void): unknown {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}

// Typed with the generated types, so the build also checks that the types accept every field.
const fullService: ServiceManifest = {
  apiVersion: 'swarm.controller/v1alpha1',
  kind: 'Service',
  metadata: { name: 'api', namespace: 'shop', labels: { app: 'shop', tier: 'backend' } },
  spec: {
    image: 'ghcr.io/acme/api:1.4.2',
    command: ['/usr/bin/tini', '--'],
    args: ['node', 'server.js', '--port', '8080'],
    env: { LOG_LEVEL: 'info', WORKERS: 4, DEBUG: false, RATIO: 0.5 },
    workdir: '/app',
    user: '1000:1000',
    hostname: 'api',
    mode: 'replicated',
    replicas: 3,
    networks: ['frontend', { name: 'backend', aliases: ['api', 'api-internal'] }],
    ports: [
      { target: 8080, published: 80, protocol: 'tcp', mode: 'ingress' },
      { target: 9090, published: 9090, protocol: 'udp', mode: 'host' },
      { target: 7000 },
    ],
    endpointMode: 'vip',
    placement: {
      constraints: ['node.role == worker', 'node.labels.disk == ssd'],
      preferences: [{ spread: 'node.labels.zone' }],
      maxReplicasPerNode: 2,
    },
    resources: {
      limits: { cpus: '0.5', memory: '256Mi' },
      reservations: { cpus: '250m', memory: 67108864 },
    },
    updateConfig: {
      parallelism: 2,
      delay: '10s',
      order: 'start-first',
      failureAction: 'rollback',
      monitor: '1m30s',
      maxFailureRatio: 0.25,
    },
    rollbackConfig: {
      parallelism: 0,
      delay: '500ms',
      order: 'stop-first',
      failureAction: 'continue',
      monitor: '5s',
      maxFailureRatio: 0,
    },
    restartPolicy: { condition: 'on-failure', delay: '5s', maxAttempts: 5, window: '2m' },
    healthcheck: {
      test: ['CMD', 'curl', '-f', 'http://localhost:8080/healthz'],
      interval: '30s',
      timeout: '5s',
      startPeriod: '1m',
      retries: 3,
      disable: false,
    },
    stopGracePeriod: '30s',
    mounts: [
      {
        type: 'volume',
        source: 'api-data',
        target: '/var/lib/api',
        readOnly: false,
        volume: {
          noCopy: true,
          labels: { backup: 'daily' },
          driver: 'local',
          driverOptions: { type: 'tmpfs', device: 'tmpfs' },
        },
      },
      { type: 'bind', source: '/etc/api', target: '/etc/api', readOnly: true, bind: { propagation: 'rslave' } },
      { type: 'tmpfs', target: '/tmp', tmpfs: { size: '64Mi', mode: '1777' } },
    ],
    containerLabels: { team: 'api' },
  },
};

const fullNetwork: NetworkManifest = {
  apiVersion: 'swarm.controller/v1alpha1',
  kind: 'Network',
  metadata: { name: 'backend', namespace: 'shop', labels: { app: 'shop' } },
  spec: {
    external: false,
    driver: 'overlay',
    attachable: true,
    internal: true,
    encrypted: true,
    options: { 'com.docker.network.driver.mtu': '1400' },
    ipam: {
      driver: 'default',
      subnets: [
        { subnet: '10.20.0.0/24', gateway: '10.20.0.1', ipRange: '10.20.0.128/25' },
        { subnet: '10.21.0.0/16' },
      ],
    },
  },
};

const externalNetwork: NetworkManifest = {
  apiVersion: 'swarm.controller/v1alpha1',
  kind: 'Network',
  metadata: { name: 'traefik-public' },
  spec: { external: true },
};

describe('CRD schemas', () => {
  it('are registered for every kind under swarm.controller/v1alpha1', () => {
    assert.deepEqual(
      kinds.map((k) => [k.apiVersion, k.kind, k.plural]),
      [
        ['swarm.controller/v1alpha1', 'Config', 'configs'],
        ['swarm.controller/v1alpha1', 'Network', 'networks'],
        ['swarm.controller/v1alpha1', 'Route', 'routes'],
        ['swarm.controller/v1alpha1', 'Secret', 'secrets'],
        ['swarm.controller/v1alpha1', 'Service', 'services'],
      ],
    );
    assert.deepEqual(supportedApiVersions, ['swarm.controller/v1alpha1']);
    assert.equal(findKind('swarm.controller/v1alpha1', 'Service')?.plural, 'services');
    assert.equal(findKind('swarm.controller/v1alpha1', 'Deployment'), undefined);
    assert.equal(findKind('swarm.controller/v1', 'Service'), undefined);
  });

  it('compile with ajv, also in strict mode', () => {
    for (const kind of kinds) {
      assert.doesNotThrow(() => new Ajv({ allErrors: true, strict: false }).compile(kind.schema), kind.kind);
      assert.doesNotThrow(
        () => new Ajv({ allErrors: true, strict: true }).compile(kind.schema),
        `${kind.kind} (strict)`,
      );
    }
  });

  it('match the CRD files', () => {
    const root = findRepoRoot();
    for (const crd of loadCrds(root)) {
      assert.deepEqual(findKind(`${crd.group}/${crd.version}`, crd.kind)?.schema, crd.schema, crd.file);
    }
  });
});

describe('valid manifests', () => {
  it('accept a Service with every field', () => assertValid('Service', fullService));
  it('accept a Network with every field', () => assertValid('Network', fullNetwork));
  it('accept an external Network', () => assertValid('Network', externalNetwork));

  it('accept minimal manifests', () => {
    assertValid('Service', {
      apiVersion: 'swarm.controller/v1alpha1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { image: 'nginx' },
    });
    assertValid('Network', { apiVersion: 'swarm.controller/v1alpha1', kind: 'Network', metadata: { name: 'net' } });
    assertValid('Network', {
      apiVersion: 'swarm.controller/v1alpha1',
      kind: 'Network',
      metadata: { name: 'net' },
      spec: {},
    });
  });

  it('accept the examples of the CRDs (shown in docs/reference.md)', () => {
    for (const kind of kinds) {
      const examples = (kind.schema as { examples?: unknown[] }).examples ?? [];
      assert.ok(examples.length > 0, `${kind.kind} has no example`);
      for (const example of examples) assertValid(kind.kind, example);
    }
  });

  it('accept the other value formats', () => {
    const spec = (edit: (s: any) => void) => withChange(fullService, (m) => edit(m.spec));
    assertValid(
      'Service',
      spec((s) => (s.healthcheck = { test: 'curl -f http://localhost/ || exit 1' })),
    );
    assertValid(
      'Service',
      spec((s) => (s.healthcheck = { disable: true })),
    );
    assertValid(
      'Service',
      spec((s) => (s.resources.limits = { cpus: 2, memory: '1.5G' })),
    );
    assertValid(
      'Service',
      spec((s) => (s.stopGracePeriod = '1h2m3.5s')),
    );
    assertValid(
      'Service',
      spec((s) => (s.updateConfig.delay = '250µs')),
    );
    assertValid(
      'Service',
      spec((s) => ((s.mode = 'global'), delete s.replicas)),
    );
    assertValid(
      'Service',
      spec((s) => (s.mounts[2].tmpfs.mode = '700')),
    );
  });
});

describe('unknown fields', () => {
  it('are rejected at spec level', () => {
    const error = assertRejected(
      'Service',
      withChange(fullService, (m) => (m.spec.replica = 2)),
      '/spec',
      'additionalProperties',
    );
    assert.deepEqual(error.params, { additionalProperty: 'replica' });
    assertRejected(
      'Network',
      withChange(fullNetwork, (m) => (m.spec.labels = { a: 'b' })),
      '/spec',
      'additionalProperties',
    );
  });

  it('are rejected in nested objects and array items', () => {
    const error = assertRejected(
      'Service',
      withChange(fullService, (m) => (m.spec.ports[0].targt = 80)),
      '/spec/ports/0',
      'additionalProperties',
    );
    assert.deepEqual(error.params, { additionalProperty: 'targt' });
    const cases: [string, (m: any) => void, string][] = [
      ['top level', (m) => (m.status = {}), ''],
      ['metadata', (m) => (m.metadata.annotations = {}), '/metadata'],
      ['resources.limits', (m) => (m.spec.resources.limits.gpus = 1), '/spec/resources/limits'],
      ['updateConfig', (m) => (m.spec.updateConfig.failure_action = 'pause'), '/spec/updateConfig'],
      ['networks[]', (m) => (m.spec.networks[1].alias = ['x']), '/spec/networks/1'],
      ['mounts[].volume', (m) => (m.spec.mounts[0].volume.nocopy = true), '/spec/mounts/0/volume'],
      ['placement.preferences[]', (m) => (m.spec.placement.preferences[0].zone = 'a'), '/spec/placement/preferences/0'],
    ];
    for (const [, edit, path] of cases)
      assertRejected('Service', withChange(fullService, edit), path, 'additionalProperties');
    assertRejected(
      'Network',
      withChange(fullNetwork, (m) => (m.spec.ipam.subnets[0].gw = '10.20.0.1')),
      '/spec/ipam/subnets/0',
      'additionalProperties',
    );
  });
});

describe('wrong values', () => {
  const service = (edit: (m: any) => void) => withChange(fullService, edit);
  const network = (edit: (m: any) => void) => withChange(fullNetwork, edit);

  it('reject wrong types', () => {
    assertRejected(
      'Service',
      service((m) => (m.spec.replicas = '3')),
      '/spec/replicas',
      'type',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.replicas = 1.5)),
      '/spec/replicas',
      'type',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.image = 42)),
      '/spec/image',
      'type',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.command = 'nginx -g daemon off;')),
      '/spec/command',
      'type',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.ports = { target: 80 })),
      '/spec/ports',
      'type',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.ports[0].target = '80')),
      '/spec/ports/0/target',
      'type',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.env.NESTED = { a: 1 })),
      '/spec/env/NESTED',
      'anyOf',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.networks[0] = 5)),
      '/spec/networks/0',
      'anyOf',
    );
    assertRejected(
      'Service',
      service((m) => (m.metadata.labels.replicas = 3)),
      '/metadata/labels/replicas',
      'type',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.mounts[0].readOnly = 'yes')),
      '/spec/mounts/0/readOnly',
      'type',
    );
    assertRejected(
      'Network',
      network((m) => (m.spec.attachable = 'true')),
      '/spec/attachable',
      'type',
    );
    assertRejected(
      'Network',
      network((m) => (m.spec.options.mtu = 1400)),
      '/spec/options/mtu',
      'type',
    );
  });

  it('reject values outside the allowed range, enum or pattern', () => {
    assertRejected(
      'Service',
      service((m) => (m.spec.replicas = -1)),
      '/spec/replicas',
      'minimum',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.ports[0].target = 70000)),
      '/spec/ports/0/target',
      'maximum',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.ports[0].protocol = 'http')),
      '/spec/ports/0/protocol',
      'enum',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.mode = 'replica')),
      '/spec/mode',
      'enum',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.rollbackConfig.failureAction = 'rollback')),
      '/spec/rollbackConfig/failureAction',
      'enum',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.updateConfig.maxFailureRatio = 1.5)),
      '/spec/updateConfig/maxFailureRatio',
      'maximum',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.stopGracePeriod = '10')),
      '/spec/stopGracePeriod',
      'pattern',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.updateConfig.monitor = '5 s')),
      '/spec/updateConfig/monitor',
      'pattern',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.resources.limits.memory = '256MB')),
      '/spec/resources/limits/memory',
      'anyOf',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.resources.limits.memory = 1.5)),
      '/spec/resources/limits/memory',
      'anyOf',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.resources.limits.cpus = '0.5m')),
      '/spec/resources/limits/cpus',
      'anyOf',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.resources.limits.cpus = -1)),
      '/spec/resources/limits/cpus',
      'anyOf',
    );
    // A relative mount target is valid, as in Swarm and stack deploy (the compose import warns); an empty one is not.
    assertRejected(
      'Service',
      service((m) => (m.spec.mounts[0].target = '')),
      '/spec/mounts/0/target',
      'minLength',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.mounts[2].tmpfs.mode = '999')),
      '/spec/mounts/2/tmpfs/mode',
      'pattern',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.image = '')),
      '/spec/image',
      'minLength',
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.env['A=B'] = 'x')),
      '/spec/env',
      'propertyNames',
    );
    assertRejected(
      'Service',
      service((m) => (m.metadata.name = 'web.1')),
      '/metadata/name',
      'pattern',
    );
    assertRejected(
      'Service',
      service((m) => (m.metadata.namespace = 'my_stack')),
      '/metadata/namespace',
      'pattern',
    );
    assertRejected(
      'Service',
      service((m) => (m.metadata.name = 'a'.repeat(64))),
      '/metadata/name',
      'maxLength',
    );
    assertRejected(
      'Service',
      service((m) => (m.metadata.namespace = '-shop')),
      '/metadata/namespace',
      'pattern',
    );
    assertRejected(
      'Network',
      network((m) => (m.spec.ipam.subnets[0].subnet = '10.20.0.0')),
      '/spec/ipam/subnets/0/subnet',
      'pattern',
    );
    assertRejected(
      'Network',
      network((m) => (m.spec.ipam.subnets[0].gateway = '10.20.0.256')),
      '/spec/ipam/subnets/0/gateway',
      'pattern',
    );
  });

  it('reject a wrong apiVersion or kind, and missing required fields', () => {
    assertRejected(
      'Service',
      service((m) => (m.apiVersion = 'swarm.controller/v1')),
      '/apiVersion',
      'const',
    );
    assertRejected(
      'Service',
      service((m) => (m.kind = 'Network')),
      '/kind',
      'const',
    );
    assertRejected(
      'Service',
      service((m) => delete m.spec),
      '',
      'required',
    );
    assertRejected(
      'Service',
      service((m) => delete m.spec.image),
      '/spec',
      'required',
    );
    assertRejected(
      'Service',
      service((m) => delete m.metadata.name),
      '/metadata',
      'required',
    );
    assertRejected(
      'Service',
      service((m) => delete m.spec.ports[0].target),
      '/spec/ports/0',
      'required',
    );
    assertRejected(
      'Service',
      service((m) => delete m.spec.mounts[0].type),
      '/spec/mounts/0',
      'required',
    );
    assertRejected(
      'Network',
      network((m) => delete m.spec.ipam.subnets[0].subnet),
      '/spec/ipam/subnets/0',
      'required',
    );
  });

  it('reject other fields next to healthcheck disable: true (external networks are checked in cross-checks)', () => {
    assertValid(
      'Network',
      withChange(externalNetwork, (m) => (m.spec.name = 'monitoring_default')),
    );
    assertRejected(
      'Service',
      service((m) => (m.spec.healthcheck.disable = true)),
      '/spec/healthcheck',
      'propertyNames',
    );
  });
});

describe('generated files', () => {
  it('are up to date with crds/ (npm run gen:check)', async () => {
    const stale = await findStaleFiles(findRepoRoot());
    assert.deepEqual(stale, [], `run \`npm run gen\`: ${stale.map((s) => `${s.path} (${s.problem})`).join(', ')}`);
  });

  it('are deterministic', async () => {
    const root = findRepoRoot();
    const [first, second] = [await generateFiles(root), await generateFiles(root)];
    assert.deepEqual(first, second);
    assert.deepEqual(
      first.map((f) => f.path),
      [
        'docs/reference.md',
        'schemas/config.json',
        'schemas/manifest.json',
        'schemas/network.json',
        'schemas/route.json',
        'schemas/secret.json',
        'schemas/service.json',
        'src/api/config.generated.ts',
        'src/api/network.generated.ts',
        'src/api/route.generated.ts',
        'src/api/schemas.generated.ts',
        'src/api/secret.generated.ts',
        'src/api/service.generated.ts',
        'src/api/validators.generated.ts',
      ],
    );
  });

  it('have closed object types and the expected type names', () => {
    const root = findRepoRoot();
    const service = readFileSync(join(root, 'src/api/service.generated.ts'), 'utf8');
    const network = readFileSync(join(root, 'src/api/network.generated.ts'), 'utf8');
    for (const code of [service, network]) {
      assert.match(code, /^\/\* DO NOT EDIT\. Generated by scripts\/generate\.ts from crds\/\w+\.yaml\./);
      assert.doesNotMatch(code, /\[k: string\]: unknown/);
      assert.doesNotMatch(code, /export (interface|type) \w+\d\b/, 'no numbered duplicate types');
    }
    for (const name of [
      'ServiceManifest',
      'ServiceSpec',
      'ObjectMeta',
      'ServicePort',
      'ServiceMount',
      'UpdatePolicy',
      'RollbackPolicy',
      'RestartPolicy',
      'Healthcheck',
      'Resources',
      'ResourceLimits',
      'ResourceReservations',
      'Placement',
      'NetworkAttachment',
      'Duration',
    ]) {
      assert.match(service, new RegExp(`export (interface|type) ${name}\\b`), name);
    }
    for (const name of ['NetworkManifest', 'NetworkSpec', 'ObjectMeta', 'IpamConfig', 'IpamSubnet']) {
      assert.match(network, new RegExp(`export (interface|type) ${name}\\b`), name);
    }
    const reference = readFileSync(join(root, 'docs/reference.md'), 'utf8');
    for (const path of [
      'spec.updateConfig.monitor',
      'spec.ports[].target',
      'spec.ipam.subnets[].gateway',
      'metadata.labels',
    ]) {
      assert.ok(reference.includes(`| \`${path}\` |`), `docs/reference.md documents ${path}`);
    }
  });
});

describe('CRD checks of the generator', () => {
  const crd = readFileSync(join(findRepoRoot(), 'crds/network.yaml'), 'utf8');

  function loadWith(files: Record<string, string>): () => unknown {
    return () => {
      const root = mkdtempSync(join(tmpdir(), 'generate-test-'));
      try {
        writeFileSync(join(root, 'package.json'), '{}');
        mkdirSync(join(root, 'crds'));
        for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'crds', name), text);
        return loadCrds(root);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    };
  }

  it('accept the real CRD in a fresh tree', () => {
    assert.equal((loadWith({ 'network.yaml': crd })() as unknown[]).length, 1);
  });

  it('reject a property without description', () => {
    const broken = crd.replace('                  description: The network driver, e.g. "overlay" or "macvlan".\n', '');
    assert.notEqual(broken, crd);
    assert.throws(
      loadWith({ 'network.yaml': broken }),
      (e: unknown) =>
        e instanceof GenerateError && /properties\/driver: every property needs a description/.test(e.message),
    );
  });

  it('reject an object without additionalProperties', () => {
    const broken = crd.replace(/(title: IpamConfig\n(?:.*\n){2})\s*additionalProperties: false\n/, '$1');
    assert.notEqual(broken, crd);
    assert.throws(
      loadWith({ 'network.yaml': broken }),
      (e: unknown) => e instanceof GenerateError && /must set additionalProperties/.test(e.message),
    );
  });

  it('reject a wrong group, a file name that does not match the kind, and an invalid example', () => {
    assert.throws(
      loadWith({ 'network.yaml': crd.replace('group: swarm.controller', 'group: example.com') }),
      GenerateError,
    );
    assert.throws(loadWith({ 'net.yaml': crd }), /must be named network\.yaml/);
    assert.throws(
      loadWith({ 'network.yaml': crd.replace('gateway: 10.20.0.1\n', 'gateway: 10.20.0\n') }),
      /examples\[0\] is not valid/,
    );
  });
});

describe('editor schemas on disk', () => {
  it('are checked and removed like the generated TypeScript when no CRD produces them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'generate-test-'));
    try {
      writeFileSync(join(root, 'package.json'), '{}');
      mkdirSync(join(root, 'crds'));
      writeFileSync(join(root, 'crds/network.yaml'), readFileSync(join(findRepoRoot(), 'crds/network.yaml')));
      await writeGeneratedFiles(root);
      assert.deepEqual(await findStaleFiles(root), []);
      writeFileSync(join(root, 'schemas/service.json'), '{}\n');
      writeFileSync(join(root, 'schemas/network.json'), '{}\n');
      assert.deepEqual(await findStaleFiles(root), [
        { path: 'schemas/network.json', problem: 'out of date' },
        { path: 'schemas/service.json', problem: 'not produced by any CRD' },
      ]);
      const { removed } = await writeGeneratedFiles(root);
      assert.deepEqual(removed, ['schemas/service.json']);
      assert.deepEqual(await findStaleFiles(root), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
