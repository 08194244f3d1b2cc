/**
 * Secrets and configs mounted as files (ContainerSpec.Secrets and .Configs), sorted by
 * target. The model holds the Swarm name mounted (for a Config or Secret manifest: its
 * current version, resolved by the loader); the spec refers to it by ID where known. A change
 * restarts the tasks.
 */
import { canonicalMode } from '../canonical.js';
import type { ServiceFieldGroup, ServiceManifestSpec } from './group.js';

export interface SecretMountModel {
  /** The Swarm secret's name. */
  name: string;
  /** File name under /run/secrets/. */
  target: string;
  uid: string;
  gid: string;
  /** Octal, "0444". */
  mode: string;
}

export interface ConfigMountModel {
  /** The Swarm config's name (for a Config manifest: its current version). */
  name: string;
  /** Absolute path in the container. */
  target: string;
  uid: string;
  gid: string;
  /** Octal, "0444". */
  mode: string;
}

export interface FileMountFields {
  /** Sorted by target. */
  secrets: SecretMountModel[];
  configs: ConfigMountModel[];
}

/** Secret and config mounts: by target (unique within a service), then name. */
export function compareSecrets(a: { target: string; name: string }, b: { target: string; name: string }): number {
  return a.target.localeCompare(b.target) || a.name.localeCompare(b.name);
}

type Ref = NonNullable<ServiceManifestSpec['secrets']>[number];

/** A reference from a manifest; `defaultTarget` gives the file a bare name mounts at. */
function fromManifest(m: Ref, mounted: (name: string) => string, defaultTarget: (name: string) => string) {
  if (typeof m === 'string') return { name: mounted(m), target: defaultTarget(m), uid: '0', gid: '0', mode: '0444' };
  return {
    name: mounted(m.name),
    target: m.target ?? defaultTarget(m.name),
    uid: m.uid ?? '0',
    gid: m.gid ?? '0',
    mode: canonicalMode(m.mode ?? '0444'),
  };
}

/** A secret or config mounted as a file, as the model holds it. */
function fromLive(
  name: string | undefined,
  file: { Name?: string; UID?: string; GID?: string; Mode?: number } | undefined,
): SecretMountModel {
  return {
    name: name ?? '',
    target: file?.Name ?? '',
    uid: file?.UID ?? '0',
    gid: file?.GID ?? '0',
    mode: canonicalMode(file?.Mode ?? 0o444),
  };
}

const file = (x: SecretMountModel) => ({ Name: x.target, UID: x.uid, GID: x.gid, Mode: parseInt(x.mode, 8) });

export const fileMountFields: ServiceFieldGroup<FileMountFields> = {
  swarmPaths: ['TaskTemplate.ContainerSpec.Secrets', 'TaskTemplate.ContainerSpec.Configs'],
  specPaths: { secrets: ['TaskTemplate.ContainerSpec.Secrets'], configs: ['TaskTemplate.ContainerSpec.Configs'] },
  effects: { secrets: 'restart', configs: 'restart' },
  fromManifest: ({ spec: s }, refs) => ({
    secrets: (s.secrets ?? [])
      .map((m) =>
        fromManifest(
          m,
          (n) => refs.data('Secret', n),
          (n) => n,
        ),
      )
      .sort(compareSecrets),
    configs: (s.configs ?? [])
      .map((m) =>
        fromManifest(
          m,
          (n) => refs.data('Config', n),
          (n) => `/${n}`,
        ),
      )
      .sort(compareSecrets),
  }),
  fromLive: (spec) => {
    const c = spec.TaskTemplate?.ContainerSpec;
    return {
      secrets: (c?.Secrets ?? []).map((r) => fromLive(r.SecretName ?? r.SecretID, r.File)).sort(compareSecrets),
      // A relative config target is mounted below "/" (stack deploy writes the compose name as it is).
      configs: (c?.Configs ?? [])
        .map((r) => fromLive(r.ConfigName ?? r.ConfigID, r.File))
        .map((m) => (m.target.startsWith('/') ? m : { ...m, target: `/${m.target}` }))
        .sort(compareSecrets),
    };
  },
  toSpec: (m, draft, refs) => {
    const c = draft.TaskTemplate.ContainerSpec;
    if (m.secrets.length)
      c.Secrets = m.secrets.map((x) => ({
        File: file(x),
        SecretID: refs.secretIds?.get(x.name) ?? x.name,
        SecretName: x.name,
      }));
    if (m.configs.length)
      c.Configs = m.configs.map((x) => ({
        File: file(x),
        ConfigID: refs.configIds?.get(x.name) ?? x.name,
        ConfigName: x.name,
      }));
  },
};
