/**
 * Parsers for the compose short forms, turned into their long forms: ports
 * (`[ip:][published[-end]:]target[-end][/protocol]`), volumes (`[source:]target[:options]`),
 * shell-style command strings (as docker/cli splits them), env files and durations. Pure;
 * each throws a ShortSyntaxError whose message says what was expected.
 */

export class ShortSyntaxError extends Error {}

export interface LongPort {
  target: number;
  published?: number;
  protocol: string;
  mode: string;
  host_ip?: string;
}

function portRange(text: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new ShortSyntaxError(`${what} "${text}" is not a port or a range like 8000-8010`);
  const a = Number(m[1]),
    b = m[2] ? Number(m[2]) : a;
  if (a < 1 || b > 65535 || b < a) throw new ShortSyntaxError(`${what} "${text}" is not within 1-65535, low to high`);
  return [a, b];
}

export function parsePortShort(spec: string | number): LongPort[] {
  let text = String(spec).trim();
  let protocol = 'tcp';
  const slash = text.lastIndexOf('/');
  if (slash >= 0) {
    protocol = text.slice(slash + 1).toLowerCase();
    text = text.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(protocol))
      throw new ShortSyntaxError(`protocol "${protocol}" is not tcp, udp or sctp`);
  }
  let hostIp: string | undefined;
  const ip6 = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (ip6) {
    hostIp = ip6[1];
    text = ip6[2]!;
  }
  const parts = text.split(':');
  if (parts.length === 3) hostIp = parts.shift();
  if (parts.length > 2 || parts.some((p, i) => p === '' && !(i === 0 && parts.length === 2))) {
    throw new ShortSyntaxError(`"${spec}" is not [host-ip:][published:]target[/protocol]`);
  }
  const target = portRange(parts[parts.length - 1], 'container port');
  const published = parts.length === 2 && parts[0] !== '' ? portRange(parts[0], 'published port') : undefined;
  const count = target[1] - target[0] + 1;
  if (published && published[1] - published[0] + 1 !== count) {
    throw new ShortSyntaxError(
      `"${spec}" maps ${published[1] - published[0] + 1} published ports to ${count} container ports; the ranges must have the same length`,
    );
  }
  return Array.from({ length: count }, (_, i) => ({
    target: target[0] + i,
    ...(published ? { published: published[0] + i } : {}),
    protocol,
    mode: 'ingress',
    ...(hostIp ? { host_ip: hostIp } : {}),
  }));
}

export interface LongVolume {
  type: 'volume' | 'bind' | 'tmpfs';
  source?: string;
  target: string;
  read_only?: boolean;
  volume?: { nocopy?: boolean };
  bind?: { propagation?: string };
  /** Options of the short form that Swarm mounts cannot carry (z, Z, consistency). */
  ignored?: string[];
}

const propagations = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

export function parseVolumeShort(spec: string): LongVolume {
  const parts = spec.split(':');
  if (parts.some((p) => p === '') || parts.length > 3)
    throw new ShortSyntaxError(`"${spec}" is not [source:]target[:options]`);
  if (parts.length === 1) return { type: 'volume', target: parts[0] };
  const [source, target, options = ''] = parts as [string, string, string?];
  const isPath = /^[./~]/.test(source);
  const out: LongVolume = { type: isPath ? 'bind' : 'volume', source, target };
  for (const option of options ? options.split(',') : []) {
    if (option === 'ro') out.read_only = true;
    else if (option === 'rw') out.read_only = false;
    else if (option === 'nocopy') out.volume = { nocopy: true };
    else if (propagations.includes(option)) out.bind = { propagation: option };
    else if (['z', 'Z', 'cached', 'delegated', 'consistent'].includes(option)) (out.ignored ??= []).push(option);
    else
      throw new ShortSyntaxError(`volume option "${option}" is not one of ro, rw, nocopy, ${propagations.join(', ')}`);
  }
  return out;
}

/** Splits a command string into words like a POSIX shell would, without expansions. */
export function shellSplit(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new ShortSyntaxError(`the quote ${quote} is not closed`);
  if (inWord) words.push(word);
  return words;
}

/** An env file as `docker stack deploy` reads it: KEY=VALUE lines taken literally, `#` comments, and bare `KEY` taken from the environment when set. */
export function parseEnvFile(
  text: string,
  env: Record<string, string | undefined>,
): { vars: Map<string, { value: string; line: number }>; problems: { line: number; message: string }[] } {
  const vars = new Map<string, { value: string; line: number }>();
  const problems: { line: number; message: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line.trim() : line.slice(0, eq);
    if (name === '' || /\s/.test(name)) {
      problems.push({ line: i + 1, message: `variable name ${JSON.stringify(name)} is empty or contains white space` });
      return;
    }
    if (eq >= 0) vars.set(name, { value: line.slice(eq + 1), line: i + 1 });
    else if (env[name] !== undefined) vars.set(name, { value: env[name], line: i + 1 });
  });
  return { vars, problems };
}

/** A compose duration ("1m30s", "10s", "1h", "500ms", or a number of seconds) in our spelling. */
export function composeDuration(value: string | number): string {
  if (typeof value === 'number') {
    if (!(value >= 0)) throw new ShortSyntaxError(`${value} is not a duration`);
    return `${value}s`;
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return `${text}s`;
  if (!/^((\d+(\.\d+)?)(ns|us|µs|ms|s|m|h))+$/.test(text))
    throw new ShortSyntaxError(`"${value}" is not a duration like "10s", "1m30s" or "500ms"`);
  return text;
}

/** A compose byte size ("512m", "1g", "64M", "1.5gb", or a number of bytes) as our memory quantity. */
export function composeBytes(value: string | number): string | number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new ShortSyntaxError(`${value} is not a number of bytes`);
    return value;
  }
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)b?$/i.exec(value.trim());
  if (!m) throw new ShortSyntaxError(`"${value}" is not a size like "512m", "1g" or a number of bytes`);
  const unit = m[2].toLowerCase();
  if (!unit) return Math.floor(Number(m[1]));
  // docker reads k, m, g as binary units (RAMInBytes)
  const suffix = { k: 'Ki', m: 'Mi', g: 'Gi', t: 'Ti', p: '' }[unit as 'k' | 'm' | 'g' | 't' | 'p'];
  if (!suffix) return Math.floor(Number(m[1]) * 1024 ** 5);
  return Number.isInteger(Number(m[1]))
    ? `${m[1]}${suffix}`
    : Math.floor(Number(m[1]) * 1024 ** ('kmgt'.indexOf(unit) + 1));
}
