/**
 * age identities: parsing the key-file format (`age-keygen` output: one AGE-SECRET-KEY-1… per
 * line, `#` comments, blank lines), finding each identity's public key, and opening the armored
 * age stanza that holds a SOPS data key. The age cryptography is the age-encryption package
 * (typage, by age's author), loaded only when a file is encrypted. Messages name a key by its
 * source, line and public key, never by the secret.
 */
import type * as AgeEncryption from 'age-encryption';
import { fail } from './problem.js';

export interface AgeIdentity {
  /** The secret key, AGE-SECRET-KEY-1…; never printed. */
  secret: string;
  /** Its public key, age1…, for messages. */
  recipient: string;
  /** Where it was read, e.g. `SOPS_AGE_KEY_FILE (/keys.txt) line 3`. */
  source: string;
}

type AgeModule = typeof AgeEncryption;
let agePromise: Promise<AgeModule> | undefined;

/** The age-encryption module, imported once, on first use (it costs about 80 ms to load). */
export function ageModule(): Promise<AgeModule> {
  agePromise ??= import('age-encryption');
  return agePromise;
}

/**
 * The identities in a key file's text, in order. A line that is no age identity is refused
 * (SC7007) by its number: age-keygen writes nothing else, so it is a mistake to point out.
 */
export async function parseAgeIdentities(text: string, source: string): Promise<AgeIdentity[]> {
  const age = await ageModule();
  const out: AgeIdentity[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `${source} line ${i + 1}`;
    const refuse = (what: string, fix: string) => fail({ code: 'SC7007', message: `${at}: ${what}`, fix });
    if (line.startsWith('AGE-PLUGIN-'))
      refuse(
        'is an age plugin identity, which swarm-controller does not support',
        'use a native age key (age-keygen) for the files the controller decrypts',
      );
    if (line.startsWith('-----BEGIN'))
      refuse(
        'is a PEM block (an SSH or PGP key?); only age keys are read here',
        'give the file age-keygen wrote: lines starting with AGE-SECRET-KEY-1',
      );
    if (!line.startsWith('AGE-SECRET-KEY-'))
      refuse('is not an age secret key (AGE-SECRET-KEY-1…)', 'give the file age-keygen wrote, or the key itself');
    let recipient: string;
    try {
      recipient = await age.identityToRecipient(line);
    } catch {
      recipient = refuse(
        'is not a valid age secret key (its checksum or length is wrong)',
        'copy the key again from the file age-keygen wrote',
      );
    }
    out.push({ secret: line, recipient, source: at });
  }
  return out;
}

/**
 * The 32-byte data key from the first stanza one of the identities opens; SC7002 when none
 * does (naming the file's recipients and the public keys that were tried).
 */
export async function openDataKey(
  stanzas: { recipient: string; enc: string; field: string }[],
  identities: AgeIdentity[],
  offsetOf: (field: string) => number | undefined,
): Promise<Buffer> {
  const age = await ageModule();
  for (const stanza of stanzas) {
    let sealed: Uint8Array;
    try {
      sealed = age.armor.decode(stanza.enc);
    } catch {
      fail({
        code: 'SC7004',
        message: `sops.${stanza.field}.enc is not an armored age file`,
        fix: 'encrypt the file again with sops; do not edit the sops block',
        field: `sops.${stanza.field}.enc`,
        offset: offsetOf(`${stanza.field}.enc`),
      });
    }
    const decrypter = new age.Decrypter();
    for (const id of identities) decrypter.addIdentity(id.secret);
    let key: Uint8Array;
    try {
      key = await decrypter.decrypt(sealed);
    } catch {
      continue; // not for these identities (age tries each of its stanzas against each identity)
    }
    if (key.length !== 32)
      fail({
        code: 'SC7004',
        message: `the data key in sops.${stanza.field} is ${key.length} bytes, not 32`,
        fix: 'encrypt the file again with sops',
        field: `sops.${stanza.field}.enc`,
        offset: offsetOf(`${stanza.field}.enc`),
      });
    return Buffer.from(key);
  }
  const recipients = stanzas.map((s) => s.recipient || '(no recipient recorded)').join(', ');
  const tried = identities.map((i) => `${i.recipient} (${i.source})`).join(', ');
  return fail({
    code: 'SC7002',
    message: `none of the age keys given opens this file: it is encrypted for ${recipients}; tried ${tried}`,
    fix: 'give the key of one of those recipients (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or --age-key-file), or add your recipient to the file with sops updatekeys',
    field: 'sops.age',
    offset: offsetOf('age'),
  });
}
