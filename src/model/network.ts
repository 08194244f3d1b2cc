/**
 * The canonical model of a Network in every direction: from a manifest (defaults filled in,
 * subnets sorted), from a live Swarm network (server-owned options such as the VXLAN ID left
 * out), and back to the body that creates it. Swarm cannot change a network in place, so
 * every field's change means a new network. Pure.
 */
import { userLabels } from '../api/labels.js';
import type { NetworkManifest } from '../api/schemas.js';
import type { SwarmNetwork, SwarmNetworkCreate } from '../api/swarm-types.js';
import { sortedRecord } from './canonical.js';

export interface NetworkModel {
  labels: Record<string, string>;
  driver: string;
  attachable: boolean;
  internal: boolean;
  encrypted: boolean;
  options: Record<string, string>;
  ipam: { driver: string; subnets: { subnet: string; gateway: string | null; ipRange: string | null }[] };
}

/** Option keys Swarm adds to networks by itself. */
const serverNetworkOptions = ['com.docker.network.driver.overlay.vxlanid_list'];

export function networkModel(manifest: NetworkManifest): NetworkModel {
  const s = manifest.spec ?? {};
  return {
    labels: sortedRecord(manifest.metadata.labels),
    driver: s.driver ?? 'overlay',
    attachable: s.attachable ?? false,
    internal: s.internal ?? false,
    encrypted: s.encrypted ?? false,
    options: sortedRecord(s.options),
    ipam: {
      driver: s.ipam?.driver ?? 'default',
      subnets: (s.ipam?.subnets ?? [])
        .map((n) => ({ subnet: n.subnet, gateway: n.gateway ?? null, ipRange: n.ipRange ?? null }))
        .sort((a, b) => a.subnet.localeCompare(b.subnet)),
    },
  };
}

export function networkModelFromLive(n: SwarmNetwork): NetworkModel {
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(n.Options ?? {})) {
    if (k !== 'encrypted' && !serverNetworkOptions.includes(k)) options[k] = v;
  }
  return {
    labels: userLabels(n.Labels),
    driver: n.Driver ?? 'overlay',
    attachable: n.Attachable ?? false,
    internal: n.Internal ?? false,
    encrypted: n.Options ? 'encrypted' in n.Options : false,
    options: sortedRecord(options),
    ipam: {
      driver: n.IPAM?.Driver || 'default',
      subnets: (n.IPAM?.Config ?? [])
        .map((c) => ({ subnet: c.Subnet ?? '', gateway: c.Gateway || null, ipRange: c.IPRange || null }))
        .sort((a, b) => a.subnet.localeCompare(b.subnet)),
    },
  };
}

/**
 * Swarm assigns a subnet and gateway when the manifest names none; those are not changes.
 * Returns the live model with server-assigned addressing replaced by the desired (absent) one.
 */
export function withoutServerAddressing(live: NetworkModel, desired: NetworkModel): NetworkModel {
  if (desired.ipam.subnets.length === 0) return { ...live, ipam: { ...live.ipam, subnets: [] } };
  const subnets = live.ipam.subnets.map((s) => {
    const d = desired.ipam.subnets.find((x) => x.subnet === s.subnet);
    return d && d.gateway === null ? { ...s, gateway: null } : s;
  });
  return { ...live, ipam: { ...live.ipam, subnets } };
}

/** The create body of a model; the name and the ownership labels are plan/swarm-spec.ts's. */
export function networkCreateFromModel(m: NetworkModel): Omit<SwarmNetworkCreate, 'Name' | 'Labels'> {
  return {
    Driver: m.driver,
    Attachable: m.attachable,
    Internal: m.internal,
    CheckDuplicate: true,
    Options: { ...m.options, ...(m.encrypted ? { encrypted: '' } : {}) },
    IPAM: {
      Driver: m.ipam.driver,
      Config: m.ipam.subnets.map((s) => ({
        Subnet: s.subnet,
        ...(s.gateway ? { Gateway: s.gateway } : {}),
        ...(s.ipRange ? { IPRange: s.ipRange } : {}),
      })),
    },
  };
}
