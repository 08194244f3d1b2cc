/**
 * Builds manifest text, and desired state from it without files: for unit tests, and the
 * manifests the e2e and cluster tests write (the test app's service on a network of the test's
 * namespace).
 */
import { buildDesiredState } from '../../src/manifest/load.js';
import { parseDocuments } from '../../src/manifest/yaml-documents.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import type { Diagnostic } from '../../src/errors.js';

export function loadText(text: string, file = 'test.yaml'): { desired: DesiredState; diagnostics: Diagnostic[] } {
  const parsed = parseDocuments({ path: file, text });
  const loaded = buildDesiredState(parsed.documents, parsed.diagnostics);
  return { desired: loaded.desired, diagnostics: loaded.diagnostics };
}

export function desiredFrom(text: string): DesiredState {
  const { desired, diagnostics } = loadText(text);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`test manifests are invalid: ${errors.map((d) => d.message).join('; ')}`);
  return desired;
}

/** One manifest document of `kind` with the spec lines given (indented for you). */
function doc(kind: string, name: string, spec: string, meta: string): string {
  return `apiVersion: swarm.controller/v1alpha1
kind: ${kind}
metadata:
  name: ${name}
${meta}spec:
${spec
  .split('\n')
  .map((l) => (l ? '  ' + l : l))
  .join('\n')}
---
`;
}

export function service(name: string, spec: string, meta = ''): string {
  return doc('Service', name, spec, meta);
}

export function network(name: string, spec = '', meta = ''): string {
  return `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata:
  name: ${name}
${meta}${
    spec
      ? 'spec:\n' +
        spec
          .split('\n')
          .map((l) => (l ? '  ' + l : l))
          .join('\n') +
        '\n'
      : ''
  }---
`;
}

export function route(name: string, spec: string, meta = ''): string {
  return doc('Route', name, spec, meta);
}

export function config(name: string, spec: string, meta = ''): string {
  return doc('Config', name, spec, meta);
}

export function secret(name: string, spec: string, meta = ''): string {
  return doc('Secret', name, spec, meta);
}

/** The e2e and cluster tests' image: the test app (test/fixtures/test-app), built on each engine. */
export const testAppImage = 'swarm-controller/test-app:1';

/** The metadata line that puts a manifest in namespace `ns` (the `meta` of the builders above). */
export function inNamespace(ns: string): string {
  return `  namespace: ${ns}\n`;
}

/**
 * A service of the test app in namespace `ns`, on `networks` (default [net]), with DNS round
 * robin and a 1 s stop grace period (quick to replace and remove), plus `extra` spec lines.
 */
export function testAppService(name: string, ns: string, extra = '', networks = ['net']): string {
  const lines = [
    `image: ${testAppImage}`,
    'endpointMode: dnsrr',
    ...(networks.length ? [`networks: [${networks.join(', ')}]`] : []),
    'stopGracePeriod: 1s',
    ...(extra ? [extra.replace(/\n$/, '')] : []),
  ];
  return service(name, lines.join('\n'), inNamespace(ns));
}
