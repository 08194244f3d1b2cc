/**
 * The way back: a canonical model as the manifest that means it, for `controller import stack`
 * (a stack whose files are lost, read from the Swarm). Fields at their default are left out;
 * references to networks, configs and secrets are given by manifest name through `refs`; the
 * spellings are the manifest's (a shell healthcheck as a string, a ulimit with equal limits as
 * one number). Loading the result gives the model back. Pure.
 */
import { defaultNetworkModel, defaultServiceModel } from './defaults.js';
import type { NetworkModel } from './network.js';
import type { ServiceModel } from './service.js';

type Json = Record<string, unknown>;

export interface ManifestRefs {
  /** Swarm network name -> the manifest name services refer to it by. */
  network(swarmName: string): string;
  /** Swarm config or secret name -> manifest name. */
  data(kind: 'Config' | 'Secret', swarmName: string): string;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const empty = (v: unknown) =>
  v === null ||
  v === undefined ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** `value` without the members equal to `defaults`' and without null or empty ones, at every depth. */
function withoutDefaults(value: unknown, defaults: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    const d = defaults && typeof defaults === 'object' ? (defaults as Json)[k] : undefined;
    if (same(v, d)) continue;
    const pruned = withoutDefaults(v, d);
    if (!empty(pruned)) out[k] = pruned;
  }
  return out;
}

export function serviceManifestSpec(m: ServiceModel, refs: ManifestRefs): Json {
  const spec = withoutDefaults({ ...m, labels: {}, unmanaged: {} }, defaultServiceModel) as Json;
  spec.image = m.image;
  if (m.networks.length)
    spec.networks = m.networks.map((n) =>
      n.aliases.length ? { name: refs.network(n.name), aliases: n.aliases } : refs.network(n.name),
    );
  if (m.placement.preferences.length)
    (spec.placement as Json).preferences = m.placement.preferences.map((spread) => ({ spread }));
  const hc = m.healthcheck;
  if (hc)
    spec.healthcheck =
      hc.test[0] === 'NONE'
        ? { disable: true }
        : {
            ...(hc.test.length
              ? { test: hc.test[0] === 'CMD-SHELL' && hc.test.length === 2 ? hc.test[1] : hc.test }
              : {}),
            ...(withoutDefaults(
              {
                interval: hc.interval,
                timeout: hc.timeout,
                startPeriod: hc.startPeriod,
                startInterval: hc.startInterval,
                retries: hc.retries,
              },
              { interval: '0s', timeout: '0s', startPeriod: '0s', startInterval: '0s', retries: 0 },
            ) as Json),
          };
  for (const kind of ['secrets', 'configs'] as const) {
    if (!m[kind].length) continue;
    const dataKind = kind === 'secrets' ? 'Secret' : 'Config';
    spec[kind] = m[kind].map((x) => {
      const name = refs.data(dataKind, x.name);
      const target = kind === 'secrets' ? name : `/${name}`;
      const rest = withoutDefaults(
        { target: x.target, uid: x.uid, gid: x.gid, mode: x.mode },
        { target, uid: '0', gid: '0', mode: '0444' },
      ) as Json;
      return Object.keys(rest).length ? { name, ...rest } : name;
    });
  }
  if (m.mounts.length)
    spec.mounts = m.mounts.map((x) =>
      withoutDefaults(
        { ...x, bind: x.bind?.propagation === 'rprivate' ? null : x.bind },
        {
          readOnly: false,
          source: '',
          volume: { noCopy: false, labels: {}, driver: '', driverOptions: {} },
          tmpfs: { size: null, mode: null },
        },
      ),
    );
  if (Object.keys(m.ulimits).length)
    spec.ulimits = Object.fromEntries(
      Object.entries(m.ulimits).map(([name, u]) => [name, u.soft === u.hard ? u.soft : u]),
    );
  if (m.resources.reservations.genericResources.length)
    ((spec.resources as Json).reservations as Json).genericResources = m.resources.reservations.genericResources;
  if (m.logging)
    spec.logging = {
      ...(m.logging.driver ? { driver: m.logging.driver } : {}),
      ...(Object.keys(m.logging.options).length ? { options: m.logging.options } : {}),
    };
  return spec;
}

export function networkManifestSpec(m: NetworkModel): Json {
  return withoutDefaults(
    {
      ...m,
      labels: {},
      ipam: { ...m.ipam, subnets: m.ipam.subnets.map((s) => withoutDefaults(s, { gateway: null, ipRange: null })) },
    },
    defaultNetworkModel,
  ) as Json;
}
