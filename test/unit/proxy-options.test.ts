/** The checks of `controller proxy`'s options (the command itself runs in test/integration/proxy-cli.test.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCli } from '../../src/cli/args.js';
import { proxySettings } from '../../src/cli/proxy-command.js';

describe('controller proxy options', () => {
  const base = parseCli(['proxy'], false);

  it('defaults: TLS on 0.0.0.0:443, secrets from /run/secrets', () => {
    const s = proxySettings(base);
    assert.deepEqual(
      [s.httpBind, s.httpsBind, s.secretsDir, s.stateDir, s.control],
      ['0.0.0.0:80', '0.0.0.0:443', '/run/secrets', '/run/swarm-controller-proxy', { host: '0.0.0.0', port: 8091 }],
    );
    assert.deepEqual(
      [
        proxySettings({ ...base, proxyHttpsBind: '127.0.0.1:8443', proxySecretsDir: '/srv/certs/' }).httpsBind,
        proxySettings({ ...base, proxySecretsDir: '/srv/certs/' }).secretsDir,
      ],
      ['127.0.0.1:8443', '/srv/certs'],
    );
  });

  it('names the flag of every bad value', () => {
    const cases: [Partial<Parameters<typeof proxySettings>[0]>, RegExp][] = [
      [{ proxyHttpsBind: '443' }, /^--https-bind "443" must be HOST:PORT/],
      [{ proxyHttpsBind: '0.0.0.0:80' }, /^--https-bind 0\.0\.0\.0:80 and --http-bind 0\.0\.0\.0:80 use the same port/],
      [{ proxyHttpBind: '127.0.0.1:8443', proxyHttpsBind: ':8443' }, /use the same port/],
      [{ proxySecretsDir: '/run/my secrets' }, /^--secrets-dir "\/run\/my secrets" must be a path without spaces/],
      [{ proxyStateDir: '/tmp/a"b' }, /^--state-dir /],
    ];
    for (const [over, want] of cases)
      assert.throws(
        () => proxySettings({ ...base, ...over }),
        (e: Error) => want.test(e.message),
        JSON.stringify(over),
      );
    assert.doesNotThrow(
      () => proxySettings({ ...base, proxyHttpBind: '127.0.0.1:8080', proxyHttpsBind: '127.0.0.2:8080' }),
      'the same port on two addresses',
    );
  });
});
