/**
 * The compose service fields that configure the container beyond its process (docker/cli
 * convert/service.go sets each in the Swarm spec): capabilities, init, read-only root,
 * terminal and stdin, stop signal, sysctls, ulimits, OOM score, DNS, extra hosts, logging.
 * Each is converted to its Service manifest field; values are checked as stack deploy checks
 * them and a bad one is an error at its position.
 */
import { keyValueMap } from './normalise.js';
import { at, type Reader } from './problems.js';
import { isMapValue, scalarText, type TreeMap } from './yaml-tree.js';

type Spec = Record<string, unknown>;

/** The fields this module converts. */
export const containerFieldNames = [
  'cap_add',
  'cap_drop',
  'init',
  'read_only',
  'tty',
  'stdin_open',
  'stop_signal',
  'sysctls',
  'ulimits',
  'oom_score_adj',
  'dns',
  'dns_search',
  'dns_opt',
  'extra_hosts',
  'logging',
] as const;

export function convertContainerFields(svc: TreeMap, field: string, r: Reader): Spec {
  const here = (key: string) => at(svc, key, field);
  const out: Spec = {};
  for (const [key, ours] of [
    ['cap_add', 'capAdd'],
    ['cap_drop', 'capDrop'],
  ] as const) {
    const caps = r.stringList(here(key), svc[key]);
    if (caps?.length) out[ours] = [...new Set(caps)];
  }
  for (const [key, ours] of [
    ['init', 'init'],
    ['read_only', 'readOnly'],
    ['tty', 'tty'],
    ['stdin_open', 'stdinOpen'],
  ] as const) {
    if (r.bool(here(key), svc[key])) out[ours] = true;
  }
  const signal = r.string(here('stop_signal'), svc.stop_signal);
  if (signal) out.stopSignal = signal;
  if (svc.sysctls !== undefined && svc.sysctls !== null) {
    const sysctls = keyValueMap(r, here('sysctls'), svc.sysctls);
    if (Object.keys(sysctls).length)
      out.sysctls = Object.fromEntries(Object.entries(sysctls).map(([k, v]) => [k, scalarText(v)]));
  }
  const ulimits = convertUlimits(svc, field, r);
  if (ulimits) out.ulimits = ulimits;
  const oom = svc.oom_score_adj === undefined ? undefined : r.int(here('oom_score_adj'), svc.oom_score_adj, -1000);
  if (oom) out.oomScoreAdj = oom;
  const dns: Spec = {};
  for (const [key, ours] of [
    ['dns', 'nameservers'],
    ['dns_search', 'search'],
    ['dns_opt', 'options'],
  ] as const) {
    const list = r.stringList(here(key), svc[key]);
    if (list?.length) dns[ours] = list;
  }
  if (Object.keys(dns).length) out.dns = dns;
  const hosts = convertExtraHosts(svc, field, r);
  if (hosts.length) out.extraHosts = hosts;
  const logging = convertLogging(svc, field, r);
  if (logging) out.logging = logging;
  return out;
}

function convertUlimits(svc: TreeMap, field: string, r: Reader): Spec | undefined {
  const map = r.map(at(svc, 'ulimits', field), svc.ulimits);
  if (!map) return undefined;
  const out: Spec = {};
  for (const [name, v] of Object.entries(map)) {
    const f = `${field}.ulimits`;
    if (isMapValue(v)) {
      const soft = r.int(at(v, 'soft', `${f}.${name}`), v.soft, -1);
      const hard = r.int(at(v, 'hard', `${f}.${name}`), v.hard, -1);
      if (soft === undefined || hard === undefined) {
        r.problems.error(
          'SC6003',
          at(map, name, f),
          `ulimit "${name}" needs soft and hard`,
          'write {soft: N, hard: N} or one number',
        );
        continue;
      }
      out[name] = { soft, hard };
    } else {
      const n = r.int(at(map, name, f), v, -1);
      if (n !== undefined) out[name] = n;
    }
  }
  return Object.keys(out).length ? out : undefined;
}

/** "host:ip" (docker/cli splits at the first colon), "host=ip", or a map host -> ip. */
function convertExtraHosts(svc: TreeMap, field: string, r: Reader): Spec[] {
  const value = svc.extra_hosts;
  if (value === undefined || value === null) return [];
  const where = at(svc, 'extra_hosts', field);
  if (isMapValue(value)) return Object.entries(value).map(([host, ip]) => ({ host, ip: scalarText(ip) }));
  const list = r.list(where, value) ?? [];
  return list.flatMap((item, i) => {
    const text = r.string(at(list, i, where.field), item) ?? '';
    const m = /^([^:=\s]+)[:=](.+)$/.exec(text.trim());
    if (!m) {
      r.problems.error(
        'SC6003',
        at(list, i, where.field),
        `"${text}" is not "host:ip"`,
        'write the entry as host:ip, e.g. db.local:10.0.0.9',
      );
      return [];
    }
    return [{ host: m[1], ip: m[2].replace(/^\[(.*)\]$/, '$1') }];
  });
}

function convertLogging(svc: TreeMap, field: string, r: Reader): Spec | undefined {
  const logging = r.map(at(svc, 'logging', field), svc.logging);
  if (!logging) return undefined;
  const f = `${field}.logging`;
  const driver = r.string(at(logging, 'driver', f), logging.driver);
  const options = r.map(at(logging, 'options', f), logging.options);
  // Without a driver, as stack deploy: the options go to the engine's default driver.
  if (!driver && !(options && Object.keys(options).length)) return undefined;
  return {
    ...(driver ? { driver } : {}),
    ...(options && Object.keys(options).length
      ? { options: Object.fromEntries(Object.entries(options).map(([k, v]) => [k, v === null ? '' : scalarText(v)])) }
      : {}),
  };
}
