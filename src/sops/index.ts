/**
 * SOPS-encrypted YAML, decrypted in memory with age keys. What this folder owns: the SOPS file
 * format (ENC values, the tree walk, the MAC, the `sops:` metadata), age identities and where
 * they are read, and the value-based redaction of what was decrypted. It knows nothing of
 * manifests (src/manifest/sops-documents.ts joins the two) and imports only errors.ts, yaml,
 * node:crypto and age-encryption.
 */
export {
  decryptSopsYaml,
  sopsMarkers,
  type DecryptedDocument,
  type DecryptedFile,
  type SopsOutcome,
} from './decrypt.js';
export { maybeSops } from './maybe-sops.js';
export { parseAgeIdentities, type AgeIdentity } from './age-keys.js';
export { ageKeyLoader, defaultKeyFile, loadAgeIdentities, type AgeKeyOptions } from './key-sources.js';
export { SensitiveValues, redactedMark, redactingStream } from './redact.js';
export { SopsFailure, type SopsProblem } from './problem.js';
export type { FieldPath } from './tree.js';
