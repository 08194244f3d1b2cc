/**
 * The `sops:` block of an encrypted file, read and checked the way SOPS's stores/stores.go
 * reads it: the age recipients with their `enc` stanzas (top-level key lists, or a single
 * entry of `key_groups`), `lastmodified`, `mac`, the one rule that says which values are
 * encrypted (`unencrypted_suffix` by default, `_unencrypted`), `mac_only_encrypted`, `version`.
 * What this controller cannot use (only pgp/kms/vault keys, Shamir key groups, comment regexes)
 * is refused with a message that says so. Pure.
 */
import { fail } from './problem.js';
import { formatRfc3339, parseRfc3339 } from './go-format.js';

export interface AgeStanza {
  recipient: string;
  /** The armored age file holding the data key. */
  enc: string;
  /** Path inside the sops block, for messages. */
  field: string;
}

export interface EncryptionRules {
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: RegExp;
  encryptedRegex?: RegExp;
  /** Only encrypted values enter the MAC (and it starts from a fixed prefix). */
  macOnlyEncrypted: boolean;
}

export interface SopsMetadata {
  age: AgeStanza[];
  /** The encrypted MAC, `ENC[...]`. */
  mac: string;
  /** lastmodified as SOPS re-formats it (time.RFC3339): the MAC's additional data. */
  lastModified: string;
  rules: EncryptionRules;
  version: string;
}

const otherKeyTypes = ['pgp', 'kms', 'gcp_kms', 'azure_kv', 'hc_vault'] as const;
const keyTypeNames: Record<string, string> = {
  pgp: 'PGP',
  kms: 'AWS KMS',
  gcp_kms: 'GCP KMS',
  azure_kv: 'Azure Key Vault',
  hc_vault: 'HashiCorp Vault',
};

export const defaultUnencryptedSuffix = '_unencrypted';

type Where = (field: string) => number | undefined;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function readMetadata(raw: unknown, where: Where): SopsMetadata {
  const bad: (field: string, message: string, fix: string) => never = (field, message, fix) =>
    fail({ code: 'SC7004', message, fix, field: `sops.${field}`, offset: where(field) });
  if (!isRecord(raw))
    fail({
      code: 'SC7004',
      message: 'the sops metadata is not a mapping',
      fix: 'encrypt the file again with sops; the `sops:` key is written by sops and must not be edited',
      field: 'sops',
      offset: where(''),
    });
  const version = typeof raw.version === 'string' || typeof raw.version === 'number' ? String(raw.version) : 'unknown';
  const text = (field: string): string | undefined => {
    const v = raw[field];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string')
      return bad(
        field,
        `sops.${field} is not a string`,
        'encrypt the file again with sops; do not edit the sops block',
      );
    return v;
  };

  // Which values are encrypted.
  for (const field of ['unencrypted_comment_regex', 'encrypted_comment_regex'])
    if (text(field) !== undefined)
      bad(
        field,
        `the file uses ${field}, which swarm-controller does not support (which values are encrypted then depends on comments)`,
        'encrypt it with encrypted_regex, encrypted_suffix, unencrypted_regex or unencrypted_suffix instead',
      );
  const unencryptedSuffix = text('unencrypted_suffix');
  const encryptedSuffix = text('encrypted_suffix');
  const unencryptedRegex = text('unencrypted_regex');
  const encryptedRegex = text('encrypted_regex');
  const given = [unencryptedSuffix, encryptedSuffix, unencryptedRegex, encryptedRegex].filter((r) => r !== undefined);
  if (given.length > 1)
    bad(
      '',
      'the file sets more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex and unencrypted_regex; sops refuses that too',
      'encrypt the file again with one rule',
    );
  const macOnly = raw.mac_only_encrypted;
  if (macOnly !== undefined && macOnly !== null && typeof macOnly !== 'boolean')
    bad('mac_only_encrypted', 'sops.mac_only_encrypted is not true or false', 'encrypt the file again with sops');
  const rules: EncryptionRules = { macOnlyEncrypted: macOnly === true };
  if (given.length === 0) rules.unencryptedSuffix = defaultUnencryptedSuffix;
  if (unencryptedSuffix !== undefined) rules.unencryptedSuffix = unencryptedSuffix;
  if (encryptedSuffix !== undefined) rules.encryptedSuffix = encryptedSuffix;
  if (unencryptedRegex !== undefined)
    rules.unencryptedRegex = compile(unencryptedRegex, (m) => bad('unencrypted_regex', m, regexFix));
  if (encryptedRegex !== undefined)
    rules.encryptedRegex = compile(encryptedRegex, (m) => bad('encrypted_regex', m, regexFix));

  // The MAC and its additional data.
  const lastModifiedText = text('lastmodified');
  const lastModified = lastModifiedText === undefined ? undefined : parseRfc3339(lastModifiedText);
  if (!lastModified)
    bad(
      'lastmodified',
      lastModifiedText === undefined ? 'sops.lastmodified is missing' : 'sops.lastmodified is not an RFC 3339 time',
      'encrypt the file again with sops; do not edit the sops block',
    );
  const mac = text('mac');
  if (mac === undefined)
    fail({
      code: 'SC7003',
      message: 'the file has no MAC (sops.mac), so nothing proves its values are the ones that were encrypted',
      fix: 'encrypt the file again with sops (sops updatekeys or sops edit writes a new MAC)',
      field: 'sops.mac',
      offset: where('mac') ?? where(''),
    });

  return { age: ageStanzas(raw, where, bad), mac, lastModified: formatRfc3339(lastModified), rules, version };
}

const regexFix = 'write the rule as a regular expression JavaScript and Go both read, e.g. ^(data|stringData)$';

/** A Go (RE2) expression as a JavaScript one; a leading (?i) becomes the i flag. */
function compile(source: string, refuse: (message: string) => never): RegExp {
  const flags = source.startsWith('(?i)') ? 'i' : '';
  try {
    return new RegExp(flags ? source.slice(4) : source, flags);
  } catch {
    return refuse('the regular expression cannot be read here');
  }
}

function ageStanzas(
  raw: Record<string, unknown>,
  where: Where,
  bad: (field: string, message: string, fix: string) => never,
): AgeStanza[] {
  const groups: { entries: Record<string, unknown>; prefix: string }[] = [];
  const topLevel = ['age', ...otherKeyTypes].some((k) => listOf(raw[k]).length > 0);
  if (topLevel) groups.push({ entries: raw, prefix: '' });
  else
    listOf(raw.key_groups).forEach((g, i) => {
      if (isRecord(g)) groups.push({ entries: g, prefix: `key_groups[${i}].` });
    });
  if (groups.length === 0)
    bad('', 'the sops metadata lists no keys', 'encrypt the file again with sops --age <recipient>');
  if (groups.length > 1)
    bad(
      'key_groups',
      `the data key is split between ${groups.length} key groups (Shamir secret sharing), which swarm-controller does not support`,
      'encrypt the file with a single key group: age recipients only, without key_groups',
    );
  const group = groups[0];
  const stanzas: AgeStanza[] = [];
  listOf(group.entries.age).forEach((entry, i) => {
    const field = `${group.prefix}age[${i}]`;
    if (!isRecord(entry) || typeof entry.enc !== 'string' || entry.enc === '')
      bad(field, `sops.${field} has no enc stanza`, 'encrypt the file again with sops; do not edit the sops block');
    stanzas.push({ recipient: typeof entry.recipient === 'string' ? entry.recipient : '', enc: entry.enc, field });
  });
  if (stanzas.length === 0) {
    const others = otherKeyTypes.filter((k) => listOf(group.entries[k]).length > 0).map((k) => keyTypeNames[k]);
    fail({
      code: 'SC7005',
      message: `the file is encrypted for ${others.join(', ')} only; swarm-controller decrypts with age keys only`,
      fix: 'add an age recipient: sops updatekeys with an age key in .sops.yaml, or sops -r -i --add-age <age1…> FILE',
      field: 'sops',
      offset: where(''),
    });
  }
  return stanzas;
}
