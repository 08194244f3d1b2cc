/**
 * Top-level compose networks, configs and secrets → Network, Config and Secret manifests.
 * Networks are written only when a service uses one (as `docker stack deploy` creates only
 * those), `default` as a plain overlay network. Configs and secrets from files name a copy in
 * the output directory (`files/...`, made by write.ts); external ones keep their Swarm name.
 */
import { basename, isAbsolute, resolve } from 'node:path';
import type { NameTable } from './names.js';
import { at, type Reader } from './problems.js';
import { isMapValue, posOf, type Pos, type TreeMap } from './yaml-tree.js';

type Spec = Record<string, unknown>;

export interface ConvertedObject {
  kind: 'Network' | 'Config' | 'Secret';
  name: string;
  labels: Record<string, string>;
  spec: Spec;
}

/** A file to copy into the output directory: absolute source, path relative to the output directory. */
export interface DataFile {
  /** The file to copy; unused when `content` is given. */
  from: string;
  to: string;
  secret: boolean;
  /** The content itself (a config read from the Swarm by `import stack`), written instead of copying `from`. */
  content?: Buffer;
  /** Where the compose file names it, for a file that cannot be read. */
  position?: Pos;
  field: string;
}

const str = (v: unknown) => String(v);
const stringMap = (m: TreeMap) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v === null ? '' : str(v)]));

function externalName(r: Reader, top: TreeMap, f: string, key: string): { external: boolean; name?: string } {
  const ext = top.external;
  const external = ext === true || isMapValue(ext) || (typeof ext === 'string' && ext === 'true');
  const name =
    r.string(at(top, 'name', f), top.name) ??
    (isMapValue(ext) ? r.string(at(ext, 'name', `${f}.external`), ext.name) : undefined);
  return { external, name: external ? (name ?? key) : name };
}

export function convertNetwork(key: string, name: string, raw: unknown, f: string, r: Reader): ConvertedObject {
  const top = isMapValue(raw) ? raw : {};
  const { external, name: realName } = externalName(r, top, f, key);
  const labels = isMapValue(top.labels) ? stringMap(top.labels) : {};
  if (external) {
    for (const k of Object.keys(top))
      if (!['external', 'name'].includes(k))
        r.problems.warn(
          'SC6004',
          at(top, k, f),
          `"${k}" of an external network is left out: the network is only looked up`,
          'remove it',
        );
    return { kind: 'Network', name, labels: {}, spec: { external: true, name: realName } };
  }
  const spec: Spec = {};
  // stack deploy creates it under that name, unprefixed: other stacks may use it too
  if (realName !== undefined) spec.name = realName;
  const driver = r.string(at(top, 'driver', f), top.driver);
  if (driver && driver !== 'overlay') spec.driver = driver;
  if (r.bool(at(top, 'attachable', f), top.attachable)) spec.attachable = true;
  if (r.bool(at(top, 'internal', f), top.internal)) spec.internal = true;
  const opts = r.map(at(top, 'driver_opts', f), top.driver_opts);
  if (opts) {
    const { encrypted, ...rest } = stringMap(opts);
    if (encrypted !== undefined) spec.encrypted = true;
    if (Object.keys(rest).length) spec.options = rest;
  }
  const ipam = r.map(at(top, 'ipam', f), top.ipam);
  if (ipam) {
    const out: Spec = {};
    const ipamDriver = r.string(at(ipam, 'driver', `${f}.ipam`), ipam.driver);
    if (ipamDriver && ipamDriver !== 'default') out.driver = ipamDriver;
    const config = r.list(at(ipam, 'config', `${f}.ipam`), ipam.config) ?? [];
    const subnets = config.flatMap((c, i) => {
      const m = r.map(at(config, i, `${f}.ipam.config`), c);
      if (!m?.subnet) return [];
      const cf = `${f}.ipam.config[${i}]`;
      for (const k of Object.keys(m))
        if (!['subnet', 'gateway', 'ip_range'].includes(k))
          r.problems.warn(
            'SC6004',
            at(m, k, cf),
            `ipam ${k} is left out: our manifests cannot express it`,
            'remove it',
          );
      return [
        {
          subnet: str(m.subnet),
          ...(m.gateway ? { gateway: str(m.gateway) } : {}),
          ...(m.ip_range ? { ipRange: str(m.ip_range) } : {}),
        },
      ];
    });
    if (subnets.length) out.subnets = subnets;
    if (ipam.options !== undefined)
      r.problems.warn(
        'SC6004',
        at(ipam, 'options', `${f}.ipam`),
        'ipam options are left out: our manifests cannot express them',
        'remove them',
      );
    if (Object.keys(out).length) spec.ipam = out;
  }
  for (const k of Object.keys(top)) {
    if (
      !['driver', 'attachable', 'internal', 'driver_opts', 'ipam', 'labels', 'name', 'external'].includes(k) &&
      !k.startsWith('x-')
    ) {
      r.problems.warn(
        'SC6004',
        at(top, k, f),
        `network field "${k}" is left out: our manifests cannot express it`,
        'remove it',
      );
    }
  }
  return { kind: 'Network', name, labels, spec };
}

export interface FileObjectContext {
  r: Reader;
  workingDir: string;
  /** Where files already placed in the output directory go (relative names taken). */
  files: DataFile[];
}

export function convertFileObject(
  kind: 'Config' | 'Secret',
  key: string,
  names: NameTable,
  section: TreeMap,
  ctx: FileObjectContext,
): ConvertedObject | undefined {
  const { r } = ctx;
  const f = `${kind.toLowerCase()}s.${key}`;
  const top = r.map(at(section, key, `${kind.toLowerCase()}s`), section[key]) ?? {};
  const name = names.add(key, at(section, key, `${kind.toLowerCase()}s`));
  const labels = isMapValue(top.labels) ? stringMap(top.labels) : {};
  const { external, name: realName } = externalName(r, top, f, key);
  if (external) return { kind, name, labels: {}, spec: { external: true, name: realName } };
  for (const k of ['driver', 'driver_opts']) {
    if (top[k] !== undefined)
      r.problems.warn(
        'SC6004',
        at(top, k, f),
        `${k} is left out: our manifests cannot express it (a secret store plugin)`,
        'remove it; the data is stored in Swarm itself',
      );
  }
  const source: Spec = {};
  const templateDriver = r.string(at(top, 'template_driver', f), top.template_driver);
  if (templateDriver !== undefined) {
    if (templateDriver === 'golang') source.templateDriver = templateDriver;
    else
      r.problems.error(
        'SC6003',
        at(top, 'template_driver', f),
        `template_driver "${templateDriver}" is not one Swarm has`,
        'use golang',
      );
  }
  const spec: Spec = {};
  if (typeof top.file === 'string') {
    const from = isAbsolute(top.file) ? top.file : resolve(ctx.workingDir, top.file);
    spec.file = placeFile(
      { from, to: '', secret: kind === 'Secret', position: posOf(top, 'file'), field: `${f}.file` },
      name,
      ctx.files,
    );
  } else if (typeof top.environment === 'string') {
    spec.env = top.environment;
  } else if (typeof top.content === 'string' && kind === 'Config') {
    spec.data = top.content;
  } else {
    r.problems.error(
      'SC6003',
      { container: top, field: f },
      `${kind.toLowerCase()} "${key}" needs file, environment${kind === 'Config' ? ', content' : ''} or external: true`,
      `add file: ./${key}`,
    );
    return undefined;
  }
  // stack deploy stores it under that name, unprefixed
  return { kind, name, labels, spec: { ...(realName !== undefined ? { name: realName } : {}), ...spec, ...source } };
}

/** files/<basename>, made unique; names ending in .yaml/.yml get .txt so `-f DIR` does not read them as manifests. */
function placeFile(file: DataFile, name: string, files: DataFile[]): string {
  const existing = files.find((x) => x.from === file.from);
  if (existing) return existing.to;
  let base = basename(file.from);
  if (/\.ya?ml$/i.test(base)) base += '.txt';
  let to = `files/${base}`;
  if (files.some((x) => x.to === to)) to = `files/${name}-${base}`;
  files.push({ ...file, to });
  return to;
}
