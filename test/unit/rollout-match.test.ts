/**
 * Header and cookie matching of a rollout (issue 17): the manifest's rules and their checks, the
 * record's match flag, the route table's match, the table check and the haproxy.cfg text (the real
 * HAProxy routes by it: test/integration/proxy-canary-match.test.ts). Pure.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SwarmConfig } from '../../src/api/swarm-types.js';
import { matchAclLines, quoteWord, renderConfig } from '../../src/proxy/haproxy-config.js';
import {
  structureKey,
  tableChecksum,
  type TableError,
  validateTable,
  type Route,
} from '../../src/proxy/route-table.js';
import { assignSlots, runtimeCommands, slotStates } from '../../src/proxy/slots.js';
import {
  labelKindKey,
  labelRolloutRequest,
  labelRolloutState,
  servedRollouts,
  type RolloutState,
} from '../../src/rollout/rollout-record.js';
import { stepLabel } from '../../src/rollout/step-decision.js';
import { canaryMatch } from '../../src/routes/table-builder.js';
import { desiredFrom, loadText, route, service } from '../helpers/manifests.js';
import { route as tableRoute } from '../helpers/route-tables.js';

const meta = '  namespace: shop\n';
const web = service('web', 'image: app:1\nexpose: [8080]', meta);
const rolloutRoute = (name: string, rollout: string, prefix = `/${name}`) =>
  route(name, `pathPrefix: ${prefix}\nservice: web\nport: 8080\nrollout:\n${rollout}`, meta);

describe('match in Route manifests', () => {
  it('keeps header and cookie rules, and puts a match phase before the default steps', () => {
    const r = desiredFrom(
      web +
        rolloutRoute(
          'demo',
          '    match:\n' +
            '      - header: {name: X-Canary, value: "1"}\n' +
            '      - header: {name: X-User, regex: "^(alice|bob)$"}\n' +
            '      - cookie: {name: canary, value: always}\n',
        ),
    ).routes[0];
    assert.deepEqual(r.model.rollout?.match, [
      { kind: 'header', name: 'X-Canary', value: '1' },
      { kind: 'header', name: 'X-User', regex: '^(alice|bob)$' },
      { kind: 'cookie', name: 'canary', value: 'always' },
    ]);
    assert.deepEqual(
      r.model.rollout?.steps.map((s) => s.weight),
      [0, 5, 25, 50, 100],
    );
  });

  it('leaves a rollout without match as it was (no key: the same config hash)', () => {
    const r = desiredFrom(web + rolloutRoute('demo', '    steps: [{weight: 50}]\n')).routes[0];
    assert.equal('match' in (r.model.rollout ?? {}), false);
  });

  it('refuses bad rules and a weight 0 it cannot serve, naming file, line and field with a fix', () => {
    const loaded = loadText(
      web +
        rolloutRoute(
          'a',
          '    match:\n' +
            '      - header: {name: X-Canary, regex: "(unclosed"}\n' +
            '      - cookie: {name: "bad name", value: x}\n' +
            '      - header: {name: X-Both, value: "1", regex: "1"}\n' +
            '      - header: {name: X-Ctl, value: "a\\u0001b"}\n',
        ) +
        rolloutRoute('b', '    steps: [{weight: 0}, {weight: 50}]\n') +
        rolloutRoute('c', '    match: [{header: {name: X-C, value: "1"}}]\n    steps: [{weight: 5}, {weight: 0}]\n') +
        rolloutRoute('d', '    strategy: blueGreen\n    match: [{cookie: {name: c, value: "1"}}]\n') +
        rolloutRoute('e', '    match: [{header: {name: X-E}}]\n') +
        rolloutRoute('f', '    match: [{header: {name: X-F, value: "1"}, cookie: {name: f, value: "1"}}]\n'),
    );
    const d = loaded.diagnostics;
    const summary = d.map((x) => `${x.object} ${x.code} ${x.field}`).sort();
    assert.deepEqual(summary, [
      'Route "shop/a" SC3021 spec.rollout.match[0].header.regex',
      'Route "shop/a" SC3021 spec.rollout.match[1].cookie.name',
      'Route "shop/a" SC3021 spec.rollout.match[2].header.value',
      'Route "shop/a" SC3021 spec.rollout.match[3].header.value',
      'Route "shop/b" SC3021 spec.rollout.steps[0].weight',
      'Route "shop/c" SC3021 spec.rollout.steps[1].weight',
      'Route "shop/c" SC3021 spec.rollout.steps[1].weight',
      'Route "shop/d" SC3021 spec.rollout.match',
      'Route "shop/e" SC3021 spec.rollout.match[0].header.name',
      'Route "shop/f" SC2007 spec.rollout.match[0]',
    ]);
    const regex = d.find((x) => x.field === 'spec.rollout.match[0].header.regex')!;
    assert.match(regex.message, /not a regular expression/);
    assert.match(regex.fix ?? '', /PCRE/);
    assert.ok(regex.position && regex.position.line > 0 && regex.position.file, JSON.stringify(regex.position));
  });
});

describe('match in the rollout record and the route table', () => {
  const record = (s: Partial<RolloutState>): SwarmConfig => ({
    ID: 'c1',
    Version: { Index: 3 },
    Spec: {
      Name: 'sc-rollout.shop_web',
      Labels: {
        [labelKindKey]: 'Rollout',
        [labelRolloutState]: JSON.stringify({
          service: 'shop_web',
          canary: 'shop_web-canary',
          route: 'shop/demo',
          phase: 'progressing',
          canaryWeight: 0,
          steps: [],
          ...s,
        }),
        [labelRolloutRequest]: '',
      },
    },
  });

  it('serves matching only while the rollout progresses with it on', () => {
    const served = (s: Partial<RolloutState>) => servedRollouts([record(s)]).get('shop/demo');
    assert.equal(served({ match: true, matching: true })?.match, true);
    assert.equal(served({ match: true })?.match, undefined, 'not before the first step starts');
    assert.equal(served({ match: true, matching: true, phase: 'rolling-back' })?.match, undefined);
    assert.equal(served({ match: true, matching: true, phase: 'promoting', canaryWeight: 100 })?.match, undefined);
  });

  it('labels the match phase and the weighted steps beside it', () => {
    const steps = [
      { weight: 0, holdMs: 1 },
      { weight: 25, holdMs: 1 },
    ];
    assert.equal(stepLabel({ step: 0, steps, matching: true }), 'step 1/2 (match only)');
    assert.equal(stepLabel({ step: 1, steps, matching: true }), 'step 2/2 (25% + match)');
    assert.equal(stepLabel({ step: 1, steps }), 'step 2/2 (25%)');
  });

  it("gives the route the canary's match from the route's current rules, only with the canary in the table", () => {
    const rules = [{ kind: 'header' as const, name: 'X-Canary', value: '1' }];
    const backends = [
      { service: 'shop_web', weight: 100, servers: [] },
      { service: 'shop_web-canary', weight: 0, servers: [] },
    ];
    const on = { canary: 'shop_web-canary', weight: 0, match: true };
    const m = { rollout: { match: rules } } as unknown as Parameters<typeof canaryMatch>[0];
    assert.deepEqual(canaryMatch(m, on, backends), { service: 'shop_web-canary', rules });
    assert.equal(canaryMatch(m, { ...on, match: undefined }, backends), undefined);
    assert.equal(canaryMatch(m, on, backends.slice(0, 1)), undefined);
    assert.equal(canaryMatch({ rollout: undefined }, on, backends), undefined);
  });
});

describe('match in the proxy', () => {
  const base = tableRoute('shop/demo', { pathPrefix: '/demo' }, [
    { service: 'shop_web', weight: 100, ports: [['t1', 8081]] },
    { service: 'shop_web-canary', weight: 0, ports: [['c1', 8082]] },
  ]);
  const matched: Route = {
    ...base,
    match: {
      service: 'shop_web-canary',
      rules: [
        { kind: 'header', name: 'X-Canary', value: '1' },
        { kind: 'cookie', name: 'canary', regex: '^(always|yes)$' },
      ],
    },
  };
  const tbl = (routes: Route[]) => ({ generation: 1, checksum: tableChecksum(routes), routes });

  it("accepts a match of one of the route's backends and refuses bad ones, naming the path", () => {
    validateTable(JSON.parse(JSON.stringify(tbl([matched]))));
    const bad: Route = {
      ...base,
      match: {
        service: 'other',
        rules: [
          { kind: 'header', name: 'X Bad', value: '1' },
          { kind: 'cookie', name: 'c', value: 'a\nb' },
          { kind: 'cookie', name: 'c', regex: '(' },
          { kind: 'header', name: 'h' },
        ],
      },
    };
    assert.throws(
      () => validateTable(JSON.parse(JSON.stringify(tbl([bad])))),
      (e: TableError) => {
        assert.deepEqual(
          e.problems.map((p) => p.split(':')[0]),
          [
            'routes[0] (shop/demo).match.service',
            'routes[0] (shop/demo).match.rules[0].name',
            'routes[0] (shop/demo).match.rules[1].value',
            'routes[0] (shop/demo).match.rules[2].regex',
            'routes[0] (shop/demo).match.rules[3].value',
          ],
        );
        return true;
      },
    );
  });

  it('quotes values so that nothing in them is read as configuration', () => {
    assert.equal(quoteWord(`it's #1 $HOME \\`), `'it'\\''s #1 $HOME \\'`);
    assert.deepEqual(matchAclLines('sc_m', [{ kind: 'header', name: 'X-A', value: '-i x' }]), [
      `acl sc_m req.fhdr(X-A) -m str -- '-i x'`,
    ]);
  });

  it('renders the match rules before the route rule and a match backend of the canary slots only', () => {
    const t = tbl([matched]);
    const text = renderConfig(t, assignSlots(t), { httpBind: ':80', httpsBind: ':443', stateDir: '/run/scp' });
    const lines = text.split('\n').map((l) => l.trim());
    const acl = lines.filter((l) => l.startsWith('acl sc_match_'));
    assert.deepEqual(acl, [
      `acl sc_match_rt_shop:demo req.fhdr(X-Canary) -m str -- '1'`,
      `acl sc_match_rt_shop:demo req.cook(canary) -m reg -- '^(always|yes)$'`,
    ]);
    const use = lines.filter((l) => l.startsWith('use_backend'));
    assert.deepEqual(use, [
      'use_backend rt_shop:demo::m if { var(txn.sc_path),map_beg(/run/scp/paths.map) -m str rt_shop:demo } sc_match_rt_shop:demo { nbsrv(rt_shop:demo::m) gt 0 }',
      'use_backend %[var(txn.sc_path),map_beg(/run/scp/paths.map)] if { var(txn.sc_path),map_beg(/run/scp/paths.map) -m found }',
    ]);
    const mb = text.slice(text.indexOf('\nbackend rt_shop:demo::m'));
    assert.match(mb, /server shop_web-canary_1 127\.0\.0\.1:8082 weight 1\n/);
    assert.doesNotMatch(mb, /shop_web_1/);
  });

  it('changes the structure (a reload) when the match changes, and keeps the match slots in step at runtime', () => {
    assert.notEqual(structureKey(tbl([base])), structureKey(tbl([matched])));
    const t = tbl([matched]);
    const slots = assignSlots(t);
    const moved: Route = {
      ...matched,
      backends: matched.backends.map((b) =>
        b.service === 'shop_web-canary' ? { ...b, servers: [{ id: 'c2', address: '10.0.0.9', port: 8082 }] } : b,
      ),
    };
    const cmds = runtimeCommands(slotStates(t, slots), slotStates(tbl([moved]), assignSlots(tbl([moved]), slots)));
    // The new task takes the freed slot in both backends, by the Runtime API.
    assert.deepEqual(cmds, [
      'set server rt_shop:demo/shop_web-canary_1 addr 10.0.0.9 port 8082',
      'set server rt_shop:demo::m/shop_web-canary_1 addr 10.0.0.9 port 8082',
    ]);
  });
});
