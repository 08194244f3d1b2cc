/**
 * Units used in manifests and by Swarm: durations ("1m30s" <-> nanoseconds), memory
 * ("256Mi" <-> bytes) and CPUs ("0.5" or "500m" <-> NanoCPUs). Each parser returns
 * undefined on malformed input so callers can report a diagnostic; each formatter gives
 * the one canonical spelling of a value, so canonical strings compare like numbers.
 */

const durationUnits: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Parses a Go-style duration ("10s", "1m30s", "500ms", "1.5h") into nanoseconds. */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  const re = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * durationUnits[m[2]];
    at = re.lastIndex;
  }
  return Math.round(total);
}

/** Nanoseconds to the canonical duration spelling: 90e9 -> "1m30s", 5e8 -> "500ms", 0 -> "0s". */
export function formatDuration(ns: number): string {
  if (!ns) return '0s';
  if (ns % 1e9 !== 0) {
    if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
    if (ns % 1e3 === 0) return `${ns / 1e3}us`;
    return `${ns}ns`;
  }
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? h + 'h' : ''}${m ? m + 'm' : ''}${s ? s + 's' : ''}`;
}

const memoryUnits: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Parses "256Mi", "1G", "512" or a number of bytes. Lower-case "m" (Docker's MiB) is refused. */
export function parseMemory(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * memoryUnits[m[2] ?? '']);
}

/** Bytes to the canonical spelling: the largest binary unit that divides it exactly. */
export function formatMemory(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const size = memoryUnits[unit];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** Parses "0.5", "2", "500m" or a number into NanoCPUs. */
export function parseCpus(value: string | number): number | undefined {
  if (typeof value === 'number') return value >= 0 && Number.isFinite(value) ? Math.round(value * 1e9) : undefined;
  const milli = /^([0-9]+)m$/.exec(value);
  if (milli) return Number(milli[1]) * 1e6;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) return undefined;
  return Math.round(Number(value) * 1e9);
}

/** NanoCPUs to the canonical decimal spelling: 5e8 -> "0.5". */
export function formatCpus(nano: number): string {
  return String(Number((nano / 1e9).toFixed(9)));
}
