/**
 * How the service is reached: published ports and the endpoint mode (EndpointSpec). Swarm
 * restarts the tasks when ports change; a change of endpoint mode breaks DNS in place, so it
 * needs a new service.
 */
import type { ServiceFieldGroup } from './group.js';

export interface PortModel {
  target: number;
  published: number | null;
  protocol: 'tcp' | 'udp' | 'sctp';
  mode: 'ingress' | 'host';
}

export interface EndpointFields {
  ports: PortModel[];
  endpointMode: 'vip' | 'dnsrr';
}

export function comparePorts(a: PortModel, b: PortModel): number {
  return (
    a.target - b.target ||
    (a.published ?? 0) - (b.published ?? 0) ||
    a.protocol.localeCompare(b.protocol) ||
    a.mode.localeCompare(b.mode)
  );
}

export const endpointFields: ServiceFieldGroup<EndpointFields> = {
  swarmPaths: ['EndpointSpec.Mode', 'EndpointSpec.Ports'],
  specPaths: { ports: ['EndpointSpec'], endpointMode: ['EndpointSpec'] },
  effects: { ports: 'restart', endpointMode: 'replace' },
  fromManifest: ({ spec: s }) => ({
    ports: (s.ports ?? [])
      .map((p): PortModel => ({
        target: p.target,
        published: p.published ?? null,
        protocol: p.protocol ?? 'tcp',
        mode: p.mode ?? 'ingress',
      }))
      .sort(comparePorts),
    endpointMode: s.endpointMode ?? 'vip',
  }),
  fromLive: (spec) => ({
    ports: (spec.EndpointSpec?.Ports ?? [])
      .map((p) => ({
        target: p.TargetPort ?? 0,
        published: p.PublishedPort || null,
        protocol: p.Protocol ?? 'tcp',
        mode: p.PublishMode ?? 'ingress',
      }))
      .sort(comparePorts),
    endpointMode: spec.EndpointSpec?.Mode ?? 'vip',
  }),
  toSpec: (m, draft) => {
    draft.EndpointSpec = {
      Mode: m.endpointMode,
      ...(m.ports.length
        ? {
            Ports: m.ports.map((p) => ({
              Protocol: p.protocol,
              TargetPort: p.target,
              ...(p.published ? { PublishedPort: p.published } : {}),
              PublishMode: p.mode,
            })),
          }
        : {}),
    };
  },
};
