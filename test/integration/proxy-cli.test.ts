/**
 * `controller proxy` as a child process with the real HAProxy: refuses to start without a
 * token, serves /healthz, and on SIGTERM stops HAProxy and exits 0. Kills what it started.
 * The checks of its options are test/unit/proxy-options.test.ts. Must not import src/swarm/.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const haproxyBinary = process.env.HAPROXY ?? '/usr/sbin/haproxy';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('controller proxy (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sc-proxy-cli-'));
  let child: ChildProcess | undefined;
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start without a non-empty token', () => {
    writeFileSync(join(dir, 'empty'), '\n');
    for (const file of [join(dir, 'missing'), join(dir, 'empty')]) {
      const r = spawnSync(process.execPath, [main, 'proxy', '--token-file', file, '--state-dir', join(dir, 's0')], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /token/);
    }
  });

  it('serves /healthz and exits 0 on SIGTERM, stopping HAProxy', async () => {
    assert.ok(
      existsSync(haproxyBinary),
      `HAProxy is not installed at ${haproxyBinary}: run scripts/install-deps.sh (apt-get install haproxy) or set HAPROXY`,
    );
    writeFileSync(join(dir, 'token'), 'secret-token\n');
    const [http, control] = [await freePort(), await freePort()];
    child = spawn(
      process.execPath,
      [
        main,
        'proxy',
        '--token-file',
        join(dir, 'token'),
        '--state-dir',
        join(dir, 'state'),
        '--http-bind',
        `127.0.0.1:${http}`,
        '--control',
        `127.0.0.1:${control}`,
        '--haproxy',
        haproxyBinary,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    let health = 0;
    for (let i = 0; i < 100 && health !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      health = await fetch(`http://127.0.0.1:${control}/healthz`).then(
        (r) => r.status,
        () => 0,
      );
    }
    assert.equal(health, 200, stderr);
    assert.equal((await fetch(`http://127.0.0.1:${http}/x`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${control}/v1/status`)).status, 401);
    const status = (await fetch(`http://127.0.0.1:${control}/v1/status`, {
      headers: { authorization: 'Bearer secret-token' },
    }).then((r) => r.json())) as { haproxy: { pid: number } };
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.throws(() => process.kill(status.haproxy.pid, 0), 'haproxy is gone');
  });
});
