/**
 * Parses manifest files into documents that can say where every value came from, so a
 * problem anywhere in a manifest is reported as file:line:column.
 *
 * Two parsers, one job each: js-yaml reads the values (fast: a 500-service file in ~10 ms),
 * and the `yaml` package, whose syntax tree keeps node ranges, is used only when positions
 * are needed (a diagnostic), when js-yaml refuses the text (to report the error precisely),
 * or when the text uses anchors and aliases (its alias limit stops "billion laughs").
 * Guards: unique keys, a bounded number of aliases, bounded nesting depth.
 */
import jsYaml from 'js-yaml';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Node } from 'yaml';
import { diagnostic, type Diagnostic, type SourcePosition } from '../errors.js';
import type { SourceFile } from './source-files.js';

export type FieldPath = (string | number)[];

export interface ManifestDocument {
  file: string;
  /** 0-based index of the document within its file. */
  index: number;
  value: unknown;
  /** Where the value at `path` starts (the key, for a mapping entry); the nearest existing parent when absent. */
  positionOf(path: FieldPath): SourcePosition;
}

/** ['spec', 'ports', 0, 'target'] -> "spec.ports[0].target"; keys that are not identifiers are quoted. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export const maxAliasCount = 100;
export const maxDepth = 64;

/** Could the text contain an anchor (&a) or alias (*a)? False positives only cost speed. */
function mayUseAliases(text: string): boolean {
  return /(^|[\s[{,:-])[&*][^\s,\]}]/m.test(text);
}

export function parseDocuments(file: SourceFile): { documents: ManifestDocument[]; diagnostics: Diagnostic[] } {
  if (!mayUseAliases(file.text)) {
    let values: unknown[] | undefined;
    try {
      values = jsYaml.loadAll(file.text, undefined, { filename: file.path });
    } catch {
      values = undefined; // the precise parser below reports the problem with its position
    }
    if (values && values.every((v) => depthOf(v) <= maxDepth)) return { documents: withLazyPositions(file, values), diagnostics: [] };
  }
  return parseWithPositions(file);
}

/** Documents whose positions come from the precise parser, run once per file on first need. */
function withLazyPositions(file: SourceFile, values: unknown[]): ManifestDocument[] {
  let precise: ManifestDocument[] | undefined;
  const documents: ManifestDocument[] = [];
  values.forEach((value, index) => {
    if (value === null || value === undefined) return;
    documents.push({
      file: file.path,
      index,
      value,
      positionOf(path) {
        precise ??= parseWithPositions(file).documents;
        const twin = precise.find((d) => d.index === index);
        return twin ? twin.positionOf(path) : { file: file.path, line: 1, column: 1 };
      },
    });
  });
  return documents;
}

function parseWithPositions(file: SourceFile): { documents: ManifestDocument[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const documents: ManifestDocument[] = [];
  const lineCounter = new LineCounter();
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: file.path, line, column: col };
  };
  let parsed;
  try {
    parsed = parseAllDocuments(file.text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  } catch (err) {
    return { documents, diagnostics: [tooComplex(file.path, err)] };
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  list.forEach((doc, index) => {
    const errors = doc.errors.filter((e) => e.code !== 'MULTIPLE_DOCS');
    if (errors.length > 0) {
      for (const e of errors) {
        const duplicate = e.code === 'DUPLICATE_KEY';
        diagnostics.push(diagnostic(duplicate ? 'SC1002' : 'SC1001', firstLine(e.message), {
          position: at(e.pos[0]),
          fix: duplicate ? 'remove one of the two entries; YAML keeps only one and which one is not what you expect' : 'fix the YAML syntax at this position (check indentation, quotes and colons)',
        }));
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
        diagnostics.push(diagnostic('SC1003', `the document expands more than ${maxAliasCount} aliases`, {
          position: at(doc.range[0]),
          fix: 'write the values out; manifests do not need YAML anchors and aliases at this scale',
        }));
      } else {
        diagnostics.push(tooComplex(file.path, err));
      }
      return;
    }
    if (value === null || value === undefined) return; // only comments, or nothing
    if (depthOf(value) > maxDepth) {
      diagnostics.push(diagnostic('SC1007', `the document is nested more than ${maxDepth} levels deep`, {
        position: at(doc.range[0]),
        fix: 'manifests are only a few levels deep; check for a generated or corrupted file',
      }));
      return;
    }
    const root = doc.contents as Node;
    documents.push({
      file: file.path,
      index,
      value,
      positionOf: (path) => at(offsetOf(root, path)),
    });
  });
  return { documents, diagnostics };
}

function tooComplex(file: string, err: unknown): Diagnostic {
  return diagnostic('SC1007', `the file could not be parsed within limits (${err instanceof Error ? err.message : String(err)})`, {
    position: { file, line: 1, column: 1 },
    fix: 'manifests are small, shallow documents; check for a generated or corrupted file',
  });
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > maxDepth) return depth;
  if (Array.isArray(value)) return Math.max(depth, ...value.map((v) => depthOf(v, depth + 1)));
  if (value && typeof value === 'object') return Math.max(depth, ...Object.values(value).map((v) => depthOf(v, depth + 1)));
  return depth;
}

/** Offset of the node at `path`: the key of a mapping entry, the item of a sequence. */
function offsetOf(root: Node, path: FieldPath): number {
  let node: unknown = root;
  let best = rangeStart(root);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return best;
      best = rangeStart(pair.key as Node) ?? best;
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

function rangeStart(node: Node | null | undefined): number {
  return node?.range?.[0] ?? 0;
}
