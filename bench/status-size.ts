/**
 * The status document's size and encoding cost at 1,000 objects (docs/benchmarks.md): an apply
 * set of 1,000 services (every tenth one progressing with a reason, one sync history of 20),
 * the same with a 200-character reason on every object, and a route tier of 1,000 routes with
 * two servers each. Pure: no Swarm. `npm run bench:status`.
 */
import { performance } from 'node:perf_hooks';
import { encodeStatus } from '../src/status/codec.js';
import { statusApiVersion, type RoutesStatusDocument, type StatusDocument } from '../src/status/format.js';
import { bigAppDocument } from '../test/helpers/status-documents.js';

function routes(n: number): RoutesStatusDocument {
  return {
    apiVersion: statusApiVersion,
    kind: 'Routes',
    name: 'swarm-controller_proxy',
    sequence: 1,
    writtenAt: new Date(1_800_000_000_000).toISOString(),
    writer: { identity: 'host-1', version: '0.1.0' },
    heartbeatMs: 60_000,
    proxyService: 'swarm-controller_proxy',
    proxyNetwork: 'swarm-controller_control',
    active: true,
    generation: 42,
    checksum: `sha256:${'c'.repeat(64)}`,
    served: Array.from({ length: n }, (_, i) => ({
      route: `bench/route-${i}`,
      hosts: [`app-${i}.example.com`],
      pathPrefix: '/',
      backends: [
        {
          service: `bench_svc-${i}`,
          weight: 1,
          servers: [0, 1].map((k) => ({
            task: `${i.toString(36).padStart(8, 'x')}task${k}abcdefghijklmn`,
            address: `10.213.${(i >> 7) & 255}.${(i * 2 + k) & 255 || 2}`,
            port: 8080,
          })),
        },
      ],
    })),
    broken: [],
    unreadable: [],
    replicas: [1, 2].map((k) => ({
      task: `proxytask${k}`,
      address: `10.213.200.${k}`,
      generation: 42,
      checksum: `sha256:${'c'.repeat(64)}`,
      inSync: true,
      lastError: null,
      lastPushAt: new Date(1_800_000_000_000).toISOString(),
    })),
    lastChangeAt: null,
    lastError: null,
  };
}

function measure(label: string, doc: StatusDocument): void {
  const runs = 20;
  let e = encodeStatus(doc);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) e = encodeStatus(doc);
  const ms = (performance.now() - t0) / runs;
  const cut = e.document.truncated?.objects ?? 0;
  console.log(
    `| ${label} | ${(e.jsonBytes / 1024).toFixed(0)} KiB | ${(e.data.length / 1024).toFixed(1)} KiB | ${ms.toFixed(1)} ms | ${cut} |`,
  );
}

console.log('| document | JSON | stored (gzip) | encode | objects cut |');
console.log('| --- | --- | --- | --- | --- |');
measure('apply set, 1,000 services', bigAppDocument(1000));
const reasons = bigAppDocument(1000);
reasons.objects = reasons.objects.map((o, i) => ({
  ...o,
  reason: `update: spec.env.VAR_${i} changed from a value to another value; ${'x'.repeat(140)} task ${i} of ${i * 7}`,
}));
measure('apply set, 1,000 services, a 200-char reason each', reasons);
measure('apply set, 10,000 services', bigAppDocument(10_000));
measure('route tier, 1,000 routes x 2 servers', routes(1000));
