/**
 * Reads the status documents kept in the Swarm: one list call of the configs carrying the
 * status label (their data included), then, per document stream, the version with the highest
 * sequence, decoded. Works from any machine that reaches a manager; needs no port of the
 * controller. `latestStatuses` is the pure part (tests, the dashboard's own polling).
 */
import type { SwarmReader } from '../api/swarm-access.js';
import type { SwarmConfig } from '../api/swarm-types.js';
import { TerminalError } from '../errors.js';
import { decodeStatus } from './codec.js';
import {
  labelSequence,
  labelStatusOf,
  statusOfValue,
  type AppStatusDocument,
  type RoutesStatusDocument,
  type StatusDocument,
  type StatusRef,
  type StoredStatus,
} from './format.js';

export interface StatusRead {
  /** Sorted by kind, then name. */
  statuses: StoredStatus[];
  /** Documents that could not be read (SC5102), one per stream. */
  problems: TerminalError[];
}

const sequenceOf = (c: SwarmConfig) => Number(c.Spec.Labels?.[labelSequence] ?? -1);

/** The current version of every document stream among `configs` (those without the label are ignored). */
export function latestStatuses(configs: SwarmConfig[], now: number): StatusRead {
  const newest = new Map<string, SwarmConfig>();
  for (const c of configs) {
    const of = c.Spec.Labels?.[labelStatusOf];
    if (!of) continue;
    const seen = newest.get(of);
    if (!seen || sequenceOf(c) > sequenceOf(seen)) newest.set(of, c);
  }
  const statuses: StoredStatus[] = [];
  const problems: TerminalError[] = [];
  for (const c of newest.values()) {
    try {
      const document = decodeStatus(c.Spec.Name, c.Spec.Data ?? '', c.Spec.Labels ?? {});
      const ageMs = now - Date.parse(document.writtenAt);
      statuses.push({
        document,
        configName: c.Spec.Name,
        storedBytes: Buffer.byteLength(c.Spec.Data ?? '', 'base64'),
        ageMs,
        stale: ageMs > 3 * document.heartbeatMs,
      });
    } catch (err) {
      if (!(err instanceof TerminalError)) throw err;
      problems.push(err);
    }
  }
  statuses.sort((a, b) => cmp(a.document.kind, b.document.kind) || cmp(a.document.name, b.document.name));
  return { statuses, problems };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every status document in the Swarm, or those of one ref. One list call. */
export async function readStatuses(
  swarm: Pick<SwarmReader, 'listConfigs'>,
  options: { ref?: StatusRef; now?: number } = {},
): Promise<StatusRead> {
  const label = options.ref ? `${labelStatusOf}=${statusOfValue(options.ref)}` : labelStatusOf;
  return latestStatuses(await swarm.listConfigs([label]), options.now ?? Date.now());
}

export const isAppStatus = (s: StoredStatus): s is StoredStatus<AppStatusDocument> =>
  s.document.kind === 'ApplySet' || s.document.kind === 'App';

export const isRoutesStatus = (s: StoredStatus): s is StoredStatus<RoutesStatusDocument> =>
  s.document.kind === 'Routes';

/** "stale" or "fresh", with the age in words: for tables and `controller status`. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h}h` : `${Math.round(h / 24)}d`;
}

export type { StatusDocument };
