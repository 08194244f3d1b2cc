/**
 * The editor schemas (schemas/*.json, draft-07, generated from crds/) agree with the controller's
 * own validation: every example manifest passes both, each mistake fails both at the same field,
 * and a few thousand wrong values made from the examples get the same verdict from both.
 * schemas/manifest.json reports the errors of a document's own kind only. No processes: the
 * real editor (yaml-language-server) is test/integration/editor-schemas.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { generateEditorSchemas } from '../../scripts/editor-schemas.js';
import { findRepoRoot, type CrdDefinition, type JsonObject } from '../../scripts/generate.js';
import { kinds } from '../../src/api/schemas.js';
import { schemaLine } from '../../src/compose/write.js';
import { validateDocument } from '../../src/manifest/schema-validation.js';
import { parseDocuments } from '../../src/manifest/yaml-documents.js';
import type { Diagnostic } from '../../src/errors.js';

const root = findRepoRoot();
const schemaFiles = readdirSync(join(root, 'schemas')).filter((f) => f.endsWith('.json'));
const schemas = new Map(
  schemaFiles.map((f) => [f, JSON.parse(readFileSync(join(root, 'schemas', f), 'utf8')) as Record<string, unknown>]),
);

// Strict mode: an unknown keyword or a malformed schema fails. The two editor keywords are declared.
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addVocabulary(['markdownDescription', 'patternErrorMessage']);
const validators = new Map<string, ValidateFunction>([...schemas].map(([f, s]) => [f, ajv.compile(s)]));

function editorErrors(file: string, value: unknown): ErrorObject[] {
  const validate = validators.get(file);
  assert.ok(validate, `no schemas/${file}`);
  return validate(value) ? [] : [...(validate.errors ?? [])];
}

/**
 * The controller's verdict on one document: the schema diagnostics `controller validate` prints
 * (positions are not compared here, so the document is not parsed from text).
 */
function controllerDiagnostics(value: unknown): Diagnostic[] {
  const positionOf = () => ({ file: 'test.yaml', line: 1, column: 1 });
  return validateDocument({ file: 'test.yaml', index: 0, value, positionOf }).diagnostics;
}

const schemaFileOf = (kind: string): string => `${kind.toLowerCase()}.json`;

/** Every document of the example manifests, with its file and the schema its modeline names. */
interface ExampleDocument {
  file: string;
  value: Record<string, unknown>;
  modeline: string | undefined;
}

function exampleDocuments(): ExampleDocument[] {
  const out: ExampleDocument[] = [];
  for (const dir of ['manifests/examples', 'manifests/controller']) {
    if (!existsSync(join(root, dir))) continue;
    for (const name of readdirSync(join(root, dir)).filter((n) => /\.ya?ml$/.test(n))) {
      const file = `${dir}/${name}`;
      const text = readFileSync(join(root, file), 'utf8');
      const { documents, diagnostics } = parseDocuments({ path: file, text });
      assert.deepEqual(diagnostics, [], file);
      // yaml-language-server reads the modeline of each document from that document's header comments.
      const chunks = text.split(/^---\s*$/m);
      assert.equal(chunks.length, documents.length, `${file}: one chunk per document`);
      documents.forEach((d, i) => {
        const first = chunks[i].replace(/^\n/, '').split('\n')[0];
        const modeline = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)?.[1];
        out.push({ file, value: d.value as Record<string, unknown>, modeline });
      });
    }
  }
  return out;
}

describe('editor schemas', () => {
  it('are draft-07, one per kind plus manifest.json, and compile with ajv in strict mode', () => {
    assert.deepEqual(schemaFiles.sort(), [...kinds.map((k) => schemaFileOf(k.kind)), 'manifest.json'].sort());
    for (const [file, schema] of schemas) {
      assert.equal(schema['$schema'], 'http://json-schema.org/draft-07/schema#', file);
      assert.ok(!JSON.stringify(schema).includes('$defs'), `${file} uses definitions, not $defs`);
    }
  });

  it('keep the descriptions, defaults and constraints of the CRD and add hover texts', () => {
    const service = schemas.get('service.json') as any;
    const spec = service.definitions.ServiceSpec.properties;
    assert.deepEqual(spec.mode.enum, ['replicated', 'global', 'replicated-job', 'global-job']);
    assert.equal(spec.mode.default, 'replicated');
    assert.match(spec.mode.markdownDescription, /Default: `replicated`/);
    assert.equal(spec.stopGracePeriod.$ref, '#/definitions/Duration');
    assert.match(spec.stopGracePeriod.markdownDescription, /^How long Swarm waits.*\n\n\*Duration\*: A Go-style/s);
    assert.match(service.definitions.ServicePort.properties.target.markdownDescription, /From 1 to 65535\./);
    assert.match(service.definitions.Duration.patternErrorMessage, /^Does not match \^\(.*\. A Go-style duration/);
    assert.equal(service.additionalProperties, false);
    assert.equal(service.definitions.ServiceSpec.additionalProperties, false);
  });

  it('accept every document of the example manifests, as the controller does, and each names its schema', () => {
    const documents = exampleDocuments();
    assert.ok(documents.length >= 7, `found ${documents.length} documents`);
    for (const { file, value, modeline } of documents) {
      const kind = String(value.kind);
      assert.deepEqual(controllerDiagnostics(value), [], `${file}: controller`);
      assert.deepEqual(editorErrors(schemaFileOf(kind), value), [], `${file}: schemas/${schemaFileOf(kind)}`);
      assert.deepEqual(editorErrors('manifest.json', value), [], `${file}: schemas/manifest.json`);
      assert.ok(modeline, `${file}: every document starts with a yaml-language-server modeline`);
      const target = resolve(dirname(join(root, file)), modeline);
      assert.ok(
        [join(root, 'schemas', schemaFileOf(kind)), join(root, 'schemas/manifest.json')].includes(target),
        `${file}: the modeline ${modeline} names the schema of a ${kind}`,
      );
    }
  });

  it('are named by the line `controller import compose` writes, relative to the output directory', () => {
    for (const dir of [join(tmpdir(), 'shop'), join(root, 'manifests/imported/shop')]) {
      for (const k of kinds) {
        const line = schemaLine(k.kind, dir);
        const path = /^# yaml-language-server: \$schema=(\S+)\n$/.exec(line)?.[1];
        assert.ok(path && !isAbsolute(path), `${k.kind}: ${line}`);
        assert.equal(resolve(dir, path), join(root, 'schemas', schemaFileOf(k.kind)));
      }
    }
  });

  it('accept the examples of every CRD', () => {
    for (const k of kinds) {
      for (const example of (k.schema as { examples: unknown[] }).examples) {
        assert.deepEqual(editorErrors(schemaFileOf(k.kind), example), [], k.kind);
        assert.deepEqual(editorErrors('manifest.json', example), [], k.kind);
      }
    }
  });
});

const service = {
  apiVersion: 'swarm.controller/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { image: 'nginx:1.27', replicas: 2, ports: [{ target: 80, published: 8080 }] },
};
const network = {
  apiVersion: 'swarm.controller/v1alpha1',
  kind: 'Network',
  metadata: { name: 'backend' },
  spec: { driver: 'overlay', ipam: { subnets: [{ subnet: '10.20.0.0/24' }] } },
};

interface Mistake {
  name: string;
  value: unknown;
  /** The error the editor schema gives: JSON pointer and keyword. */
  editor: { at: string; keyword: string };
  /** The diagnostic the controller gives: code and field. */
  controller: { code: string; field: string };
}

function change<T>(base: T, edit: (copy: any) => void): T {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}

const mistakes: Mistake[] = [
  {
    name: 'an unknown field (compose spelling)',
    value: change(service, (m) => (m.spec.update_config = { parallelism: 1 })),
    editor: { at: '/spec', keyword: 'additionalProperties' },
    controller: { code: 'SC2003', field: 'spec.update_config' },
  },
  {
    name: 'a wrong enum value',
    value: change(service, (m) => (m.spec.mode = 'everywhere')),
    editor: { at: '/spec/mode', keyword: 'enum' },
    controller: { code: 'SC2006', field: 'spec.mode' },
  },
  {
    name: 'a name that breaks the pattern',
    value: change(service, (m) => (m.metadata.name = 'web.1')),
    editor: { at: '/metadata/name', keyword: 'pattern' },
    controller: { code: 'SC3006', field: 'metadata.name' },
  },
  {
    name: 'a malformed duration',
    value: change(service, (m) => (m.spec.stopGracePeriod = '10 seconds')),
    editor: { at: '/spec/stopGracePeriod', keyword: 'pattern' },
    controller: { code: 'SC2008', field: 'spec.stopGracePeriod' },
  },
  {
    name: 'a memory size in the wrong unit',
    value: change(service, (m) => (m.spec.resources = { limits: { memory: '512m' } })),
    editor: { at: '/spec/resources/limits/memory', keyword: 'anyOf' },
    controller: { code: 'SC2008', field: 'spec.resources.limits.memory' },
  },
  {
    name: 'a port out of range',
    value: change(service, (m) => (m.spec.ports[0].published = 70000)),
    editor: { at: '/spec/ports/0/published', keyword: 'maximum' },
    controller: { code: 'SC2007', field: 'spec.ports[0].published' },
  },
  {
    name: 'a missing required field',
    value: change(service, (m) => delete m.spec.image),
    editor: { at: '/spec', keyword: 'required' },
    controller: { code: 'SC2004', field: 'spec' },
  },
  {
    name: 'a number where a string belongs',
    value: change(service, (m) => (m.spec.image = 5)),
    editor: { at: '/spec/image', keyword: 'type' },
    controller: { code: 'SC2005', field: 'spec.image' },
  },
  {
    name: 'another field beside healthcheck disable: true',
    value: change(service, (m) => (m.spec.healthcheck = { disable: true, retries: 3 })),
    editor: { at: '/spec/healthcheck', keyword: 'propertyNames' },
    controller: { code: 'SC2003', field: 'spec.healthcheck.retries' },
  },
  {
    name: 'a subnet prefix over 32',
    value: change(network, (m) => (m.spec.ipam.subnets[0].subnet = '10.20.0.0/33')),
    editor: { at: '/spec/ipam/subnets/0/subnet', keyword: 'pattern' },
    controller: { code: 'SC2008', field: 'spec.ipam.subnets[0].subnet' },
  },
  {
    name: 'an unknown field at the top',
    value: change(network, (m) => (m.status = {})),
    editor: { at: '', keyword: 'additionalProperties' },
    controller: { code: 'SC2003', field: 'status' },
  },
];

describe('a wrong manifest', () => {
  for (const mistake of mistakes) {
    it(`is rejected by the editor schema and the controller at the same field: ${mistake.name}`, () => {
      const kind = (mistake.value as { kind: string }).kind;
      const errors = editorErrors(schemaFileOf(kind), mistake.value);
      assert.ok(
        errors.some((e) => e.instancePath === mistake.editor.at && e.keyword === mistake.editor.keyword),
        `expected ${mistake.editor.keyword} at "${mistake.editor.at}", got ${JSON.stringify(errors.map((e) => [e.instancePath, e.keyword]))}`,
      );
      const diagnostics = controllerDiagnostics(mistake.value);
      assert.ok(
        diagnostics.some((d) => d.code === mistake.controller.code && d.field === mistake.controller.field),
        `expected ${mistake.controller.code} at ${mistake.controller.field}, got ${JSON.stringify(diagnostics.map((d) => [d.code, d.field]))}`,
      );
    });
  }

  it('is judged by manifest.json against its own kind only', () => {
    const others = kinds.map((k) => k.kind);
    for (const mistake of mistakes) {
      const kind = (mistake.value as { kind: string }).kind;
      const errors = editorErrors('manifest.json', mistake.value);
      assert.ok(
        errors.some((e) => e.instancePath === mistake.editor.at && e.keyword === mistake.editor.keyword),
        `${mistake.name}: ${JSON.stringify(errors.map((e) => [e.instancePath, e.keyword]))}`,
      );
      for (const e of errors) {
        for (const other of others.filter((o) => o !== kind)) {
          assert.ok(!e.schemaPath.includes(`/definitions/${other}/`), `${mistake.name}: an error of ${other}`);
        }
      }
    }
  });

  it('of an unknown kind gets one error from manifest.json, at kind', () => {
    const errors = editorErrors(
      'manifest.json',
      change(service, (m) => (m.kind = 'Servic')),
    );
    assert.deepEqual(
      errors.map((e) => [e.instancePath, e.keyword]),
      [['/kind', 'enum']],
    );
  });
});

/** Every leaf of `value` with its path. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [path];
}

/** Every object of `value` (by path), where an unknown field can be added. */
function objects(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => objects(v, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return [path, ...Object.entries(value).flatMap(([k, v]) => objects(v, [...path, k]))];
  }
  return [];
}

function setAt(base: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(base) as any;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path[path.length - 1]] = value;
  return copy;
}

const wrongValues: unknown[] = ['', 'Web_1', '10 seconds', '512m', -1, 0, 1.5, 70000, true, null, {}, [], ['x']];

describe('the editor schemas and the controller', () => {
  it('give the same verdict on thousands of values made from the examples', () => {
    const bases = [
      ...kinds.flatMap((k) => (k.schema as { examples: unknown[] }).examples),
      ...exampleDocuments().map((d) => d.value),
    ];
    let cases = 0;
    let rejected = 0;
    for (const base of bases) {
      const kind = (base as { kind: string }).kind;
      const variants = [
        ...leaves(base).flatMap((path) => wrongValues.map((v) => setAt(base, path, v))),
        ...objects(base).map((path) => setAt(base, [...path, 'bogusField'], 1)),
      ];
      for (const variant of variants) {
        const controllerValid = controllerDiagnostics(variant).length === 0;
        const kindValid = editorErrors(schemaFileOf(kind), variant).length === 0;
        const anyValid = editorErrors('manifest.json', variant).length === 0;
        if (kindValid !== controllerValid || anyValid !== controllerValid) {
          assert.fail(
            `controller: ${controllerValid ? 'valid' : 'invalid'}, schemas/${schemaFileOf(kind)}: ${kindValid ? 'valid' : 'invalid'}, ` +
              `schemas/manifest.json: ${anyValid ? 'valid' : 'invalid'} for ${JSON.stringify(variant)}`,
          );
        }
        cases++;
        if (!controllerValid) rejected++;
      }
    }
    assert.ok(cases > 1000, `${cases} cases`);
    assert.ok(rejected > cases / 2 && rejected < cases, `${rejected} of ${cases} rejected: both verdicts occur`);
  });
});

describe('the converter from CRD to editor schema', () => {
  function crdWith(spec: JsonObject, defs: JsonObject = {}): CrdDefinition {
    return {
      file: 'crds/thing.yaml',
      group: 'swarm.controller',
      kind: 'Thing',
      plural: 'things',
      singular: 'thing',
      listKind: 'ThingList',
      version: 'v1alpha1',
      schema: {
        title: 'ThingManifest',
        description: 'A thing.',
        type: 'object',
        additionalProperties: false,
        properties: {
          spec: { description: 'Its spec.', type: 'object', additionalProperties: false, properties: spec },
        },
        $defs: defs,
      },
    };
  }
  const thing = (crd: CrdDefinition): any =>
    JSON.parse(generateEditorSchemas([crd]).find((f) => f.path === 'schemas/thing.json')!.contents);

  it('wraps a $ref with a constraint beside it in allOf, which draft-07 would otherwise ignore', () => {
    const crd = crdWith(
      {
        short: { $ref: '#/$defs/Name', maxLength: 5, description: 'A short name.' },
        plain: { $ref: '#/$defs/Name', default: 'x', description: 'A name.' },
      },
      { Name: { title: 'Name', description: 'A name.', type: 'string', pattern: '^[a-z]+$' } },
    );
    const props = thing(crd).properties.spec.properties;
    assert.deepEqual(props.short.allOf, [{ $ref: '#/definitions/Name' }]);
    assert.equal(props.short.maxLength, 5);
    assert.equal(props.plain.$ref, '#/definitions/Name');
    assert.equal(props.plain.allOf, undefined);
    const validate = new Ajv({ strict: false }).compile(thing(crd));
    const manifest = (short: string) => ({ spec: { short } });
    assert.equal(validate(manifest('abc')), true);
    assert.equal(validate(manifest('abcdefgh')), false, 'maxLength applies');
    assert.equal(validate(manifest('ABC')), false, 'the referenced pattern applies');
  });

  it('refuses a keyword that draft-07 readers would skip, naming the file and the place', () => {
    const crd = crdWith({ list: { description: 'A list.', type: 'array', prefixItems: [{ type: 'string' }] } });
    assert.throws(
      () => generateEditorSchemas([crd]),
      /crds\/thing\.yaml: openAPIV3Schema\/properties\/spec\/properties\/list: keyword "prefixItems" has no draft-07 form/,
    );
  });
});
