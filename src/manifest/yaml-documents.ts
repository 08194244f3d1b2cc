/**
 * Parses manifest files into documents that can say where every value came from, so a
 * problem anywhere in a manifest is reported as file:line:column.
 *
 * Two parsers, one job each: js-yaml reads the values (fast: a 500-service file in ~10 ms),
 * and the `yaml` package, whose syntax tree keeps node ranges, is used only when positions
 * are needed (a diagnostic), when js-yaml refuses the text (to report the error precisely),
 * or when the text uses anchors and aliases (its alias limit stops "billion laughs").
 * Guards: unique keys, a bounded number of aliases, bounded nesting depth (checked on the
 * syntax tokens before any recursive step, so a deep document cannot exhaust the stack), and
 * linear work in the size of the text (yaml's own unique-key check is quadratic, so keys are
 * checked here with a set per mapping).
 */
import jsYaml from 'js-yaml';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { CST, Document, Node, YAMLMap } from 'yaml';
import { diagnostic, type Diagnostic, type SourcePosition } from '../errors.js';
import type { SourceFile } from './source-files.js';

type YamlModule = typeof Yaml;
const require = createRequire(import.meta.url);
let yamlModule: YamlModule | undefined;
/**
 * The `yaml` package (about 70 modules), loaded on the first call: only the slow path below
 * needs it, so a valid manifest set without anchors never loads it (the no-op apply's start-up).
 */
const yaml = (): YamlModule => (yamlModule ??= require('yaml') as YamlModule);

export type FieldPath = (string | number)[];

export interface ManifestDocument {
  file: string;
  /** 0-based index of the document within its file. */
  index: number;
  value: unknown;
  /** Where the value at `path` starts (the key, for a mapping entry); the nearest existing parent when absent. */
  positionOf(path: FieldPath): SourcePosition;
  /** The paths of values that were encrypted with SOPS (src/manifest/sops-documents.ts); absent for plain files. */
  encrypted?: FieldPath[];
  /** The paths of values a secret variable was substituted into (src/manifest/variables.ts); hidden like `encrypted`. */
  secretVariables?: FieldPath[];
  /** The scalar at `path` as written in the file, for substitution (src/manifest/variables.ts); undefined when not a scalar. */
  scalarAt?(path: FieldPath): ScalarSource | undefined;
}

/** A scalar as written: its source text (quotes included) and where each of its characters is. */
export interface ScalarSource {
  /** Plain (unquoted, not a block scalar): its value's type follows from its text (3, true, null). */
  plain: boolean;
  /** The text of the scalar in the file, quotes or block header included. */
  source: string;
  /** The position of `source[index]`. */
  positionAt(index: number): SourcePosition;
}

/** ['spec', 'ports', 0, 'target'] -> "spec.ports[0].target"; keys that are not identifiers are quoted (and cut when long). */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${preview(seg)}]`;
  }
  return out;
}

export const maxAliasCount = 100;
export const maxDepth = 64;
/** Entries (mapping pairs and list items) in one document; a manifest has a few hundred. */
export const maxValues = 100_000;
/** Documents in one file. */
export const maxDocuments = 10_000;

/** Could the text contain an anchor (&a) or alias (*a)? False positives only cost speed. */
function mayUseAliases(text: string): boolean {
  return /(^|[\s[{,:-])[&*][^\s,\]}]/m.test(text);
}

/** Characters YAML does not allow anywhere in a stream (outside the printable set of YAML 1.2, 5.1). */
const nonPrintable = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]/;

export function parseDocuments(file: SourceFile): { documents: ManifestDocument[]; diagnostics: Diagnostic[] } {
  const control = nonPrintable.exec(file.text);
  if (control) {
    const before = file.text.slice(0, control.index);
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return {
      documents: [],
      diagnostics: [
        diagnostic('SC1001', `the file contains the control character U+${code}, which YAML does not allow`, {
          position: {
            file: file.path,
            line: before.split('\n').length,
            column: before.length - before.lastIndexOf('\n'),
          },
          fix: `remove it (is this a binary or corrupted file?); inside double quotes, write it as the escape "\\u${code}"`,
        }),
      ],
    };
  }
  if (!mayUseAliases(file.text)) {
    let values: unknown[] | undefined;
    try {
      values = jsYaml.loadAll(file.text, undefined, { filename: file.path });
    } catch {
      values = undefined; // the precise parser below reports the problem with its position
    }
    if (values && values.length <= maxDocuments && values.every(withinLimits))
      return { documents: withLazyPositions(file, values), diagnostics: [] };
  }
  return parseWithPositions(file);
}

/** Documents whose positions come from the precise parser, run once per file on first need. */
function withLazyPositions(file: SourceFile, values: unknown[]): ManifestDocument[] {
  let precise: Map<number, ManifestDocument> | undefined;
  const documents: ManifestDocument[] = [];
  values.forEach((value, index) => {
    if (value === null || value === undefined) return;
    documents.push({
      file: file.path,
      index,
      value,
      positionOf(path) {
        precise ??= new Map(parseWithPositions(file).documents.map((d) => [d.index, d]));
        const twin = precise.get(index);
        return twin ? twin.positionOf(path) : { file: file.path, line: 1, column: 1 };
      },
      scalarAt(path) {
        precise ??= new Map(parseWithPositions(file).documents.map((d) => [d.index, d]));
        return precise.get(index)?.scalarAt?.(path);
      },
    });
  });
  return documents;
}

function parseWithPositions(file: SourceFile): { documents: ManifestDocument[]; diagnostics: Diagnostic[] } {
  const { Composer, LineCounter, Parser, isAlias, isScalar } = yaml();
  const diagnostics: Diagnostic[] = [];
  const documents: ManifestDocument[] = [];
  const lineCounter = new LineCounter();
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: file.path, line, column: col };
  };
  let list: Document.Parsed[];
  try {
    // What parseAllDocuments does, with the depth checked between the (iterative) parser and
    // the (recursive) composer, and yaml's quadratic uniqueKeys replaced by duplicateKeys().
    const counted = countedBeyondLimits(file.text);
    if (counted) {
      const before = file.text.slice(0, counted.offset);
      const position = {
        file: file.path,
        line: before.split('\n').length,
        column: before.length - before.lastIndexOf('\n'),
      };
      return { documents, diagnostics: [diagnostic('SC1007', counted.message, { position, fix: counted.fix })] };
    }
    const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(file.text));
    const excess = beyondLimits(tokens);
    if (excess)
      return {
        documents,
        diagnostics: [diagnostic('SC1007', excess.message, { position: at(excess.offset), fix: excess.fix })],
      };
    list = Array.from<Document.Parsed>(
      new Composer({ uniqueKeys: false, prettyErrors: false, strict: true }).compose(
        tokens,
      ) as Iterable<Document.Parsed>,
    );
  } catch (err) {
    return { documents, diagnostics: [tooComplex(file.path, err)] };
  }
  list.forEach((doc, index) => {
    const errors = doc.errors.filter((e) => e.code !== 'MULTIPLE_DOCS');
    const duplicates = errors.length === 0 && doc.contents ? duplicateKeys(doc.contents) : [];
    for (const d of duplicates) {
      const first = at(d.first);
      diagnostics.push(
        diagnostic('SC1002', `duplicate key ${preview(d.key)} (first at line ${first.line})`, {
          position: at(d.offset),
          fix: 'remove one of the two entries; YAML keeps only one and which one is not what you expect',
        }),
      );
    }
    if (duplicates.length > 0) return;
    if (errors.length > 0) {
      for (const e of errors) {
        const duplicate = e.code === 'DUPLICATE_KEY';
        diagnostics.push(
          diagnostic(duplicate ? 'SC1002' : 'SC1001', firstLine(e.message), {
            position: at(e.pos[0]),
            fix: duplicate
              ? 'remove one of the two entries; YAML keeps only one and which one is not what you expect'
              : 'fix the YAML syntax at this position (check indentation, quotes and colons)',
          }),
        );
      }
      return;
    }
    if (doc.contents === null) return; // an empty document, e.g. a trailing `---`
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/alias/i.test(message)) {
        diagnostics.push(
          diagnostic('SC1003', `the document expands more than ${maxAliasCount} aliases`, {
            position: at(doc.range[0]),
            fix: 'write the values out; manifests do not need YAML anchors and aliases at this scale',
          }),
        );
      } else {
        diagnostics.push(tooComplex(file.path, err));
      }
      return;
    }
    if (value === null || value === undefined) return; // only comments, or nothing
    if (!withinLimits(value)) {
      diagnostics.push(
        diagnostic(
          'SC1007',
          `the document, with its aliases expanded, is nested more than ${maxDepth} levels deep or holds more than ${maxValues} values`,
          {
            position: at(doc.range[0]),
            fix: 'manifests are only a few levels deep; check for a generated or corrupted file',
          },
        ),
      );
      return;
    }
    const root = doc.contents as Node;
    documents.push({
      file: file.path,
      index,
      value,
      positionOf: (path) => at(offsetOf(root, path)),
      scalarAt(path) {
        let node = nodeAt(root, path);
        if (isAlias(node)) node = node.resolve(doc);
        if (!isScalar(node) || !node.range) return undefined;
        const start = node.range[0];
        return {
          plain: node.type === 'PLAIN',
          source: file.text.slice(start, node.range[1]),
          positionAt: (i) => at(start + i),
        };
      },
    });
  });
  return { documents, diagnostics };
}

function tooComplex(file: string, err: unknown): Diagnostic {
  return diagnostic(
    'SC1007',
    `the file could not be parsed within limits (${preview(err instanceof Error ? err.message : String(err), 200, false)})`,
    {
      position: { file, line: 1, column: 1 },
      fix: 'manifests are small, shallow documents; check for a generated or corrupted file',
    },
  );
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Whether `value` nests at most maxDepth levels of lists and mappings and holds at most
 * maxValues entries. Iterative, so a wide list cannot overflow the stack (a spread of its items
 * did), and it stops at the first limit passed. Values shared by aliases are walked once per
 * use: the alias limit bounds how many uses.
 */
function withinLimits(value: unknown): boolean {
  let entries = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > maxDepth) return false;
    const children = Array.isArray(v) ? v : Object.values(v);
    entries += children.length;
    if (entries > maxValues) return false;
    for (const child of children) stack.push([child, depth + 1]);
  }
  return true;
}

const deepFix =
  'manifests are only a few levels deep; check for a generated or corrupted file (unclosed brackets, or indentation that keeps growing)';
const largeFix = 'manifests are small; split the file, or check for a generated or corrupted one';

/**
 * Too many documents or entries, found from the lexer's tokens, which are produced one at a
 * time and kept by nobody: memory stays flat where the syntax tree of a 4 MiB list of numbers
 * took hundreds of MiB. Entries are counted by their indicators ("-", ":", "?", ","), so a
 * flow list of n items counts n - 1: close enough for a limit this far from real manifests.
 */
function countedBeyondLimits(text: string): { offset: number; message: string; fix: string } | undefined {
  const { Lexer } = yaml();
  let offset = 0;
  let entries = 0;
  let documents = 1;
  let scalarNext = false;
  for (const token of new Lexer().lex(text)) {
    if (token === '\x02' || token === '\x18') continue; // zero-width markers: document, flow error end
    if (token === '\x1f') {
      scalarNext = true; // the next token is a scalar's text, whatever it looks like
      continue;
    }
    if (scalarNext) scalarNext = false;
    else if (token === '---') {
      entries = 0;
      if (++documents > maxDocuments + 1)
        return { offset, message: `the file holds more than ${maxDocuments} documents`, fix: largeFix };
    } else if ((token === '-' || token === ':' || token === '?' || token === ',') && ++entries > maxValues) {
      return {
        offset,
        message: `the document holds more than ${maxValues} values (the limit is passed here)`,
        fix: largeFix,
      };
    }
    offset += token.length;
  }
  return undefined;
}

/**
 * The first limit the syntax tokens pass, if any: more than maxDocuments documents, a
 * collection nested deeper than maxDepth, more than maxValues entries in one document.
 * Checked before composing, which recurses and builds a node per value; iterative itself.
 */
function beyondLimits(tokens: CST.Token[]): { offset: number; message: string; fix: string } | undefined {
  let documents = 0;
  for (const token of tokens) {
    if (token.type !== 'document') continue;
    if (++documents > maxDocuments)
      return { offset: token.offset, message: `the file holds more than ${maxDocuments} documents`, fix: largeFix };
    let entries = 0;
    const stack: [CST.Token | null | undefined, number][] = [[token.value, 0]];
    while (stack.length > 0) {
      const [t, depth] = stack.pop()!;
      if (!t || (t.type !== 'block-map' && t.type !== 'block-seq' && t.type !== 'flow-collection')) continue;
      if (depth + 1 > maxDepth)
        return { offset: t.offset, message: `the document is nested more than ${maxDepth} levels deep`, fix: deepFix };
      entries += t.items.length;
      if (entries > maxValues)
        return { offset: t.offset, message: `the document holds more than ${maxValues} values`, fix: largeFix };
      for (const item of t.items) {
        stack.push([item.key, depth + 1]);
        stack.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

/** Keys given twice in one mapping, with the offset of each repeat and of its first use: linear, a set per mapping. */
function duplicateKeys(root: Node): { key: string; offset: number; first: number }[] {
  const { isMap, isScalar, isSeq } = yaml();
  const out: { key: string; offset: number; first: number }[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (!node || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    if (isMap(node)) {
      const firsts = new Map<string, number>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const key = String(pair.key.value);
          const offset = rangeStart(pair.key);
          const first = firsts.get(key);
          if (first === undefined) firsts.set(key, offset);
          else out.push({ key, offset, first });
        }
        stack.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return out.sort((a, b) => a.offset - b.offset);
}

/** Pairs of a large mapping by key, built once per mapping, so looking up N fields costs N, not N². */
const pairIndex = new WeakMap<YAMLMap, Map<string, unknown>>();

function pairOf(map: YAMLMap, segment: string | number): unknown {
  const { isPair, isScalar } = yaml();
  if (map.items.length < 32)
    return map.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items)
      if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
    pairIndex.set(map, index);
  }
  return index.get(String(segment));
}

/** A value for a message: JSON-quoted (so control characters cannot reach a terminal), cut to `max` characters. */
export function preview(value: unknown, max = 80, quote = true): string {
  const text = quote ? (JSON.stringify(value) ?? String(value)) : JSON.stringify(String(value)).slice(1, -1);
  return text.length > max ? `${text.slice(0, max)}…(${text.length} characters)` : text;
}

/** Offset of the node at `path`: the key of a mapping entry, the item of a sequence. */
function offsetOf(root: Node, path: FieldPath): number {
  const { isMap, isSeq } = yaml();
  let node: unknown = root;
  let best = rangeStart(root);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = pairOf(node, segment) as { key: Node; value: unknown } | undefined;
      if (!pair) return best;
      best = rangeStart(pair.key) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (!item) return best;
      best = rangeStart(item as Node) ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

/** The value node at `path`, if the path leads to one. */
function nodeAt(root: Node, path: FieldPath): unknown {
  const { isMap, isSeq } = yaml();
  let node: unknown = root;
  for (const segment of path) {
    if (isMap(node)) node = (pairOf(node, segment) as { value: unknown } | undefined)?.value;
    else if (isSeq(node) && typeof segment === 'number') node = node.items[segment];
    else return undefined;
  }
  return node;
}

function rangeStart(node: Node | null | undefined): number {
  return node?.range?.[0] ?? 0;
}
