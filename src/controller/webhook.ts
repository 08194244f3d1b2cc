/**
 * Verification of sync webhooks (`POST /hooks/sync`): pure functions over the request's
 * headers, raw body and the shared secret; no HTTP server here. Accepts a GitHub
 * `X-Hub-Signature-256: sha256=<hex>`, a Gitea `X-Gitea-Signature: <hex>` (or Gogs
 * `X-Gogs-Signature`), each an HMAC-SHA256 of the raw body, or `Authorization: Bearer <secret>`.
 * Comparisons are constant-time; reasons never contain the secret or any signature.
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type WebhookVerdict =
  { ok: true; kind: 'github' | 'gitea' | 'token' } | { ok: false; status: 401 | 400; reason: string };

export type WebhookHeaders = Record<string, string | string[] | undefined>;

/** `sha256=<hex>`, the value GitHub sends in X-Hub-Signature-256. */
export function signGithub(body: Buffer | string, secret: string): string {
  return `sha256=${hmacHex(body, secret)}`;
}

/** `<hex>`, the value Gitea sends in X-Gitea-Signature (and Gogs in X-Gogs-Signature). */
export function signGitea(body: Buffer | string, secret: string): string {
  return hmacHex(body, secret);
}

/** Signature headers in the order they are checked; the first one present names the kind. */
const signatureHeaders = [
  { name: 'x-gitea-signature', kind: 'gitea', prefix: '' },
  { name: 'x-gogs-signature', kind: 'gitea', prefix: '' },
  { name: 'x-hub-signature-256', kind: 'github', prefix: 'sha256=' },
] as const;

const watchedHeaders = new Set<string>([...signatureHeaders.map((h) => h.name), 'authorization']);

/**
 * Verifies a sync webhook. Every signature header present must be well formed and match
 * (Gitea sends its own header and GitHub's, with the same HMAC); a Bearer token is only
 * considered when no signature header is present. An empty secret verifies nothing.
 */
export function verifyWebhook(headers: WebhookHeaders, body: Buffer, secret: string): WebhookVerdict {
  if (typeof secret !== 'string' || secret.length === 0) {
    return fail(401, 'webhook secret is not configured; refusing every request');
  }
  const found = collectHeaders(headers);
  if ('status' in found) return found;

  let kind: 'github' | 'gitea' | undefined;
  let mismatches = 0;
  let expected: Buffer | undefined;
  for (const h of signatureHeaders) {
    const value = found.get(h.name);
    if (value === undefined) continue;
    const given = parseHexSignature(value, h.prefix);
    if (given === undefined) {
      const shape = h.prefix ? `"${h.prefix}" followed by hex` : 'hex';
      return fail(400, `malformed ${displayName(h.name)} header: expected ${shape} (an HMAC-SHA256 of the body)`);
    }
    expected ??= createHmac('sha256', secret).update(body).digest();
    // Every present header is compared, whatever the earlier ones gave.
    mismatches += safeEqual(given, expected) ? 0 : 1;
    kind ??= h.kind;
  }
  if (kind !== undefined) {
    return mismatches === 0 ? { ok: true, kind } : fail(401, 'signature does not match');
  }

  const auth = found.get('authorization');
  if (auth === undefined) {
    return fail(401, 'no signature: send X-Hub-Signature-256, X-Gitea-Signature or Authorization: Bearer');
  }
  const bearer = /^Bearer(?:[ \t]+(.*))?$/i.exec(auth);
  if (!bearer) return fail(401, 'no signature: the Authorization header is not a Bearer token');
  // Hash both sides so the comparison has equal lengths and leaks not even the secret's length.
  const token = createHash('sha256')
    .update(trimOws(bearer[1] ?? ''), 'utf8')
    .digest();
  const want = createHash('sha256').update(secret, 'utf8').digest();
  return safeEqual(token, want) ? { ok: true, kind: 'token' } : fail(401, 'signature does not match');
}

/**
 * Strips HTTP's optional whitespace (spaces and tabs) and nothing else: a token followed by a
 * newline, a NUL or a Unicode space is another token, not the configured one with padding.
 */
function trimOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}

function fail(status: 401 | 400, reason: string): WebhookVerdict {
  return { ok: false, status, reason };
}

function hmacHex(body: Buffer | string, secret: string): string {
  if (typeof secret !== 'string' || secret.length === 0) throw new Error('a webhook secret must not be empty');
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** The watched headers by lower-case name; a header given twice (as an array or in two spellings) is a 400. */
function collectHeaders(headers: WebhookHeaders): Map<string, string> | { ok: false; status: 400; reason: string } {
  const found = new Map<string, string>();
  for (const [rawName, rawValue] of Object.entries(headers ?? {})) {
    const name = rawName.toLowerCase();
    if (!watchedHeaders.has(name) || rawValue === undefined) continue;
    const values = Array.isArray(rawValue) ? rawValue : [rawValue];
    if (values.length === 0) continue;
    if (values.length > 1 || found.has(name)) {
      return { ok: false, status: 400, reason: `${displayName(name)} header given more than once` };
    }
    found.set(name, trimOws(String(values[0])));
  }
  return found;
}

/** The decoded signature, or undefined when the value is not `<prefix><even-length hex>`. */
function parseHexSignature(value: string, prefix: string): Buffer | undefined {
  if (value.slice(0, prefix.length).toLowerCase() !== prefix) return undefined;
  const hex = value.slice(prefix.length);
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}

/**
 * Constant-time equality. Lengths differing is a failure, but the comparison still runs (against
 * the given value itself) so the time taken reveals no more than that the lengths differ.
 */
function safeEqual(given: Buffer, expected: Buffer): boolean {
  if (given.length !== expected.length) {
    timingSafeEqual(given, given);
    return false;
  }
  return timingSafeEqual(given, expected);
}

function displayName(lower: string): string {
  switch (lower) {
    case 'x-hub-signature-256':
      return 'X-Hub-Signature-256';
    case 'x-gitea-signature':
      return 'X-Gitea-Signature';
    case 'x-gogs-signature':
      return 'X-Gogs-Signature';
    case 'authorization':
      return 'Authorization';
    default:
      return lower;
  }
}
