import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appStatusBody, syncState } from '../../src/controller/status-document.js';
import { StatusPublisher, type StatusWrite } from '../../src/controller/status-publisher.js';
import { StatusStore } from '../../src/controller/status.js';
import type { TerminalError } from '../../src/errors.js';
import { FakeClock } from '../../src/queue/clock.js';
import { decodeStatus, encodeStatus } from '../../src/status/codec.js';
import { labelFormat, labelSequence, labelStatusOf, type AppStatusDocument } from '../../src/status/format.js';
import { latestStatuses, readStatuses } from '../../src/status/reader.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { bigAppDocument } from '../helpers/status-documents.js';
import { recordingLogger } from '../helpers/log-records.js';

const rev = 'a'.repeat(40);

const asConfig = (name: string, e: ReturnType<typeof encodeStatus>, id = name) => ({
  ID: id,
  Version: { Index: 1 },
  Spec: { Name: name, Labels: e.labels, Data: e.data.toString('base64') },
});

describe('status format: encoding', () => {
  it('round-trips a document through the config data and labels', () => {
    const doc = bigAppDocument(3);
    const e = encodeStatus(doc);
    assert.equal(e.labels[labelStatusOf], 'ApplySet/bench');
    assert.equal(e.labels[labelFormat], 'v1');
    assert.equal(e.labels[labelSequence], '1');
    assert.deepEqual(decodeStatus('c', e.data.toString('base64'), e.labels), doc);
  });

  it('keeps 1,000 objects whole, far under the budget', () => {
    const e = encodeStatus(bigAppDocument(1000));
    assert.equal(e.document.truncated, undefined);
    assert.equal((e.document as AppStatusDocument).objects.length, 1000);
    assert.ok(e.data.length < 64 * 1024, `${e.data.length} bytes`);
  });

  it('cuts Ready objects first when over the budget, and says how many', () => {
    const doc = bigAppDocument(1000);
    const e = encodeStatus(doc, 8 * 1024);
    const out = e.document as AppStatusDocument;
    assert.ok(e.data.length <= 8 * 1024);
    assert.ok(out.objects.length < 1000 && out.objects.length > 0);
    assert.equal(out.truncated?.objects, 1000 - out.objects.length);
    assert.equal(out.objects.filter((o) => o.phase !== 'Ready').length, 100, 'every object needing attention kept');
    assert.deepEqual(out.counts, doc.counts, 'counts cover every object');
    assert.deepEqual(
      out.objects.map((o) => o.id),
      out.objects.map((o) => o.id).sort(),
    );
  });

  it('cuts long reasons and the history to their limits', () => {
    const doc = bigAppDocument(1);
    doc.objects[0].reason = 'x'.repeat(5000);
    doc.history = [...doc.history, ...doc.history];
    const out = encodeStatus(doc).document as AppStatusDocument;
    assert.equal(out.objects[0].reason.length, 1000);
    assert.equal(out.history.length, 20);
    assert.deepEqual(out.truncated, { objects: 0, syncs: 20, reasons: 1 });
  });

  it('refuses a document of another format version with SC5102, naming its writer', () => {
    const e = encodeStatus(bigAppDocument(1));
    assert.throws(
      () =>
        decodeStatus('swarm-controller-status.bench.1', e.data.toString('base64'), {
          ...e.labels,
          [labelFormat]: 'v2',
        }),
      (err: TerminalError) => err.code === 'SC5102' && /format "v2".*host-1/.test(err.message),
    );
    assert.throws(
      () => decodeStatus('c', Buffer.from('not gzip').toString('base64'), e.labels),
      (err: TerminalError) => err.code === 'SC5102' && /cannot be decoded/.test(err.message),
    );
  });
});

describe('status format: reading', () => {
  it('takes the highest sequence of each stream and judges staleness by three heartbeats', () => {
    const one = encodeStatus(bigAppDocument(2, 1));
    const two = encodeStatus(bigAppDocument(2, 2));
    const configs = [
      asConfig('s.2', two),
      asConfig('s.1', one),
      { ID: 'x', Version: { Index: 1 }, Spec: { Name: 'other' } },
    ];
    const written = Date.parse(bigAppDocument(1).writtenAt);
    const fresh = latestStatuses(configs, written + 60_000);
    assert.equal(fresh.statuses.length, 1);
    assert.equal(fresh.statuses[0].document.sequence, 2);
    assert.equal(fresh.statuses[0].configName, 's.2');
    assert.equal(fresh.statuses[0].stale, false);
    assert.equal(latestStatuses(configs, written + 181_000).statuses[0].stale, true);
  });

  it('reports an unreadable stream as a problem and still returns the others', () => {
    const good = encodeStatus(bigAppDocument(1));
    const badDoc = { ...bigAppDocument(1), name: 'other' };
    const bad = encodeStatus(badDoc);
    bad.labels[labelFormat] = 'v9';
    const r = latestStatuses([asConfig('a', good), asConfig('b', bad)], 0);
    assert.equal(r.statuses.length, 1);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0].code, 'SC5102');
  });
});

describe('status document', () => {
  it('says Synced, Progressing, Degraded, SyncFailed or Unknown', () => {
    const counts = { Ready: 1, Progressing: 0, Failed: 0, Stalled: 0, Pending: 0 };
    const ok = { revision: rev, lastSync: bigAppDocument(0).history[0], counts };
    assert.equal(syncState({ counts }), 'Unknown');
    assert.equal(syncState(ok), 'Synced');
    assert.equal(syncState({ ...ok, counts: { ...counts, Pending: 1 } }), 'Progressing');
    assert.equal(syncState({ ...ok, counts: { ...counts, Stalled: 1 } }), 'Degraded');
    assert.equal(syncState({ ...ok, lastSync: { ...ok.lastSync, result: 'invalid' } }), 'SyncFailed');
  });

  it('keeps the last drift of an object through later phases and counts drifted objects', () => {
    const clock = new FakeClock(1_800_000_000_000);
    const store = new StatusStore({ identity: 'a', applySet: 'shop', source: '/src', driftMode: 'repair' }, () =>
      clock.now(),
    );
    const base = { id: 'Service/shop/web', kind: 'Service', swarmName: 'shop_web', revision: rev };
    store.setObject({
      ...base,
      phase: 'Progressing',
      reason: 'drift repaired',
      drift: { at: store.nowIso(), fields: ['spec.replicas'], repaired: true },
    });
    store.setObject({ ...base, phase: 'Ready', reason: '' });
    const body = appStatusBody(store.toJSON());
    assert.deepEqual(body.objects[0].drift, { at: store.nowIso(), fields: ['spec.replicas'], repaired: true });
    assert.equal(body.drifted, 1);
  });
});

describe('status publisher', () => {
  function setup(identity = 'a') {
    const swarm = new FakeSwarm();
    const clock = new FakeClock(1_800_000_000_000);
    let doc = {
      ...appStatusBody(new StatusStore({ identity, applySet: 'shop', source: '/src', driftMode: 'repair' }).toJSON()),
    };
    let active = true;
    const writes: StatusWrite[] = [];
    const make = (who: string) =>
      new StatusPublisher({
        swarm,
        ref: { kind: 'ApplySet', name: 'shop' },
        identity: who,
        version: '0.1.0',
        clock,
        log: recordingLogger().log,
        build: () => doc,
        active: () => active,
        intervalMs: 5000,
        heartbeatMs: 60_000,
        onWrite: (w) => writes.push(w),
      });
    return {
      swarm,
      clock,
      writes,
      make,
      setActive: (v: boolean) => (active = v),
      change: (leader: string) => (doc = { ...doc, leader }),
      read: () => readStatuses(swarm, { now: clock.now() }),
    };
  }

  it('writes when it leads, again only on a change or the heartbeat, and keeps two versions', async () => {
    const t = setup();
    const p = t.make('a');
    assert.ok(await p.tick());
    assert.equal(await p.tick(), undefined, 'unchanged: no write');
    t.change('b');
    assert.equal((await p.tick())?.sequence, 2);
    await t.clock.advance(60_000);
    assert.equal((await p.tick())?.sequence, 3, 'heartbeat');
    const names = [...t.swarm.configs.values()].map((c) => c.Spec.Name).sort();
    assert.deepEqual(names, ['swarm-controller-status.shop.2', 'swarm-controller-status.shop.3']);
    const r = await t.read();
    assert.equal(r.statuses[0].document.sequence, 3);
    assert.equal(r.statuses[0].document.name, 'shop');
  });

  it('writes nothing as a standby, and a new leader continues above the sequence it finds', async () => {
    const t = setup();
    const a = t.make('a');
    await a.tick();
    await a.tick();
    t.change('x');
    await a.tick();
    t.setActive(false);
    const b = t.make('b');
    assert.equal(await b.tick(), undefined);
    t.setActive(true);
    t.change('b');
    const w = await b.tick();
    assert.equal(w?.sequence, 3);
    assert.equal((await t.read()).statuses[0].document.writer.identity, 'b');
  });

  it('loops on its clock: one write per interval at most', async () => {
    const t = setup();
    const p = t.make('a');
    p.start();
    for (let i = 0; i < 10; i++) {
      t.change(`leader-${i}`);
      await t.clock.advance(1000);
    }
    await p.stop();
    assert.equal(t.writes.length, 3, '10 s of changes every second: at 0 s, 5 s and 10 s');
  });
});
