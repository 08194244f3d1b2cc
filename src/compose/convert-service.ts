/**
 * One merged compose service → one Service manifest, following what `docker stack deploy`
 * writes to Swarm (docker/cli convert/service.go): the service name as a network alias on
 * every network, `<namespace>_default` when no network is listed, stack-scoped volume names,
 * the container label com.docker.stack.namespace, secrets and configs targeted at their compose
 * name. The deploy section is deploy.ts; what cannot be expressed is reported by field.
 */
import { closest } from '../manifest/suggest.js';
import { convertContainerFields } from './container-fields.js';
import { convertDeploy } from './deploy.js';
import { convertedServiceFields, unexpressibleServiceFields } from './fields.js';
import type { NameTable } from './names.js';
import { duration } from './normalise.js';
import { at, type At, type Reader } from './problems.js';
import { composeBytes } from './short-syntax.js';
import { isMapValue, scalarText, type Tree, type TreeMap } from './yaml-tree.js';

export type Spec = Record<string, unknown>;

export interface ServiceContext {
  r: Reader;
  namespace: string;
  names: { networks: NameTable; configs: NameTable; secrets: NameTable };
  /** The merged top-level sections. */
  networks: TreeMap;
  volumes: TreeMap;
  configs: TreeMap;
  secrets: TreeMap;
  /** Filled in: the compose networks some service uses. */
  usedNetworks: Set<string>;
}

export const stackLabel = 'com.docker.stack.namespace';

export function convertService(
  name: string,
  svc: TreeMap,
  field: string,
  ctx: ServiceContext,
): { spec: Spec; labels: Record<string, string> } {
  const { r } = ctx;
  const here = (key: string) => at(svc, key, field);
  reportFields(svc, field, r);
  const spec: Spec = {};
  const image = r.string(here('image'), svc.image);
  if (image === undefined) {
    r.problems.error(
      'SC6003',
      { container: svc, field },
      `service "${name}" has no image`,
      'build and push the image, then give it as "image:"; build is not supported',
    );
  }
  spec.image = image ?? '';
  const entrypoint = stringList(r, here('entrypoint'), svc.entrypoint);
  if (entrypoint?.length) spec.command = entrypoint;
  const command = stringList(r, here('command'), svc.command);
  if (command?.length) spec.args = command;
  const env = environment(svc, field, r);
  if (Object.keys(env).length) spec.env = env;
  const workdir = r.string(here('working_dir'), svc.working_dir);
  if (workdir) spec.workdir = workdir;
  const user = r.string(here('user'), svc.user);
  if (user) spec.user = user;
  const hostname = r.string(here('hostname'), svc.hostname);
  if (hostname) spec.hostname = hostname;
  const deploy = convertDeploy(svc, field, r);
  Object.assign(spec, deploy.spec);
  spec.networks = networks(name, svc, field, ctx);
  const ports = convertPorts(svc, field, r);
  if (ports.length) spec.ports = ports;
  const expose = exposed(svc, field, r);
  if (expose.length) spec.expose = expose;
  for (const kind of ['secrets', 'configs'] as const) {
    const refs = fileRefs(kind, svc, field, ctx);
    if (refs.length) spec[kind] = refs;
  }
  Object.assign(spec, deploy.later);
  const hc = healthcheck(svc, field, r);
  if (hc) spec.healthcheck = hc;
  const grace = duration(r, here('stop_grace_period'), svc.stop_grace_period);
  if (grace) spec.stopGracePeriod = grace;
  const mounts = convertMounts(svc, field, ctx);
  if (mounts.length) spec.mounts = mounts;
  spec.containerLabels = {
    ...(isMapValue(svc.labels) ? svc.labels : {}),
    [stackLabel]: ctx.namespace,
  };
  Object.assign(spec, convertContainerFields(svc, field, r));
  return { spec, labels: deploy.labels };
}

function reportFields(svc: TreeMap, field: string, r: Reader): void {
  const known = [...convertedServiceFields, ...Object.keys(unexpressibleServiceFields)];
  for (const key of Object.keys(svc)) {
    if ((convertedServiceFields as readonly string[]).includes(key) || key.startsWith('x-')) continue;
    const where = at(svc, key, field);
    const u = unexpressibleServiceFields[key];
    if (u) {
      const what =
        u.stack === 'ignored'
          ? 'docker stack deploy ignores it too'
          : 'Swarm supports it but our manifests cannot express it';
      r.problems.warn('SC6004', where, `"${key}" is left out: ${what}`, u.fix);
      continue;
    }
    const guess = closest(key, known);
    r.problems.error(
      'SC6003',
      where,
      `unknown service field "${key}"`,
      guess ? `did you mean "${guess}"?` : 'remove it, or prefix it with "x-" to keep it as an extension field',
    );
  }
}

function stringList(r: Reader, where: At, value: Tree | undefined): string[] | undefined {
  const list = r.list(where, value);
  return list?.map((v, i) => r.string(at(list, i, where.field), v) ?? '');
}

function environment(svc: TreeMap, field: string, r: Reader): Record<string, string> {
  const out: Record<string, string> = {};
  const env = isMapValue(svc.environment) ? svc.environment : {};
  for (const key of Object.keys(env).sort()) {
    const v = env[key];
    if (v === null || v === undefined) {
      r.problems.warn(
        'SC6004',
        at(env, key, `${field}.environment`),
        `${key} has no value and is not set in the environment; it is left out`,
        `set ${key} in the environment when importing, or give it a value`,
      );
      continue;
    }
    out[key] = scalarText(v);
  }
  return out;
}

/** Docker's own networks: stack deploy gives services no alias on them (container.NetworkMode.IsUserDefined). */
const predefinedNetworks = ['bridge', 'host', 'none', 'default'];

/** The Swarm name of a compose network, as stack deploy resolves it. */
function networkSwarmName(net: string, ctx: ServiceContext): string {
  const top = ctx.networks[net];
  if (!isMapValue(top)) return `${ctx.namespace}_${net}`;
  if (typeof top.name === 'string') return top.name;
  if (isMapValue(top.external) && typeof top.external.name === 'string') return top.external.name;
  return top.external === true || top.external === 'true' ? net : `${ctx.namespace}_${net}`;
}

function networks(service: string, svc: TreeMap, field: string, ctx: ServiceContext): Spec[] {
  const { r } = ctx;
  const listed = isMapValue(svc.networks) && Object.keys(svc.networks).length ? svc.networks : { default: null };
  const out: Spec[] = [];
  for (const net of Object.keys(listed).sort()) {
    const where = at(listed, net, `${field}.networks`);
    if (!(net in ctx.networks) && net !== 'default') {
      r.problems.error(
        'SC6003',
        where,
        `network "${net}" is not declared under the top-level "networks:"`,
        `declare it: networks: {${net}: {}}, or with external: true if it exists already`,
      );
      continue;
    }
    ctx.usedNetworks.add(net);
    const cfg = listed[net];
    const aliases: string[] = [];
    if (isMapValue(cfg)) {
      for (const [k, v] of Object.entries(cfg)) {
        if (k === 'aliases') aliases.push(...(stringList(r, at(cfg, k, where.field), v) ?? []));
        else
          r.problems.warn(
            'SC6004',
            at(cfg, k, where.field),
            `network setting "${k}" is left out: our manifests cannot express it`,
            k.endsWith('address') ? 'let Swarm assign addresses; reach the service by name' : 'remove it',
          );
      }
    }
    // stack deploy adds the service's compose name as an alias, so "db" resolves on every
    // network, except on Docker's own networks, which have no aliases (bridge, host, none)
    if (!aliases.includes(service) && !predefinedNetworks.includes(networkSwarmName(net, ctx))) aliases.push(service);
    out.push({ name: ctx.names.networks.add(net, where), aliases });
  }
  return out.sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1));
}

function convertPorts(svc: TreeMap, field: string, r: Reader): Spec[] {
  const list = Array.isArray(svc.ports) ? svc.ports : [];
  const out: Spec[] = [];
  list.forEach((p, i) => {
    const where = at(list, i, `${field}.ports`);
    if (!isMapValue(p)) return;
    const target = r.int(at(p, 'target', where.field), p.target, 1);
    if (target === undefined) {
      if (p.target === undefined)
        r.problems.error('SC6003', where, 'a port needs "target"', 'add target: the port the container listens on');
      return;
    }
    const published = r.int(at(p, 'published', where.field), p.published, 1);
    const protocol = r.string(at(p, 'protocol', where.field), p.protocol) ?? 'tcp';
    const mode = r.string(at(p, 'mode', where.field), p.mode) ?? 'ingress';
    if (!['tcp', 'udp', 'sctp'].includes(protocol))
      r.problems.error(
        'SC6003',
        at(p, 'protocol', where.field),
        `protocol "${protocol}" is not tcp, udp or sctp`,
        'use tcp, udp or sctp',
      );
    if (!['ingress', 'host'].includes(mode))
      r.problems.error(
        'SC6003',
        at(p, 'mode', where.field),
        `mode "${mode}" is not ingress or host`,
        'use ingress or host',
      );
    for (const k of ['host_ip', 'name', 'app_protocol']) {
      if (p[k] !== undefined && p[k] !== null)
        r.problems.warn(
          'SC6004',
          at(p, k, where.field),
          `port ${k} "${scalarText(p[k])}" is left out: Swarm ports have no ${k === 'host_ip' ? 'host address (docker stack deploy drops it too)' : k}`,
          k === 'host_ip'
            ? 'publish in mode host and restrict access with a firewall, or route through the proxy tier'
            : 'remove it',
        );
    }
    out.push({
      target,
      ...(published ? { published } : {}),
      ...(protocol !== 'tcp' ? { protocol } : {}),
      ...(mode !== 'ingress' ? { mode } : {}),
    });
  });
  return out;
}

function exposed(svc: TreeMap, field: string, r: Reader): number[] {
  const list = r.list(at(svc, 'expose', field), svc.expose) ?? [];
  const out = new Set<number>();
  list.forEach((v, i) => {
    const m = /^(\d+)(?:-(\d+))?(?:\/\w+)?$/.exec(scalarText(v));
    if (!m) {
      r.problems.error(
        'SC6003',
        at(list, i, `${field}.expose`),
        `"${scalarText(v)}" is not a port`,
        'write a port like 8080 or a range like "8000-8010"',
      );
      return;
    }
    for (let p = Number(m[1]); p <= Number(m[2] ?? m[1]); p++) if (p >= 1 && p <= 65535) out.add(p);
  });
  return [...out];
}

function fileRefs(kind: 'secrets' | 'configs', svc: TreeMap, field: string, ctx: ServiceContext): (string | Spec)[] {
  const { r } = ctx;
  const list = Array.isArray(svc[kind]) ? svc[kind] : [];
  const declared = ctx[kind];
  const out: (string | Spec)[] = [];
  list.forEach((ref, i) => {
    const where = at(list, i, `${field}.${kind}`);
    if (!isMapValue(ref)) return;
    const source = r.string(at(ref, 'source', where.field), ref.source);
    if (!source) {
      r.problems.error(
        'SC6003',
        where,
        `a ${kind.slice(0, -1)} reference needs "source"`,
        `write the name of a top-level ${kind} entry`,
      );
      return;
    }
    if (!(source in declared)) {
      r.problems.error(
        'SC6003',
        where,
        `${kind.slice(0, -1)} "${source}" is not declared under the top-level "${kind}:"`,
        `declare it: ${kind}: {${source}: {file: ./${source}}}`,
      );
      return;
    }
    const name = ctx.names[kind].add(source, where);
    const item: Spec = { name };
    let target = r.string(at(ref, 'target', where.field), ref.target);
    // stack deploy targets the compose name; our default is the manifest name
    if (target === undefined && name !== source) target = source;
    if (target !== undefined) {
      if (kind === 'secrets' && target.startsWith('/')) {
        if (target.startsWith('/run/secrets/')) target = target.slice('/run/secrets/'.length);
        else
          r.problems.warn(
            'SC6004',
            at(ref, 'target', where.field),
            `secret target "${target}" is outside /run/secrets; Swarm mounts secrets only there`,
            'write the file name under /run/secrets/',
          );
      }
      item.target = kind === 'configs' && !target.startsWith('/') ? `/${target}` : target;
    }
    for (const k of ['uid', 'gid'] as const) {
      const v = r.string(at(ref, k, where.field), ref[k]);
      if (v !== undefined) item[k] = v;
    }
    const mode = r.int(at(ref, 'mode', where.field), ref.mode);
    if (mode !== undefined) item.mode = `0${mode.toString(8).padStart(3, '0')}`;
    out.push(Object.keys(item).length === 1 ? name : item);
  });
  return out;
}

function healthcheck(svc: TreeMap, field: string, r: Reader): Spec | undefined {
  const hc = r.map(at(svc, 'healthcheck', field), svc.healthcheck);
  if (!hc) return undefined;
  const f = `${field}.healthcheck`;
  if (r.bool(at(hc, 'disable', f), hc.disable)) return { disable: true };
  const out: Spec = {};
  const test = stringList(r, at(hc, 'test', f), hc.test);
  if (test?.length) {
    if (test[0] === 'NONE') return { disable: true };
    out.test = test[0] === 'CMD-SHELL' && test.length === 2 ? test[1] : test;
  }
  for (const [k, ours] of [
    ['interval', 'interval'],
    ['timeout', 'timeout'],
    ['start_period', 'startPeriod'],
    ['start_interval', 'startInterval'],
  ] as const) {
    const d = duration(r, at(hc, k, f), hc[k]);
    if (d) out[ours] = d;
  }
  const retries = r.int(at(hc, 'retries', f), hc.retries);
  if (retries !== undefined) out.retries = retries;
  return Object.keys(out).length ? out : undefined;
}

function convertMounts(svc: TreeMap, field: string, ctx: ServiceContext): Spec[] {
  const { r } = ctx;
  const list = Array.isArray(svc.volumes) ? svc.volumes : [];
  const out: Spec[] = [];
  list.forEach((v, i) => {
    const where = at(list, i, `${field}.volumes`);
    if (!isMapValue(v)) return;
    const type = r.string(at(v, 'type', where.field), v.type) ?? 'volume';
    const target = r.string(at(v, 'target', where.field), v.target);
    if (!target) {
      r.problems.error('SC6003', where, 'a volume needs "target"', 'give the path in the container');
      return;
    }
    if (!target.startsWith('/'))
      r.problems.warn(
        'SC6003',
        at(v, 'target', where.field),
        `target "${target}" is relative: docker stack deploy and Swarm accept it (kept as written), but the engine rejects every task ("invalid mount target, must be an absolute path")`,
        `write the absolute path, e.g. "/${target}"`,
      );
    if (Array.isArray(v.ignored))
      r.problems.warn(
        'SC6004',
        where,
        `volume options ${v.ignored.map(scalarText).join(', ')} are left out: Swarm mounts cannot carry them`,
        'remove them',
      );
    if (v.consistency !== undefined)
      r.problems.warn(
        'SC6004',
        at(v, 'consistency', where.field),
        'volume consistency is left out: it only matters on Docker Desktop',
        'remove it',
      );
    const m: Spec = { type, ...(type !== 'tmpfs' && v.source ? { source: scalarText(v.source) } : {}), target };
    if (r.bool(at(v, 'read_only', where.field), v.read_only)) m.readOnly = true;
    if (type === 'volume') volumeMount(m, v, where, ctx);
    else if (type === 'bind') {
      const b = r.map(at(v, 'bind', where.field), v.bind);
      const propagation = b && r.string(at(b, 'propagation', `${where.field}.bind`), b.propagation);
      if (propagation) m.bind = { propagation };
      if (b)
        for (const k of Object.keys(b))
          if (k !== 'propagation')
            r.problems.warn(
              'SC6004',
              at(b, k, `${where.field}.bind`),
              `bind option "${k}" is left out: Swarm bind mounts cannot carry it`,
              'remove it; the host path must exist on every node',
            );
    } else if (type === 'tmpfs') {
      const t = r.map(at(v, 'tmpfs', where.field), v.tmpfs);
      const tmpfs: Spec = {};
      if (t?.size !== undefined && t.size !== null) {
        try {
          tmpfs.size = composeBytes(t.size as string | number);
        } catch (err) {
          r.problems.error(
            'SC6003',
            at(t, 'size', `${where.field}.tmpfs`),
            (err as Error).message,
            'write a size like "64m" or a number of bytes',
          );
        }
      }
      const mode = t && r.int(at(t, 'mode', `${where.field}.tmpfs`), t.mode);
      if (mode !== undefined) tmpfs.mode = `0${mode.toString(8)}`;
      if (Object.keys(tmpfs).length) m.tmpfs = tmpfs;
    } else {
      r.problems.warn(
        'SC6004',
        at(v, 'type', where.field),
        `volume type "${type}" is left out: our manifests mount only volume, bind and tmpfs`,
        'remove it, or use a volume or bind mount',
      );
      return;
    }
    out.push(m);
  });
  return out;
}

function volumeMount(m: Spec, v: TreeMap, where: At, ctx: ServiceContext): void {
  const { r } = ctx;
  const opts = r.map(at(v, 'volume', where.field), v.volume);
  const noCopy = opts ? r.bool(at(opts, 'nocopy', `${where.field}.volume`), opts.nocopy) : undefined;
  if (opts)
    for (const k of Object.keys(opts))
      if (k !== 'nocopy')
        r.problems.warn(
          'SC6004',
          at(opts, k, `${where.field}.volume`),
          `volume option "${k}" is left out: our manifests cannot express it`,
          'remove it',
        );
  const volume: Spec = {};
  if (noCopy) volume.noCopy = true;
  const source = m.source as string | undefined;
  if (source !== undefined) {
    if (!(source in ctx.volumes)) {
      r.problems.error(
        'SC6003',
        at(v, 'source', where.field),
        `volume "${source}" is not declared under the top-level "volumes:"`,
        `declare it: volumes: {${source}: {}}, or use a path starting with "./" or "/" for a bind mount`,
      );
      return;
    }
    const top = isMapValue(ctx.volumes[source]) ? ctx.volumes[source] : {};
    const f = `volumes.${source}`;
    const external = top.external === true || isMapValue(top.external);
    const realName =
      r.string(at(top, 'name', f), top.name) ??
      (isMapValue(top.external) ? r.string(at(top.external, 'name', f), top.external.name) : undefined);
    // stack deploy scopes volume names with the namespace, unless the volume has a name
    m.source = realName ?? (external ? source : `${ctx.namespace}_${source}`);
    if (!external) {
      const labels = top.labels ? (isMapValue(top.labels) ? top.labels : {}) : {};
      volume.labels = {
        ...Object.fromEntries(Object.entries(labels).map(([k, x]) => [k, scalarText(x)])),
        [stackLabel]: ctx.namespace,
      };
      const driver = r.string(at(top, 'driver', f), top.driver);
      const driverOpts = r.map(at(top, 'driver_opts', f), top.driver_opts);
      // Swarm uses the "local" driver when only options are given; our manifests need it named
      if (driver || driverOpts) volume.driver = driver ?? 'local';
      if (driverOpts)
        volume.driverOptions = Object.fromEntries(Object.entries(driverOpts).map(([k, x]) => [k, scalarText(x)]));
    }
  }
  if (Object.keys(volume).length) m.volume = volume;
}
