/**
 * Variables on a real Swarm: one set of manifests with `${ENV}`, `${REPLICAS:-1}` and a secret
 * `${DB_PASSWORD}`, planned and applied as a staging and a production variant with
 * --var-file and --secret-var-file. The secret reaches the Swarm (a Secret's data, read back
 * inside a task, and a service's env) and no output of plan, plan -o json or apply; an unset
 * variable is refused at its file, line and column with nothing written.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  controller,
  docker,
  ensureSwarm,
  inspectService,
  manifestDir,
  readInTask,
  removeNamespace,
  type CliResult,
} from './harness.js';

const value = 'e2e-vars-Pa55-never-shown-8c2b';
const namespaces = ['e2e-vars-staging', 'e2e-vars-production'];

const manifests = {
  'app.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: app, namespace: "e2e-vars-\${ENV}"}
spec:
  image: swarm-controller/test-app:1
  replicas: \${REPLICAS:-1}
  endpointMode: dnsrr
  env:
    GREETING: "hello \${ENV}"
    DATABASE_URL: postgres://app:\${DB_PASSWORD}@db/shop
  secrets: [{name: db-password, mode: "0400"}]
  stopGracePeriod: 1s
`,
  'db-password.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Secret
metadata: {name: db-password, namespace: "e2e-vars-\${ENV}"}
spec:
  data: \${DB_PASSWORD}
`,
};

const vars = mkdtempSync(join(tmpdir(), 'sc-e2e-vars-'));
const files = {
  staging: join(vars, 'staging.env'),
  production: join(vars, 'production.env'),
  secrets: join(vars, 'secrets.env'),
};
writeFileSync(files.staging, '# staging\nENV=staging\n');
writeFileSync(files.production, 'ENV=production\nREPLICAS=2\n');
writeFileSync(files.secrets, `DB_PASSWORD='${value}'\n`, { mode: 0o600 });

let dir: string;

function noValue(r: CliResult): void {
  assert.ok(!r.stdout.includes(value) && !r.stderr.includes(value), 'the secret appears in no output');
}

async function objects(): Promise<string[]> {
  const names = [
    ...(await docker('service', 'ls', '--format', '{{.Name}}')).split('\n'),
    ...(await docker('secret', 'ls', '--format', '{{.Name}}')).split('\n'),
  ];
  return names.filter((n) => n.startsWith('e2e-vars-'));
}

async function clean(): Promise<void> {
  for (const ns of namespaces) await removeNamespace(ns);
  const secrets = (await docker('secret', 'ls', '--format', '{{.Name}}')).split('\n');
  for (const name of secrets.filter((n) => n.startsWith('e2e-vars-')))
    await docker('secret', 'rm', name).catch(() => '');
}

const variant = (env: 'staging' | 'production') => [
  '-f',
  dir,
  '--set',
  `e2e-vars-${env}`,
  '--var-file',
  files[env],
  '--secret-var-file',
  files.secrets,
];

describe('variables on a real Swarm', { timeout: 300_000 }, () => {
  before(async () => {
    ensureSwarm();
    await clean();
    dir = await manifestDir('e2e-vars', manifests);
  });
  after(clean);

  it('refuses an unset variable at its file, line and column, and writes nothing', async () => {
    const r = await controller(['apply', '-f', dir, '--set', 'e2e-vars-staging', '--var-file', files.staging]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /app\.yaml:10:34: error SC1201: Service "e2e-vars-staging\/app" spec\.env\.DATABASE_URL: the variable DB_PASSWORD is not set\n {4}fix: set DB_PASSWORD with --var NAME=VALUE, --var-file or --secret-var-file/,
    );
    assert.match(r.stderr, /db-password\.yaml:5:9: error SC1201: Secret "e2e-vars-staging\/db-password" spec\.data: /);
    assert.match(r.stderr, /2 problems found; nothing was sent to the Swarm/);
    assert.deepEqual(await objects(), []);
  });

  it('plans staging with the secret hidden in text and JSON', async () => {
    const text = await controller(['plan', ...variant('staging')]);
    noValue(text);
    assert.equal(text.code, 2, text.stdout + text.stderr);
    assert.match(text.stdout, /\+ Service "e2e-vars-staging\/app" \(e2e-vars-staging_app\) will be created/);
    assert.match(text.stdout, /spec\.env\.GREETING: "hello staging"/);
    assert.match(text.stdout, /spec\.env\.DATABASE_URL: \(sensitive value set\)/);
    const json = await controller(['plan', ...variant('staging'), '-o', 'json']);
    noValue(json);
    assert.equal(json.code, 2, json.stdout + json.stderr);
    assert.match(json.stdout, /"DATABASE_URL": "\(sensitive\)"/);
    assert.deepEqual(await objects(), []);
  });

  it('applies a staging and a production variant of the same manifests', async () => {
    for (const env of ['staging', 'production'] as const) {
      const r = await controller(['apply', ...variant(env), '--wait', '--timeout', '120s']);
      noValue(r);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const staging = await inspectService('e2e-vars-staging_app');
    const production = await inspectService('e2e-vars-production_app');
    assert.equal(staging.Spec.Mode.Replicated.Replicas, 1);
    assert.equal(production.Spec.Mode.Replicated.Replicas, 2);
    const env = (s: typeof staging) => (s.Spec.TaskTemplate.ContainerSpec.Env as string[]).sort();
    assert.deepEqual(env(staging), [`DATABASE_URL=postgres://app:${value}@db/shop`, 'GREETING=hello staging']);
    assert.deepEqual(env(production), [`DATABASE_URL=postgres://app:${value}@db/shop`, 'GREETING=hello production']);
    assert.equal(await readInTask('e2e-vars-production_app', '/run/secrets/db-password'), value);
    // The same variables again: nothing to do.
    const again = await controller(['plan', ...variant('production')]);
    noValue(again);
    assert.equal(again.code, 0, again.stdout + again.stderr);
  });
});
