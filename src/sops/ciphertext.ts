/**
 * One SOPS value: `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<type>]`, AES-256-GCM
 * with the document's data key and, as additional data, the value's key path joined with ":"
 * and ended with ":" (SOPS's aes/cipher.go). Decrypting turns the text back into its type
 * (str, int, float, bool, bytes, time; comment for comments) and gives the bytes SOPS hashes
 * for the MAC. Errors carry messages safe to print: never a plaintext or a key.
 * Uses node:crypto only.
 */
import { createDecipheriv } from 'node:crypto';
import {
  formatFloat,
  formatGoBool,
  formatRfc3339Nano,
  parseGoBool,
  parseGoFloat,
  parseGoInt,
  parseRfc3339,
} from './go-format.js';

/** SOPS's pattern (aes/cipher.go), anchored at the start only, as there. */
const encrypted = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type SopsType = 'str' | 'int' | 'int64' | 'float' | 'bool' | 'bytes' | 'time' | 'comment';
const types = new Set<string>(['str', 'int', 'int64', 'float', 'bool', 'bytes', 'time', 'comment']);

/** A value that cannot be decrypted; `message` names no secret. */
export class ValueError extends Error {
  constructor(
    message: string,
    readonly kind: 'format' | 'authentication' | 'type',
  ) {
    super(message);
    this.name = 'ValueError';
  }
}

export function looksEncrypted(text: string): boolean {
  return encrypted.test(text);
}

export interface Decrypted {
  type: SopsType;
  /** The value with its type: string (str, bytes, time, comment), number (int, float) or boolean. */
  value: string | number | boolean;
  /** What SOPS hashes for the MAC (sops.ToBytes of the typed value). */
  macBytes: Buffer;
}

function decode(part: string, what: string): Buffer {
  if (!base64.test(part)) throw new ValueError(`its ${what} is not base64`, 'format');
  return Buffer.from(part, 'base64');
}

export function decryptValue(text: string, key: Buffer, additionalData: string): Decrypted {
  const m = encrypted.exec(text);
  if (!m) throw new ValueError('it is not in the ENC[AES256_GCM,data:…,iv:…,tag:…,type:…] form', 'format');
  const [, dataText, ivText, tagText, type] = m;
  if (!types.has(type)) throw new ValueError(`its type "${type.slice(0, 20)}" is not one SOPS writes`, 'type');
  const data = decode(dataText, 'data');
  const iv = decode(ivText, 'iv');
  const tag = decode(tagText, 'tag');
  if (iv.length === 0) throw new ValueError('its iv is empty', 'format');
  if (tag.length !== 16) throw new ValueError(`its tag is ${tag.length} bytes, not 16`, 'format');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(additionalData, 'utf8'));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new ValueError(
      'AES-GCM authentication failed: the value was changed, moved from another key, or encrypted with another data key',
      'authentication',
    );
  }
  return typed(type as SopsType, plain);
}

function typed(type: SopsType, plain: Buffer): Decrypted {
  const text = plain.toString('utf8');
  const refuse = (what: string) => {
    throw new ValueError(`it decrypts, but not to ${what} as its type "${type}" says`, 'type');
  };
  switch (type) {
    case 'str':
    case 'comment':
      return { type, value: text, macBytes: plain };
    case 'bytes':
      return { type, value: text, macBytes: plain };
    case 'int':
    case 'int64': {
      const v = parseGoInt(text);
      if (v === undefined) return refuse('an integer');
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
        throw new ValueError('its integer is beyond 2^53, which manifests cannot hold exactly', 'type');
      return { type, value: Number(v), macBytes: Buffer.from(v.toString()) };
    }
    case 'float': {
      const v = parseGoFloat(text);
      if (v === undefined) return refuse('a number');
      return { type, value: v, macBytes: Buffer.from(formatFloat(v)) };
    }
    case 'bool': {
      const v = parseGoBool(text);
      if (v === undefined) return refuse('a boolean');
      return { type, value: v, macBytes: Buffer.from(formatGoBool(v)) };
    }
    case 'time': {
      const t = parseRfc3339(text);
      if (!t) return refuse('an RFC 3339 time');
      return { type, value: text, macBytes: Buffer.from(formatRfc3339Nano(t)) };
    }
  }
}
