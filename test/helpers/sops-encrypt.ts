/**
 * Writes SOPS files the way `sops encrypt` does, for tests (the sops binary is not installed
 * here): a random 32-byte data key sealed for each age recipient (age-encryption, armored),
 * each value the rule selects encrypted with AES-256-GCM under its key path, comments
 * encrypted too, the SHA-512 MAC over the values in order, encrypted with `lastmodified` as
 * additional data, and the `sops:` block appended to every document. Independent of
 * src/sops/ except for the Go number and time formats, which are the format's definition.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Encrypter, armor } from 'age-encryption';
import { isMap, isScalar, isSeq, parseAllDocuments, type Document, type Scalar } from 'yaml';
import { formatFloat, formatGoBool, formatRfc3339Nano, parseYamlTimestamp } from '../../src/sops/go-format.js';

export interface SopsEncryptOptions {
  recipients: string[];
  /** At most one, as sops allows; none means unencrypted_suffix "_unencrypted". */
  rule?:
    | { unencrypted_suffix: string }
    | { encrypted_suffix: string }
    | { unencrypted_regex: string }
    | { encrypted_regex: string };
  macOnlyEncrypted?: boolean;
  lastModified?: string;
  version?: string;
  /** Encrypt comments as sops does by default (true). */
  encryptComments?: boolean;
  /** Use this data key instead of a random one. */
  dataKey?: Buffer;
  /** The armored age file holding `dataKey`, made elsewhere (by the age binary). */
  stanza?: string;
}

export function encryptOne(plain: Buffer, type: string, key: Buffer, aad: string): string {
  const iv = randomBytes(32);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(aad));
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${cipher.getAuthTag().toString('base64')},type:${type}]`;
}

function selects(keys: string[], o: SopsEncryptOptions): boolean {
  const r = (o.rule ?? { unencrypted_suffix: '_unencrypted' }) as Record<string, string>;
  if ('unencrypted_suffix' in r) return !keys.some((k) => k.endsWith(r.unencrypted_suffix));
  if ('encrypted_suffix' in r) return keys.some((k) => k.endsWith(r.encrypted_suffix));
  if ('unencrypted_regex' in r) return !keys.some((k) => new RegExp(r.unencrypted_regex).test(k));
  return keys.some((k) => new RegExp(r.encrypted_regex).test(k));
}

export async function sopsEncrypt(plainYaml: string, o: SopsEncryptOptions): Promise<string> {
  const key = o.dataKey ?? randomBytes(32);
  const mac = createHash('sha512');
  if (o.macOnlyEncrypted)
    mac.update(Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex'));
  const docs = parseAllDocuments(plainYaml, { intAsBigInt: true }) as Document.Parsed[];
  const comment = (text: string | null | undefined, keys: string[]) =>
    text && o.encryptComments !== false
      ? text
          .split('\n')
          .map((line) => encryptOne(Buffer.from(line), 'comment', key, keys.join(':') + ':'))
          .join('\n')
      : text;

  const leaf = (node: Scalar, keys: string[]) => {
    const v = node.value;
    if (v === null || v === undefined) return;
    const encrypt = selects(keys, o);
    let bytes: Buffer;
    let type: string;
    if (typeof v === 'string') {
      const time = node.type === 'PLAIN' ? parseYamlTimestamp(v) : undefined;
      bytes = Buffer.from(time && !encrypt ? formatRfc3339Nano(time) : v);
      type = 'str';
    } else if (typeof v === 'bigint') {
      bytes = Buffer.from(v.toString());
      type = 'int';
    } else if (typeof v === 'number') {
      bytes = Buffer.from(formatFloat(v));
      type = 'float';
    } else {
      bytes = Buffer.from(formatGoBool(v as boolean));
      type = 'bool';
    }
    if (!o.macOnlyEncrypted || encrypt) mac.update(bytes);
    if (encrypt && !(typeof v === 'string' && v === '')) {
      node.value = encryptOne(bytes, type, key, keys.join(':') + ':');
      node.type = 'PLAIN';
      node.tag = undefined;
    }
  };
  const walk = (node: unknown, keys: string[]) => {
    if (isMap(node))
      for (const pair of node.items) {
        const k = String((pair.key as Scalar).value);
        if (isScalar(pair.key)) pair.key.commentBefore = comment(pair.key.commentBefore, [...keys, k]);
        walk(pair.value, [...keys, k]);
      }
    else if (isSeq(node)) for (const item of node.items) walk(item, keys);
    else if (isScalar(node)) {
      node.commentBefore = comment(node.commentBefore, keys);
      leaf(node, keys);
    }
  };
  for (const doc of docs) {
    doc.commentBefore = comment(doc.commentBefore, []) ?? null;
    if (isMap(doc.contents)) walk(doc.contents, []);
  }

  const encrypter = new Encrypter();
  for (const r of o.recipients) encrypter.addRecipient(r);
  const stanza = o.stanza ?? armor.encode(await encrypter.encrypt(key));
  const lastModified = o.lastModified ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const macText = encryptOne(Buffer.from(mac.digest('hex').toUpperCase()), 'str', key, lastModified);
  const metadata: Record<string, unknown> = {
    age: o.recipients.map((recipient) => ({ recipient, enc: stanza })),
    lastmodified: lastModified,
    mac: macText,
    ...(o.rule ?? { unencrypted_suffix: '_unencrypted' }),
    ...(o.macOnlyEncrypted ? { mac_only_encrypted: true } : {}),
    version: o.version ?? '3.10.2',
  };
  return docs
    .map((doc) => {
      if (isMap(doc.contents)) doc.set('sops', doc.createNode(metadata));
      return doc.toString({ lineWidth: 0 });
    })
    .join('');
}
