import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests } from '../../src/manifest/load.js';
import { parseDocuments } from '../../src/manifest/yaml-documents.js';
import { formatDiagnostic } from '../../src/errors.js';
import { loadText, network, service } from '../helpers/manifests.js';

const codes = (text: string) => loadText(text).diagnostics.map((d) => d.code);
const where = (text: string) =>
  loadText(text).diagnostics.map((d) => `${d.position?.line}:${d.position?.column} ${d.code} ${d.field ?? ''}`);

describe('loading manifests', () => {
  it('positionOf points at the key of a nested field', () => {
    const { documents } = parseDocuments({
      path: 'a.yaml',
      text: 'a: 1\nspec:\n  ports:\n    - target: 80\n      published: 8080\n',
    });
    assert.deepEqual(documents[0].positionOf(['spec', 'ports', 0, 'published']), {
      file: 'a.yaml',
      line: 5,
      column: 7,
    });
    assert.deepEqual(documents[0].positionOf(['spec', 'missing']), { file: 'a.yaml', line: 2, column: 1 });
  });

  it('reads several documents per file and skips empty ones', () => {
    const { desired, diagnostics } = loadText(
      `${network('backend')}${service('web', 'image: nginx\nnetworks: [backend]')}---\n`,
    );
    assert.deepEqual(diagnostics, []);
    assert.equal(desired.networks.length, 1);
    assert.equal(desired.services.length, 1);
    assert.deepEqual(desired.services[0].model.networks, [{ name: 'backend', aliases: [] }]);
  });

  it('reports every problem at once, each with line, column and field', () => {
    const text = service('web', 'imag: nginx\nreplicas: -1\nports:\n  - target: 80\n    protocl: tcp');
    assert.deepEqual(where(text), [
      '5:1 SC2004 spec',
      '6:3 SC2003 spec.imag',
      '7:3 SC2007 spec.replicas',
      '10:7 SC2003 spec.ports[0].protocl',
    ]);
  });

  it('suggests the field a user probably meant', () => {
    const d = loadText(service('web', 'image: nginx\nupdate_config: {parallelism: 2}')).diagnostics[0];
    assert.equal(d.fix, 'did you mean "updateConfig"?');
    assert.match(
      formatDiagnostic(d),
      /^test\.yaml:7:3: error SC2003: Service "web" spec\.update_config: unknown field "update_config"\n {4}fix: did you mean "updateConfig"\?$/,
    );
  });

  it('names the supported apiVersions and kinds', () => {
    const [v] = loadText('apiVersion: v1\nkind: Service\nmetadata: {name: a}\n').diagnostics;
    assert.equal(v.code, 'SC2001');
    assert.match(v.fix!, /swarm\.controller\/v1alpha1/);
    const [k] = loadText('apiVersion: swarm.controller/v1alpha1\nkind: Deployment\nmetadata: {name: a}\n').diagnostics;
    assert.equal(k.code, 'SC2002');
    assert.match(k.fix!, /Config, Network, Route, Secret, Service/);
  });

  it('refuses YAML syntax errors, duplicate keys, alias bombs and non-mappings', () => {
    assert.deepEqual(codes('a: [1, 2\nb: 3\n'), ['SC1001']);
    assert.deepEqual(codes('a: 1\na: 2\n'), ['SC1002']);
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill('*' + String.fromCharCode(97 + i))
          .join(',')}]`,
      );
    assert.deepEqual(codes(bomb.join('\n') + '\n'), ['SC1003']);
    assert.deepEqual(codes('- a\n- b\n'), ['SC1004']);
  });

  it('runs cross-object checks: duplicates, missing networks, dnsrr with ingress ports, global with replicas', () => {
    const text =
      service('web', 'image: a\nnetworks: [backnd]') +
      service('web', 'image: b') +
      service('dns', 'image: a\nendpointMode: dnsrr\nports: [{target: 80, published: 80}]') +
      service('g', 'image: a\nmode: global\nreplicas: 2') +
      network('backend');
    const ds = loadText(text).diagnostics;
    assert.deepEqual(ds.map((d) => d.code).sort(), ['SC3001', 'SC3002', 'SC3004', 'SC3005']);
    assert.match(ds.find((d) => d.code === 'SC3002')!.fix!, /did you mean "backend"/);
    assert.match(ds.find((d) => d.code === 'SC3001')!.message, /first at test\.yaml:4/);
  });

  it('resolves network references inside a namespace first, then without one', () => {
    const ns = '  namespace: shop\n';
    const { desired } = loadText(
      network('backend', '', ns) + network('shared') + service('web', 'image: a\nnetworks: [backend, shared]', ns),
    );
    assert.deepEqual(
      desired.services[0].model.networks.map((n) => n.name),
      ['shared', 'shop_backend'],
    );
    assert.equal(desired.services[0].swarmName, 'shop_web');
  });

  it('refuses names Swarm would refuse, and keeps the ones it and stack deploy accept', () => {
    assert.deepEqual(codes(service('web.1', 'image: a')), ['SC3006']);
    assert.deepEqual(codes(service('web_', 'image: a')), ['SC3006']);
    assert.deepEqual(codes(service('x', 'image: a', '  namespace: my_stack\n')), ['SC3006']);
    assert.deepEqual(codes(service('Web_1', 'image: a') + service('payment_gateway', 'image: a')), []);
    assert.deepEqual(
      loadText(service('payment_gateway', 'image: a', '  namespace: shop\n')).desired.services[0].swarmName,
      'shop_payment_gateway',
    );
    assert.deepEqual(codes(service('web', 'image: a') + service('WEB', 'image: a')), ['SC3001']);
    const long = 'a'.repeat(40);
    assert.deepEqual(codes(service(long, 'image: a', `  namespace: ${'b'.repeat(30)}\n`)), ['SC3006']);
  });

  it('builds no desired state when anything is wrong', () => {
    const { desired } = loadText(service('ok', 'image: a') + service('bad', 'image: a\nreplicas: lots'));
    assert.deepEqual(desired, { networks: [], services: [], routes: [], configs: [], secrets: [] });
  });

  it('reads directories recursively, in order, and refuses links that leave the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sc-load-'));
    await mkdir(join(dir, 'm', 'sub'), { recursive: true });
    await writeFile(join(dir, 'm', 'b.yaml'), service('b', 'image: a'));
    await writeFile(join(dir, 'm', 'sub', 'a.yml'), service('a', 'image: a'));
    await writeFile(join(dir, 'm', 'notes.txt'), 'not yaml');
    await writeFile(join(dir, 'outside.yaml'), service('c', 'image: a'));
    const ok = await loadManifests([join(dir, 'm')]);
    assert.deepEqual(ok.diagnostics, []);
    assert.deepEqual(
      ok.desired.services.map((s) => s.ref.name),
      ['b', 'a'],
    );
    await symlink(join(dir, 'outside.yaml'), join(dir, 'm', 'link.yaml'));
    const bad = await loadManifests([join(dir, 'm')]);
    assert.deepEqual(
      bad.diagnostics.map((d) => d.code),
      ['SC1009'],
    );
  });

  it('reads standard input for -f -, and refuses invalid UTF-8 with its position', async () => {
    const fromStdin = await loadManifests(['-'], async () => Buffer.from(service('web', 'image: a')));
    assert.equal(fromStdin.desired.services[0].ref.name, 'web');
    const bad = await loadManifests(['-'], async () =>
      Buffer.concat([Buffer.from('a: 1\nb: '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]),
    );
    assert.deepEqual(
      bad.diagnostics.map((d) => `${d.code} ${d.position?.line}:${d.position?.column}`),
      ['SC1008 2:4'],
    );
  });
});
