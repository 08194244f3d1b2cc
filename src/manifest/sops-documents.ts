/**
 * SOPS-encrypted manifest files, between parsing and schema validation: a file whose first
 * document carries `sops:` metadata is decrypted as a whole (src/sops/), and its documents
 * replaced by the decrypted ones, each recording which fields were encrypted; positions still
 * point into the encrypted file (decryption changes values, never keys). A problem is one
 * diagnostic at its line, and none of the file's documents is kept. Also here: which fields
 * of which object were encrypted (for masking plans), the decrypted strings (for redacting
 * text), and diagnostics about encrypted fields with their values hidden. Fields that received
 * a secret variable's value (src/manifest/variables.ts) are hidden by the same functions.
 */
import { errorCatalogue, diagnostic, type Diagnostic } from '../errors.js';
// Not sops/index.js: its decryption code (and the `yaml` package) is loaded only for a file that
// may be encrypted, so plain manifests start faster.
import type { AgeIdentity } from '../sops/age-keys.js';
import { maybeSops } from '../sops/maybe-sops.js';
import type { SopsProblem } from '../sops/problem.js';
import { SensitiveValues } from '../sops/redact.js';
import type { SourceFile } from './source-files.js';
import { formatPath, type FieldPath, type ManifestDocument } from './yaml-documents.js';

export interface SopsLoadOptions {
  /** The age identities; asked for only when a file is encrypted. May throw a SopsFailure. */
  identities: () => Promise<AgeIdentity[]>;
}

function problemDiagnostic(file: SourceFile, p: SopsProblem & { line?: number; column?: number }): Diagnostic {
  return diagnostic(p.code, p.message, {
    position: { file: file.path, line: p.line ?? 1, column: p.column ?? 1 },
    fix: p.fix,
    ...(p.field ? { field: p.field } : {}),
  });
}

/**
 * The file's documents, decrypted when the file is a SOPS file, as parsed otherwise. A SOPS
 * file that did not parse cleanly yields no documents (its parse diagnostics say why): an
 * encrypted document never goes on undecrypted.
 */
export async function decryptSopsDocuments(
  file: SourceFile,
  parsed: { documents: ManifestDocument[]; diagnostics: Diagnostic[] },
  sops: SopsLoadOptions | undefined,
): Promise<{ documents: ManifestDocument[]; diagnostics: Diagnostic[] }> {
  const { documents } = parsed;
  // Parsed again with the `yaml` package only when the loader's guarded parse found nothing wrong.
  if (parsed.diagnostics.length) return { documents: /^sops:/m.test(file.text) ? [] : documents, diagnostics: [] };
  if (!maybeSops(file.text, file.path)) return { documents, diagnostics: [] };
  const { decryptSopsYaml, sopsMarkers } = await import('../sops/decrypt.js');
  const marker = sopsMarkers(file.text, file.path);
  if (marker === 'plain') return { documents, diagnostics: [] };
  const offsetToPosition = (p: SopsProblem) => {
    if (p.offset === undefined) return p;
    const before = file.text.slice(0, p.offset);
    return { ...p, line: before.split('\n').length, column: before.length - before.lastIndexOf('\n') };
  };
  if (marker !== 'encrypted')
    return { documents: [], diagnostics: [problemDiagnostic(file, offsetToPosition(marker))] };
  const outcome = await decryptSopsYaml(file.text, sops?.identities ?? (async () => []));
  if (!outcome.ok) return { documents: [], diagnostics: [problemDiagnostic(file, outcome.problem)] };
  const decrypted = outcome.file.documents;
  if (decrypted.length !== documents.length)
    return {
      documents: [],
      diagnostics: [
        diagnostic('SC7004', `the file reads as ${documents.length} documents here and ${decrypted.length} to sops`, {
          position: { file: file.path, line: 1, column: 1 },
          fix: 'remove empty documents and stray `---` lines, then encrypt the file again',
        }),
      ],
    };
  return {
    documents: documents.map((d, i) => ({ ...d, value: decrypted[i].value, encrypted: decrypted[i].encrypted })),
    diagnostics: [],
  };
}

/** The fields whose values are hidden: encrypted with SOPS, or given a secret variable's value. */
function hiddenPaths(doc: ManifestDocument): FieldPath[] {
  const paths = [...(doc.encrypted ?? []), ...(doc.secretVariables ?? [])];
  return paths.filter((p) => !isIdentityField(p));
}

/** The manifest fields that are hidden (encrypted, or holding a secret variable), by object id (`Service/shop/web`); only objects with some. */
export function encryptedFields(sources: Map<string, ManifestDocument>): Map<string, FieldPath[]> {
  const out = new Map<string, FieldPath[]>();
  for (const [id, doc] of sources) {
    const paths = hiddenPaths(doc);
    if (paths.length) out.set(id, paths);
  }
  return out;
}

function valueAt(value: unknown, path: FieldPath): unknown {
  let v = value;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

/**
 * Fields that name the object: they become Swarm names and labels and appear in every plan,
 * log and status line, so encrypting them hides nothing, and they are neither masked nor
 * redacted (docs/sops.md asks to encrypt only what is secret).
 */
export function isIdentityField(path: FieldPath): boolean {
  if (path.length === 1) return path[0] === 'apiVersion' || path[0] === 'kind';
  return path.length === 2 && path[0] === 'metadata' && (path[1] === 'name' || path[1] === 'namespace');
}

/** Every decrypted string of these documents, and every value holding a secret variable (identity fields aside), for redacting text. */
export function sensitiveValues(documents: Iterable<ManifestDocument>): SensitiveValues {
  const values = new SensitiveValues();
  for (const doc of documents) for (const path of hiddenPaths(doc)) values.add(valueAt(doc.value, path));
  return values;
}

function overlaps(a: string, b: string): boolean {
  const under = (x: string, y: string) => x === y || x.startsWith(y + '.') || x.startsWith(y + '[');
  return under(a, b) || under(b, a);
}

/**
 * Diagnostics with nothing decrypted in them: one about an encrypted field (or a field that
 * holds one) says what is wrong without the value; any other has decrypted strings redacted.
 */
export function maskEncryptedDiagnostics(ds: Diagnostic[], documents: ManifestDocument[]): Diagnostic[] {
  const byFile = new Map<string, { path: string; variable: boolean }[]>();
  const note = (doc: ManifestDocument, paths: FieldPath[] | undefined, variable: boolean) => {
    for (const path of (paths ?? []).filter((p) => !isIdentityField(p))) {
      const list = byFile.get(doc.file) ?? [];
      list.push({ path: formatPath(path), variable });
      byFile.set(doc.file, list);
    }
  };
  for (const doc of documents) {
    note(doc, doc.encrypted, false);
    note(doc, doc.secretVariables, true);
  }
  if (byFile.size === 0) return ds;
  const values = sensitiveValues(documents);
  return ds.map((d) => {
    const paths = d.position ? byFile.get(d.position.file) : undefined;
    const hidden = paths && d.field ? paths.find((p) => overlaps(d.field!, p.path)) : undefined;
    if (hidden?.variable)
      return {
        ...d,
        message: `${errorCatalogue[d.code]} (the field holds a secret variable; its value is not shown)`,
        fix: 'check the value given to the secret variable (docs/variables.md)',
      };
    if (hidden)
      return {
        ...d,
        message: `${errorCatalogue[d.code]} (the field is encrypted with sops; its value is not shown)`,
        fix: 'see the value with `sops -d FILE` and correct it with `sops edit FILE`',
      };
    return { ...d, message: values.redact(d.message), ...(d.fix ? { fix: values.redact(d.fix) } : {}) };
  });
}
