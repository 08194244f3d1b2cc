/**
 * TLS termination by the real HAProxy: self-signed certificates made with the openssl CLI
 * stand in for Swarm secrets in a temporary secrets directory; a node:tls client picks a host
 * by SNI and checks the certificate it gets and the backend that answers. Stops what it starts.
 * Must not import src/swarm/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backend, get, route, startProxy, table, type Backend, type RunningProxy } from './proxy-harness.js';

/** A self-signed EC certificate for `host`: the PEM certificate and its key. */
function selfSigned(dir: string, host: string): { cert: string; key: string } {
  const [certFile, keyFile] = [join(dir, `${host}.crt`), join(dir, `${host}.key`)];
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        `/CN=${host}`,
        '-addext',
        `subjectAltName=DNS:${host}`,
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error('the openssl CLI is not installed: run scripts/install-deps.sh (apt-get install openssl)', {
        cause: err,
      });
    throw new Error(`openssl could not make a certificate for ${host}: ${e.stderr?.toString()}`, { cause: err });
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

interface TlsAnswer {
  cn: string;
  status: number;
  headers: string;
  body: string;
}

/**
 * One HTTP/1.1 request over TLS on a fresh connection. With `servername` the client sends SNI
 * and verifies the certificate against `ca` and that name; without, it sends no SNI.
 */
function tlsGet(
  port: number,
  o: { servername?: string; host: string; path: string; ca?: string[] },
): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port,
        ...(o.servername ? { servername: o.servername } : {}),
        ...(o.ca ? { ca: o.ca } : {}),
        rejectUnauthorized: !!o.ca,
      },
      () => {
        socket.end(`GET ${o.path} HTTP/1.1\r\nHost: ${o.host}\r\nConnection: close\r\n\r\n`);
      },
    );
    let raw = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (d: string) => (raw += d));
    socket.on('error', reject);
    socket.on('end', () => {
      const cn = String(socket.getPeerCertificate().subject?.CN ?? '');
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      resolve({ cn, status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body });
    });
  });
}

describe('TLS termination with the real HAProxy', () => {
  let dir = '';
  let secretsDir = '';
  let certs: Record<'shop' | 'admin', { cert: string; key: string }>;
  const backends: Backend[] = [];
  let proxy: RunningProxy;

  const shopRoute = (over = {}) =>
    route('shop/web', { hosts: ['shop.example.com'], redirectToHttps: true, tls: { secret: 'shop-cert' }, ...over }, [
      { service: 'shop_web', ports: [['s1', backends[0].port]] },
    ]);
  const adminRoute = (over = {}) =>
    route('shop/admin', { hosts: ['admin.example.com'], tls: { secret: 'admin-cert' }, ...over }, [
      { service: 'shop_admin', ports: [['a1', backends[1].port]] },
    ]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sc-proxy-tls-'));
    secretsDir = join(dir, 'secrets');
    execFileSync('mkdir', ['-p', secretsDir]);
    certs = { shop: selfSigned(dir, 'shop.example.com'), admin: selfSigned(dir, 'admin.example.com') };
    // HAProxy's combined format, as a Swarm secret would be mounted
    writeFileSync(join(secretsDir, 'shop-cert'), certs.shop.cert + certs.shop.key);
    writeFileSync(join(secretsDir, 'admin-cert'), certs.admin.cert + certs.admin.key);
    writeFileSync(join(secretsDir, 'cert-only'), certs.admin.cert);
    writeFileSync(join(secretsDir, 'wrong-key'), certs.admin.cert + certs.shop.key);
    for (const id of ['shop', 'admin']) {
      backends.push(
        await backend(id, (req, res) => {
          const body = `${id} ${req.url} ${String(req.headers['x-forwarded-proto'])}`;
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        }),
      );
    }
    proxy = await startProxy({ secretsDir });
  });

  after(async () => {
    await proxy?.stop();
    for (const b of backends) b.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("presents each host its certificate by SNI and reaches that route's backend over https", async () => {
    const r = await proxy.push(table([shopRoute(), adminRoute()]));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.action, 'reload');
    const ca = [certs.shop.cert, certs.admin.cert];
    const shop = await tlsGet(proxy.httpsPort, {
      servername: 'shop.example.com',
      host: 'shop.example.com',
      path: '/cart?x=1',
      ca,
    });
    assert.deepEqual([shop.cn, shop.status, shop.body], ['shop.example.com', 200, 'shop /cart?x=1 https']);
    const admin = await tlsGet(proxy.httpsPort, {
      servername: 'admin.example.com',
      host: 'admin.example.com',
      path: '/',
      ca,
    });
    assert.deepEqual([admin.cn, admin.status, admin.body], ['admin.example.com', 200, 'admin / https']);
    const noSni = await tlsGet(proxy.httpsPort, { host: 'admin.example.com', path: '/' });
    assert.equal(
      noSni.cn,
      'admin.example.com',
      'without SNI: the default certificate, the first line of the crt-list (admin-cert sorts first)',
    );
    assert.equal(
      readFileSync(join(proxy.stateDir, 'crt-list'), 'utf8'),
      `${secretsDir}/admin-cert admin.example.com\n${secretsDir}/shop-cert shop.example.com\n`,
    );
  });

  it('plain HTTP to a redirectToHttps route answers 301 to https://host/path (no port); other routes answer over http', async () => {
    const a = await get(proxy.httpPort, '/cart/item?id=7', { host: 'shop.example.com' });
    assert.equal(a.status, 301, a.body);
    assert.equal(a.headers.location, 'https://shop.example.com/cart/item?id=7');
    const withPort = await get(proxy.httpPort, '/', { host: `shop.example.com:${proxy.httpPort}` });
    assert.deepEqual(
      [withPort.status, withPort.headers.location],
      [301, 'https://shop.example.com/'],
      'the HTTP port in Host is not carried over',
    );
    const plain = await get(proxy.httpPort, '/x', { host: 'admin.example.com' });
    assert.deepEqual([plain.status, plain.body], [200, 'admin /x http'], 'X-Forwarded-Proto is http without TLS');
  });

  it('a new host on a TLS route reloads, and the SNI filter (not the names in the certificate) selects it', async () => {
    const r = await proxy.push(
      table([shopRoute({ hosts: ['shop.example.com', 'www.shop.example.com'] }), adminRoute()]),
    );
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.action, 'reload');
    const www = await tlsGet(proxy.httpsPort, {
      servername: 'www.shop.example.com',
      host: 'www.shop.example.com',
      path: '/',
    });
    assert.deepEqual([www.cn, www.body], ['shop.example.com', 'shop / https']);
  });

  it('refuses a table whose secret file is missing or unusable with 422 naming the route and the file; the last table keeps serving', async () => {
    const before = await proxy.status();
    const cases: [string, RegExp][] = [
      ['missing-cert', /does not exist \(add the Swarm secret missing-cert to the proxy service's secrets\)/],
      ['cert-only', /holds no private key/],
      ['wrong-key', /the private key does not belong to the certificate/],
    ];
    for (const [secret, why] of cases) {
      const r = await proxy.push(table([shopRoute(), adminRoute({ tls: { secret } })]));
      assert.equal(r.status, 422, r.body);
      assert.equal(r.json.problems.length, 1, r.body);
      assert.ok(
        r.json.problems[0].startsWith(`routes[1] (shop/admin).tls.secret: ${secretsDir}/${secret}`),
        r.json.problems[0],
      );
      assert.match(r.json.problems[0], why);
    }
    const s = await proxy.status();
    assert.equal(s.generation, before.generation);
    assert.equal(s.reloads, before.reloads);
    assert.match(s.lastError, /refused by the TLS certificate check: routes\[1\] \(shop\/admin\)/);
    const admin = await tlsGet(proxy.httpsPort, {
      servername: 'admin.example.com',
      host: 'admin.example.com',
      path: '/still',
      ca: [certs.admin.cert],
    });
    assert.deepEqual([admin.cn, admin.body], ['admin.example.com', 'admin /still https']);
  });

  it('removing the last TLS route removes the https bind', async () => {
    const r = await proxy.push(table([adminRoute({ tls: null })]));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.action, 'reload');
    await assert.rejects(
      tlsGet(proxy.httpsPort, { servername: 'admin.example.com', host: 'admin.example.com', path: '/' }),
      /ECONNREFUSED/,
    );
    assert.equal((await get(proxy.httpPort, '/', { host: 'admin.example.com' })).body, 'admin / http');
  });
});
