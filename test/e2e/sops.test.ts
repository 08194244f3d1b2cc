/**
 * A SOPS-encrypted Secret on a real Swarm: `controller apply -f DIR` with SOPS_AGE_KEY_FILE
 * naming a key age-keygen made writes the decrypted value into the Swarm secret (read back
 * inside a task that mounts it) and prints it nowhere; without the key, or with another key,
 * the command names the file and writes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  controller,
  docker,
  ensureSwarm,
  manifestDir,
  readInTask,
  removeNamespace,
  type CliResult,
} from './harness.js';
import { sopsEncrypt } from '../helpers/sops-encrypt.js';

const ns = 'e2e-sops';
const value = 'e2e-sops-Pa55-never-shown-3d9e';
const keys = mkdtempSync(join(tmpdir(), 'sc-e2e-sops-keys-'));
const keyFile = join(keys, 'keys.txt');
const otherKeyFile = join(keys, 'other.txt');
/** No key from the environment of whoever runs the tests. */
const clean = { SOPS_AGE_KEY: '', SOPS_AGE_KEY_FILE: '', XDG_CONFIG_HOME: keys };

const service = `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: app, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 1
  endpointMode: dnsrr
  secrets: [{name: db-password, mode: "0400"}]
  stopGracePeriod: 1s
`;

let dir: string;

function noValue(r: CliResult): void {
  assert.ok(!r.stdout.includes(value) && !r.stderr.includes(value), 'the decrypted value appears in no output');
}

async function secretNames(): Promise<string[]> {
  return (await docker('secret', 'ls', '--format', '{{.Name}}')).split('\n').filter((n) => n.startsWith(`${ns}_`));
}

const inTask = (path: string) => readInTask(`${ns}_app`, path);

describe('a SOPS-encrypted Secret on a real Swarm', { timeout: 300_000 }, () => {
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    for (const name of await secretNames()) await docker('secret', 'rm', name).catch(() => '');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    execFileSync('age-keygen', ['-o', otherKeyFile], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
    const secret = await sopsEncrypt(
      `apiVersion: swarm.controller/v1alpha1
kind: Secret
metadata: {name: db-password, namespace: ${ns}}
spec:
  data: "${value}"
`,
      { recipients: [recipient], rule: { encrypted_regex: '^(data)$' } },
    );
    assert.ok(!secret.includes(value));
    dir = await manifestDir(ns, { 'app.yaml': service, 'db-password.sops.yaml': secret });
  });
  after(async () => {
    await removeNamespace(ns);
    for (const name of await secretNames()) await docker('secret', 'rm', name).catch(() => '');
  });

  it('without the key, or with another key, names the file and writes nothing', async () => {
    const none = await controller(['apply', '-f', dir, '--set', ns], { env: clean });
    noValue(none);
    assert.equal(none.code, 1, none.stdout + none.stderr);
    assert.match(none.stderr, /db-password\.sops\.yaml:\d+:\d+: error SC7001: /);
    const other = await controller(['apply', '-f', dir, '--set', ns], {
      env: { ...clean, SOPS_AGE_KEY_FILE: otherKeyFile },
    });
    noValue(other);
    assert.equal(other.code, 1, other.stdout + other.stderr);
    assert.match(other.stderr, /db-password\.sops\.yaml:\d+:\d+: error SC7002: sops\.age: none of the age keys/);
    assert.match(other.stderr, /nothing was sent to the Swarm/);
    assert.deepEqual(await secretNames(), []);
    assert.equal(await docker('service', 'ls', '-q', '--filter', `name=${ns}_app`), '');
  });

  it('with SOPS_AGE_KEY_FILE, stores the decrypted value, which the task reads and no output shows', async () => {
    const plan = await controller(['plan', '-f', dir, '--set', ns, '-o', 'json'], {
      env: { ...clean, SOPS_AGE_KEY_FILE: keyFile },
    });
    noValue(plan);
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    const r = await controller(['apply', '-f', dir, '--set', ns, '--wait', '--timeout', '120s'], {
      env: { ...clean, SOPS_AGE_KEY_FILE: keyFile },
    });
    noValue(r);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\+ Secret "e2e-sops\/db-password" \(e2e-sops_db-password\) will be created/);
    assert.equal((await secretNames()).length, 1);
    assert.equal(await inTask('/run/secrets/db-password'), value);
    // --age-key-file does the same; the same content is the same version: nothing to do.
    const again = await controller(['plan', '-f', dir, '--set', ns, '--age-key-file', keyFile], { env: clean });
    noValue(again);
    assert.equal(again.code, 0, again.stdout + again.stderr);
  });
});
