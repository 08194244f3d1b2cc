/**
 * Variables in manifests: the reference syntax, substitution on parsed values (positions of
 * every problem, types of plain scalars, no structure injected), and the loader: SC12xx
 * problems with file, line and column, secret variables hidden in plans and diagnostics.
 * Pure, over text in temporary files; test/e2e/variables.test.ts does it on a real Swarm.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests } from '../../src/manifest/load.js';
import { encryptedFields, sensitiveValues } from '../../src/manifest/sops-documents.js';
import { parseVariableFile, readVariables } from '../../src/manifest/variable-files.js';
import { parseTemplate } from '../../src/manifest/variable-syntax.js';
import { coreScalar, substituteVariables, type ManifestVariables } from '../../src/manifest/variables.js';
import { parseDocuments } from '../../src/manifest/yaml-documents.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { maskPlan } from '../../src/plan/render-mask.js';
import { renderHuman, renderJson } from '../../src/plan/render.js';
import { capturingCli } from '../helpers/cli-capture.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';

function substitute(text: string, variables?: ManifestVariables) {
  const parsed = parseDocuments({ path: 'm.yaml', text });
  assert.deepEqual(parsed.diagnostics, []);
  return substituteVariables(parsed.documents, variables);
}

function write(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sc-vars-'));
  writeFileSync(join(dir, 'app.yaml'), text);
  return dir;
}

const service = `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata:
  name: web
  namespace: shop-\${ENV}
  labels: {env: "\${ENV}"}
spec:
  image: swarm-controller/test-app:\${TAG:-1}
  replicas: \${REPLICAS:-1}
  env:
    DATABASE_URL: postgres://app:\${DB_PASSWORD}@db/shop
    GREETING: "hello \${ENV}"
    SCRIPT: 'echo $HOME $$1 $\${NOT_A_VAR}'
`;

describe('variable reference syntax', () => {
  it('splits text into literals and references, with defaults and messages', () => {
    const t = parseTemplate('a${X}b${Y:-d e}c${Z:?say why}');
    assert.deepEqual(t.problems, []);
    assert.deepEqual(t.pieces, [
      'a',
      { name: 'X', text: '${X}', index: 1 },
      'b',
      { name: 'Y', default: 'd e', text: '${Y:-d e}', index: 6 },
      'c',
      { name: 'Z', required: 'say why', text: '${Z:?say why}', index: 16 },
    ]);
  });

  it('leaves $NAME, $$ and a lone $ as written and turns $${ into ${', () => {
    const t = parseTemplate('$HOME $$ $1 cost: 5$ $${KEEP} $${');
    assert.deepEqual(t.problems, []);
    assert.deepEqual(t.pieces, ['$HOME $$ $1 cost: 5$ ${KEEP} ${']);
    assert.equal(t.active, true);
    assert.equal(parseTemplate('$HOME and $1').active, false);
  });

  it('refuses what it does not support, each with a fix', () => {
    const cases: [string, RegExp][] = [
      ['${X:=d}', /assigns a default/],
      ['${X-d}', /not a supported reference/],
      ['${X:+d}', /not a supported reference/],
      ['${#X}', /does not start with a variable name/],
      ['${}', /does not start with a variable name/],
      ['${1X}', /does not start with a variable name/],
      ['${X:-${Y}}', /nests a reference/],
      ['x ${X', /is not closed/],
    ];
    for (const [text, message] of cases) {
      const t = parseTemplate(text);
      assert.equal(t.problems.length, 1, text);
      assert.match(t.problems[0].message, message, text);
      assert.ok(t.problems[0].fix.length > 10, text);
    }
    assert.match(parseTemplate('${X:=d}').problems[0].fix, /\$\{X:-d\}/);
  });
});

describe('substituteVariables', () => {
  it('fills values, defaults and types plain scalars as YAML would', () => {
    const r = substitute(service, { values: { ENV: 'staging', DB_PASSWORD: 'pw-7f3a', REPLICAS: '3' } });
    assert.deepEqual(r.diagnostics, []);
    const v = r.documents[0].value as { metadata: unknown; spec: Record<string, unknown> };
    assert.deepEqual(v.metadata, { name: 'web', namespace: 'shop-staging', labels: { env: 'staging' } });
    assert.equal(v.spec.image, 'swarm-controller/test-app:1');
    assert.equal(v.spec.replicas, 3);
    assert.deepEqual(v.spec.env, {
      DATABASE_URL: 'postgres://app:pw-7f3a@db/shop',
      GREETING: 'hello staging',
      SCRIPT: 'echo $HOME $$1 ${NOT_A_VAR}',
    });
  });

  it('keeps a quoted scalar a string and types a plain one by the core schema', () => {
    const r = substitute('a: ${N}\nb: "${N}"\nc: ${T}\nd: ${E:-}\ne: ${F}\nf: ${N}x\n', {
      values: { N: '3', T: 'true', F: '1.5' },
    });
    assert.deepEqual(r.documents[0].value, { a: 3, b: '3', c: true, d: null, e: 1.5, f: '3x' });
    assert.deepEqual(['0x1f', '0o17', '-4', '.inf', 'yes', '1e3', '~', 'False', '01'].map(coreScalar), [
      31,
      15,
      -4,
      Infinity,
      'yes',
      1000,
      null,
      false,
      1,
    ]);
  });

  it('cannot inject structure: a value with YAML syntax stays one string', () => {
    const r = substitute('spec:\n  image: ${IMAGE}\n  command: [a, "${ARG}"]\n', {
      values: { IMAGE: 'x\nreplicas: 100\n---\nkind: Network', ARG: '{b: c}, d' },
    });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.documents.length, 1);
    assert.deepEqual(r.documents[0].value, {
      spec: { image: 'x\nreplicas: 100\n---\nkind: Network', command: ['a', '{b: c}, d'] },
    });
  });

  it('reports an unset variable at its own line and column, with the object, field and a fix', () => {
    const r = substitute(service, { values: { ENV: 'prod' }, setWith: '--var or --var-file' });
    assert.equal(r.diagnostics.length, 1);
    const [d] = r.diagnostics;
    assert.equal(d.code, 'SC1201');
    assert.equal(d.message, 'the variable DB_PASSWORD is not set');
    assert.deepEqual(d.position, { file: 'm.yaml', line: 11, column: 34 });
    assert.equal(d.field, 'spec.env.DATABASE_URL');
    assert.equal(d.object, 'Service "shop-prod/web"');
    assert.match(d.fix!, /set DB_PASSWORD with --var or --var-file, or write \$\{DB_PASSWORD:-default\}/);
    assert.deepEqual([...r.failed.get('m.yaml')!], ['spec.env.DATABASE_URL']);
  });

  it('finds the column of the second of two identical references, and skips escaped ones', () => {
    const r = substitute('a: "$${X} ${X} and ${X}"\n');
    assert.deepEqual(
      r.diagnostics.map((d) => d.position),
      [
        { file: 'm.yaml', line: 1, column: 11 },
        { file: 'm.yaml', line: 1, column: 20 },
      ],
    );
  });

  it('says what :? says, and refuses an empty value there', () => {
    const r = substitute('a: ${REGION:?the cluster region, e.g. eu-1}\n', { values: { REGION: '' } });
    assert.equal(r.diagnostics[0].message, 'the variable REGION is empty: the cluster region, e.g. eu-1');
  });

  it('refuses references in keys and secret variables in names', () => {
    const r = substitute('metadata:\n  name: ${S}\n  labels:\n    ${K}: x\n', {
      values: { S: 'abcd', K: 'k' },
      secret: ['S'],
    });
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.field, d.position?.line]),
      [
        ['SC1203', 'metadata.name', 2],
        ['SC1203', 'metadata.labels["${K}"]', 4],
      ],
    );
  });

  it('records the fields that received a secret variable, not those that took a default', () => {
    const r = substitute(
      'spec:\n  env:\n    A: ${S}\n    B: ${S2:-public}\n    C: x-${P}\n  command: [run, "--token=${S}"]\n',
      { values: { S: 'secret-1', P: 'p' }, secret: ['S', 'S2'] },
    );
    assert.deepEqual(r.documents[0].secretVariables, [
      ['spec', 'env', 'A'],
      ['spec', 'command', 1],
    ]);
  });

  it('leaves a document without references as it was', () => {
    const parsed = parseDocuments({ path: 'm.yaml', text: 'a: $HOME\n' });
    const r = substituteVariables(parsed.documents, { values: {} });
    assert.equal(r.documents[0], parsed.documents[0]);
  });
});

describe('loading manifests with variables', () => {
  it('makes a staging and a production variant of one set of manifests', async () => {
    const dir = write(service);
    for (const [env, replicas] of [
      ['staging', '1'],
      ['production', '3'],
    ]) {
      const loaded = await loadManifests([dir], undefined, {
        variables: { values: { ENV: env, REPLICAS: replicas, DB_PASSWORD: 'pw-abcdef' }, secret: ['DB_PASSWORD'] },
      });
      assert.deepEqual(loaded.diagnostics, []);
      const [s] = loaded.desired.services;
      assert.equal(s.swarmName, `shop-${env}_web`);
      assert.equal(s.model.replicas, Number(replicas));
    }
  });

  it('reports an unset variable once, without schema errors about the text left in place', async () => {
    const dir = write(service.replace('${REPLICAS:-1}', '${REPLICAS}'));
    const loaded = await loadManifests([dir], undefined, { variables: { values: { ENV: 'x', DB_PASSWORD: 'p' } } });
    assert.deepEqual(
      loaded.diagnostics.map((d) => [d.code, d.message, d.position?.line, d.position?.column]),
      [['SC1201', 'the variable REPLICAS is not set', 9, 13]],
    );
    assert.equal(loaded.desired.services.length, 0);
  });

  it('hides a secret variable in plans, diagnostics and redacted text', async () => {
    const secret = 'pw-9c1e-secret';
    const dir = write(service + `  stopGracePeriod: \${DB_PASSWORD}\n`);
    const variables = { values: { ENV: 'prod', DB_PASSWORD: secret }, secret: ['DB_PASSWORD'] };
    const bad = await loadManifests([dir], undefined, { variables });
    assert.equal(bad.diagnostics.length, 1);
    assert.equal(bad.diagnostics[0].field, 'spec.stopGracePeriod');
    assert.match(bad.diagnostics[0].message, /secret variable; its value is not shown/);
    assert.ok(!JSON.stringify(bad.diagnostics).includes(secret));

    const loaded = await loadManifests([write(service)], undefined, { variables });
    assert.deepEqual(loaded.diagnostics, []);
    const swarm = new FakeSwarm();
    const plan = buildPlan(loaded.desired, await swarm.readLiveState(), { applySet: 'vars' });
    const masking = { encrypted: encryptedFields(loaded.sources) };
    const human = renderHuman(plan, { ...masking, color: false });
    const json = renderJson(plan, masking);
    assert.ok(!JSON.stringify(maskPlan(plan, masking)).includes(secret), 'the shown plan does not');
    assert.ok(JSON.stringify(plan).includes(secret), 'the executed plan holds the value');
    assert.ok(!human.includes(secret) && !json.includes(secret));
    assert.match(human, /DATABASE_URL/);
    assert.match(human, /GREETING: "hello prod"|hello prod/);
    assert.equal(
      sensitiveValues(loaded.sources.values()).redact(`url postgres://app:${secret}@db/shop`),
      'url (encrypted value)',
    );
  });

  it('lets a Secret take its data from a secret variable, and refuses it from a plain one', async () => {
    const secretManifest = `apiVersion: swarm.controller/v1alpha1
kind: Secret
metadata: {name: db, namespace: shop}
spec:
  data: \${DB_PASSWORD}
`;
    const ok = await loadManifests([write(secretManifest)], undefined, {
      variables: { values: { DB_PASSWORD: 'pw-1234' }, secret: ['DB_PASSWORD'] },
    });
    assert.deepEqual(ok.diagnostics, []);
    assert.equal(ok.desired.secrets.length, 1);
    const refused = await loadManifests([write(secretManifest)], undefined, {
      variables: { values: { DB_PASSWORD: 'pw-1234' } },
    });
    assert.deepEqual(
      refused.diagnostics.map((d) => d.code),
      ['SC7008'],
    );
  });
});

describe('variable files and --var', () => {
  it('reads NAME=VALUE lines as dotenv does: export, comments, quotes, escapes, no expansion', () => {
    const r = parseVariableFile(
      [
        '# staging',
        'export ENV=staging',
        '  REPLICAS = 2   # two',
        "RAW='a #b \\n $HOME'",
        'QUOTED="line 1\\nline \\"2\\""',
        'EMPTY=',
        'HASH=a#b',
        '',
      ].join('\n'),
      'staging.env',
    );
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(Object.fromEntries([...r.values].map(([k, v]) => [k, v.value])), {
      ENV: 'staging',
      REPLICAS: '2',
      RAW: 'a #b \\n $HOME',
      QUOTED: 'line 1\nline "2"',
      EMPTY: '',
      HASH: 'a#b',
    });
  });

  it('names the file, line and column of a bad line, and never shows the line itself', () => {
    const r = parseVariableFile("A=1\nhunter2-secret\n9X=1\nB=\"open\nC='x' y\nA=2\n", 'secrets.env');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.position?.line, d.position?.column, d.message]),
      [
        ['SC1204', 2, 1, 'the line has no "="'],
        ['SC1204', 3, 1, '"9X" is not a variable name'],
        ['SC1204', 4, 3, "the value's double quote is not closed"],
        ['SC1204', 5, 3, 'text after the closing quote'],
        ['SC1204', 6, 1, 'A is set twice (first at line 1)'],
      ],
    );
    assert.ok(!JSON.stringify(r.diagnostics).includes('hunter2'));
  });

  it('overrides in order (files, secret files, then --var) and keeps a secret name secret', async () => {
    const files: Record<string, string> = { 'a.env': 'A=a\nB=a\nS=plain\n', 'b.env': 'B=b\n', 's.env': 'S=secret-1\n' };
    const r = await readVariables(
      { vars: ['A=cli', 'S=cli-secret'], files: ['a.env', 'b.env'], secretFiles: ['s.env'] },
      async (p) => Buffer.from(files[p]),
    );
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.variables.values, { A: 'cli', B: 'b', S: 'cli-secret' });
    assert.deepEqual([...r.variables.secret!], ['S']);
  });

  it('refuses a --var without a name or given twice, and a file it cannot read', async () => {
    const r = await readVariables({ vars: ['A', 'B=1', 'B=2', '=x'], files: ['missing.env'], secretFiles: [] }, () =>
      Promise.reject(Object.assign(new Error('no'), { code: 'ENOENT' })),
    );
    assert.deepEqual(
      r.diagnostics.map((d) => d.message),
      [
        '--var-file missing.env cannot be read (ENOENT)',
        '--var "A" has no "="',
        '--var B is given twice',
        '--var "=x": "" is not a variable name',
      ],
    );
  });
});

describe('controller plan and apply with variables', () => {
  const cli = capturingCli;

  it('plans staging and production from one set of manifests, the secret never shown', async () => {
    const dir = write(service);
    const secretsDir = mkdtempSync(join(tmpdir(), 'sc-vars-secret-'));
    writeFileSync(join(secretsDir, 'secrets.env'), 'DB_PASSWORD=pw-5e1d-secret\n');
    for (const [env, replicas] of [
      ['staging', '1'],
      ['production', '3'],
    ]) {
      const c = cli(new FakeSwarm());
      const code = await c.run(
        'plan',
        '-f',
        dir,
        '--var',
        `ENV=${env}`,
        '--var',
        `REPLICAS=${replicas}`,
        '--secret-var-file',
        join(secretsDir, 'secrets.env'),
        '--set',
        `vars-${env}`,
        '--resolve-image',
        'never',
      );
      assert.equal(code, 2, c.output());
      assert.match(c.output(), new RegExp(`Service "shop-${env}/web" \\(shop-${env}_web\\) will be created`));
      assert.match(c.output(), new RegExp(`GREETING: "hello ${env}"`));
      if (replicas !== '1') assert.match(c.output(), new RegExp(`spec.replicas: ${replicas}\\n`));
      assert.match(c.output(), /spec\.env\.DATABASE_URL: \(sensitive value set\)/);
      assert.ok(!c.output().includes('pw-5e1d-secret'), c.output());
    }
  });

  it('writes nothing when a variable is unset', async () => {
    const swarm = new FakeSwarm();
    const c = cli(swarm);
    const code = await c.run('apply', '-f', write(service), '--var', 'ENV=prod');
    assert.equal(code, 1);
    assert.match(
      c.output(),
      /app\.yaml:11:34: error SC1201: Service "shop-prod\/web" spec\.env\.DATABASE_URL: the variable DB_PASSWORD is not set/,
    );
    assert.match(c.output(), /nothing was sent to the Swarm/);
    assert.equal((await swarm.readLiveState()).services.length, 0);
  });
});
