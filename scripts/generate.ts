/**
 * Code generator for the manifest API.
 *
 * The CRD-style definitions in crds/*.yaml are the single source of truth for the manifest
 * format. This script reads them and produces:
 *
 *   - src/api/<kind>.generated.ts   TypeScript types (json-schema-to-typescript), one file per kind;
 *   - src/api/schemas.generated.ts  the JSON Schemas as data, used by ajv at runtime;
 *   - docs/reference.md             the human reference, generated from the same schemas;
 *   - schemas/*.json                JSON Schemas (draft-07) for editors, one per kind and one for
 *                                   any kind (scripts/editor-schemas.ts).
 *
 * Usage (from the repository root):
 *   npm run gen         regenerate the files
 *   npm run gen:check   exit 1 if a generated file on disk differs from what would be generated
 *
 * Tests import {findStaleFiles} to run the same check in process.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';
import { compile } from 'json-schema-to-typescript';
import { parseDocument, stringify } from 'yaml';
import { EDITOR_SCHEMA_DIR, generateEditorSchemas } from './editor-schemas.js';

// ---------------------------------------------------------------------------------------------
// Types and constants

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** One validated crds/*.yaml file. */
export interface CrdDefinition {
  /** Repository-relative path with forward slashes, e.g. "crds/service.yaml". */
  file: string;
  group: string;
  kind: string;
  plural: string;
  singular: string;
  listKind: string;
  version: string;
  /** The version's openAPIV3Schema, exactly as written in the CRD. */
  schema: JsonObject;
}

/** A file the generator produces: repository-relative path and full contents. */
export interface GeneratedFile {
  path: string;
  contents: string;
}

/** A generated file whose on-disk state does not match the generator's output. */
export interface StaleFile {
  path: string;
  problem: 'missing' | 'out of date' | 'not produced by any CRD';
}

export const GROUP = 'swarm.controller';
export const CRD_DIR = 'crds';
export const API_DIR = 'src/api';
export const SCHEMAS_FILE = `${API_DIR}/schemas.generated.ts`;
export const REFERENCE_FILE = 'docs/reference.md';
const GENERATED_SUFFIX = '.generated.ts';

export class GenerateError extends Error {
  override name = 'GenerateError';
}

// ---------------------------------------------------------------------------------------------
// Repository root

/**
 * The repository root: the nearest directory with a package.json, searching upwards from `start`
 * (default: this module's directory, which works both from scripts/ and from dist/scripts/),
 * then from the current working directory.
 */
export function findRepoRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  for (const from of [start, process.cwd()]) {
    let dir = from;
    for (;;) {
      if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, CRD_DIR))) return dir;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new GenerateError(
    `cannot find the repository root (a directory with package.json and ${CRD_DIR}/) above ${start}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Reading and validating the CRDs

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON Schema of the CRD envelope (everything except the openAPIV3Schema itself). */
const CRD_ENVELOPE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'apiextensions.k8s.io/v1' },
    kind: { const: 'CustomResourceDefinition' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: { name: { type: 'string' } },
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['group', 'names', 'scope', 'versions'],
      properties: {
        group: { const: GROUP },
        names: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'plural', 'singular', 'listKind'],
          properties: {
            kind: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*$' },
            plural: { type: 'string', pattern: '^[a-z][a-z0-9]*$' },
            singular: { type: 'string', pattern: '^[a-z][a-z0-9]*$' },
            listKind: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*List$' },
          },
        },
        scope: { const: 'Namespaced' },
        versions: {
          type: 'array',
          // One version per kind for now: the generated TypeScript has one file per kind.
          minItems: 1,
          maxItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'served', 'storage', 'schema'],
            properties: {
              name: { type: 'string', pattern: '^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$' },
              served: { const: true },
              storage: { const: true },
              schema: {
                type: 'object',
                additionalProperties: false,
                required: ['openAPIV3Schema'],
                properties: { openAPIV3Schema: { type: 'object' } },
              },
            },
          },
        },
      },
    },
  },
} as const;

/** Reads, parses and validates every crds/*.yaml file, sorted by file name. */
export function loadCrds(root: string): CrdDefinition[] {
  const dir = join(root, CRD_DIR);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort();
  if (files.length === 0) throw new GenerateError(`no *.yaml files in ${CRD_DIR}/`);

  const ajv = new Ajv({ allErrors: true, strict: true });
  const validateEnvelope = ajv.compile(CRD_ENVELOPE_SCHEMA);
  const crds: CrdDefinition[] = [];
  for (const name of files) {
    const file = `${CRD_DIR}/${name}`;
    const doc = parseDocument(readFileSync(join(dir, name), 'utf8'), { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new GenerateError(`${file}: invalid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`);
    }
    const data: unknown = doc.toJS();
    if (!validateEnvelope(data)) {
      const text = ajv.errorsText(validateEnvelope.errors, { dataVar: '', separator: '\n  ' });
      throw new GenerateError(`${file}: not a well-formed CustomResourceDefinition:\n  ${text}`);
    }
    const crd = data as unknown as {
      metadata: { name: string };
      spec: {
        group: string;
        names: { kind: string; plural: string; singular: string; listKind: string };
        versions: [{ name: string; schema: { openAPIV3Schema: JsonObject } }];
      };
    };
    const { group, names } = crd.spec;
    const [version] = crd.spec.versions;
    const problems: string[] = [];
    if (crd.metadata.name !== `${names.plural}.${group}`) {
      problems.push(`metadata.name must be "${names.plural}.${group}" (plural.group)`);
    }
    if (names.singular !== names.kind.toLowerCase()) {
      problems.push(`spec.names.singular must be "${names.kind.toLowerCase()}" (the kind in lowercase)`);
    }
    if (names.listKind !== `${names.kind}List`) problems.push(`spec.names.listKind must be "${names.kind}List"`);
    if (name !== `${names.singular}.yaml`) problems.push(`the file must be named ${names.singular}.yaml`);
    const other = crds.find((c) => c.kind === names.kind || c.plural === names.plural);
    if (other) problems.push(`kind ${names.kind} / plural ${names.plural} is already defined in ${other.file}`);
    if (problems.length > 0) throw new GenerateError(`${file}:\n  ${problems.join('\n  ')}`);

    crds.push({
      file,
      group,
      kind: names.kind,
      plural: names.plural,
      singular: names.singular,
      listKind: names.listKind,
      version: version.name,
      schema: version.schema.openAPIV3Schema,
    });
  }
  for (const crd of crds) checkSchema(crd);
  return crds;
}

/** Resolves a local "#/$defs/Name" reference against the root schema. */
function resolveRef(root: JsonObject, ref: string): JsonObject | undefined {
  const match = /^#\/\$defs\/([^/]+)$/.exec(ref);
  const defs = root['$defs'];
  if (!match || !isObject(defs)) return undefined;
  const target = defs[match[1]];
  return isObject(target) ? target : undefined;
}

/**
 * Checks the conventions of an openAPIV3Schema that the tools and the docs rely on, and that
 * it compiles with ajv in strict mode and accepts its own examples.
 */
function checkSchema(crd: CrdDefinition): void {
  const { schema, file, kind } = crd;
  const where = `${file}: openAPIV3Schema`;
  const problems: string[] = [];
  const titles = new Map<string, string>();

  const visit = (node: Json, path: string): void => {
    if (!isObject(node)) {
      problems.push(`${path}: must be a schema object`);
      return;
    }
    if (typeof node['$ref'] === 'string') {
      if (!resolveRef(schema, node['$ref']))
        problems.push(`${path}: $ref "${node['$ref']}" must point to an entry of $defs`);
    }
    const title = node['title'];
    if (title !== undefined) {
      if (typeof title !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(title)) {
        problems.push(`${path}: title must be a PascalCase type name`);
      } else if (titles.has(title)) {
        problems.push(`${path}: title ${title} is also used at ${titles.get(title)}; use a $defs entry and $ref it`);
      } else {
        titles.set(title, path);
      }
      if (typeof node['description'] !== 'string') problems.push(`${path}: a schema with a title needs a description`);
    }
    const isObjectShape = node['type'] === 'object' || 'properties' in node;
    if (isObjectShape && !('additionalProperties' in node)) {
      problems.push(`${path}: objects must set additionalProperties (false, or a schema for map values)`);
    }
    if (node['additionalProperties'] === true) {
      problems.push(`${path}: additionalProperties must be false or a schema, not true`);
    }
    const properties = node['properties'];
    if (isObject(properties)) {
      for (const [key, child] of Object.entries(properties)) {
        if (!isObject(child) || typeof child['description'] !== 'string' || child['description'].trim() === '') {
          problems.push(`${path}/properties/${key}: every property needs a description`);
        }
        visit(child, `${path}/properties/${key}`);
      }
    }
    if (node['items'] !== undefined) visit(node['items'], `${path}/items`);
    if (isObject(node['additionalProperties'])) visit(node['additionalProperties'], `${path}/additionalProperties`);
    for (const keyword of ['anyOf', 'oneOf', 'allOf'] as const) {
      const branches = node[keyword];
      if (Array.isArray(branches)) branches.forEach((b, i) => visit(b, `${path}/${keyword}/${i}`));
    }
    if ('definitions' in node) problems.push(`${path}: use $defs, not definitions`);
  };

  if (schema['title'] !== `${kind}Manifest`) problems.push(`${where}: title must be "${kind}Manifest"`);
  if (typeof schema['description'] !== 'string') problems.push(`${where}: needs a description (the intro in the docs)`);
  if (schema['additionalProperties'] !== false) problems.push(`${where}: additionalProperties must be false`);
  const props = isObject(schema['properties']) ? schema['properties'] : {};
  const apiVersion = props['apiVersion'];
  if (!isObject(apiVersion) || apiVersion['const'] !== `${crd.group}/${crd.version}`) {
    problems.push(`${where}: properties.apiVersion must have const "${crd.group}/${crd.version}"`);
  }
  const kindProp = props['kind'];
  if (!isObject(kindProp) || kindProp['const'] !== kind)
    problems.push(`${where}: properties.kind must have const "${kind}"`);
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  for (const key of ['apiVersion', 'kind', 'metadata']) {
    if (!required.includes(key)) problems.push(`${where}: required must include ${key}`);
  }
  const examples = schema['examples'];
  if (!Array.isArray(examples) || examples.length === 0) {
    problems.push(`${where}: needs examples (the first one is shown in the docs)`);
  }
  visit(schema, '#');
  const defs = schema['$defs'];
  if (isObject(defs)) {
    for (const [name, def] of Object.entries(defs)) {
      if (!isObject(def) || def['title'] !== name) problems.push(`${where}: $defs/${name} needs title "${name}"`);
      visit(def, `#/$defs/${name}`);
    }
  }
  if (problems.length > 0) throw new GenerateError(`${file}:\n  ${problems.join('\n  ')}`);

  const ajv = new Ajv({ allErrors: true, strict: true });
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    throw new GenerateError(`${where} does not compile with ajv (strict mode): ${(err as Error).message}`);
  }
  for (const [i, example] of (examples as Json[]).entries()) {
    if (!validate(example)) {
      throw new GenerateError(
        `${where}: examples[${i}] is not valid: ${ajv.errorsText(validate.errors, { dataVar: 'example' })}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// TypeScript types

const KEEP_AS_DATA = new Set(['const', 'enum', 'default', 'examples']);

/**
 * Adapts a schema for json-schema-to-typescript without changing the types it describes:
 *
 *  - `{$ref, description, default}` becomes `{allOf: [{$ref}], description, default}`. The
 *    $ref parser merges a $ref with its sibling keywords into a new object, which
 *    json-schema-to-typescript then emits as a new type with a numbered name (Duration1,
 *    Duration2, ...). Wrapped in allOf, the property refers to the one named type and keeps
 *    its own doc comment.
 *  - a `default` is appended to the description as a `@default` tag, so editors show it.
 *  - `examples` are dropped (they are documentation data, not types).
 */
function schemaForTypeScript(node: Json): Json {
  if (Array.isArray(node)) return node.map(schemaForTypeScript);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'examples') continue;
    out[key] = KEEP_AS_DATA.has(key) ? value : schemaForTypeScript(value);
  }
  if (typeof out['description'] === 'string' && out['default'] !== undefined) {
    out['description'] = `${out['description']}\n\n@default ${JSON.stringify(out['default'])}`;
  }
  if (typeof out['$ref'] === 'string' && Object.keys(out).length > 1) {
    const { $ref, ...rest } = out;
    return { allOf: [{ $ref }], ...rest };
  }
  return out;
}

function collectTitles(node: Json, titles: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => collectTitles(n, titles));
  else if (isObject(node)) {
    if (typeof node['title'] === 'string') titles.add(node['title']);
    for (const [key, value] of Object.entries(node)) if (!KEEP_AS_DATA.has(key)) collectTitles(value, titles);
  }
  return titles;
}

async function generateTypes(crd: CrdDefinition, root: string): Promise<GeneratedFile> {
  const banner =
    `/* DO NOT EDIT. Generated by scripts/generate.ts from ${crd.file}. ` +
    'Run `npm run gen` after changing the CRD. */';
  const schema = schemaForTypeScript(crd.schema) as Parameters<typeof compile>[0];
  let code = await compile(schema, `${crd.kind}Manifest`, {
    bannerComment: banner,
    additionalProperties: false,
    strictIndexSignatures: true,
    unknownAny: true,
    declareExternallyReferenced: true,
    unreachableDefinitions: false,
    enableConstEnums: true,
    format: true,
    // Pinned so the output does not depend on any prettier configuration.
    style: {
      printWidth: 120,
      tabWidth: 2,
      useTabs: false,
      semi: true,
      singleQuote: true,
      trailingComma: 'all',
      bracketSpacing: true,
      endOfLine: 'lf',
    },
    cwd: join(root, CRD_DIR),
    $refOptions: { resolve: { external: false } },
  });
  code = `${code.trimEnd()}\n`;

  // Guard the properties the rest of the code base relies on.
  const problems: string[] = [];
  if (/\[k: string\]: unknown/.test(code)) problems.push('an object type is open ([k: string]: unknown)');
  const titles = collectTitles(crd.schema, new Set());
  for (const [, name] of code.matchAll(/^export (?:interface|type|const enum|enum) (\w+)/gm)) {
    if (!titles.has(name)) {
      problems.push(
        `type ${name} does not come from a title (add a title, or $ref a $defs entry instead of repeating it)`,
      );
    }
  }
  if (problems.length > 0) {
    throw new GenerateError(
      `${crd.file}: json-schema-to-typescript output is not as expected:\n  ${problems.join('\n  ')}`,
    );
  }
  return { path: `${API_DIR}/${crd.kind.toLowerCase()}${GENERATED_SUFFIX}`, contents: code };
}

// ---------------------------------------------------------------------------------------------
// Runtime schemas

function generateSchemas(crds: CrdDefinition[]): GeneratedFile {
  const entries = crds.map((crd) => ({
    group: crd.group,
    kind: crd.kind,
    plural: crd.plural,
    version: crd.version,
    schema: crd.schema,
  }));
  const files = crds.map((crd) => crd.file).join(', ');
  const contents = [
    `/* DO NOT EDIT. Generated by scripts/generate.ts from ${files}. Run \`npm run gen\` after changing a CRD. */`,
    '',
    '/**',
    ' * The manifest kinds and their JSON Schemas (the openAPIV3Schema of each CRD, verbatim), for',
    ' * validation with ajv at runtime. Use the typed registry in ./schemas.js rather than this list.',
    ' */',
    `export const crds = ${JSON.stringify(entries, null, 2)} as const;`,
    '',
  ].join('\n');
  return { path: SCHEMAS_FILE, contents };
}

// ---------------------------------------------------------------------------------------------
// Precompiled validators

export const VALIDATORS_FILE = `${API_DIR}/validators.generated.ts`;

/**
 * The ajv validator of each kind as standalone code, so commands do not compile schemas on
 * every start (about 60 ms). Same options as a runtime compile: allErrors, verbose.
 */
type StandaloneCode = (ajv: Ajv, refs: Record<string, string>) => string;
const standaloneCode: StandaloneCode = ((standaloneModule as unknown as { default?: StandaloneCode }).default ??
  standaloneModule) as StandaloneCode;

function generateValidators(crds: CrdDefinition[]): GeneratedFile {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    strict: false,
    code: { source: true, esm: true, lines: true },
  });
  for (const crd of crds) ajv.addSchema(crd.schema, crd.kind);
  let code: string = standaloneCode(ajv, Object.fromEntries(crds.map((crd) => [`validate${crd.kind}`, crd.kind])));
  // ajv's ESM output still require()s its runtime helpers; turn each into an import.
  const imports: string[] = [];
  code = code.replace(/require\("(ajv\/dist\/runtime\/[a-z0-9]+)"\)\.default/g, (_m, mod: string) => {
    const name = `runtime_${mod.split('/').pop()}`;
    if (!imports.some((i) => i.includes(` ${name} `))) imports.push(`import ${name} from '${mod}.js';`);
    return `(${name} as unknown as { default: unknown }).default ?? ${name}`;
  });
  if (/require\(/.test(code))
    throw new GenerateError('ajv standalone code has a require() the generator cannot convert');
  const files = crds.map((crd) => crd.file).join(', ');
  const contents = [
    `/* DO NOT EDIT. Generated by scripts/generate.ts from ${files}. Run \`npm run gen\` after changing a CRD. */`,
    '// @ts-nocheck -- ajv standalone output',
    '/* eslint-disable */',
    ...imports,
    code.replace(/^"use strict";/, ''),
    '',
  ].join('\n');
  return { path: VALIDATORS_FILE, contents };
}

// ---------------------------------------------------------------------------------------------
// Reference documentation

interface DocRow {
  path: string;
  type: string;
  default: string;
  description: string;
}

/** A schema with its $ref (if any) resolved and merged with the sibling keywords. */
interface Resolved {
  node: JsonObject;
  /** Title of the $defs entry when the schema was a reference to a value format (Duration...). */
  format?: string;
}

function isValueFormat(def: JsonObject): boolean {
  return def['type'] !== 'object' && def['type'] !== 'array' && !('properties' in def);
}

function resolve(root: JsonObject, node: Json): Resolved {
  if (!isObject(node)) return { node: {} };
  const ref = node['$ref'];
  if (typeof ref !== 'string') return { node };
  const target = resolveRef(root, ref) ?? {};
  const { $ref: _ignored, ...siblings } = node;
  const merged = { ...target, ...siblings };
  return isValueFormat(target) && typeof target['title'] === 'string'
    ? { node: merged, format: target['title'] }
    : { node: merged };
}

function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

function typeLabel(root: JsonObject, schema: Json, formats: Map<string, JsonObject>): string {
  const { node, format } = resolve(root, schema);
  if (format) {
    formats.set(format, resolveRef(root, (schema as JsonObject)['$ref'] as string)!);
    return `[${format}](#${anchor(format)})`;
  }
  const group = (label: string) => (label.includes(' | ') ? `(${label})` : label);
  const anyOf = node['anyOf'];
  if (Array.isArray(anyOf)) return anyOf.map((b) => typeLabel(root, b, formats)).join(' | ');
  switch (node['type']) {
    case 'array':
      return `${group(typeLabel(root, node['items'] ?? {}, formats))}[]`;
    case 'object': {
      const values = node['additionalProperties'];
      if (!isObject(node['properties']) && isObject(values))
        return `map[string]${group(typeLabel(root, values, formats))}`;
      return 'object';
    }
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return node['type'];
    default:
      return 'any';
  }
}

function code(value: Json): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function constraints(node: JsonObject, isFormat: boolean): string[] {
  const out: string[] = [];
  if (node['const'] !== undefined) out.push(`Must be ${code(node['const'])}.`);
  if (Array.isArray(node['enum'])) out.push(`One of ${node['enum'].map(code).join(', ')}.`);
  if (!isFormat && typeof node['pattern'] === 'string') out.push(`Must match ${code(node['pattern'])}.`);
  const min = node['minimum'];
  const max = node['maximum'];
  if (typeof min === 'number' && typeof max === 'number') out.push(`From ${min} to ${max}.`);
  else if (typeof min === 'number') out.push(`At least ${min}.`);
  else if (typeof max === 'number') out.push(`At most ${max}.`);
  const minLength = node['minLength'];
  if (typeof minLength === 'number' && minLength > 1) out.push(`At least ${minLength} characters.`);
  if (typeof node['maxLength'] === 'number') out.push(`At most ${node['maxLength']} characters.`);
  if (typeof node['minItems'] === 'number' && node['minItems'] > 0) out.push(`At least ${node['minItems']} item(s).`);
  const keys = node['propertyNames'];
  if (isObject(keys) && typeof keys['pattern'] === 'string') out.push(`Keys must match ${code(keys['pattern'])}.`);
  return out;
}

function docRows(root: JsonObject, formats: Map<string, JsonObject>): DocRow[] {
  const rows: DocRow[] = [];
  const field = (schema: Json, path: string, required: boolean): void => {
    const { node, format } = resolve(root, schema);
    const description = [
      required ? '**Required.**' : '',
      typeof node['description'] === 'string' ? node['description'] : '',
      ...constraints(node, format !== undefined),
    ]
      .filter((s) => s !== '')
      .join(' ');
    rows.push({
      path: `\`${path}\``,
      type: typeLabel(root, schema, formats),
      default: node['default'] === undefined ? '' : code(node['default']),
      description,
    });
    children(node, path);
  };
  const children = (node: JsonObject, path: string): void => {
    const anyOf = node['anyOf'];
    if (Array.isArray(anyOf)) for (const branch of anyOf) children(resolve(root, branch).node, path);
    const properties = node['properties'];
    if (isObject(properties)) {
      const required = Array.isArray(node['required']) ? node['required'] : [];
      for (const [key, child] of Object.entries(properties)) {
        field(child, path === '' ? key : `${path}.${key}`, required.includes(key));
      }
    }
    const values = node['additionalProperties'];
    if (node['type'] === 'object' && isObject(values)) children(resolve(root, values).node, `${path}.<key>`);
    if (node['type'] === 'array' && node['items'] !== undefined)
      children(resolve(root, node['items']).node, `${path}[]`);
  };
  children(root, '');
  return rows;
}

function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function formatSection(title: string, def: JsonObject): string[] {
  const lines = [`### ${title}`, '', typeof def['description'] === 'string' ? def['description'] : '', ''];
  const branches = Array.isArray(def['anyOf']) ? def['anyOf'] : [def];
  lines.push(branches.length > 1 ? 'Accepted values:' : 'Accepted value:', '');
  for (const branch of branches) {
    if (!isObject(branch)) continue;
    const rules = [
      typeof branch['pattern'] === 'string' ? `matching ${code(branch['pattern'])}` : '',
      typeof branch['minimum'] === 'number' ? `at least ${branch['minimum']}` : '',
    ].filter((s) => s !== '');
    const type = typeof branch['type'] === 'string' ? branch['type'] : JSON.stringify(branch['type']);
    lines.push(`- ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}${rules.length > 0 ? `, ${rules.join(', ')}` : ''}`);
  }
  lines.push('');
  return lines;
}

function generateReference(crds: CrdDefinition[]): GeneratedFile {
  const versions = [...new Set(crds.map((c) => `${c.group}/${c.version}`))];
  const formats = new Map<string, JsonObject>();
  const lines: string[] = [
    '# Manifest reference',
    '',
    `<!-- DO NOT EDIT. Generated by scripts/generate.ts from ${CRD_DIR}/*.yaml. Run \`npm run gen\` after changing a CRD. -->`,
    '',
    `Manifests are YAML documents with \`apiVersion: ${versions.join('` or `')}\` and one of these kinds:`,
    '',
    ...crds.map((c) => `- [${c.kind}](#${anchor(c.kind)}): ${describe(c.schema)}`),
    '',
    'Unknown fields are rejected everywhere. Fields of array items are written `field[].name`, and',
    'entries of maps `field.<key>`. "Required" inside an optional object means required when that',
    'object is present. A default is the value used when the field is absent.',
    '',
  ];
  for (const crd of crds) {
    const example = (crd.schema['examples'] as Json[])[0];
    lines.push(
      `## ${crd.kind}`,
      '',
      describe(crd.schema),
      '',
      `- \`apiVersion: ${crd.group}/${crd.version}\`, \`kind: ${crd.kind}\` (plural \`${crd.plural}\`)`,
      `- Schema: [\`${crd.file}\`](../${crd.file}); TypeScript type: \`${crd.kind}Manifest\` in ` +
        `[\`${API_DIR}/${crd.kind.toLowerCase()}${GENERATED_SUFFIX}\`](../${API_DIR}/${crd.kind.toLowerCase()}${GENERATED_SUFFIX})`,
      '',
      '### Example',
      '',
      '```yaml',
      stringify(example, { lineWidth: 0 }).trimEnd(),
      '```',
      '',
      `### ${crd.kind} fields`,
      '',
      '| Field | Type | Default | Description |',
      '| --- | --- | --- | --- |',
      ...docRows(crd.schema, formats).map(
        (r) => `| ${cell(r.path)} | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`,
      ),
      '',
    );
  }
  if (formats.size > 0) {
    lines.push('## Value formats', '');
    for (const title of [...formats.keys()].sort()) lines.push(...formatSection(title, formats.get(title)!));
  }
  return { path: REFERENCE_FILE, contents: `${lines.join('\n').trimEnd()}\n` };
}

// ---------------------------------------------------------------------------------------------
// Putting it together

/** Generates every file in memory, without touching the disk. Sorted by path. */
export async function generateFiles(root: string = findRepoRoot()): Promise<GeneratedFile[]> {
  const crds = loadCrds(root);
  const files: GeneratedFile[] = [];
  for (const crd of crds) files.push(await generateTypes(crd, root));
  files.push(generateSchemas(crds), generateValidators(crds), generateReference(crds));
  try {
    files.push(...generateEditorSchemas(crds));
  } catch (err) {
    throw new GenerateError((err as Error).message);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Generated files present on disk: src/api/*.generated.ts and schemas/*.json. */
function generatedFilesOnDisk(root: string): string[] {
  const list = (dir: string, suffix: string): string[] =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter((name) => name.endsWith(suffix))
          .map((name) => `${dir}/${name}`)
      : [];
  return [...list(API_DIR, GENERATED_SUFFIX), ...list(EDITOR_SCHEMA_DIR, '.json')].sort();
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/**
 * Compares what the generator would produce with the files on disk. Returns the files that are
 * missing, differ (line endings are ignored), or are *.generated.ts or schemas/*.json files no CRD
 * produces any more.
 * An empty list means everything is up to date.
 */
export async function findStaleFiles(root: string = findRepoRoot()): Promise<StaleFile[]> {
  const files = await generateFiles(root);
  const stale: StaleFile[] = [];
  for (const file of files) {
    const onDisk = readIfExists(join(root, file.path));
    if (onDisk === undefined) stale.push({ path: file.path, problem: 'missing' });
    else if (onDisk.replace(/\r\n/g, '\n') !== file.contents) stale.push({ path: file.path, problem: 'out of date' });
  }
  const expected = new Set(files.map((f) => f.path));
  for (const path of generatedFilesOnDisk(root)) {
    if (!expected.has(path)) stale.push({ path, problem: 'not produced by any CRD' });
  }
  return stale;
}

/** Writes the generated files (only those whose contents changed) and removes orphaned ones. */
export async function writeGeneratedFiles(
  root: string = findRepoRoot(),
): Promise<{ written: string[]; unchanged: string[]; removed: string[] }> {
  const files = await generateFiles(root);
  const result = { written: [] as string[], unchanged: [] as string[], removed: [] as string[] };
  for (const file of files) {
    const target = join(root, file.path);
    if (readIfExists(target) === file.contents) {
      result.unchanged.push(file.path);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.contents);
    result.written.push(file.path);
  }
  const expected = new Set(files.map((f) => f.path));
  for (const path of generatedFilesOnDisk(root)) {
    if (!expected.has(path)) {
      rmSync(join(root, path));
      result.removed.push(path);
    }
  }
  return result;
}

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    console.error(`usage: generate [--check]\nunknown argument: ${unknown.join(' ')}`);
    return 2;
  }
  const root = findRepoRoot();
  if (args.includes('--check')) {
    const stale = await findStaleFiles(root);
    if (stale.length === 0) {
      console.log('generated files are up to date');
      return 0;
    }
    console.error('generated files are not up to date (run `npm run gen`):');
    for (const s of stale) console.error(`  ${s.path}: ${s.problem}`);
    return 1;
  }
  const { written, unchanged, removed } = await writeGeneratedFiles(root);
  for (const path of written) console.log(`wrote     ${path}`);
  for (const path of unchanged) console.log(`unchanged ${path}`);
  for (const path of removed) console.log(`removed   ${path}`);
  return 0;
}

function invokedAsMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedAsMain()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof GenerateError ? `generate: ${err.message}` : err);
      process.exitCode = 1;
    },
  );
}

/** A schema's description, or nothing. */
function describe(schema: Record<string, unknown>): string {
  return typeof schema['description'] === 'string' ? schema['description'] : '';
}
