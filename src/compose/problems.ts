/**
 * Collects the errors and warnings of one import, each with the compose file, line and
 * field path, and offers the small typed readers (string, integer, boolean, list) that the
 * compose modules use to read values and report a wrong one in one place.
 */
import { diagnostic, type Diagnostic, type ErrorCode } from '../errors.js';
import { isMapValue, posOf, type Tree, type TreeMap } from './yaml-tree.js';

export class Problems {
  readonly list: Diagnostic[] = [];

  error(
    code: ErrorCode,
    at: { container: unknown; key?: string | number; field: string },
    message: string,
    fix: string,
  ): void {
    this.list.push(diagnostic(code, message, { position: posOf(at.container, at.key), field: at.field, fix }));
  }

  warn(
    code: ErrorCode,
    at: { container: unknown; key?: string | number; field: string },
    message: string,
    fix: string,
  ): void {
    this.list.push(
      diagnostic(code, message, { severity: 'warning', position: posOf(at.container, at.key), field: at.field, fix }),
    );
  }

  get hasErrors(): boolean {
    return this.list.some((d) => d.severity === 'error');
  }
}

/** A place in a compose value: the containing map or list, the key, and the field path. */
export interface At {
  container: unknown;
  key?: string | number;
  field: string;
}

export const at = (container: unknown, key: string | number, parentField: string): At => ({
  container,
  key,
  field: typeof key === 'number' ? `${parentField}[${key}]` : parentField ? `${parentField}.${key}` : key,
});

/** Typed readers: each returns undefined (and reports SC6003) when the value has the wrong type. */
export class Reader {
  constructor(readonly problems: Problems) {}

  private wrong(where: At, expected: string, value: unknown): undefined {
    this.problems.error(
      'SC6003',
      where,
      `${expected} expected, not ${JSON.stringify(value)}`,
      `write ${where.field.split('.').pop()} as ${expected}`,
    );
    return undefined;
  }

  string(where: At, value: Tree | undefined): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return this.wrong(where, 'a string', value);
  }

  int(where: At, value: Tree | undefined, min = 0): number | undefined {
    if (value === undefined || value === null) return undefined;
    const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= min) return n;
    return this.wrong(where, `a whole number of at least ${min}`, value);
  }

  number(where: At, value: Tree | undefined): number | undefined {
    if (value === undefined || value === null) return undefined;
    const n = typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
    if (typeof n === 'number') return n;
    return this.wrong(where, 'a number', value);
  }

  bool(where: At, value: Tree | undefined): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
    return this.wrong(where, 'true or false', value);
  }

  map(where: At, value: Tree | undefined): TreeMap | undefined {
    if (value === undefined || value === null) return undefined;
    if (isMapValue(value)) return value;
    return this.wrong(where, 'a mapping', value);
  }

  list(where: At, value: Tree | undefined): Tree[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value;
    return this.wrong(where, 'a list', value);
  }

  /** A string or a list of strings, as `dns`, `env_file` or `tmpfs` accept. */
  stringList(where: At, value: Tree | undefined): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return [value];
    const list = this.list(where, value);
    return list?.map((v, i) => this.string(at(list, i, where.field), v) ?? '');
  }
}
