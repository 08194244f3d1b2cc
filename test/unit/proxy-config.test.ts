/**
 * Pure parts of the proxy agent: table validation, checksum, structure key, slot assignment,
 * Runtime API diffs and the exact haproxy.cfg text (which the real `haproxy -c` accepts:
 * test/integration/haproxy-check.test.ts).
 * Must not import src/swarm/.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderConfig, renderCrtList, renderMaps } from '../../src/proxy/haproxy-config.js';
import {
  keptCapacity,
  slotCapacity,
  structureKey,
  TableError,
  tableChecksum,
  validateTable,
  type Route,
  type RouteTable,
} from '../../src/proxy/route-table.js';
import { assignSlots, runtimeCommands, slotStates, type SlotMap } from '../../src/proxy/slots.js';
import { sampleRoutes } from '../helpers/route-tables.js';

const { web, admin } = sampleRoutes;

const tbl = (routes: Route[], generation = 1): RouteTable => ({ generation, checksum: tableChecksum(routes), routes });

describe('route table', () => {
  it('accepts a valid table and checksums it independently of key order', () => {
    const t = tbl([web, admin]);
    const clone = JSON.parse(JSON.stringify(t));
    assert.deepEqual(validateTable(clone), t);
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverseKeys(x)]),
            )
          : v;
    const reordered = reverseKeys(web) as Route;
    assert.notEqual(JSON.stringify(reordered), JSON.stringify(web));
    assert.equal(tableChecksum([reordered]), tableChecksum([web]));
    assert.match(t.checksum, /^sha256:[0-9a-f]{64}$/);
  });

  it('names every problem with its path', () => {
    const bad = {
      generation: -1,
      checksum: 'md5:x',
      routes: [
        {
          ...web,
          name: 'Web',
          pathPrefix: 'demo/',
          balance: 'fastest',
          sticky: { cookie: 'a b' },
          backends: [{ service: 'x', weight: 300, servers: [{ id: 't', address: '10.0.0', port: 0 }] }],
        },
        { ...admin },
        { ...admin },
      ],
    };
    const err = (() => {
      try {
        validateTable(bad);
      } catch (e) {
        return e as TableError;
      }
    })();
    assert.ok(err instanceof TableError);
    const text = err.problems.join('\n');
    for (const want of [
      'generation:',
      'checksum:',
      'routes[0] (Web).name:',
      'routes[0] (Web).pathPrefix:',
      'routes[0] (Web).balance:',
      'sticky.cookie:',
      'backends[0].weight:',
      'servers[0].address:',
      'servers[0].port:',
      'two routes are named "shop/admin"',
      'already claimed by route shop/admin',
    ]) {
      assert.ok(text.includes(want), `missing ${want} in\n${text}`);
    }
  });

  it('refuses two certificates for one host name, naming both routes', () => {
    const a = { ...admin, tls: { secret: 'admin-cert' } };
    const b = { ...web, name: 'shop/admin-api', hosts: ['admin.example.com'], tls: { secret: 'other-cert' } };
    assert.throws(
      () => validateTable(tbl([a, b])),
      (e: TableError) =>
        e.problems.some((m) =>
          m.includes(
            'routes[1] (shop/admin-api).tls.secret: host admin.example.com already uses certificate admin-cert (route shop/admin)',
          ),
        ),
    );
    assert.doesNotThrow(
      () => validateTable(tbl([a, { ...b, tls: { secret: 'admin-cert' } }])),
      'the same certificate on two paths of a host',
    );
    assert.throws(
      () => validateTable(tbl([{ ...admin, tls: { secret: '-bad' } }])),
      (e: TableError) =>
        e.problems.some((m) => m.includes('routes[0] (shop/admin).tls.secret: "-bad" is not a Swarm secret name')),
    );
  });

  it('slot capacity is at least 4 and a power of two', () => {
    assert.deepEqual([0, 1, 4, 5, 8, 9, 17].map(slotCapacity), [4, 4, 4, 8, 8, 16, 32]);
  });

  it('the structure key ignores servers and weights within capacity, not options or capacity', () => {
    const k = structureKey(tbl([web]));
    const moreServers = {
      ...web,
      backends: [
        {
          ...web.backends[0],
          weight: 50,
          servers: [
            { id: 'x', address: '10.0.0.9', port: 1 },
            { id: 'y', address: '10.0.0.10', port: 1 },
          ],
        },
        web.backends[1],
      ],
    };
    assert.equal(structureKey(tbl([moreServers], 7)), k);
    const overCapacity = {
      ...web,
      backends: [
        { ...web.backends[0], servers: [1, 2, 3, 4, 5].map((i) => ({ id: `t${i}`, address: '10.0.0.1', port: i })) },
        web.backends[1],
      ],
    };
    assert.notEqual(structureKey(tbl([overCapacity])), k);
    assert.notEqual(structureKey(tbl([{ ...web, balance: 'source' }])), k);
    assert.equal(structureKey(tbl([web, admin])), structureKey(tbl([admin, web])));
  });

  it('capacity grows when servers no longer fit and shrinks only to a quarter: scaling 5 -> 1 -> 5 needs no reload', () => {
    assert.deepEqual(
      [
        [5, undefined],
        [1, 8],
        [0, 8],
        [5, 8],
        [9, 8],
        [5, 16],
        [2, 16],
        [3, 32],
      ].map(([n, prev]) => keptCapacity(n!, prev)),
      [8, 8, 8, 8, 16, 16, 4, 4],
    );
    const servers = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `t${i}`, address: '10.0.0.1', port: 80 + i }));
    const at = (n: number) => tbl([{ ...web, backends: [{ ...web.backends[0], servers: servers(n) }] }]);
    const five = assignSlots(at(5));
    const one = assignSlots(at(1), five);
    assert.equal(structureKey(at(1), one), structureKey(at(5), five));
    assert.equal(structureKey(at(5), assignSlots(at(5), one)), structureKey(at(5), five));
  });

  it('the structure key changes with a TLS secret or the hosts of a TLS route (the crt-list is read at reload)', () => {
    const tls = { ...admin, tls: { secret: 'admin-cert' } };
    const k = structureKey(tbl([tls]));
    assert.notEqual(structureKey(tbl([admin])), k);
    assert.notEqual(structureKey(tbl([{ ...tls, tls: { secret: 'admin-cert-2' } }])), k);
    assert.notEqual(structureKey(tbl([{ ...tls, hosts: ['admin.example.com'] }])), k);
  });
});

describe('slots and Runtime API commands', () => {
  it('keeps a server in its slot and fills the lowest free one', () => {
    const a = assignSlots(
      tbl([
        {
          ...web,
          backends: [
            {
              ...web.backends[0],
              servers: [
                { id: 'b', address: '10.0.0.2', port: 80 },
                { id: 'a', address: '10.0.0.1', port: 80 },
              ],
            },
          ],
        },
      ]),
    );
    assert.deepEqual(a['shop/web']['shop_web'], ['a', 'b', null, null]);
    const next = {
      ...web,
      backends: [
        {
          ...web.backends[0],
          servers: [
            { id: 'b', address: '10.0.0.2', port: 80 },
            { id: 'c', address: '10.0.0.3', port: 80 },
          ],
        },
      ],
    };
    const b = assignSlots(tbl([next]), a);
    assert.deepEqual(b['shop/web']['shop_web'], ['c', 'b', null, null]);
  });

  it('makes an arriving server ready before the leaving one goes to maintenance', () => {
    const one = (id: string, address: string) => ({
      ...web,
      backends: [{ ...web.backends[0], servers: [{ id, address, port: 8080 }] }, web.backends[1]],
    });
    // t1 in slot 1 (slot 0 free), then t1 leaves as t5 arrives: t5 takes the lowest free slot, 0.
    const t1 = tbl([one('t1', '10.0.0.5')]);
    const first = assignSlots(t1);
    const before: SlotMap = { 'shop/web': { ...first['shop/web'], shop_web: [null, 't1', null, null] } };
    const t2 = tbl([one('t5', '10.0.0.9')], 2);
    const after = assignSlots(t2, before);
    assert.deepEqual(after['shop/web'].shop_web, ['t5', null, null, null]);
    assert.deepEqual(
      runtimeCommands(slotStates(t1, before), slotStates(t2, after)).filter((c) => !c.includes('weight')),
      [
        'set server rt_shop:web/shop_web_1 addr 10.0.0.9 port 8080',
        'set server rt_shop:web/shop_web_1 state ready',
        'set server rt_shop:web/shop_web_2 state maint',
      ],
    );
  });

  it('diffs slot states into addr, weight, maint and ready commands', () => {
    const t1 = tbl([web]);
    const s1 = assignSlots(t1);
    const next = {
      ...web,
      backends: [
        { ...web.backends[0], weight: 80, servers: [{ id: 't2', address: '10.0.0.6', port: 8080 }] },
        { ...web.backends[1], weight: 20 },
      ],
    };
    const t2 = tbl([next], 2);
    const s2 = assignSlots(t2, s1);
    const t3 = tbl(
      [
        {
          ...web,
          backends: [
            {
              ...web.backends[0],
              servers: [
                { id: 't2', address: '10.0.0.6', port: 8080 },
                { id: 't3', address: '10.0.0.8', port: 8080 },
              ],
            },
            web.backends[1],
          ],
        },
      ],
      3,
    );
    const s3 = assignSlots(t3, s2);
    const t4 = tbl(
      [
        {
          ...web,
          backends: [{ ...web.backends[0], servers: [{ id: 't3', address: '10.0.0.8', port: 8080 }] }, web.backends[1]],
        },
      ],
      4,
    );
    assert.deepEqual(runtimeCommands(slotStates(t3, s3), slotStates(t4, assignSlots(t4, s3))), [
      'set server rt_shop:web/shop_web_1 state maint',
    ]);
    assert.deepEqual(
      runtimeCommands(slotStates(t2, s2), slotStates(t3, s3)).filter((c) => !c.includes('weight')),
      ['set server rt_shop:web/shop_web_2 addr 10.0.0.8 port 8080', 'set server rt_shop:web/shop_web_2 state ready'],
    );
    assert.deepEqual(runtimeCommands(slotStates(t1, s1), slotStates(t2, s2)), [
      // t1 left and t2 took its slot (the lowest free one): a new address, no maint
      'set server rt_shop:web/shop_web_1 addr 10.0.0.6 port 8080',
      'set server rt_shop:web/shop_web_1 weight 80',
      'set server rt_shop:web/shop_web_2 weight 80',
      'set server rt_shop:web/shop_web_3 weight 80',
      'set server rt_shop:web/shop_web_4 weight 80',
      'set server rt_shop:web/shop_web-canary_1 weight 20',
      'set server rt_shop:web/shop_web-canary_2 weight 20',
      'set server rt_shop:web/shop_web-canary_3 weight 20',
      'set server rt_shop:web/shop_web-canary_4 weight 20',
    ]);
  });
});

const expected = `# generated by swarm-controller proxy: generation 1, ${tableChecksum([web, admin])}
global
    master-worker
    stats socket /run/scp/haproxy.sock mode 600 level admin expose-fd listeners
    hard-stop-after 30s
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode http
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    option forwardfor
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 10s

frontend http
    bind 127.0.0.1:18080
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-Forwarded-Proto http unless { ssl_fc }
    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE TRACE }
    http-request set-var-fmt(txn.sc_path) "%[path]/"
    http-request set-var(txn.sc_host) req.hdr(host),host_only,lower
    http-request set-var-fmt(txn.sc_key) "%[var(txn.sc_host)]%[var(txn.sc_path)]"
    acl sc_host_name var(txn.sc_host) -m reg ^[a-z0-9.-]+$
    use_backend %[var(txn.sc_key),map_beg(/run/scp/hosts.map)] if sc_host_name { var(txn.sc_key),map_beg(/run/scp/hosts.map) -m found }
    acl wild_rt_shop:admin req.hdr(host),host_only,lower -m end .admin.example.com
    use_backend rt_shop:admin if wild_rt_shop:admin
    use_backend %[var(txn.sc_path),map_beg(/run/scp/paths.map)] if { var(txn.sc_path),map_beg(/run/scp/paths.map) -m found }
    default_backend no_route

backend no_route
    http-request return status 404 content-type text/plain string "no route\\n"

backend rt_shop:admin
    balance leastconn
    timeout connect 1000ms
    timeout server 5000ms
    http-request redirect location https://%[req.hdr(host),host_only]%[pathq] code 301 unless { ssl_fc }
    server shop_admin_1 10.0.0.7:80 weight 1
    server shop_admin_2 127.0.0.1:1 weight 1 disabled
    server shop_admin_3 127.0.0.1:1 weight 1 disabled
    server shop_admin_4 127.0.0.1:1 weight 1 disabled

backend rt_shop:web
    balance roundrobin
    timeout connect 2000ms
    timeout server 30000ms
    http-request replace-path ^/demo/?(.*)$ /\\1
    cookie SID insert indirect nocache
    option httpchk GET /healthz
    server shop_web_1 10.0.0.5:8080 weight 90 cookie shop_web_1 check inter 2000
    server shop_web_2 127.0.0.1:1 weight 90 cookie shop_web_2 check inter 2000 disabled
    server shop_web_3 127.0.0.1:1 weight 90 cookie shop_web_3 check inter 2000 disabled
    server shop_web_4 127.0.0.1:1 weight 90 cookie shop_web_4 check inter 2000 disabled
    server shop_web-canary_1 127.0.0.1:1 weight 10 cookie shop_web-canary_1 check inter 2000 disabled
    server shop_web-canary_2 127.0.0.1:1 weight 10 cookie shop_web-canary_2 check inter 2000 disabled
    server shop_web-canary_3 127.0.0.1:1 weight 10 cookie shop_web-canary_3 check inter 2000 disabled
    server shop_web-canary_4 127.0.0.1:1 weight 10 cookie shop_web-canary_4 check inter 2000 disabled
`;

describe('haproxy.cfg rendering', () => {
  const t = tbl([web, admin]);
  const options = { httpBind: '127.0.0.1:18080', httpsBind: '127.0.0.1:18443', stateDir: '/run/scp' };
  const text = renderConfig(t, assignSlots(t), options);

  it('renders a small table exactly, most specific rule first', () => {
    assert.equal(text, expected);
    const other = renderConfig(tbl([admin, web]), assignSlots(t), options);
    assert.equal(
      other.split('\n').slice(1).join('\n'),
      text.split('\n').slice(1).join('\n'),
      'route order does not matter',
    );
  });

  it('maps exact hosts and host-less paths to backends, keyed by the prefix and a slash', () => {
    const api = { ...web, name: 'shop/api', hosts: ['api.example.com', 'www.example.com'], pathPrefix: '/v1' };
    assert.deepEqual(renderMaps(tbl([web, admin, api])), {
      hosts: [
        'admin.example.com/ rt_shop:admin',
        'api.example.com/v1/ rt_shop:api',
        'www.example.com/v1/ rt_shop:api',
        '',
      ].join('\n'),
      paths: '/demo/ rt_shop:web\n',
    });
    assert.deepEqual(renderMaps(tbl([])), { hosts: '', paths: '' });
    const noMaps = renderConfig(tbl([]), {}, options);
    assert.ok(!noMaps.includes('map_beg') && !noMaps.includes('set-var'), 'no routes: no lookups');
  });

  it('orders wildcard rules by path length, then suffix length, and reads candidate maps when told', () => {
    const wide = { ...admin, name: 'shop/wide', hosts: ['*.example.com'], pathPrefix: '/' };
    const deep = { ...admin, name: 'shop/deep', hosts: ['*.example.com'], pathPrefix: '/deep' };
    const rules = renderConfig(tbl([wide, admin, deep]), {}, options)
      .split('\n')
      .filter((l) => l.includes('use_backend rt_'));
    assert.deepEqual(rules, [
      '    use_backend rt_shop:deep if wild_rt_shop:deep path_rt_shop:deep',
      '    use_backend rt_shop:admin if wild_rt_shop:admin',
      '    use_backend rt_shop:wide if wild_rt_shop:wide',
    ]);
    const candidate = renderConfig(t, assignSlots(t), { ...options, hostMap: '/x/h.c', pathMap: '/x/p.c' });
    assert.ok(candidate.includes('map_beg(/x/h.c)') && candidate.includes('map_beg(/x/p.c)'));
  });

  it('binds TLS only while a route has tls, reading the crt-list', () => {
    assert.ok(!text.includes(' ssl '), 'no TLS route: no https bind');
    const withTls = tbl([web, { ...admin, tls: { secret: 'admin-cert' } }]);
    const lines = renderConfig(withTls, assignSlots(withTls), options).split('\n');
    assert.equal(
      lines[lines.indexOf('    bind 127.0.0.1:18080') + 1],
      '    bind 127.0.0.1:18443 ssl crt-list /run/scp/crt-list',
    );
    assert.ok(
      renderConfig(withTls, assignSlots(withTls), { ...options, crtList: '/run/scp/crt-list.candidate' }).includes(
        'ssl crt-list /run/scp/crt-list.candidate\n',
      ),
    );
  });

  it('lists certificates: any-host ones first (the default), then by secret, hosts as SNI filters', () => {
    const a = { ...admin, tls: { secret: 'zz-admin' } };
    const shared = {
      ...web,
      name: 'shop/api',
      hosts: ['api.example.com'],
      pathPrefix: '/api',
      tls: { secret: 'shop-cert' },
    };
    const shared2 = {
      ...web,
      name: 'shop/www',
      hosts: ['www.example.com', 'api.example.com'],
      pathPrefix: '/',
      tls: { secret: 'shop-cert' },
    };
    const any = { ...web, name: 'shop/any', pathPrefix: '/any', tls: { secret: 'zz-fallback' } };
    const anyShared = { ...web, name: 'shop/any2', pathPrefix: '/any2', tls: { secret: 'shop-cert' } };
    assert.equal(
      renderCrtList(tbl([a, shared, shared2, any, anyShared, web]), '/run/secrets'),
      [
        '/run/secrets/shop-cert',
        '/run/secrets/zz-fallback',
        '/run/secrets/shop-cert api.example.com www.example.com',
        '/run/secrets/zz-admin *.admin.example.com admin.example.com',
        '',
      ].join('\n'),
    );
    assert.equal(renderCrtList(tbl([web, admin]), '/run/secrets'), '', 'no TLS route, no certificate');
  });
});
