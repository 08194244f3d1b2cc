/**
 * Volumes, bind mounts and tmpfs mounts (ContainerSpec.Mounts), sorted by target, with
 * Docker's defaults filled in (bind propagation rprivate). A change restarts the tasks.
 */
import type { SwarmMount } from '../../api/swarm-types.js';
import { formatMemory, parseMemory } from '../../units.js';
import { canonicalMode, sortedRecord } from '../canonical.js';
import type { ServiceFieldGroup, ServiceManifestSpec } from './group.js';

export interface MountModel {
  type: 'volume' | 'bind' | 'tmpfs';
  source: string;
  target: string;
  readOnly: boolean;
  volume: {
    noCopy: boolean;
    labels: Record<string, string>;
    driver: string;
    driverOptions: Record<string, string>;
  } | null;
  bind: { propagation: string } | null;
  tmpfs: { size: string | null; mode: string | null } | null;
}

export interface MountFields {
  mounts: MountModel[];
}

export function compareMounts(a: MountModel, b: MountModel): number {
  return a.target.localeCompare(b.target) || a.source.localeCompare(b.source);
}

function fromManifest(m: NonNullable<ServiceManifestSpec['mounts']>[number]): MountModel {
  const octal = m.tmpfs?.mode;
  return {
    type: m.type,
    source: m.source ?? '',
    target: m.target,
    readOnly: m.readOnly ?? false,
    volume:
      m.type === 'volume'
        ? {
            noCopy: m.volume?.noCopy ?? false,
            labels: sortedRecord(m.volume?.labels),
            driver: m.volume?.driver ?? '',
            driverOptions: sortedRecord(m.volume?.driverOptions),
          }
        : null,
    bind: m.type === 'bind' ? { propagation: m.bind?.propagation ?? 'rprivate' } : null,
    tmpfs:
      m.type === 'tmpfs'
        ? {
            size: m.tmpfs?.size !== undefined ? formatMemory(parseMemory(m.tmpfs.size) ?? 0) : null,
            mode: octal !== undefined ? canonicalMode(octal) : null,
          }
        : null,
  };
}

function fromLive(m: SwarmMount): MountModel {
  const type = (m.Type ?? 'volume') as MountModel['type'];
  return {
    type,
    source: m.Source ?? '',
    target: m.Target ?? '',
    readOnly: m.ReadOnly ?? false,
    volume:
      type === 'volume'
        ? {
            noCopy: m.VolumeOptions?.NoCopy ?? false,
            labels: sortedRecord(m.VolumeOptions?.Labels),
            driver: m.VolumeOptions?.DriverConfig?.Name ?? '',
            driverOptions: sortedRecord(m.VolumeOptions?.DriverConfig?.Options),
          }
        : null,
    bind: m.Type === 'bind' ? { propagation: m.BindOptions?.Propagation || 'rprivate' } : null,
    tmpfs:
      m.Type === 'tmpfs'
        ? {
            size: m.TmpfsOptions?.SizeBytes ? formatMemory(m.TmpfsOptions.SizeBytes) : null,
            mode: m.TmpfsOptions?.Mode ? canonicalMode(m.TmpfsOptions.Mode) : null,
          }
        : null,
  };
}

function toSpec(m: MountModel): SwarmMount {
  return {
    Type: m.type,
    ...(m.source ? { Source: m.source } : {}),
    Target: m.target,
    ...(m.readOnly ? { ReadOnly: true } : {}),
    ...(m.volume
      ? {
          VolumeOptions: {
            ...(m.volume.noCopy ? { NoCopy: true } : {}),
            ...(Object.keys(m.volume.labels).length ? { Labels: m.volume.labels } : {}),
            ...(m.volume.driver ? { DriverConfig: { Name: m.volume.driver, Options: m.volume.driverOptions } } : {}),
          },
        }
      : {}),
    // rprivate is Docker's default: written only when it is another (as stack deploy writes it)
    ...(m.bind && m.bind.propagation !== 'rprivate' ? { BindOptions: { Propagation: m.bind.propagation } } : {}),
    ...(m.tmpfs
      ? {
          TmpfsOptions: {
            ...(m.tmpfs.size ? { SizeBytes: parseMemory(m.tmpfs.size) } : {}),
            ...(m.tmpfs.mode ? { Mode: parseInt(m.tmpfs.mode, 8) } : {}),
          },
        }
      : {}),
  };
}

export const mountFields: ServiceFieldGroup<MountFields> = {
  swarmPaths: ['TaskTemplate.ContainerSpec.Mounts'],
  specPaths: { mounts: ['TaskTemplate.ContainerSpec.Mounts'] },
  effects: { mounts: 'restart' },
  fromManifest: ({ spec: s }) => ({ mounts: (s.mounts ?? []).map(fromManifest).sort(compareMounts) }),
  fromLive: (spec) => ({ mounts: (spec.TaskTemplate?.ContainerSpec?.Mounts ?? []).map(fromLive).sort(compareMounts) }),
  toSpec: ({ mounts }, draft) => {
    if (mounts.length) draft.TaskTemplate.ContainerSpec.Mounts = mounts.map(toSpec);
  },
};
