/**
 * The canonical spellings shared by every model module: durations ("90s" -> "1m30s", Swarm's
 * nanoseconds -> the same), sorted string maps, octal file modes. Pure; imports only units.
 */
import { formatDuration, parseDuration } from '../units.js';

/** A manifest duration in its canonical spelling; `fallback` when absent. */
export function duration(text: string | undefined, fallback = '0s'): string {
  if (text === undefined) return fallback;
  return formatDuration(parseDuration(text) ?? 0);
}

/** A Swarm duration (nanoseconds) in its canonical spelling; `fallback` when absent. */
export function nanos(n: number | undefined, fallback = '0s'): string {
  return n === undefined || n === null ? fallback : formatDuration(n);
}

/** A canonical duration back to Swarm's nanoseconds. */
export function toNanos(text: string): number {
  return parseDuration(text) ?? 0;
}

/** A map with sorted keys and string values (absent and null give {}). */
export function sortedRecord(
  r: Record<string, string | number | boolean | undefined> | undefined | null,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r ?? {}).sort()) out[k] = String(r![k]);
  return out;
}

/** "0700", "700" or 448 -> "0700". */
export function canonicalMode(mode: string | number): string {
  const n = typeof mode === 'number' ? mode : parseInt(mode, 8);
  return '0' + n.toString(8).padStart(3, '0');
}
