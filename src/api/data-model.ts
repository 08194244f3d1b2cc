/**
 * Configs and Secrets as the controller stores them. Swarm keeps both immutable, so each
 * content is a version named `<namespace>_<name>.<hash10>` (the first 10 hex digits of its
 * sha256), labelled as ours with the stem `<namespace>_<name>`. A changed content is a new
 * version; services move to it; old versions go once nothing uses them, the newest `retain`
 * kept. The content itself is never part of a model, a plan or a log: only its hash and size.
 * Pure.
 */
import { createHash } from 'node:crypto';
import {
  labelApplySet,
  labelManagedBy,
  labelName,
  labelSpecHash,
  labelStackNamespace,
  managedByValue,
  ownershipOf,
  userLabels,
} from './labels.js';
import type { ObjectRef } from './object-ref.js';
import { labelKind } from './route-model.js';

export type DataKind = 'Config' | 'Secret';

/** What the plan compares and shows: never the content. */
export interface DataModel {
  labels: Record<string, string>;
  /** "sha256:<hex>" of the content. */
  content: string;
  /** Bytes. */
  size: number;
  /** Versions kept, the current one included. */
  retain: number;
  /** Swarm renders the content as a template of this driver ("golang") when mounting it; null: as is. */
  templateDriver: string | null;
}

export interface DesiredData {
  ref: ObjectRef & { kind: DataKind };
  /** Managed: the stem of its version names. External: the object's real Swarm name. */
  swarmName: string;
  external: boolean;
  /**
   * Named explicitly (spec.name, not external): one object stored under exactly that name, not
   * versions; other namespaces and apply sets may declare it too and use it as it is.
   */
  named?: true;
  /** Where the content came from, for messages ("file nginx.conf", "env DB_PASSWORD", "inline"). */
  source: string;
  model: DataModel;
  /** The content (absent for external objects). Never log, render or serialise it. */
  data?: Buffer;
}

/** One version of a managed config or secret, as read from the Swarm. */
export interface DataVersion {
  id: string;
  name: string;
  /** The full sha256 hex from the spec-hash label. */
  hash: string;
  index: number;
  labels: Record<string, string>;
  /** Spec.Templating.Name; null when the content is used as it is. */
  templateDriver: string | null;
}

export interface StoredData {
  ref: ObjectRef & { kind: DataKind };
  stem: string;
  applySet: string;
  /** Newest first. */
  versions: DataVersion[];
}

/** The label holding a version's stem, the same on every version of one object. */
export const labelObject = 'swarm.controller/object';
export const defaultRetain = 3;
/** Swarm's limit for config and secret data. */
export const maxDataBytes = 500 * 1024;
/** Config and secret names are at most 64 characters: the stem, ".", 10 hex digits. */
export const maxDataStem = 64 - 11;

export function contentHash(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function versionName(stem: string, hash: string): string {
  return `${stem}.${hash.slice(0, 10)}`;
}

/**
 * What a version is named after: the content's sha256, or, for a templated object, the
 * sha256 of the content's hash and the driver (the same content rendered is another object).
 * The spec-hash label holds the content's sha256 either way.
 */
export function versionHash(model: DataModel): string {
  const content = model.content.replace(/^sha256:/, '');
  return model.templateDriver
    ? createHash('sha256').update(`${content}\ntemplate:${model.templateDriver}`).digest('hex')
    : content;
}

/** The stem of a version name, or undefined when the name is not one. */
export function stemOfVersion(name: string): string | undefined {
  return /^(.+)\.[0-9a-f]{10}$/.exec(name)?.[1];
}

export function dataVersionLabels(d: DesiredData, applySet: string): Record<string, string> {
  return {
    ...d.model.labels,
    [labelManagedBy]: managedByValue,
    [labelApplySet]: applySet,
    [labelSpecHash]: d.model.content.replace(/^sha256:/, ''),
    [labelKind]: d.ref.kind,
    [labelObject]: d.swarmName,
    [labelName]: d.ref.name,
    ...(d.ref.namespace ? { [labelStackNamespace]: d.ref.namespace } : {}),
  };
}

/** The Swarm name a service mounts for a desired config or secret: its current version, or the external name. */
export function mountedName(d: DesiredData): string {
  return d.external || d.named ? d.swarmName : versionName(d.swarmName, versionHash(d.model));
}

interface LabelledObject {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels?: Record<string, string>; Templating?: { Name?: string } | null };
}

/** Groups the managed versions of one kind by stem (ignoring objects that are not ours). */
export function storedData(kind: DataKind, objects: LabelledObject[]): StoredData[] {
  const byStem = new Map<string, StoredData>();
  for (const o of objects) {
    const labels = o.Spec.Labels ?? {};
    const own = ownershipOf(labels);
    const stem = labels[labelObject];
    // A version is <stem>.<hash>, or the stem itself for an object named explicitly or taken over.
    if (
      own.state !== 'owned' ||
      labels[labelKind] !== kind ||
      !stem ||
      (o.Spec.Name !== stem && stemOfVersion(o.Spec.Name) !== stem)
    )
      continue;
    const ns = labels[labelStackNamespace];
    const entry = byStem.get(stem) ?? {
      ref: { kind, name: labels[labelName] ?? stem, ...(ns ? { namespace: ns } : {}) },
      stem,
      applySet: own.applySet,
      versions: [],
    };
    entry.versions.push({
      id: o.ID,
      name: o.Spec.Name,
      hash: labels[labelSpecHash] ?? '',
      index: o.Version.Index,
      labels,
      templateDriver: o.Spec.Templating?.Name || null,
    });
    byStem.set(stem, entry);
  }
  for (const e of byStem.values()) e.versions.sort((a, b) => b.index - a.index);
  return [...byStem.values()].sort((a, b) => (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : 0));
}

/** The labels a user set on a version (the controller's own removed), for the model. */
export function versionUserLabels(labels: Record<string, string>): Record<string, string> {
  const out = userLabels(labels);
  delete out[labelKind];
  delete out[labelObject];
  return out;
}
