/**
 * Address ranges of network subnets, to find two networks that claim the same addresses.
 * Swarm accepts an overlay network whose explicit subnet overlaps another network's, then leaves
 * every task attached to it in state "New" ("network ... not allocated yet") with no error on
 * the service: the plan refuses such a network instead.
 */

export interface AddressRange {
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

function ipv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function ipv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const all =
    halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (all.length !== 8 || !all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** The addresses of a CIDR ("10.0.1.0/24", "fd00::/64"); undefined when it is not one. */
export function cidrRange(cidr: string): AddressRange | undefined {
  const m = /^([^/]+)\/([0-9]{1,3})$/.exec(cidr.trim());
  if (!m) return undefined;
  const family = m[1].includes(':') ? 6 : 4;
  const bits = family === 4 ? 32 : 128;
  const prefix = Number(m[2]);
  const address = family === 4 ? ipv4(m[1]) : ipv6(m[1]);
  if (address === undefined || prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const first = (address >> hostBits) << hostBits;
  return { family, first, last: first + (1n << hostBits) - 1n };
}

/** True when the two CIDRs share an address (false when either is not a CIDR). */
export function subnetsOverlap(a: string, b: string): boolean {
  const x = cidrRange(a);
  const y = cidrRange(b);
  return !!x && !!y && x.family === y.family && x.first <= y.last && y.first <= x.last;
}
