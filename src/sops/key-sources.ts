/**
 * Where the age keys come from, as SOPS looks for them (age/keysource.go): the SOPS_AGE_KEY
 * variable (keys in the key-file format), the file SOPS_AGE_KEY_FILE names, and SOPS's default
 * key file `$XDG_CONFIG_HOME/sops/age/keys.txt` (`~/.config/sops/age/keys.txt`) when it exists;
 * plus files given explicitly (the CLI's --age-key-file; a mounted Swarm secret for
 * `controller run`). All found keys are used together, as SOPS does. Read once, on first need,
 * so a load without encrypted files reads no key. The one place in src/sops/ that reads files.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseAgeIdentities, type AgeIdentity } from './age-keys.js';
import { fail } from './problem.js';

export interface AgeKeyOptions {
  /** Key files named explicitly; each must be readable. */
  files?: string[];
  /** Where SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, XDG_CONFIG_HOME and HOME are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Also read SOPS's variables and default key file (default true). */
  sopsDefaults?: boolean;
}

/** Bigger key files are refused: a key file holds a few lines (SOPS's own limit is 16 MiB). */
const maxKeyFileBytes = 1024 * 1024;

export function defaultKeyFile(env: NodeJS.ProcessEnv): string {
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(config, 'sops', 'age', 'keys.txt');
}

async function readKeyFile(path: string, what: string, required: boolean): Promise<string | undefined> {
  try {
    const text = await readFile(path);
    if (text.length > maxKeyFileBytes)
      fail({
        code: 'SC7007',
        message: `${what} is ${text.length} bytes; an age key file holds a few lines`,
        fix: 'point it at the file age-keygen wrote',
      });
    return text.toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!required && code === 'ENOENT') return undefined;
    if (code === undefined) throw err;
    return fail({
      code: 'SC7007',
      message: `${what} cannot be read (${code})`,
      fix: 'check the path and its permissions; the file is the one age-keygen wrote',
    });
  }
}

/** All identities the options point at; throws a SopsFailure (SC7007) when a named source is unusable. */
export async function loadAgeIdentities(options: AgeKeyOptions = {}): Promise<AgeIdentity[]> {
  const env = options.env ?? process.env;
  const out: AgeIdentity[] = [];
  for (const file of options.files ?? []) {
    const text = await readKeyFile(file, `the age key file ${file}`, true);
    out.push(...(await parseAgeIdentities(text!, `age key file ${file}`)));
  }
  if (options.sopsDefaults === false) return out;
  if (env.SOPS_AGE_KEY) out.push(...(await parseAgeIdentities(env.SOPS_AGE_KEY, 'SOPS_AGE_KEY')));
  if (env.SOPS_AGE_KEY_FILE) {
    const what = `SOPS_AGE_KEY_FILE (${env.SOPS_AGE_KEY_FILE})`;
    const text = await readKeyFile(env.SOPS_AGE_KEY_FILE, what, true);
    out.push(...(await parseAgeIdentities(text!, what)));
  }
  const fallback = defaultKeyFile(env);
  const text = await readKeyFile(fallback, fallback, false);
  if (text !== undefined) out.push(...(await parseAgeIdentities(text, fallback)));
  return out;
}

/** A loader that reads the keys once, on first call, and gives the same answer (or failure) after. */
export function ageKeyLoader(options: AgeKeyOptions = {}): () => Promise<AgeIdentity[]> {
  let loaded: Promise<AgeIdentity[]> | undefined;
  return () => (loaded ??= loadAgeIdentities(options));
}
