/**
 * The text forms SOPS (a Go program) gives values when it hashes them for the MAC and when it
 * parses a decrypted value back to its type: strconv's Atoi, ParseFloat, ParseBool and
 * FormatFloat(v, 'f', -1, 64), and time's RFC 3339 layouts. A byte of difference here is a MAC
 * mismatch, so each function follows Go's rule, not JavaScript's. Pure; no imports.
 */

/** strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back as v, never an exponent. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const text = String(v); // JavaScript also prints the shortest round-trip digits, sometimes with an exponent
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign, head, tail = '', exponentText] = m;
  const digits = head + tail;
  const exponent = Number(exponentText);
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const point = 1 + exponent;
  return digits.length <= point
    ? sign + digits + '0'.repeat(point - digits.length)
    : `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** strconv.Atoi on a 64-bit machine; undefined when Go would refuse the text. */
export function parseGoInt(text: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const v = BigInt(text);
  return v >= -(2n ** 63n) && v < 2n ** 63n ? v : undefined;
}

/** strconv.ParseFloat(text, 64) for the decimal forms, infinities and NaN; undefined otherwise. */
export function parseGoFloat(text: string): number | undefined {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
  if (/^[+-]?inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(text)) return NaN;
  return undefined;
}

/** strconv.ParseBool. */
export function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** How SOPS writes a bool into the MAC (Python's spelling, kept for compatibility). */
export function formatGoBool(v: boolean): string {
  return v ? 'True' : 'False';
}

interface ParsedTime {
  date: string;
  clock: string;
  /** Up to 9 digits, without the point. */
  fraction: string;
  /** "Z" or "+hh:mm" / "-hh:mm"; an offset of zero is "Z", as Go prints it. */
  zone: string;
}

function zoneOf(text: string | undefined): string {
  if (text === undefined || text === 'Z' || text === 'z') return 'Z';
  return /^[+-]00:00$/.test(text) ? 'Z' : text;
}

const pad = (s: string) => s.padStart(2, '0');

/** time.Parse(time.RFC3339, text); undefined when Go would refuse it. */
export function parseRfc3339(text: string): ParsedTime | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return undefined;
  return { date: m[1], clock: m[2], fraction: m[3] ?? '', zone: zoneOf(m[4]) };
}

/**
 * The timestamps gopkg.in/yaml.v3 reads from a plain scalar (its allowedTimestampFormats):
 * RFC 3339 with one-digit month, day and clock fields allowed, "t" for "T", a space-separated
 * form without zone, and a date alone. Without a zone the time is UTC.
 */
export function parseYamlTimestamp(text: string): ParsedTime | undefined {
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?))?$/.exec(
      text,
    );
  if (!m) return undefined;
  const date = `${m[1]}-${pad(m[2])}-${pad(m[3])}`;
  if (m[4] !== undefined)
    return { date, clock: `${pad(m[4])}:${pad(m[5])}:${pad(m[6])}`, fraction: m[7] ?? '', zone: zoneOf(m[8]) };
  if (m[9] !== undefined)
    return { date, clock: `${pad(m[9])}:${pad(m[10])}:${pad(m[11])}`, fraction: m[12] ?? '', zone: 'Z' };
  return { date, clock: '00:00:00', fraction: '', zone: 'Z' };
}

/** t.Format(time.RFC3339): whole seconds. */
export function formatRfc3339(t: ParsedTime): string {
  return `${t.date}T${t.clock}${t.zone}`;
}

/** t.MarshalText(), i.e. time.RFC3339Nano: the fraction without trailing zeros. */
export function formatRfc3339Nano(t: ParsedTime): string {
  const fraction = t.fraction.replace(/0+$/, '');
  return `${t.date}T${t.clock}${fraction ? '.' + fraction : ''}${t.zone}`;
}
