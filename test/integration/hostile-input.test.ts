/**
 * Hostile input: every file of the corpus (test/fixtures/hostile/ and the cases made by
 * generate()) is refused with the expected diagnostics (code, file, line, column, field, and
 * a fix), and the plan/apply path writes nothing to a Swarm (FakeSwarm here; the real CLI
 * against a real Swarm in test/e2e/security.test.ts). An integration test: the corpus has
 * FIFOs (mkfifo) and 10 MB go to the real CLI's standard input. The loader's time and peak
 * memory per class are measured by bench/hostile-load.ts (docs/reliability.md).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CommandIo } from '../../src/cli/commands.js';
import { formatDiagnostic } from '../../src/errors.js';
import { loadManifests } from '../../src/manifest/load.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { brief, committedCases, displayName, generate, type HostileCase } from '../helpers/hostile-corpus.js';
import { repoRoot } from '../helpers/repo.js';
import { network, service } from '../helpers/manifests.js';

const work = mkdtempSync(join(tmpdir(), 'sc-hostile-'));
let cases: HostileCase[] = [];

function io(swarm: FakeSwarm, stdin?: () => Buffer): CommandIo & { output: () => string } {
  let out = '';
  return {
    out: (s) => void (out += s),
    err: (s) => void (out += s),
    ...(stdin ? { readStdin: async () => stdin() } : {}),
    connect: async () => Object.assign(swarm, { describe: () => 'fake swarm' }),
    output: () => out,
  };
}

/** A fake Swarm holding objects of the apply set "hostile", as a previous good apply left them. */
async function populatedSwarm(): Promise<FakeSwarm> {
  const swarm = new FakeSwarm();
  const dir = mkdtempSync(join(work, 'good-'));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    join(dir, 'good.yaml'),
    network('net', '', '  namespace: e2e-sec-hostile\n') +
      service('keep', 'image: swarm-controller/test-app:1\nnetworks: [net]', '  namespace: e2e-sec-hostile\n'),
  );
  const first = io(swarm);
  assert.equal(await main(['apply', '-f', dir, '--set', 'hostile'], first), 0, first.output());
  swarm.writes = [];
  return swarm;
}

describe('hostile input', { timeout: 300_000 }, () => {
  before(() => {
    cases = [...committedCases(), ...generate(join(work, 'generated'))];
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('has at least 50 files over every class', () => {
    const classes = new Set(cases.map((c) => c.class));
    console.log(
      `corpus: ${cases.length} cases (${cases.filter((c) => !c.generated).length} committed, ${cases.filter((c) => c.generated).length} generated) in ${classes.size} classes`,
    );
    assert.ok(cases.length >= 50);
    for (const cls of [
      'syntax',
      'alias-bomb',
      'size',
      'deep-nesting',
      'invalid-utf8',
      'duplicate-keys',
      'wrong-types',
      'unknown-fields',
      'unknown-kind',
      'dangling-refs',
      'bad-names',
      'ports',
      'same-port',
      'paths',
      'symlinks',
      'wide',
    ]) {
      assert.ok(classes.has(cls), `class ${cls}`);
    }
  });

  it('refuses each file with the expected code, file, line, column and field, and says how to fix it', async () => {
    for (const c of cases) {
      const loaded = await loadManifests([c.path], c.stdin ? async () => c.stdin!() : undefined);
      const got = loaded.diagnostics.map(brief);
      const name = displayName(c);
      if (c.expect.plan) {
        assert.deepEqual(got, [], `${name}: loads, and is refused by the plan`);
        continue;
      }
      if (c.expect.count !== undefined) {
        assert.equal(got.length, c.expect.count, name);
        assert.deepEqual([got[0], got[1], got.at(-1)], c.expect.diagnostics, name);
      } else {
        assert.deepEqual(got, c.expect.diagnostics, name);
      }
      assert.ok(
        Object.values(loaded.desired).every((objects) => (objects as unknown[]).length === 0),
        `${name}: no desired state`,
      );
      for (const d of loaded.diagnostics) {
        assert.equal(d.severity, 'error', name);
        const file = d.position?.file ?? '';
        assert.ok(
          c.path === '-' ? file === '<stdin>' : file === c.path || file.startsWith(c.path + '/'),
          `${name}: the diagnostic names the file (${file})`,
        );
        assert.ok(d.fix && d.fix.length > 10, `${name}: ${d.code} says how to fix it`);
        const text = formatDiagnostic(d);
        assert.ok(text.length < 2000, `${name}: the message is short (${text.length} characters)`);
        assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f]/, `${name}: no control character reaches the terminal`);
      }
    }
  });

  it('plan and apply --prune write nothing to a Swarm holding the last good state, for every file', async () => {
    const swarm = await populatedSwarm();
    const before = JSON.stringify([...swarm.services.values(), ...swarm.networks.values()]);
    for (const c of cases) {
      for (const command of [['plan'], ['apply'], ['apply', '--prune', '--force']]) {
        const out = io(swarm, c.stdin);
        const code = await main([...command, '-f', c.path, '--set', 'hostile'], out);
        assert.equal(code, 1, `${displayName(c)} ${command.join(' ')}: exit 1\n${out.output()}`);
        if (c.expect.plan) assert.match(out.output(), new RegExp(`${c.expect.plan} `), displayName(c));
        else assert.match(out.output(), /nothing was sent to the Swarm/, displayName(c));
      }
      assert.deepEqual(swarm.writes, [], `${displayName(c)}: no write`);
    }
    assert.equal(JSON.stringify([...swarm.services.values(), ...swarm.networks.values()]), before);
  });

  it('refuses 10 MB on the real standard input (SC1007), instead of parsing the first 4 MiB', async () => {
    const { spawn } = await import('node:child_process');
    const { bigManifest } = await import('../helpers/hostile-corpus.js');
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'validate', '-f', '-']);
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdin.on('error', () => {}); // the CLI stops reading at the limit
      child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
      child.stdin.end(bigManifest(10 * 1024 * 1024));
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^<stdin>:1:1: error SC1007: standard input holds more than 4194304 bytes/);
  });
});
