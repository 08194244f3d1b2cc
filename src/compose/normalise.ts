/**
 * Brings one compose file's services to their long forms before files are merged, as
 * docker/cli's loader does: environment (list or map, plus env_file) as a map, ports and
 * volumes in long syntax, secrets and configs as objects, networks as a map, labels as maps,
 * command and entrypoint as word lists, a string healthcheck test as CMD-SHELL. Positions are
 * carried over to the rebuilt values. Reading env files goes through the injected readText.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Environment } from './interpolate.js';
import { at, type At, type Reader } from './problems.js';
import {
  composeDuration,
  parseEnvFile,
  parsePortShort,
  parseVolumeShort,
  shellSplit,
  ShortSyntaxError,
} from './short-syntax.js';
import { copyPositions, isMapValue, posOf, setPos, type Tree, type TreeMap } from './yaml-tree.js';

export interface NormaliseContext {
  reader: Reader;
  env: Environment;
  /** Relative paths (env_file, bind sources, config files) are relative to this directory. */
  workingDir: string;
  readText: (path: string) => string;
}

export function normaliseServices(services: TreeMap, ctx: NormaliseContext): void {
  for (const [name, raw] of Object.entries(services)) {
    const field = `services.${name}`;
    const svc = raw === null ? {} : ctx.reader.map(at(services, name, 'services'), raw);
    if (!svc) {
      delete services[name];
      continue;
    }
    if (raw === null) services[name] = svc;
    normaliseService(svc, field, ctx);
  }
}

function normaliseService(svc: TreeMap, field: string, ctx: NormaliseContext): void {
  const r = ctx.reader;
  const here = (key: string) => at(svc, key, field);
  if ('environment' in svc || 'env_file' in svc) {
    const env = environment(svc, field, ctx);
    svc.environment = env;
    delete svc.env_file;
  }
  for (const key of ['labels'] as const) if (key in svc) svc[key] = keyValueMap(r, here(key), svc[key]);
  if (isMapValue(svc.deploy) && 'labels' in svc.deploy)
    svc.deploy.labels = keyValueMap(r, at(svc.deploy, 'labels', `${field}.deploy`), svc.deploy.labels);
  if ('ports' in svc) svc.ports = ports(r, here('ports'), svc.ports);
  if ('volumes' in svc) svc.volumes = volumes(r, here('volumes'), svc.volumes, ctx);
  for (const key of ['secrets', 'configs']) if (key in svc) svc[key] = fileRefs(r, here(key), svc[key]);
  if ('networks' in svc) svc.networks = serviceNetworks(r, here('networks'), svc.networks);
  for (const key of ['command', 'entrypoint'])
    if (typeof svc[key] === 'string') svc[key] = words(r, here(key), svc[key]);
  if (isMapValue(svc.healthcheck) && typeof svc.healthcheck.test === 'string') {
    const test = ['CMD-SHELL', svc.healthcheck.test];
    setPos(test, undefined, posOf(svc.healthcheck, 'test'));
    svc.healthcheck.test = test;
  }
}

function words(r: Reader, where: At, text: string): Tree {
  try {
    return shellSplit(text);
  } catch (err) {
    if (!(err instanceof ShortSyntaxError)) throw err;
    r.problems.error('SC6003', where, err.message, 'close the quote, or write the command as a list of words');
    return null;
  }
}

/** env_file entries, then environment entries on top; values from the environment fill empty ones. */
function environment(svc: TreeMap, field: string, ctx: NormaliseContext): TreeMap {
  const r = ctx.reader;
  const out: TreeMap = {};
  setPos(out, undefined, posOf(svc, 'environment') ?? posOf(svc, 'env_file'));
  const put = (name: string, value: string | null, container: unknown, key: string | number) => {
    out[name] = (value === null || value === '') && ctx.env[name] !== undefined ? ctx.env[name] : value;
    setPos(out, name, posOf(container, key));
  };
  const files = r.stringList(at(svc, 'env_file', field), svc.env_file) ?? [];
  files.forEach((file, i) => {
    const path = isAbsolute(file) ? file : resolve(ctx.workingDir, file);
    const where = Array.isArray(svc.env_file) ? at(svc.env_file, i, `${field}.env_file`) : at(svc, 'env_file', field);
    let text: string;
    try {
      text = ctx.readText(path);
    } catch (err) {
      r.problems.error(
        'SC1005',
        where,
        `cannot read env file "${file}" (${path}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        'check the path; it is relative to the directory of the first compose file',
      );
      return;
    }
    const parsed = parseEnvFile(text, ctx.env);
    for (const p of parsed.problems)
      r.problems.error('SC6003', where, `${file}:${p.line}: ${p.message}`, 'write each line as NAME=value');
    for (const [name, { value }] of parsed.vars) {
      put(name, value, where.container, where.key!);
      if (/^(".*"|'.*')$/.test(value)) {
        r.problems.warn(
          'SC6004',
          where,
          `${file}: the value of ${name} keeps its quotes, as docker stack deploy reads env files literally`,
          'remove the quotes in the env file if the program should not see them',
        );
      }
    }
  });
  const env = svc.environment;
  if (Array.isArray(env)) {
    env.forEach((item, i) => {
      const text = r.string(at(env, i, `${field}.environment`), item);
      if (text === undefined) return;
      const eq = text.indexOf('=');
      put(eq < 0 ? text : text.slice(0, eq), eq < 0 ? null : text.slice(eq + 1), env, i);
    });
  } else if (env !== undefined && env !== null) {
    const map = r.map(at(svc, 'environment', field), env);
    for (const [k, v] of Object.entries(map ?? {})) {
      put(k, v === null ? null : (r.string(at(map, k, `${field}.environment`), v) ?? null), map, k);
    }
  }
  return out;
}

/** A list of "key=value" strings or a map, as a map of strings. */
export function keyValueMap(r: Reader, where: At, value: Tree | undefined): TreeMap {
  const out: TreeMap = {};
  setPos(out, undefined, posOf(where.container, where.key));
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const text = r.string(at(value, i, where.field), item) ?? '';
      const eq = text.indexOf('=');
      const k = eq < 0 ? text : text.slice(0, eq);
      out[k] = eq < 0 ? '' : text.slice(eq + 1);
      setPos(out, k, posOf(value, i));
    });
    return out;
  }
  const map = r.map(where, value) ?? {};
  for (const [k, v] of Object.entries(map)) {
    out[k] = r.string(at(map, k, where.field), v) ?? '';
    setPos(out, k, posOf(map, k));
  }
  return out;
}

function ports(r: Reader, where: At, value: Tree | undefined): Tree {
  const list = r.list(where, value) ?? [];
  const out: Tree[] = [];
  setPos(out, undefined, posOf(where.container, where.key));
  list.forEach((item, i) => {
    const here = at(list, i, where.field);
    if (isMapValue(item)) {
      const long: TreeMap = { ...item };
      copyPositions(item, long);
      if (typeof long.published === 'string') {
        try {
          const [p] = parsePortShort(`${long.published}:1`);
          long.published = p.published ?? null;
        } catch (err) {
          r.problems.error(
            'SC6003',
            at(item, 'published', here.field),
            (err as Error).message,
            'write published as a port number, e.g. 8080',
          );
        }
      }
      long.protocol ??= 'tcp';
      long.mode ??= 'ingress';
      setPos(out, out.length, posOf(list, i));
      out.push(long);
      return;
    }
    if (typeof item !== 'string' && typeof item !== 'number') {
      r.problems.error(
        'SC6003',
        here,
        `a port is a string like "8080:80" or a mapping with target, not ${JSON.stringify(item)}`,
        'write "published:target" or {target: 80, published: 8080}',
      );
      return;
    }
    try {
      for (const p of parsePortShort(item)) {
        const long = p as unknown as TreeMap;
        setPos(long, undefined, posOf(list, i));
        setPos(out, out.length, posOf(list, i));
        out.push(long);
      }
    } catch (err) {
      if (!(err instanceof ShortSyntaxError)) throw err;
      r.problems.error(
        'SC6003',
        here,
        err.message,
        'write the port as "8080:80", "8080:80/udp" or a mapping {target: 80, published: 8080}',
      );
    }
  });
  return out;
}

function volumes(r: Reader, where: At, value: Tree | undefined, ctx: NormaliseContext): Tree {
  const list = r.list(where, value) ?? [];
  const out: Tree[] = [];
  list.forEach((item, i) => {
    const here = at(list, i, where.field);
    let long: TreeMap;
    if (typeof item === 'string') {
      try {
        long = parseVolumeShort(item) as unknown as TreeMap;
      } catch (err) {
        if (!(err instanceof ShortSyntaxError)) throw err;
        r.problems.error(
          'SC6003',
          here,
          err.message,
          'write the volume as "name:/path", "./dir:/path:ro" or a mapping with type, source and target',
        );
        return;
      }
      setPos(long, undefined, posOf(list, i));
    } else if (isMapValue(item)) {
      long = { ...item };
      copyPositions(item, long);
    } else {
      r.problems.error(
        'SC6003',
        here,
        `a volume is a string or a mapping, not ${JSON.stringify(item)}`,
        'write "name:/path" or {type: volume, source: name, target: /path}',
      );
      return;
    }
    if (long.type === 'bind' && typeof long.source === 'string') {
      const home = ctx.env.HOME ?? '/root';
      const src = long.source.startsWith('~') ? home + long.source.slice(1) : long.source;
      long.source = isAbsolute(src) ? src : resolve(ctx.workingDir, src);
    }
    setPos(out, out.length, posOf(list, i));
    out.push(long);
  });
  return out;
}

function fileRefs(r: Reader, where: At, value: Tree | undefined): Tree {
  const list = r.list(where, value) ?? [];
  return list.map((item, i) => {
    if (typeof item === 'string') {
      const long: TreeMap = { source: item };
      setPos(long, undefined, posOf(list, i));
      setPos(long, 'source', posOf(list, i));
      return long;
    }
    return r.map(at(list, i, where.field), item) ?? {};
  });
}

function serviceNetworks(r: Reader, where: At, value: Tree | undefined): Tree {
  if (!Array.isArray(value)) return r.map(where, value) ?? {};
  const out: TreeMap = {};
  setPos(out, undefined, posOf(where.container, where.key));
  value.forEach((item, i) => {
    const name = r.string(at(value, i, where.field), item);
    if (name === undefined) return;
    out[name] = null;
    setPos(out, name, posOf(value, i));
  });
  return out;
}

/** Durations are checked where they are converted; this one is shared by the converters. */
export function duration(r: Reader, where: At, value: Tree | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    r.problems.error(
      'SC6003',
      where,
      `a duration expected, not ${JSON.stringify(value)}`,
      'write a duration like "10s" or "1m30s"',
    );
    return undefined;
  }
  try {
    return composeDuration(value);
  } catch (err) {
    r.problems.error('SC6003', where, (err as Error).message, 'write a duration like "10s" or "1m30s"');
    return undefined;
  }
}
