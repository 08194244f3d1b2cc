/**
 * The test engine is the one the run expects, and its containers are isolated from the host's
 * files. A newer engine run from a plain chroot (its root bind-mounted onto itself, no mount
 * namespace of its own) started containers that saw the host's root file system instead of their
 * image (docs/decisions.md, "Rootfs engines"): a container here must see its image's files and
 * none of the marker files this test writes on the host. Runs on whichever engine DOCKER_HOST
 * names; which engine that should be comes from SC_ENGINE, else from the state dir the socket is
 * in (localEngine() in harness.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, ensureSwarm, localEngine } from './harness.js';

const marker = `sc-isolation-${randomBytes(6).toString('hex')}`;
const markers = [join('/', marker), join(tmpdir(), marker)];

/** The upstream version of the docker.io package installed in a Debian root (without the Debian revision). */
function packagedVersion(root: string): string {
  const version = execFileSync(
    'dpkg-query',
    ['--admindir', join(root, 'var/lib/dpkg'), '-W', '-f', '${Version}', 'docker.io'],
    {
      encoding: 'utf8',
    },
  );
  return version.replace(/-[^-]*$/, '');
}

describe('the test engine', () => {
  before(() => {
    ensureSwarm();
    for (const f of markers) writeFileSync(f, `written on the host by ${process.pid}\n`);
  });
  after(() => {
    for (const f of markers) rmSync(f, { force: true });
  });

  it('is the engine the run expects', async (t) => {
    const host = ensureSwarm();
    const info = JSON.parse(await docker('info', '--format', '{{json .}}')) as {
      ServerVersion: string;
      Labels: string[] | null;
    };
    const api = (await docker('version', '--format', '{{.Server.APIVersion}}')).trim();
    const { engine } = localEngine();
    console.log(`engine ${engine ?? '(not named)'} at ${host}: ${info.ServerVersion} (API ${api})`);
    if (!engine) return t.skip(`neither SC_ENGINE nor the socket path ${host} names the engine`);
    const label = (info.Labels ?? []).find((l) => l.startsWith('org.swarm-controller.engine='));
    if (engine === 'bookworm') {
      assert.equal(label, undefined, 'the bookworm engine is the host’s own dockerd, without an engine label');
      assert.equal(info.ServerVersion, packagedVersion('/'), 'the host’s docker.io');
    } else {
      assert.equal(label, `org.swarm-controller.engine=${engine}`);
      const root = join(process.env.SC_ENGINE_ROOTS || '/var/lib/sc-engines', engine);
      assert.equal(info.ServerVersion, packagedVersion(root), `the docker.io of ${root}`);
    }
  });

  it('runs containers on their image, never on the host’s files', async () => {
    const script = `const fs = require('fs');
process.stdout.write(JSON.stringify(Object.fromEntries(process.argv.slice(1).map((f) => [f, fs.existsSync(f)]))));`;
    const out = await docker(
      'run',
      '--rm',
      '--entrypoint',
      '/usr/local/bin/node',
      'swarm-controller/test-app:1',
      '-e',
      script,
      '/app/server.js',
      ...markers,
    );
    const seen = JSON.parse(out) as Record<string, boolean>;
    assert.equal(seen['/app/server.js'], true, `the image's own /app/server.js: ${out}`);
    for (const f of markers) assert.equal(seen[f], false, `the host's ${f} is visible in the container: ${out}`);
  });
});
