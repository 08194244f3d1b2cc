import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { importCompose, type Manifest } from '../../src/compose/import.js';
import { repoRoot } from '../helpers/repo.js';

const fixture = (...p: string[]) => join(repoRoot, 'test/fixtures/compose', ...p);
const byName = (ms: Manifest[], kind: string, name: string) =>
  ms.find((m) => m.kind === kind && m.metadata.name === name);
const text = (files: Record<string, string>) => (path: string) => {
  const hit = Object.entries(files).find(([k]) => path.endsWith(k));
  if (!hit) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
  return hit[1];
};
const inline = (yaml: string, env: Record<string, string> = {}) =>
  importCompose({ files: ['/p/shop/docker-compose.yml'], env, readText: text({ 'docker-compose.yml': yaml }) });

describe('compose import: services', () => {
  it('converts the voting app like docker stack deploy: default network, aliases, scoped volumes, deploy', () => {
    const r = importCompose({ files: [fixture('voting-app/docker-stack.yml')], env: {} });
    assert.equal(r.namespace, 'voting-app');
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.severity} ${d.code} ${d.field}`),
      ['warning SC6004 services.vote.depends_on', 'warning SC6004 services.result.depends_on'],
    );
    assert.deepEqual(
      r.manifests.filter((m) => m.kind === 'Network').map((m) => m.metadata.name),
      ['backend', 'default', 'frontend'],
    );
    const db = byName(r.manifests, 'Service', 'db')!;
    assert.deepEqual(db.spec.mounts, [
      {
        type: 'volume',
        source: 'voting-app_db-data',
        target: '/var/lib/postgresql/data',
        volume: { labels: { 'com.docker.stack.namespace': 'voting-app' } },
      },
    ]);
    assert.deepEqual(db.spec.networks, [{ name: 'backend', aliases: ['db'] }]);
    const worker = byName(r.manifests, 'Service', 'worker')!;
    assert.deepEqual(worker.metadata.labels, { APP: 'VOTING' });
    assert.deepEqual(worker.spec.restartPolicy, {
      condition: 'on-failure',
      delay: '10s',
      maxAttempts: 3,
      window: '120s',
    });
    assert.deepEqual(byName(r.manifests, 'Service', 'visualizer')!.spec.networks, [
      { name: 'default', aliases: ['visualizer'] },
    ]);
    assert.equal(byName(r.manifests, 'Service', 'visualizer')!.spec.stopGracePeriod, '1m30s');
    assert.deepEqual(byName(r.manifests, 'Service', 'vote')!.spec.ports, [
      { target: 80, published: 15000, mode: 'host' },
    ]);
  });

  it('merges several files in order, like -c base -c prod', () => {
    const r = importCompose({
      files: [fixture('override/docker-compose.yml'), fixture('override/docker-compose.prod.yml')],
      env: {},
    });
    assert.deepEqual(r.diagnostics, []);
    const web = byName(r.manifests, 'Service', 'web')!;
    assert.equal(web.spec.image, 'example/web:1.1');
    assert.deepEqual(web.spec.args, ['serve', '--port', '8080', '--prod']);
    assert.deepEqual(web.spec.env, { CACHE: 'off', MODE: 'production' });
    assert.equal(web.spec.replicas, 2);
    assert.deepEqual(web.spec.networks, [
      { name: 'back', aliases: ['web'] },
      { name: 'front', aliases: ['www', 'web'] },
    ]);
    assert.deepEqual(web.spec.placement, { constraints: ['node.role == manager', 'node.labels.env != dev'] });
    assert.deepEqual(web.spec.resources, { limits: { memory: '128Mi' } });
    const db = byName(r.manifests, 'Service', 'db')!;
    assert.deepEqual((db.spec.mounts as any[])[0].volume.noCopy, true);
    assert.deepEqual(db.spec.updateConfig, { parallelism: 1, failureAction: 'rollback', monitor: '0s' });
  });

  it('resolves anchors and merge keys of extension fields, logging included', () => {
    const r = importCompose({ files: [fixture('anchors/docker-compose.yml')], env: {} });
    assert.deepEqual(r.diagnostics, []);
    const api = byName(r.manifests, 'Service', 'api')!;
    assert.deepEqual(api.spec.logging, { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
    assert.deepEqual(api.spec.env, { LOG_FORMAT: 'json', ROLE: 'api', TZ: 'UTC' });
    assert.deepEqual(api.spec.updateConfig, { parallelism: 1, delay: '5s', order: 'start-first', monitor: '0s' });
    assert.equal(api.spec.replicas, 2);
    const worker = byName(r.manifests, 'Service', 'worker')!;
    assert.equal(worker.spec.replicas, 1);
    assert.deepEqual(worker.spec.updateConfig, { parallelism: 1, delay: '5s', order: 'stop-first', monitor: '0s' });
  });

  it('interpolates from the environment', () => {
    const r = importCompose({
      files: [fixture('interpolation/docker-compose.yml')],
      env: { TAG: '2', REPLICAS: '3', EMPTY: '' },
    });
    assert.deepEqual(r.diagnostics, []);
    const app = byName(r.manifests, 'Service', 'app')!;
    assert.equal(app.spec.image, 'example/app:2');
    assert.equal(app.spec.replicas, 3);
    assert.deepEqual(app.spec.args, ['sh', '-c', 'echo ${GREETING:-hello}']);
    assert.equal((app.spec.env as any).ESCAPED, '$HOME and ${TAG}');
  });

  it('stops on a required variable, naming file, line and field, and returns no manifests', () => {
    const r = importCompose({ files: [fixture('interpolation/docker-compose.yml')], env: {} });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(
      errors.map((d) => [d.code, d.position?.line, d.field]),
      [['SC6001', 13, 'services.app.environment.REQUIRED_SET']],
    );
    assert.match(errors[0].position!.file, /interpolation\/docker-compose.yml$/);
    assert.deepEqual(r.manifests, []);
  });

  it('reads env files literally, environment winning', () => {
    const r = importCompose({ files: [fixture('env-file/docker-compose.yml')], env: {} });
    const web = byName(r.manifests, 'Service', 'web')!;
    assert.deepEqual(web.spec.env, {
      DATABASE_URL: 'postgres://db:5432/app',
      EMPTY_VALUE: '',
      FEATURE_X: 'on',
      GREETING: 'hello world',
      INDENTED: 'yes',
      LOG_LEVEL: 'debug',
      PORT: '8080',
    });
    const job = byName(r.manifests, 'Service', 'job')!;
    assert.deepEqual((job.spec.env as any).RETRIES, '5');
    assert.deepEqual((job.spec.env as any).DRY_RUN, 'false');
    assert.deepEqual(job.spec.restartPolicy, { condition: 'none' });
  });

  it('converts short and long ports, ranges and expose', () => {
    const r = importCompose({ files: [fixture('ports/docker-compose.yml')], env: {} });
    const edge = byName(r.manifests, 'Service', 'edge')!;
    assert.deepEqual(edge.spec.ports, [
      { target: 8080, published: 18280 },
      { target: 8443, published: 18643 },
      { target: 5353, published: 15353, protocol: 'udp' },
      { target: 9090, published: 18090 },
      { target: 9091, published: 18091 },
      { target: 9000 },
      { target: 7000, published: 17000, mode: 'host' },
      { target: 7001, published: 17001, mode: 'host' },
    ]);
    assert.deepEqual(edge.spec.expose, [3000, 3001]);
  });

  it('keeps names as Swarm and stack deploy have them, underscores and case included, the compose name as alias', () => {
    const r = importCompose({ files: [fixture('Mixed_Names/docker-compose.yml')], env: {} });
    assert.equal(r.namespace, 'mixed-names');
    assert.deepEqual(r.diagnostics, []);
    const api = byName(r.manifests, 'Service', 'api_v2')!;
    assert.deepEqual(api.spec.networks, [
      { name: 'Public_Net', aliases: ['api_v2'] },
      { name: 'private_net', aliases: ['api_v2'] },
    ]);
    assert.ok(byName(r.manifests, 'Service', 'Web_Frontend'));
    assert.deepEqual(byName(r.manifests, 'Network', 'private_net')!.spec, { internal: true });
  });

  it('changes a name Swarm refuses, with a warning naming the original', () => {
    const r = inline('services:\n  web.v2: {image: a}\n');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.message]),
      [
        [
          'SC6005',
          'service "web.v2" is named "web-v2" in the manifests: Swarm refuses that name (docker stack deploy fails on it)',
        ],
      ],
    );
    assert.deepEqual(byName(r.manifests, 'Service', 'web-v2')!.spec.networks, [
      { name: 'default', aliases: ['web.v2'] },
    ]);
  });

  it('refuses two names Swarm takes for one (they differ only in case)', () => {
    const r = inline('services:\n  web_1: {image: a}\n  Web_1: {image: b}\n');
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.position?.line]),
      [['SC6006', 2]],
    );
  });

  it('keeps an explicit name: unprefixed, shared the way stack deploy shares it', () => {
    const r = inline(
      'services:\n  a:\n    image: a\n    networks: [edge]\n    secrets: [pw]\nnetworks:\n  edge: {name: proxy, driver: overlay}\nsecrets:\n  pw: {name: db-password, file: ./pw}\n',
    );
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(byName(r.manifests, 'Network', 'edge')!.spec, { name: 'proxy' });
    assert.deepEqual(byName(r.manifests, 'Secret', 'pw')!.spec, { name: 'db-password', file: 'files/pw' });
  });

  it('warns, with file, line and field, for every field it cannot express', () => {
    const r = inline(
      'services:\n  web:\n    image: a\n    isolation: process\n    ports: ["127.0.0.1:80:80"]\n    deploy:\n      resources: {reservations: {devices: [{capabilities: [gpu]}]}}\n    group_add: [wheel]\n',
    );
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.position?.line}:${d.position?.column} ${d.code} ${d.field}`),
      [
        '4:5 SC6004 services.web.isolation',
        '5:13 SC6004 services.web.ports[0].host_ip',
        '7:34 SC6004 services.web.deploy.resources.reservations.devices',
        '8:5 SC6004 services.web.group_add',
      ],
    );
    assert.equal(r.manifests.length, 2);
  });

  it('converts the container fields stack deploy sets: capabilities, init, sysctls, ulimits, dns, hosts, logging, pids, jobs', () => {
    const r = inline(`services:
  web:
    image: a
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    init: true
    read_only: true
    tty: true
    stdin_open: true
    stop_signal: SIGINT
    sysctls: ["net.core.somaxconn=1024"]
    ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
    oom_score_adj: 200
    dns: 10.0.0.2
    dns_search: [example.internal]
    dns_opt: ["ndots:2"]
    extra_hosts: ["db.local:10.0.0.9", "v6=fd00::9"]
    hostname: "{{.Node.Hostname}}"
    logging: {driver: local, options: {max-size: 5m}}
    healthcheck: {test: "true", start_period: 5s, start_interval: 1s}
    deploy:
      resources:
        limits: {pids: 10}
        reservations: {generic_resources: [{discrete_resource_spec: {kind: gpu, value: 2}}]}
  batch:
    image: a
    deploy: {mode: replicated-job, replicas: 3}
  once:
    image: a
    deploy: {mode: global-job}
`);
    assert.deepEqual(r.diagnostics, []);
    const web = byName(r.manifests, 'Service', 'web')!.spec;
    assert.deepEqual(
      [web.capAdd, web.capDrop, web.init, web.readOnly, web.tty, web.stdinOpen, web.stopSignal, web.oomScoreAdj],
      [['NET_ADMIN'], ['MKNOD'], true, true, true, true, 'SIGINT', 200],
    );
    assert.deepEqual(web.sysctls, { 'net.core.somaxconn': '1024' });
    assert.deepEqual(web.ulimits, { nproc: 65535, nofile: { soft: 20000, hard: 40000 } });
    assert.deepEqual(web.dns, { nameservers: ['10.0.0.2'], search: ['example.internal'], options: ['ndots:2'] });
    assert.deepEqual(web.extraHosts, [
      { host: 'db.local', ip: '10.0.0.9' },
      { host: 'v6', ip: 'fd00::9' },
    ]);
    assert.equal(web.hostname, '{{.Node.Hostname}}');
    assert.deepEqual(web.logging, { driver: 'local', options: { 'max-size': '5m' } });
    assert.deepEqual(web.healthcheck, { test: 'true', startPeriod: '5s', startInterval: '1s' });
    assert.deepEqual(web.resources, {
      limits: { pids: 10 },
      reservations: { genericResources: [{ kind: 'gpu', value: 2 }] },
    });
    const batch = byName(r.manifests, 'Service', 'batch')!.spec;
    assert.deepEqual(
      [batch.mode, batch.completions, batch.concurrency, batch.replicas],
      ['replicated-job', 3, 3, undefined],
    );
    assert.equal(byName(r.manifests, 'Service', 'once')!.spec.mode, 'global-job');
  });

  it('rejects unknown fields with a suggestion, and undeclared networks and volumes', () => {
    const r = inline(
      'services:\n  web:\n    image: a\n    enviroment: {A: 1}\n    networks: [nope]\n    volumes: ["data:/d"]\n',
    );
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.position?.line, d.fix?.includes('environment') || d.message]),
      [
        ['SC6003', 4, true],
        ['SC6003', 5, 'network "nope" is not declared under the top-level "networks:"'],
        ['SC6003', 6, 'volume "data" is not declared under the top-level "volumes:"'],
      ],
    );
  });

  it('converts healthchecks, the legacy restart field and global mode', () => {
    const r = inline(
      'services:\n  a:\n    image: a\n    restart: on-failure:3\n    healthcheck: {test: "curl -f http://x", interval: 10s, retries: 2}\n    deploy: {mode: global}\n  b:\n    image: b\n    healthcheck: {disable: true}\n    restart: always\n',
    );
    const a = byName(r.manifests, 'Service', 'a')!;
    assert.deepEqual(
      [a.spec.mode, a.spec.restartPolicy, a.spec.healthcheck],
      [
        'global',
        { condition: 'on-failure', maxAttempts: 3 },
        { test: 'curl -f http://x', interval: '10s', retries: 2 },
      ],
    );
    const b = byName(r.manifests, 'Service', 'b')!;
    assert.deepEqual([b.spec.healthcheck, b.spec.restartPolicy], [{ disable: true }, { condition: 'any' }]);
  });
});

describe('compose import: configs and secrets', () => {
  it('writes Secret manifests from files and targets them at their compose name', () => {
    const r = importCompose({ files: [fixture('wordpress/docker-compose.yml')], env: {} });
    assert.deepEqual(byName(r.manifests, 'Secret', 'db_password'), {
      apiVersion: 'swarm.controller/v1alpha1',
      kind: 'Secret',
      metadata: { name: 'db_password', namespace: 'wordpress' },
      spec: { file: 'files/db_password.txt' },
    });
    assert.deepEqual(
      r.dataFiles.map((f) => [f.to, f.secret]),
      [
        ['files/db_password.txt', true],
        ['files/db_root_password.txt', true],
      ],
    );
    const wp = byName(r.manifests, 'Service', 'wordpress')!;
    assert.deepEqual(wp.spec.secrets, [
      { name: 'db_password', target: 'db_password', uid: '33', gid: '33', mode: '0440' },
    ]);
    const db = byName(r.manifests, 'Service', 'db')!;
    assert.deepEqual(db.spec.secrets, ['db_root_password', 'db_password']);
  });

  it('writes Config manifests; YAML files are copied under a name -f DIR does not read as manifests', () => {
    const r = importCompose({ files: [fixture('monitoring/docker-compose.yml')], env: {} });
    assert.deepEqual(byName(r.manifests, 'Config', 'prometheus_config')!.spec, { file: 'files/prometheus.yml.txt' });
    assert.deepEqual(r.dataFiles.map((f) => f.to).sort(), [
      'files/alert.rules',
      'files/datasource.yaml.txt',
      'files/prometheus.yml.txt',
    ]);
    const prom = byName(r.manifests, 'Service', 'prometheus')!;
    assert.deepEqual(prom.spec.configs, [
      { name: 'prometheus_config', target: '/etc/prometheus/prometheus.yml' },
      'alert_rules',
    ]);
    const grafana = byName(r.manifests, 'Service', 'grafana')!;
    assert.deepEqual(grafana.spec.configs, [
      { name: 'grafana_datasource', target: '/etc/grafana/provisioning/datasources/prometheus.yaml', mode: '0440' },
    ]);
  });

  it('converts external, environment and inline sources', () => {
    const r = inline(
      'services:\n  a:\n    image: a\n    secrets: [tls, token]\n    configs: [flags]\nsecrets:\n  tls: {external: true}\n  token: {environment: API_TOKEN}\nconfigs:\n  flags: {content: "on"}\n',
    );
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(byName(r.manifests, 'Secret', 'tls')!.spec, { external: true, name: 'tls' });
    assert.deepEqual(byName(r.manifests, 'Secret', 'token')!.spec, { env: 'API_TOKEN' });
    assert.deepEqual(byName(r.manifests, 'Config', 'flags')!.spec, { data: 'on' });
    assert.deepEqual(byName(r.manifests, 'Service', 'a')!.spec.secrets, ['tls', 'token']);
  });
});
