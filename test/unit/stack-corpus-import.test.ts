/**
 * The compose import over the stack corpus (test/fixtures/stacks/), without an engine: every
 * file docker stack deploy refuses gets a statement of why (an SC6008 warning, or an error of
 * the import's own at the same cause); a relative volume target is kept with a warning, and
 * the manifests of every file stack deploy deploys load without errors. The comparison with
 * what stack deploy makes is test/e2e/stack-corpus.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { importCompose } from '../../src/compose/import.js';
import { firstSentence } from '../../src/manifest/schema-validation.js';
import { entryEnv, loadCorpus, stacksDir } from '../helpers/stack-corpus.js';
import { loadText } from '../helpers/manifests.js';

const corpus = loadCorpus();
const importEntry = (name: string) => {
  const e = corpus.find((x) => x.name === name)!;
  return importCompose({
    files: e.files.map((f) => join(stacksDir, e.dir, f)),
    namespace: 'corpus',
    env: entryEnv(e),
  });
};
const said = (name: string) =>
  importEntry(name)
    .diagnostics.filter((d) => d.code === 'SC6008' || d.severity === 'error')
    .map((d) => `${d.code} ${d.field}`);

describe('compose import: what docker stack deploy refuses is said', () => {
  it('a list field left empty (null), as its schema refuses', () => {
    assert.deepEqual(said('swarmprom-improved'), [
      'SC6008 services.grafana.volumes',
      'SC6008 services.prometheus.volumes',
    ]);
  });
  it('depends_on with conditions', () => {
    assert.ok(said('awesome-react-java-mysql').includes('SC6008 services.backend.depends_on'));
  });
  it('a network of the bridge driver, which Swarm services cannot use', () => {
    assert.deepEqual(said('awesome-elk'), ['SC6008 networks.elastic.driver']);
  });
  it('an IPAM driver no plugin provides', () => {
    assert.ok(said('docker-cli-full-example').includes('SC6008 networks.other-network.ipam.driver'));
  });
  it('a required variable not set is an error, as in stack deploy', () => {
    assert.ok(said('traefik-dockerswarm-rocks-no-env').every((s) => s.startsWith('SC6001 ')));
  });
  it('says nothing of the kind for the files stack deploy deploys', () => {
    for (const e of corpus.filter((x) => !x.refusal)) assert.deepEqual(said(e.name), [], e.name);
  });
});

describe('compose import: a relative volume target, as stack deploy accepts it', () => {
  it('is kept as written, with a warning that the engine rejects the tasks, and the manifest loads', () => {
    const r = importEntry('docker-cli-named-resources');
    const web = r.manifests.find((m) => m.kind === 'Service')!;
    assert.deepEqual(
      (web.spec.mounts as { target: string }[]).map((m) => m.target),
      ['volume1', 'volume2'],
    );
    assert.deepEqual(
      r.diagnostics.filter((d) => d.code === 'SC6003').map((d) => d.field),
      ['services.web.volumes[0].target', 'services.web.volumes[1].target'],
    );
    const { diagnostics } = loadText(
      r.manifests
        .filter((m) => m.kind === 'Service')
        .map((m) => stringify(m))
        .join('---\n'),
    );
    assert.deepEqual(
      diagnostics.filter((d) => d.severity === 'error' && d.field?.includes('mounts')),
      [],
    );
  });
});

describe('schema messages', () => {
  it('keep the first sentence whole: "e.g." does not end it', () => {
    assert.equal(
      firstSentence('The path in the container, e.g. "/data". Write it absolute.'),
      'The path in the container, e.g. "/data"',
    );
  });
});
