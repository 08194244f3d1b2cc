/**
 * The cheap first look at a file: could it be SOPS-encrypted (a *.sops.yaml / *.enc.yaml name,
 * a top-level `sops:` key or an ENC[AES256_GCM value)? False means plain for certain, without
 * parsing the text or loading the decryption code (the `yaml` package and node:crypto), which
 * a set of plain manifests then never loads. decrypt.ts's sopsMarkers gives the full answer.
 */

export const sopsFileName = /\.(sops|enc)\.ya?ml$/i;

export function maybeSops(text: string, fileName: string): boolean {
  return sopsFileName.test(fileName) || /^sops:/m.test(text) || text.includes('ENC[AES256_GCM');
}
