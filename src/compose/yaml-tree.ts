/**
 * Compose files → plain values that remember where each field was written. Parsing uses the
 * `yaml` package (node ranges); this module walks its nodes itself so that merge keys (`<<`),
 * aliases and legacy octal numbers (`0444`, as docker/cli's YAML reader gives them) behave as
 * in `docker stack deploy`, and so that every map and list records the file, line and column
 * of each of its entries. The compose modules only read values; positions come from posOf().
 * No I/O: the caller reads the file.
 */
import {
  type Alias,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node,
  type Document,
} from 'yaml';
import { diagnostic, type Diagnostic, type SourcePosition } from '../errors.js';

export type Pos = SourcePosition;
export type Tree = null | string | number | boolean | Tree[] | { [key: string]: Tree };
export type TreeMap = { [key: string]: Tree };

const self = Symbol('self');
const positions = new WeakMap<object, Map<string | number | typeof self, Pos>>();

/** Records where `container[key]` (or, without key, the container itself) was written. */
export function setPos(container: object, key: string | number | undefined, pos: Pos | undefined): void {
  if (!pos) return;
  let m = positions.get(container);
  if (!m) positions.set(container, (m = new Map<string | number | typeof self, Pos>()));
  m.set(key ?? self, pos);
}

/** Where `container[key]` was written, else where the container was, else undefined. */
export function posOf(container: unknown, key?: string | number): Pos | undefined {
  if (container === null || typeof container !== 'object') return undefined;
  const m = positions.get(container);
  return (key !== undefined ? m?.get(key) : undefined) ?? m?.get(self);
}

/** Copies every recorded position of `from` onto `to` (used when a value is rebuilt). */
export function copyPositions(from: object, to: object): void {
  const m = positions.get(from);
  if (m) for (const [k, v] of m) setPos(to, k === self ? undefined : k, v);
}

/** A YAML value as text: scalars as written, a list or mapping as JSON (never "[object Object]"). */
export function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return v === null || v === undefined ? '' : (JSON.stringify(v) ?? '');
}

export const isMapValue = (v: unknown): v is TreeMap => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Aliases may expand to at most this many nodes per file (stops alias bombs). */
const maxAliasNodes = 10_000;

export interface ParsedCompose {
  value?: TreeMap;
  diagnostics: Diagnostic[];
}

export function parseComposeText(file: string, text: string): ParsedCompose {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: false, prettyErrors: true });
  const at = (offset: number | undefined): Pos => {
    const p = lineCounter.linePos(offset ?? 0);
    return { file, line: p.line, column: p.col };
  };
  const diagnostics: Diagnostic[] = [];
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ? { file, line: e.linePos[0].line, column: e.linePos[0].col } : at(e.pos[0]);
    const duplicate = e.code === 'DUPLICATE_KEY';
    diagnostics.push(
      diagnostic(duplicate ? 'SC1002' : 'SC1001', e.message.split('\n')[0], {
        position: pos,
        fix: duplicate
          ? 'remove one of the two entries; YAML would keep only one'
          : 'fix the YAML at this position: indentation, quotes, colons, brackets',
      }),
    );
  }
  if (diagnostics.length) return { diagnostics };
  const walker = new Walker(doc, at);
  let value: Tree;
  try {
    value = walker.value(doc.contents);
  } catch (err) {
    if (err instanceof WalkError) return { diagnostics: [err.diagnostic] };
    throw err;
  }
  if (value === null) value = {};
  if (!isMapValue(value)) {
    return {
      diagnostics: [
        diagnostic('SC1004', 'a compose file must be a mapping with "services" at the top', {
          position: at(0),
          fix: 'start the file with "services:"',
        }),
      ],
    };
  }
  return { value, diagnostics };
}

class WalkError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

class Walker {
  private aliasNodes = 0;
  private inAlias = 0;

  constructor(
    private readonly doc: Document,
    private readonly at: (offset: number | undefined) => Pos,
  ) {}

  value(node: Node | null | undefined): Tree {
    if (node === null || node === undefined) return null;
    if (this.inAlias && ++this.aliasNodes > maxAliasNodes) {
      throw new WalkError(
        diagnostic('SC1003', `aliases expand to more than ${maxAliasNodes} values`, {
          position: this.at(node.range?.[0]),
          fix: 'write the values out instead of nesting aliases',
        }),
      );
    }
    if (isAlias(node)) return this.alias(node);
    if (isScalar(node)) return this.scalar(node.value, node.type, node.source);
    if (isSeq(node)) {
      const out: Tree[] = [];
      setPos(out, undefined, this.at(node.range?.[0]));
      node.items.forEach((item, i) => {
        out.push(this.value(item as Node));
        setPos(out, i, this.at((item as Node | null)?.range?.[0] ?? node.range?.[0]));
      });
      return out;
    }
    if (isMap(node)) {
      const out: TreeMap = {};
      setPos(out, undefined, this.at(node.range?.[0]));
      const merged: TreeMap[] = [];
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key as Node | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : keyNode === null ? '' : scalarText(this.value(keyNode));
        if (key === '<<' && isScalar(keyNode) && keyNode.type === 'PLAIN') {
          merged.push(...this.mergeSources(pair.value as Node));
          continue;
        }
        out[key] = this.value(pair.value as Node | null);
        setPos(out, key, this.at(keyNode?.range?.[0]));
      }
      // merge keys: explicit keys win, and among several sources the first one wins
      for (const source of merged) {
        for (const [k, v] of Object.entries(source)) {
          if (k in out) continue;
          out[k] = v;
          setPos(out, k, posOf(source, k));
        }
      }
      return out;
    }
    return null;
  }

  private mergeSources(node: Node): TreeMap[] {
    const items = isSeq(node) ? (node.items as Node[]) : [node];
    return items.map((item) => {
      const v = this.value(item);
      if (!isMapValue(v)) {
        throw new WalkError(
          diagnostic('SC1001', 'a merge key "<<" needs a mapping or a list of mappings, e.g. "<<: *defaults"', {
            position: this.at(item.range?.[0]),
            fix: 'point the merge key at an anchored mapping',
          }),
        );
      }
      return v;
    });
  }

  private alias(node: Alias): Tree {
    const target = node.resolve(this.doc) as Node | undefined;
    if (!target) {
      throw new WalkError(
        diagnostic('SC1001', `unknown alias "*${node.source}"`, {
          position: this.at(node.range?.[0]),
          fix: `define the anchor "&${node.source}" before using it`,
        }),
      );
    }
    this.inAlias++;
    try {
      return this.value(target);
    } finally {
      this.inAlias--;
    }
  }

  private scalar(value: unknown, type: string | undefined, source: string | undefined): Tree {
    // docker/cli's YAML reader reads plain 0644 as octal (YAML 1.1), as file modes are written
    if (type === 'PLAIN' && typeof source === 'string' && /^0[0-7]+$/.test(source)) return parseInt(source, 8);
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return value;
    if (typeof value === 'bigint') return Number(value);
    return scalarText(value);
  }
}
