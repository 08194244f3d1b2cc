/**
 * The variables of an App, read at every new revision: `spec.variables`, then each entry of
 * `spec.variablesFrom` in order (a later value wins). A Config is read from the Swarm: the
 * config of exactly that name, or else the newest version of a Config manifest stored under it
 * (`<namespace>_<name>.<hash>`). A Secret is read from the controller's secrets directory
 * (`/run/secrets/<name>`: the Swarm secret mounted into the controller service), because Swarm
 * never returns a secret's value over its API. Both hold KEY=value lines (docker's --env-file
 * format). Which names came from a Secret is returned too, so substitution masks their values.
 * A source that cannot be read (and is not optional) or a malformed line is an SC8102 error
 * naming the App, the entry and the line, never a value.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VariablesSource } from '../api/schemas.js';
import type { SwarmRecords, SwarmReader } from '../api/swarm-access.js';
import { TerminalError } from '../errors.js';

export interface AppVariables {
  values: Record<string, string>;
  /** Names whose values came from a Secret: masked wherever a value is shown. */
  secret: Set<string>;
}

export interface VariableReader {
  configs: Pick<SwarmRecords, 'findConfig'> & Pick<SwarmReader, 'listConfigs'>;
  /** Where Secrets are read (default /run/secrets). */
  secretsDir: string;
}

const maxBytes = 512 * 1024;
const keyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function readAppVariables(
  app: string,
  spec: { variables?: { [name: string]: string | undefined }; variablesFrom?: VariablesSource[] },
  reader: VariableReader,
): Promise<AppVariables> {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.variables ?? {})) if (v !== undefined) values[k] = v;
  const secret = new Set<string>();
  for (const [i, from] of (spec.variablesFrom ?? []).entries()) {
    const where = `App "${app}" spec.variablesFrom[${i}] (${from.kind} "${from.name}")`;
    const text = from.kind === 'Config' ? await configText(from.name, reader) : await secretText(from.name, reader);
    if (text === undefined) {
      if (from.optional) continue;
      throw new TerminalError(
        'SC8102',
        from.kind === 'Config'
          ? `${where}: no Swarm config of that name; create it (docker config create ${from.name} FILE) or declare it optional: true`
          : `${where}: ${join(reader.secretsDir, from.name)} cannot be read; mount the Swarm secret "${from.name}" into the controller service or declare it optional: true`,
      );
    }
    for (const [k, v] of parseEnvLines(text, where)) {
      values[k] = v;
      if (from.kind === 'Secret') secret.add(k);
      else secret.delete(k);
    }
  }
  return { values, secret };
}

/** KEY=value lines; blank lines and # comments skipped; the value is taken as it is (no quotes removed). */
export function parseEnvLines(text: string, where: string): [string, string][] {
  const out: [string, string][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? trimmed : line.slice(0, eq).trim();
    if (eq < 0 || !keyPattern.test(key))
      throw new TerminalError(
        'SC8102',
        `${where}, line ${i + 1}: not KEY=value (the key is letters, digits and _, not starting with a digit)`,
      );
    out.push([key, line.slice(eq + 1)]);
  });
  return out;
}

async function configText(name: string, reader: VariableReader): Promise<string | undefined> {
  const exact = await reader.configs.findConfig(name);
  const chosen =
    exact ??
    (await reader.configs.listConfigs())
      .filter((c) => c.Spec.Name.startsWith(`${name}.`) && /^[0-9a-f]+$/.test(c.Spec.Name.slice(name.length + 1)))
      .sort((a, b) => String(b.CreatedAt ?? '').localeCompare(String(a.CreatedAt ?? '')))[0];
  if (!chosen) return undefined;
  return Buffer.from(chosen.Spec.Data ?? '', 'base64').toString('utf8');
}

async function secretText(name: string, reader: VariableReader): Promise<string | undefined> {
  try {
    const text = await readFile(join(reader.secretsDir, name));
    if (text.length > maxBytes) return undefined;
    return text.toString('utf8');
  } catch {
    return undefined;
  }
}
