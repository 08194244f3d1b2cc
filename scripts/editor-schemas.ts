/**
 * Editor schemas: turns the openAPIV3Schema of each CRD into a stand-alone JSON Schema
 * (draft-07) that editors read through yaml-language-server (VS Code's Red Hat YAML extension,
 * Neovim, Helix, Emacs, ...):
 *
 *   - schemas/<kind>.json     one manifest document of that kind (apiVersion, kind, metadata, spec);
 *   - schemas/manifest.json   a document of any kind, dispatched on `kind` with if/then, so that an
 *                             editor reports the errors of the kind written, not of every kind.
 *
 * The constraints are the CRD's own, unchanged (patterns, enums, ranges, required fields,
 * additionalProperties: false): the controller validates with the same schemas. What changes is
 * only the form, for draft-07 readers: `$defs` becomes `definitions`, a `$ref` with constraints
 * beside it is wrapped in `allOf` (draft-07 ignores a $ref's siblings), and every description
 * gets a `markdownDescription` for hovers that adds the default and the value format, every
 * pattern a `patternErrorMessage` that says in words what the value should look like.
 *
 * Pure: CRDs in, files out. scripts/generate.ts writes them and checks them (`gen:check`).
 */
import type { CrdDefinition, GeneratedFile, Json, JsonObject } from './generate.js';

export const EDITOR_SCHEMA_DIR = 'schemas';
export const ANY_KIND_SCHEMA = `${EDITOR_SCHEMA_DIR}/manifest.json`;
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

/** Keywords whose value is data (never a schema to walk into). */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'required']);
/** Keywords whose value is a map of names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'dependencies']);
/** Keywords whose value is a schema or a list of schemas. */
const SCHEMA_KEYWORDS = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'propertyNames',
  'contains',
  'not',
  'if',
  'then',
  'else',
  'anyOf',
  'oneOf',
  'allOf',
]);
/** Draft-07 keywords with a plain value, kept as they are. */
const PLAIN_KEYWORDS = new Set([
  'type',
  'title',
  'description',
  '$comment',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'readOnly',
  'writeOnly',
  'contentMediaType',
  'contentEncoding',
]);
/** Keywords beside a $ref that only annotate; any other beside a $ref is a constraint. */
const ANNOTATIONS = new Set([
  'description',
  'markdownDescription',
  'patternErrorMessage',
  'default',
  'examples',
  'title',
  '$comment',
]);

/** The editor schema of one kind: `schemas/<singular>.json`. */
export function editorSchemaPath(crd: CrdDefinition): string {
  return `${EDITOR_SCHEMA_DIR}/${crd.singular}.json`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function inlineCode(value: Json): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** `#/$defs/Name` → `Name`, for refs inside one CRD. */
function defName(ref: string): string | undefined {
  return /^#\/\$defs\/([^/]+)$/.exec(ref)?.[1];
}

/**
 * The hover text of a schema node: its description, then what a hover would not show
 * otherwise: for a reference to a value format (Duration, MemoryQuantity, ...) what that format
 * accepts, the allowed range and the default. A node with a $ref always gets one: hovers show
 * the referenced schema's description, not the property's, unless markdownDescription is set.
 */
function markdownFor(node: JsonObject, defs: JsonObject): string | undefined {
  if (typeof node['description'] !== 'string') return undefined;
  const parts = [node['description']];
  const ref = typeof node['$ref'] === 'string' ? defName(node['$ref']) : undefined;
  const target = ref !== undefined ? defs[ref] : undefined;
  const isFormat = isObject(target) && target['type'] !== 'object' && !('properties' in target);
  if (isFormat && typeof target['description'] === 'string') parts.push(`*${ref}*: ${target['description']}`);
  const min = node['minimum'];
  const max = node['maximum'];
  if (typeof min === 'number' && typeof max === 'number') parts.push(`From ${min} to ${max}.`);
  else if (typeof min === 'number') parts.push(`At least ${min}.`);
  else if (typeof max === 'number') parts.push(`At most ${max}.`);
  if (node['default'] !== undefined) parts.push(`Default: ${inlineCode(node['default'])}`);
  return parts.length > 1 || ref !== undefined ? parts.join('\n\n') : undefined;
}

interface Conversion {
  /** The CRD file, for error messages. */
  file: string;
  /** The kind's $defs, for hover texts of references. */
  defs: JsonObject;
  /** Where the kind's definitions live: "#/definitions/", or "#/definitions/Service/definitions/" in manifest.json. */
  refBase: string;
}

/**
 * Rewrites one CRD schema node for draft-07. `path` is its JSON pointer in the CRD schema and
 * `context` the nearest description above, for the error message of a pattern. A keyword that
 * draft-07 readers do not know is refused: an editor would skip it silently, and accept what the
 * controller refuses.
 */
function convert(node: Json, c: Conversion, path: string, context?: string): Json {
  if (Array.isArray(node)) return node.map((n, i) => convert(n, c, `${path}/${i}`, context));
  if (!isObject(node)) return node;
  const here = typeof node['description'] === 'string' ? node['description'] : context;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    const at = `${path}/${key}`;
    if (DATA_KEYWORDS.has(key) || PLAIN_KEYWORDS.has(key)) out[key] = value;
    else if (SCHEMA_KEYWORDS.has(key)) out[key] = convert(value, c, at, here);
    else if (SCHEMA_MAPS.has(key)) out[key] = convertMap(value, c, at);
    else if (key === '$defs') out['definitions'] = convertMap(value, c, at);
    else if (key === '$ref' && typeof value === 'string' && defName(value) !== undefined) {
      out[key] = `${c.refBase}${defName(value)}`;
    } else {
      throw new Error(
        `${c.file}: openAPIV3Schema${path.slice(1)}: ${key === '$ref' ? `$ref ${JSON.stringify(value)}` : `keyword "${key}"`} ` +
          'has no draft-07 form for the editor schemas (scripts/editor-schemas.ts); use a draft-07 keyword or teach the converter',
      );
    }
  }
  const markdown = markdownFor(node, c.defs);
  if (markdown !== undefined) out['markdownDescription'] = markdown;
  if (typeof node['pattern'] === 'string') {
    // Editors otherwise say only 'String does not match the pattern of "^(...)$"'.
    out['patternErrorMessage'] = `Does not match ${node['pattern']}${here !== undefined ? `. ${here}` : ''}`;
  }
  const constraints = Object.keys(out).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k));
  if (typeof out['$ref'] === 'string' && constraints.length > 0) {
    const { $ref, ...rest } = out;
    return { ...rest, allOf: [{ $ref }, ...(Array.isArray(rest['allOf']) ? rest['allOf'] : [])] };
  }
  return out;
}

/** A map of name → schema (properties, $defs, ...): the names are data, the values schemas (or, in dependencies, lists of names). */
function convertMap(map: Json, c: Conversion, path: string): Json {
  if (!isObject(map)) return map;
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, convert(v, c, `${path}/${k}`)]));
}

function defsOf(crd: CrdDefinition): JsonObject {
  const defs = crd.schema['$defs'];
  return isObject(defs) ? defs : {};
}

/** The kind's schema for draft-07, without the `$schema`/`$comment` header. */
function kindSchema(crd: CrdDefinition, refBase: string): JsonObject {
  return convert(crd.schema, { file: crd.file, defs: defsOf(crd), refBase }, '#') as JsonObject;
}

function header(files: string): JsonObject {
  return {
    $schema: DRAFT_07,
    $comment: `DO NOT EDIT. Generated by scripts/generate.ts from ${files}. Run \`npm run gen\` after changing a CRD.`,
  };
}

function file(path: string, schema: JsonObject): GeneratedFile {
  return { path, contents: `${JSON.stringify(schema, null, 2)}\n` };
}

/**
 * The schema for a document of any kind. Each kind's schema sits in `definitions` under its
 * kind name (with its own definitions inside, references rewritten), and `allOf` holds one
 * `if kind is X then X` per kind: a document is checked against its own kind only.
 */
function anyKindSchema(crds: CrdDefinition[]): JsonObject {
  const versions = [...new Set(crds.map((c) => `${c.group}/${c.version}`))];
  const kinds = crds.map((c) => c.kind);
  const list = kinds.map((k) => `"${k}"`).join(', ');
  return {
    ...header(crds.map((c) => c.file).join(', ')),
    title: 'Manifest',
    description: `A swarm-controller manifest of any kind: ${list}. Its kind decides the rest of the schema.`,
    type: 'object',
    required: ['apiVersion', 'kind'],
    properties: {
      apiVersion: {
        type: 'string',
        enum: versions,
        description: 'The version of the manifest format.',
      },
      kind: {
        type: 'string',
        enum: kinds,
        description: `The kind of object the manifest describes: one of ${list}.`,
      },
    },
    allOf: crds.map((crd) => ({
      if: { properties: { kind: { const: crd.kind } }, required: ['kind'] },
      then: { $ref: `#/definitions/${crd.kind}` },
    })),
    definitions: Object.fromEntries(
      crds.map((crd) => [crd.kind, kindSchema(crd, `#/definitions/${crd.kind}/definitions/`)]),
    ),
  };
}

/** Every editor schema: one per kind and the any-kind one, sorted by path. */
export function generateEditorSchemas(crds: CrdDefinition[]): GeneratedFile[] {
  const files = crds.map((crd) =>
    file(editorSchemaPath(crd), { ...header(crd.file), ...kindSchema(crd, '#/definitions/') }),
  );
  files.push(file(ANY_KIND_SCHEMA, anyKindSchema(crds)));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
