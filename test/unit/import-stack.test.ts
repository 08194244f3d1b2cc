import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { stackManifests, type LiveStack } from '../../src/compose/from-stack.js';
import type { SwarmService } from '../../src/api/swarm-types.js';
import { serviceModelFromLive } from '../../src/plan/live-model.js';
import { diffModels } from '../../src/plan/field-diff.js';
import { loadText } from '../helpers/manifests.js';

/** What docker stack deploy (CLI 28) stored on engine 28.5 for a stack "shop". */
const app: SwarmService = {
  ID: 's1',
  Version: { Index: 1 },
  Spec: {
    Name: 'shop_payment_gateway',
    Labels: { 'com.docker.stack.image': 'app:1', 'com.docker.stack.namespace': 'shop', team: 'payments' },
    TaskTemplate: {
      ContainerSpec: {
        Image: 'app:1',
        Labels: { 'com.docker.stack.namespace': 'shop' },
        Env: ['PORT=8080'],
        Privileges: { CredentialSpec: null, SELinuxContext: null, NoNewPrivileges: false },
        Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 2e9 },
        CapabilityAdd: ['CAP_NET_ADMIN'],
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }],
        Configs: [{ File: { Name: 'caddy', UID: '0', GID: '0', Mode: 292 }, ConfigID: 'c1', ConfigName: 'shop_caddy' }],
        Secrets: [
          {
            File: { Name: 'db_password', UID: '0', GID: '0', Mode: 292 },
            SecretID: 'x1',
            SecretName: 'shop_db_password',
          },
        ],
        Mounts: [
          {
            Type: 'volume',
            Source: 'shop_data',
            Target: '/data',
            VolumeOptions: { Labels: { 'com.docker.stack.namespace': 'shop' } },
          },
        ],
        Isolation: 'default',
      },
      Resources: {},
      Placement: {},
      Networks: [
        { Target: 'n1', Aliases: ['payment_gateway'] },
        { Target: 'n2', Aliases: ['payment_gateway'] },
      ],
      ForceUpdate: 0,
      Runtime: 'container',
    },
    Mode: { Replicated: { Replicas: 2 } },
    UpdateConfig: { Parallelism: 1, Order: 'start-first', FailureAction: 'pause', MaxFailureRatio: 0 },
    EndpointSpec: {
      Mode: 'vip',
      Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 18080, PublishMode: 'host' }],
    },
  },
};

const live: LiveStack = {
  services: [app],
  networks: [
    {
      Id: 'n1',
      Name: 'shop_backend',
      Driver: 'overlay',
      Options: { encrypted: '' },
      Labels: { 'com.docker.stack.namespace': 'shop' },
    },
    { Id: 'n2', Name: 'traefik-public', Driver: 'overlay', Labels: {} },
  ],
  configs: [
    {
      ID: 'c1',
      Version: { Index: 1 },
      Spec: {
        Name: 'shop_caddy',
        Labels: { 'com.docker.stack.namespace': 'shop' },
        Data: Buffer.from(':80\n').toString('base64'),
      },
    },
  ],
  secrets: [
    {
      ID: 'x1',
      Version: { Index: 1 },
      Spec: { Name: 'shop_db_password', Labels: { 'com.docker.stack.namespace': 'shop' } },
    },
  ],
};

describe('controller import stack: a running stack as manifests', () => {
  const r = stackManifests('shop', live);

  it('names objects as the stack does: prefixed ones by their stack name, others external; a secret external with a warning', () => {
    assert.deepEqual(
      r.manifests.map(
        (m) => `${m.kind}/${m.metadata.name} ${JSON.stringify(m.spec.external ? m.spec : (m.spec.name ?? ''))}`,
      ),
      [
        'Network/backend ""',
        'Network/traefik-public {"external":true,"name":"traefik-public"}',
        'Config/caddy ""',
        'Secret/db_password {"external":true}',
        'Service/payment_gateway ""',
      ],
    );
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.object]),
      [['SC6004', 'Secret "shop/db_password"']],
    );
    assert.equal(r.dataFiles[0].content!.toString(), ':80\n');
  });

  it('the manifests load, and mean what the Swarm runs: the service model equals the live one but for labels', () => {
    const text = r.manifests.map((m) => stringify(m)).join('---\n');
    const { desired, diagnostics } = loadText(text.replace('file: files/caddy', 'data: ":80\\n"'));
    assert.deepEqual(
      diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    const names = new Map(live.networks.map((n) => [n.Id, n.Name]));
    const want = desired.services[0].model;
    const fields = diffModels(serviceModelFromLive(app, names), {
      ...want,
      configs: want.configs.map((c) => ({ ...c, name: 'shop_caddy' })),
    });
    assert.deepEqual(
      fields.map((f) => f.path),
      ['metadata.labels["com.docker.stack.image"]'],
    );
  });
});
