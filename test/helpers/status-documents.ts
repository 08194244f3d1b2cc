/** Status documents of a given size, for the status tests and bench/status-size.ts. */
import { statusApiVersion, type AppStatusDocument, type ObjectEntry } from '../../src/status/format.js';

const rev = 'a'.repeat(40);

/** An apply set of `n` services, every tenth one not Ready. */
export function bigAppDocument(n: number, sequence = 1): AppStatusDocument {
  const objects: ObjectEntry[] = [];
  for (let i = 0; i < n; i++) {
    const name = `svc-${String(i).padStart(4, '0')}`;
    objects.push({
      id: `Service/bench/${name}`,
      kind: 'Service',
      swarmName: `bench_${name}`,
      phase: i % 10 === 0 ? 'Progressing' : 'Ready',
      reason: i % 10 === 0 ? `update: spec.image changed (1/2 tasks running the new spec)` : '',
      revision: rev,
      updatedAt: new Date(1_800_000_000_000 + i * 37).toISOString(),
    });
  }
  const counts = { Ready: n - Math.ceil(n / 10), Progressing: Math.ceil(n / 10), Failed: 0, Stalled: 0, Pending: 0 };
  const history = Array.from({ length: 20 }, (_, i) => ({
    revision: i.toString(16).padStart(40, '0'),
    message: `commit number ${i}`,
    trigger: 'poll' as const,
    startedAt: new Date(1_800_000_000_000 - i * 60_000).toISOString(),
    durationMs: 1000 + i,
    result: 'success' as const,
    detail: `${n} objects, 3 changed`,
  }));
  return {
    apiVersion: statusApiVersion,
    kind: 'ApplySet',
    name: 'bench',
    sequence,
    writtenAt: new Date(1_800_000_000_000).toISOString(),
    writer: { identity: 'host-1', version: '0.1.0' },
    heartbeatMs: 60_000,
    applySet: 'bench',
    source: 'https://git.example.com/ops.git#main:bench',
    leader: 'host-1',
    suspended: false,
    driftMode: 'repair',
    revision: rev,
    syncState: 'Progressing',
    lastSync: history[0],
    history,
    objects,
    counts,
    drifted: 0,
  };
}
