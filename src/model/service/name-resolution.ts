/**
 * How the containers resolve names: DNS servers, search domains and resolver options
 * (ContainerSpec.DNSConfig), and extra /etc/hosts entries (ContainerSpec.Hosts, stored as
 * "IP host" lines; a line with several host names is one entry per name). Lists keep their
 * order: it is the order of lookup. Any change restarts the tasks.
 */
import type { ServiceFieldGroup } from './group.js';

export interface DnsModel {
  nameservers: string[];
  search: string[];
  options: string[];
}

export interface NameResolutionFields {
  dns: DnsModel;
  extraHosts: { host: string; ip: string }[];
}

export const nameResolutionFields: ServiceFieldGroup<NameResolutionFields> = {
  swarmPaths: ['TaskTemplate.ContainerSpec.DNSConfig', 'TaskTemplate.ContainerSpec.Hosts'],
  specPaths: { dns: ['TaskTemplate.ContainerSpec.DNSConfig'], extraHosts: ['TaskTemplate.ContainerSpec.Hosts'] },
  effects: { dns: 'restart', extraHosts: 'restart' },
  laterDefaults: { dns: { nameservers: [], search: [], options: [] }, extraHosts: [] },
  fromManifest: ({ spec: s }) => ({
    dns: {
      nameservers: [...(s.dns?.nameservers ?? [])],
      search: [...(s.dns?.search ?? [])],
      options: [...(s.dns?.options ?? [])],
    },
    extraHosts: (s.extraHosts ?? []).map((h) => ({ host: h.host, ip: h.ip })),
  }),
  fromLive: (spec) => {
    const c = spec.TaskTemplate?.ContainerSpec ?? {};
    const dns = c.DNSConfig ?? {};
    return {
      dns: { nameservers: dns.Nameservers ?? [], search: dns.Search ?? [], options: dns.Options ?? [] },
      extraHosts: (c.Hosts ?? []).flatMap((line) => {
        const [ip, ...hosts] = line.trim().split(/\s+/);
        return hosts.map((host) => ({ host, ip: ip ?? '' }));
      }),
    };
  },
  toSpec: ({ dns, extraHosts }, draft) => {
    const c = draft.TaskTemplate.ContainerSpec;
    if (dns.nameservers.length || dns.search.length || dns.options.length)
      c.DNSConfig = {
        ...(dns.nameservers.length ? { Nameservers: dns.nameservers } : {}),
        ...(dns.search.length ? { Search: dns.search } : {}),
        ...(dns.options.length ? { Options: dns.options } : {}),
      };
    if (extraHosts.length) c.Hosts = extraHosts.map((h) => `${h.ip} ${h.host}`);
  },
};
