/**
 * SOPS-encrypted manifests through the loader, the planner's masking and the CLI: decrypted
 * before validation with positions in the encrypted file, encrypted fields hidden in plans
 * (text and JSON), diagnostics and apply output, and a file that cannot be decrypted refused
 * whole with nothing written. Over a FakeSwarm; test/e2e/sops.test.ts does it on a real Swarm.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { loadManifests } from '../../src/manifest/load.js';
import { encryptedFields } from '../../src/manifest/sops-documents.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { maskPlan } from '../../src/plan/render-mask.js';
import { renderHuman, renderJson } from '../../src/plan/render.js';
import { parseAgeIdentities } from '../../src/sops/index.js';
import { capturingCli } from '../helpers/cli-capture.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { sopsEncrypt } from '../helpers/sops-encrypt.js';

const secrets = {
  data: 'sops-secret-d41c',
  dsn: 'postgres://u:dsn-secret-9b3f@db/app',
  arg: '--token=cmd-secret-51aa',
  label: 'label-secret-77e2',
};

const plain = (dsn = secrets.dsn) => `apiVersion: swarm.controller/v1alpha1
kind: Secret
metadata: {name: db-password, namespace: e2e-sops-unit}
spec:
  data: "${secrets.data}"
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata:
  name: web
  namespace: e2e-sops-unit
  labels: {tier: "${secrets.label}", team: plain-team}
spec:
  image: swarm-controller/test-app:1
  command: ["/app", "${secrets.arg}"]
  env:
    DATABASE_URL: "${dsn}"
    LOG_LEVEL: plain-visible-1
  secrets: [db-password]
`;
const rule = { encrypted_regex: '^(data|DATABASE_URL|command|tier|stopGracePeriod)$' };

async function setup(text = plain()) {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const dir = mkdtempSync(join(tmpdir(), 'sc-sops-'));
  const manifests = join(dir, 'm');
  const keyFile = join(dir, 'keys.txt');
  writeFileSync(keyFile, `# public key: ${recipient}\n${identity}\n`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(manifests);
  const encrypted = await sopsEncrypt(text, { recipients: [recipient], rule });
  writeFileSync(join(manifests, 'shop.sops.yaml'), encrypted);
  return { dir, manifests, keyFile, identity, recipient, encrypted };
}

const cli = capturingCli;

describe('SOPS-encrypted manifests', () => {
  it('are decrypted before validation, and record which fields were encrypted', async () => {
    const s = await setup();
    const loaded = await loadManifests([s.manifests], undefined, {
      sops: { identities: () => parseAgeIdentities(s.identity, 'test') },
    });
    assert.deepEqual(loaded.diagnostics, []);
    assert.equal(loaded.desired.secrets[0].data?.toString(), secrets.data);
    assert.equal(loaded.desired.secrets[0].source, 'sops');
    const web = loaded.desired.services[0].model;
    assert.equal(web.env.DATABASE_URL, secrets.dsn);
    assert.deepEqual(web.command, ['/app', secrets.arg]);
    assert.deepEqual(
      [...encryptedFields(loaded.sources)],
      [
        ['Secret/e2e-sops-unit/db-password', [['spec', 'data']]],
        [
          'Service/e2e-sops-unit/web',
          [
            ['metadata', 'labels', 'tier'],
            ['spec', 'command', 0],
            ['spec', 'command', 1],
            ['spec', 'env', 'DATABASE_URL'],
          ],
        ],
      ],
    );
  });

  it('show no decrypted value in a plan: the encrypted fields are masked in text and JSON', async () => {
    const s = await setup();
    const loaded = await loadManifests([s.manifests], undefined, {
      sops: { identities: () => parseAgeIdentities(s.identity, 'test') },
    });
    const plan = buildPlan(loaded.desired, await new FakeSwarm().readLiveState(), { applySet: 'sops' });
    const masking = { encrypted: encryptedFields(loaded.sources) };
    const shown = maskPlan(plan, masking);
    const web = shown.changes.find((c) => c.kind === 'Service')!;
    const field = (p: string) => web.fields.find((f) => f.path === p);
    assert.deepEqual(field('spec.env.DATABASE_URL'), {
      path: 'spec.env.DATABASE_URL',
      before: null,
      after: '(sensitive)',
      sensitive: true,
    });
    assert.equal(field('spec.env.LOG_LEVEL')?.after, 'plain-visible-1');
    assert.equal(field('spec.command')?.sensitive, true);
    assert.equal(field('metadata.labels.tier')?.sensitive, true);
    assert.equal(field('metadata.labels.team')?.after, 'plain-team');
    const after = web.after as { env: Record<string, string>; command: unknown; labels: Record<string, string> };
    assert.deepEqual(after.env, { DATABASE_URL: '(sensitive)', LOG_LEVEL: 'plain-visible-1' });
    assert.equal(after.command, '(sensitive)');
    assert.equal(after.labels.tier, '(sensitive)');
    const text = renderHuman(plan, masking) + renderJson(plan, masking);
    for (const v of Object.values(secrets)) assert.ok(!text.includes(v), `the plan shows ${v}`);
    assert.match(text, /plain-visible-1/, 'plain values are shown, so the search above works');
    // The plan that is executed keeps the values.
    assert.equal((plan.changes.find((c) => c.kind === 'Service')!.after as typeof after).env.DATABASE_URL, secrets.dsn);
  });

  it('reach the Swarm decrypted through apply, and no output of plan, plan -o json, apply or a drift', async () => {
    const s = await setup();
    const swarm = new FakeSwarm();
    const c = cli(swarm);
    const args = ['-f', s.manifests, '--set', 'sops', '--age-key-file', s.keyFile];
    assert.equal(await c.run('plan', ...args), 2, c.output());
    assert.equal(await c.run('plan', '-o', 'json', ...args), 2, c.output());
    assert.equal(await c.run('apply', ...args), 0, c.output());
    const svc = [...swarm.services.values()][0];
    assert.ok(svc.Spec.TaskTemplate!.ContainerSpec!.Env!.includes(`DATABASE_URL=${secrets.dsn}`));
    const stored = [...swarm.secrets.values()][0] as { data?: Buffer | string };
    assert.ok(stored, 'the secret was created');
    // Drift: the value changes in the Swarm; the plan names the field, not the values.
    svc.Spec.TaskTemplate!.ContainerSpec!.Env = svc.Spec.TaskTemplate!.ContainerSpec!.Env!.map((e) =>
      e.startsWith('DATABASE_URL=') ? 'DATABASE_URL=drifted-dsn-2c8e' : e,
    );
    assert.equal(await c.run('plan', ...args), 2);
    assert.equal(await c.run('plan', '-o', 'json', ...args), 2);
    const out = c.output();
    for (const v of [...Object.values(secrets), 'drifted-dsn-2c8e'])
      assert.ok(!out.includes(v), `the output shows ${v}`);
    assert.match(out, /spec\.env\.DATABASE_URL: \(sensitive value changed\)/);
    assert.match(out, /plain-visible-1/);
  });

  it('are refused whole, with nothing written, without a key (SC7001) or with another one (SC7002)', async () => {
    const s = await setup();
    const swarm = new FakeSwarm();
    const c = cli(swarm);
    const other = join(s.dir, 'other.txt');
    writeFileSync(other, await generateIdentity());
    const env = { ...process.env };
    for (const k of ['SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE']) delete process.env[k];
    process.env.XDG_CONFIG_HOME = s.dir; // no sops/age/keys.txt there
    try {
      assert.equal(await c.run('apply', '-f', s.manifests, '--set', 'sops'), 1);
      assert.match(
        c.output(),
        /shop\.sops\.yaml:\d+:1: error SC7001: sops: the file is encrypted with sops, and no age key/,
      );
      c.clear();
      assert.equal(await c.run('apply', '-f', s.manifests, '--set', 'sops', '--age-key-file', other), 1);
      assert.match(c.output(), /error SC7002: sops\.age: none of the age keys given opens this file/);
      assert.match(c.output(), new RegExp(`encrypted for ${s.recipient}`));
      assert.match(c.output(), /nothing was sent to the Swarm/);
      c.clear();
      process.env.SOPS_AGE_KEY_FILE = s.keyFile;
      assert.equal(await c.run('validate', '-f', s.manifests), 0, c.output());
    } finally {
      for (const k of ['SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'XDG_CONFIG_HOME'])
        if (env[k] === undefined) delete process.env[k];
        else process.env[k] = env[k];
    }
    assert.equal(swarm.services.size, 0);
    assert.equal(swarm.secrets.size, 0);
  });

  it('report a problem in an encrypted field at its line in the encrypted file, without its value', async () => {
    const bad = plain().replace(
      '  image: swarm-controller/test-app:1',
      '  image: swarm-controller/test-app:1\n  stopGracePeriod: "command-not-a-duration"',
    );
    const s = await setup(bad);
    const loaded = await loadManifests([s.manifests], undefined, {
      sops: { identities: () => parseAgeIdentities(s.identity, 'test') },
    });
    const d = loaded.diagnostics.find((x) => x.field === 'spec.stopGracePeriod');
    assert.ok(d, JSON.stringify(loaded.diagnostics));
    const line = s.encrypted.split('\n').findIndex((l) => l.trimStart().startsWith('stopGracePeriod: ENC[')) + 1;
    assert.equal(d.position?.line, line);
    assert.match(d.position?.file ?? '', /shop\.sops\.yaml$/);
    assert.match(d.message, /its value is not shown/);
    assert.ok(!JSON.stringify(loaded.diagnostics).includes('not-a-duration'));
  });

  it('refuse a Secret whose data the file left in plain text (SC7008)', async () => {
    const identity = await generateIdentity();
    const dir = mkdtempSync(join(tmpdir(), 'sc-sops-'));
    const text = await sopsEncrypt(plain(), {
      recipients: [await identityToRecipient(identity)],
      rule: { encrypted_regex: '^DATABASE_URL$' },
    });
    writeFileSync(join(dir, 'shop.yaml'), text);
    const loaded = await loadManifests([dir], undefined, {
      sops: { identities: () => parseAgeIdentities(identity, 'test') },
    });
    assert.deepEqual(
      loaded.diagnostics.map((d) => `${d.code} ${d.field} ${d.position?.line}`),
      ['SC7008 spec.data 5'],
    );
  });

  it('refuse a file named *.sops.yaml without metadata, and ENC values without metadata (SC7004)', async () => {
    const s = await setup();
    const dir = mkdtempSync(join(tmpdir(), 'sc-sops-'));
    writeFileSync(join(dir, 'committed-decrypted.sops.yaml'), plain());
    writeFileSync(join(dir, 'lost-metadata.yaml'), s.encrypted.slice(0, s.encrypted.indexOf('sops:')));
    const loaded = await loadManifests([dir]);
    assert.deepEqual(
      loaded.diagnostics.map((d) => `${d.code} ${d.position?.file.replace(dir, '')}:${d.position?.line}`),
      ['SC7004 /committed-decrypted.sops.yaml:1', 'SC7004 /lost-metadata.yaml:5'],
    );
    assert.match(loaded.diagnostics[0].message, /committed decrypted/);
    assert.equal(loaded.documentCount, 0);
  });
});
