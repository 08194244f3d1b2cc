/**
 * Checks the certificate files of TLS routes before a table is accepted: each route's secret
 * must be a readable file in the secrets directory holding a PEM certificate and its
 * unencrypted private key (HAProxy's combined format). Reads files; must not import src/swarm/.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { secretPath } from './haproxy-config.js';
import type { Route } from './route-table.js';

const certRe = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const keyRe = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;

/** What is wrong with one combined PEM file, or undefined when HAProxy can load it. */
export async function certificateFileProblem(file: string, secret: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return `${file} does not exist (add the Swarm secret ${secret} to the proxy service's secrets)`;
    if (code === 'EISDIR') return `${file} is a directory, not a PEM file`;
    return `${file} cannot be read (${code ?? (err as Error).message})`;
  }
  const certPem = certRe.exec(text)?.[0];
  const keyMatch = keyRe.exec(text);
  const missing = [
    certPem ? '' : 'certificate (BEGIN CERTIFICATE)',
    keyMatch ? '' : 'private key (BEGIN PRIVATE KEY)',
  ].filter(Boolean);
  if (missing.length)
    return `${file} holds no ${missing.join(' and no ')}; the secret must hold the PEM certificate and its private key, concatenated`;
  if (keyMatch![1] === 'ENCRYPTED PRIVATE KEY')
    return `${file} holds an encrypted private key; HAProxy needs it unencrypted`;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem!);
  } catch (err) {
    return `${file}: the certificate cannot be parsed (${(err as Error).message})`;
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyMatch![0])))
      return `${file}: the private key does not belong to the certificate (${cert.subject.replace(/\n/g, ', ')})`;
  } catch (err) {
    return `${file}: the private key cannot be parsed (${(err as Error).message})`;
  }
  return undefined;
}

/** One problem per TLS route whose file is unusable, naming the route and the file. Each file is read once. */
export async function tlsFileProblems(routes: Route[], secretsDir: string): Promise<string[]> {
  const bySecret = new Map<string, Promise<string | undefined>>();
  const problems: string[] = [];
  for (const [i, r] of routes.entries()) {
    if (!r.tls) continue;
    const { secret } = r.tls;
    if (!bySecret.has(secret)) bySecret.set(secret, certificateFileProblem(secretPath(secretsDir, secret), secret));
    const problem = await bySecret.get(secret)!;
    if (problem) problems.push(`routes[${i}] (${r.name}).tls.secret: ${problem}`);
  }
  return problems;
}
