/**
 * Bearer tokens at the two doors that take them: the proxy agent's control API (PUT
 * /v1/table, GET /v1/status) and the controller's sync webhook (POST /hooks/sync). Each is
 * started for real on 127.0.0.1 and sent raw HTTP requests, so the exact header bytes are what
 * the test says; every near miss must be 401 and must not reach the agent or trigger a sync.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { startHttpServer } from '../../src/controller/http-server.js';
import { verifyWebhook } from '../../src/controller/webhook.js';
import { startControlServer, tokenMatches } from '../../src/proxy/control-server.js';
import type { ProxyAgent } from '../../src/proxy/agent.js';
import { createLogger } from '../../src/log.js';

const token = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00'; // 64 hex, like bootstrap's
const sameLength = token.replace(/0/g, '1');

/** Authorization values that must all be refused, by name. */
const nearMisses: [string, string | undefined][] = [
  ['no header', undefined],
  ['a wrong token of the same length', `Bearer ${sameLength}`],
  ['a prefix of the token', `Bearer ${token.slice(0, -1)}`],
  ['the first half of the token', `Bearer ${token.slice(0, 32)}`],
  ['the token with one more character', `Bearer ${token}0`],
  ['an empty bearer', 'Bearer '],
  ['the scheme alone', 'Bearer'],
  ['the Basic scheme', `Basic ${token}`],
  ['the Token scheme', `Token ${token}`],
  ['the token without a scheme', token],
  ['the token twice', `Bearer ${token} ${token}`],
  ['the token URL-encoded with a newline', `Bearer ${token}%0A`],
];

/** One raw HTTP/1.1 request; returns the status code. */
function raw(port: number, method: string, path: string, auth: string | undefined, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`no HTTP answer: ${JSON.stringify(answer.slice(0, 100))}`));
    });
    const headers = [
      `${method} ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Connection: close',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Content-Type: application/json',
    ];
    if (auth !== undefined) headers.push(`Authorization: ${auth}`);
    socket.end(headers.join('\r\n') + '\r\n\r\n' + body);
  });
}

const port = (s: Server) => (s.address() as { port: number }).port;
const quietLog = createLogger({
  destination: new Writable({
    write(_c, _e, done) {
      done();
    },
  }),
});

describe('bearer tokens', () => {
  let control: Server;
  let http: Server;
  let applied = 0;
  let synced = 0;
  before(async () => {
    const agent = {
      healthy: true,
      status: () => ({ generation: 0 }),
      apply: async () => {
        applied++;
        return { generation: 1 };
      },
    } as unknown as ProxyAgent;
    control = await startControlServer(0, '127.0.0.1', agent, token, quietLog);
    http = await startHttpServer(0, '127.0.0.1', {
      status: () => ({}) as never,
      ready: () => true,
      metrics: () => '',
      sync: () => void synced++,
      webhookSecret: token,
    });
  });
  after(() => {
    control.close();
    http.close();
  });

  it('the proxy control API answers 401 to every near miss, on both endpoints, and the agent never sees the table', async () => {
    for (const [what, auth] of nearMisses) {
      assert.equal(await raw(port(control), 'GET', '/v1/status', auth), 401, `GET /v1/status with ${what}`);
      assert.equal(
        await raw(port(control), 'PUT', '/v1/table', auth, '{"generation":1,"routes":[]}'),
        401,
        `PUT /v1/table with ${what}`,
      );
    }
    assert.equal(applied, 0);
    assert.equal(await raw(port(control), 'GET', '/v1/status', `Bearer ${token}`), 200, 'the right token passes');
  });

  it('the webhook answers 401 to every near miss and never syncs', async () => {
    for (const [what, auth] of nearMisses) {
      assert.equal(await raw(port(http), 'POST', '/hooks/sync', auth, '{}'), 401, `POST /hooks/sync with ${what}`);
    }
    assert.equal(synced, 0);
    assert.equal(await raw(port(http), 'POST', '/hooks/sync', `Bearer ${token}`, '{}'), 202, 'the right token passes');
    assert.equal(synced, 1);
  });

  it('a token followed by a newline, a carriage return, a NUL or a Unicode space is another token', () => {
    // HTTP cannot carry these in a header value, so they are checked where the value is judged.
    for (const tail of ['\n', '\r', '\r\n', '\0', '\u00a0', '\u2028', '\ufeff']) {
      const header = `Bearer ${token}${tail}`;
      assert.equal(tokenMatches(header, token), false, `control API, tail ${JSON.stringify(tail)}`);
      const verdict = verifyWebhook({ authorization: header }, Buffer.from('{}'), token);
      assert.deepEqual(
        [verdict.ok, verdict.ok ? 0 : verdict.status],
        [false, 401],
        `webhook, tail ${JSON.stringify(tail)}`,
      );
    }
    // Spaces and tabs around the value are HTTP's optional whitespace: node strips them too.
    assert.equal(verifyWebhook({ authorization: `Bearer ${token} \t` }, Buffer.from('{}'), token).ok, true);
  });

  it('an empty configured token or secret opens nothing', () => {
    assert.equal(tokenMatches('Bearer ', ''), false);
    assert.equal(tokenMatches('Bearer', ''), false);
    assert.equal(verifyWebhook({ authorization: 'Bearer ' }, Buffer.from('{}'), '').ok, false);
  });
});
