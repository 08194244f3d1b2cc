/**
 * Reads the content of Config and Secret manifests: inline `data` (a Secret's only when the
 * file encrypted it with SOPS), a `file` next to the
 * manifest (which must stay inside the directory given with -f), or an environment variable.
 * Returns the content or diagnostics at the field; the content never appears in a message.
 * The one place besides source-files.ts that reads files.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import {
  contentHash,
  defaultRetain,
  maxDataBytes,
  maxDataStem,
  type DataKind,
  type DesiredData,
} from '../api/data-model.js';
import { refLabel, swarmName, type ObjectRef } from '../api/object-ref.js';
import type { ConfigManifest, SecretManifest } from '../api/schemas.js';
import { diagnostic, type Diagnostic } from '../errors.js';
import type { CheckedObject } from './cross-checks.js';
import { formatPath, type FieldPath } from './yaml-documents.js';
import { sortedRecord } from '../model/canonical.js';

export interface DataSourceContext {
  /** The directory each manifest file was read under (the -f directory, or the file's own); absent for stdin. */
  rootOf(file: string): string | undefined;
  env: NodeJS.ProcessEnv;
}

type DataObject = CheckedObject<ConfigManifest | SecretManifest>;

export function resolveData(
  o: DataObject,
  ctx: DataSourceContext,
): { desired?: DesiredData; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const at = (path: FieldPath, code: Diagnostic['code'], message: string, fix: string) =>
    diagnostics.push(
      diagnostic(code, message, {
        position: o.document.positionOf(path),
        object: refLabel(o.ref),
        field: formatPath(path),
        fix,
      }),
    );
  const kind = o.ref.kind as DataKind;
  const what = kind.toLowerCase();
  const spec: {
    data?: string;
    file?: string;
    env?: string;
    external?: boolean;
    name?: string;
    retain?: number;
    templateDriver?: string;
  } = o.manifest.spec ?? {};
  const sources = (['data', 'file', 'env', 'external'] as const).filter(
    (k) => spec[k] !== undefined && spec[k] !== false,
  );
  if (sources.length !== 1) {
    at(
      sources.length ? ['spec', sources[1]] : ['spec'],
      'SC3016',
      sources.length ? `a ${what} takes one source, not ${sources.join(' and ')}` : `the ${what} has no source`,
      `keep exactly one of ${kind === 'Config' ? 'data' : 'data (SOPS-encrypted)'}, file, env or external`,
    );
    return { diagnostics };
  }
  const secretVariable = isEncrypted(o.document.secretVariables, ['spec', 'data']); // its value is not in git
  if (
    kind === 'Secret' &&
    spec.data !== undefined &&
    !isEncrypted(o.document.encrypted, ['spec', 'data']) &&
    !secretVariable
  ) {
    at(
      ['spec', 'data'],
      'SC7008',
      "the secret's data is in plain text in the manifest, which lives in git",
      'encrypt the file with sops so that spec.data is encrypted (docs/sops.md), use a secret variable (docs/variables.md), or use file or env',
    );
    return { diagnostics };
  }
  const base = { ref: o.ref as ObjectRef & { kind: DataKind } };
  const labels = sortedRecord(o.manifest.metadata.labels);
  const retain = spec.retain ?? defaultRetain;
  if (spec.external) {
    return {
      desired: {
        ...base,
        swarmName: spec.name ?? swarmName(o.ref),
        external: true,
        source: 'external',
        model: { labels, content: '', size: 0, retain, templateDriver: null },
      },
      diagnostics,
    };
  }
  // Named explicitly: stored under exactly that name, one immutable object (data-plan.ts).
  const stem = spec.name ?? swarmName(o.ref);
  if (!spec.name && stem.length > maxDataStem) {
    at(
      ['metadata', 'name'],
      'SC3006',
      `the ${what} is stored as "${stem}.<hash>", and "${stem}" is ${stem.length} characters; at most ${maxDataStem} fit`,
      'shorten the name or the namespace',
    );
    return { diagnostics };
  }
  let data: Buffer | undefined;
  let source = 'inline';
  if (spec.data !== undefined) {
    source = secretVariable ? 'secret variable' : o.document.encrypted?.length ? 'sops' : 'inline';
    data = Buffer.from(spec.data, 'utf8');
  } else if (spec.file !== undefined) {
    source = `file ${spec.file}`;
    data = readDataFile(spec.file, o, ctx, (message, fix) => at(['spec', 'file'], 'SC3017', message, fix));
    if (!data) return { diagnostics };
  } else if (spec.env !== undefined) {
    source = `env ${spec.env}`;
    const value = ctx.env[spec.env];
    if (value === undefined || value === '') {
      at(
        ['spec', 'env'],
        'SC3018',
        `the environment variable ${spec.env} is ${value === undefined ? 'not set' : 'empty'}`,
        `export ${spec.env} before running the controller (its value is never shown), or use file`,
      );
      return { diagnostics };
    }
    data = Buffer.from(value, 'utf8');
  }
  if (!data || data.length === 0 || data.length > maxDataBytes) {
    at(
      ['spec', sources[0]],
      'SC3017',
      `the ${what}'s content is ${data?.length ?? 0} bytes; Swarm takes 1 byte to ${maxDataBytes} bytes`,
      data?.length ? 'split it, or mount a volume instead' : 'give it content',
    );
    return { diagnostics };
  }
  const hash = contentHash(data);
  return {
    desired: {
      ...base,
      swarmName: stem,
      external: false,
      ...(spec.name ? { named: true as const } : {}),
      source,
      model: {
        labels,
        content: `sha256:${hash}`,
        size: data.length,
        retain,
        templateDriver: spec.templateDriver ?? null,
      },
      data,
    },
    diagnostics,
  };
}

/** Whether the value at `path` was encrypted with SOPS (it, or every value under it). */
function isEncrypted(encrypted: FieldPath[] | undefined, path: FieldPath): boolean {
  return (encrypted ?? []).some((p) => p.length === path.length && p.every((seg, i) => seg === path[i]));
}

function readDataFile(
  file: string,
  o: DataObject,
  ctx: DataSourceContext,
  fail: (message: string, fix: string) => void,
): Buffer | undefined {
  const root = ctx.rootOf(o.document.file);
  if (!root) {
    fail(
      `"${file}" cannot be read relative to manifests given on standard input`,
      'give the manifests with -f DIRECTORY, or use env',
    );
    return undefined;
  }
  const path = resolve(dirname(o.document.file), file);
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    fail(
      `cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? String(err)}), looked for at ${relative(process.cwd(), path) || path}`,
      'check the path: it is relative to the manifest file',
    );
    return undefined;
  }
  const realRoot = realpathSync(root);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    fail(
      `"${file}" resolves to ${real}, outside the manifest directory ${relative(process.cwd(), realRoot) || '.'}`,
      'keep the file inside the directory given with -f',
    );
    return undefined;
  }
  const info = statSync(real);
  if (!info.isFile()) {
    fail(`"${file}" is not a regular file`, 'point file at a regular file');
    return undefined;
  }
  if (info.size > maxDataBytes) {
    fail(`"${file}" is ${info.size} bytes; Swarm takes at most ${maxDataBytes}`, 'split it, or mount a volume instead');
    return undefined;
  }
  return readFileSync(real);
}
