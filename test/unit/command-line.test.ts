/**
 * The table-driven command line (src/cli/command-table.ts, flag-table.ts, parse-argv.ts):
 * every refusal is one SC9001 line and a hint, and nothing connects to an engine; each
 * command's help lists exactly its flags; `controller --dry-run` reads its arguments as
 * `controller plan` does and, over a FakeSwarm, prints the same and exits the same.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli } from '../../src/cli/args.js';
import { commandNames, flagsOf } from '../../src/cli/command-table.js';
import type { CommandIo } from '../../src/cli/commands.js';
import { flagNames, flagTable } from '../../src/cli/flag-table.js';
import { main } from '../../src/cli/main.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { service } from '../helpers/manifests.js';

async function cli(args: string[], swarm?: FakeSwarm): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const io: CommandIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    connect: async () => {
      if (!swarm) throw new Error(`must not connect: controller ${args.join(' ')}`);
      return Object.assign(swarm, { describe: () => 'the fake Swarm' });
    },
  };
  const code = await main(args, io);
  return { code, out, err };
}

describe('command line refusals', () => {
  const cases: [string[], RegExp, string][] = [
    [['aply', '-f', 'x'], /^unknown command "aply"; did you mean "apply"\?$/, 'controller --help'],
    [
      ['apply', '-f', 'x', '--dryrun'],
      /^unknown flag --dryrun for apply; did you mean --dry-run\?$/,
      'controller apply --help',
    ],
    [['--dryrun', '-f', 'x'], /^unknown flag --dryrun; did you mean --dry-run\?$/, 'controller --help'],
    [
      ['plan', '-f', 'x', '--intreval', '5s'],
      /^unknown flag --intreval for plan; did you mean --interval \(an option of run\)\?$/,
      'controller plan --help',
    ],
    [
      ['plan', '-f', 'x', '--interval', '60s'],
      /^--interval is an option of run, not of plan$/,
      'controller plan --help',
    ],
    [
      ['validate', '-f', 'x', '--prune'],
      /^--prune is an option of plan, apply and bootstrap, not of validate$/,
      'controller validate --help',
    ],
    [
      ['--dry-run', '-f', 'x', '--wait'],
      /^--wait is an option of apply, bootstrap and rollback, not of plan$/,
      'controller plan --help',
    ],
    [
      ['plan', '--version'],
      /^--version is an option of controller itself \("controller --version"\), not of plan$/,
      'controller plan --help',
    ],
    [['plan', '-f'], /^-f needs a value \(PATH\)$/, 'controller plan --help'],
    [
      ['plan', '-f', 'x', '--set', '--prune'],
      /^--set needs a value \(NAME\), not the flag --prune; write --set=VALUE/,
      'controller plan --help',
    ],
    [['plan', '-f', 'x', '-o', 'yaml'], /^--output "yaml" is not one of text, json$/, 'controller plan --help'],
    [
      ['apply', '-f', 'x', '--resolve-image', 'chnaged'],
      /^--resolve-image "chnaged" is not one of always, changed, never; did you mean "changed"\?$/,
      'controller apply --help',
    ],
    [
      ['run', '--source', 'x', '--drift', 'repiar'],
      /^--drift "repiar" is not one of repair, report; did you mean "repair"\?$/,
      'controller run --help',
    ],
    [
      ['run', '--source', 'x', '--image-check', 'soon'],
      /^--image-check "soon" is not a duration; write it like "90s" or "5m"$/,
      'controller run --help',
    ],
    [['run', '--source', 'x', '--interval', '5x'], /^--interval "5x" is not a duration/, 'controller run --help'],
    [
      ['run', '--source', 'x', '--listen', 'here'],
      /^--listen "here": give host:port or a port$/,
      'controller run --help',
    ],
    [
      ['apply', '-f', 'x', '--concurrency', 'many'],
      /^--concurrency needs a whole number of at least 1, not "many"$/,
      'controller apply --help',
    ],
    [
      ['plan', '-f', 'x', '--prune=yes'],
      /^--prune takes no value \(or =true, =false\), not "yes"$/,
      'controller plan --help',
    ],
    [
      ['plan', '-f', 'x', '--host', 'tcp://10.0.0.1:2375', '--context', 'prod'],
      /^conflicting options: either specify --host or --context, not both$/,
      'controller plan --help',
    ],
    [
      ['version', '--context', 'prod', '--host', 'unix:///x.sock'],
      /^conflicting options: either specify --host or --context, not both$/,
      'controller version --help',
    ],
    [
      ['plan', '-f', 'x', '--context', 'my context'],
      /^--context "my context" is not a context name/,
      'controller plan --help',
    ],
    [
      ['-f', 'manifests'],
      /^-f needs a command: it is an option of validate, plan, apply and diff; write the command first/,
      'controller --help',
    ],
    [
      ['--host', 'tcp://10.0.0.1:2375'],
      /^--host needs a command: it is an option of plan, apply, import, run, status, get, describe, diff, dashboard, suspend, resume, bootstrap, rollback and version/,
      'controller --help',
    ],
    [
      ['plan', 'manifests/'],
      /^unexpected argument "manifests\/": plan takes no arguments; did you mean "-f manifests\/"\?$/,
      'controller plan --help',
    ],
    [
      ['rollback', 'shop/web', 'shop/db'],
      /^unexpected argument "shop\/db": it takes NAMESPACE\/NAME$/,
      'controller rollback --help',
    ],
    [['rollback'], /^rollback needs a service: controller rollback NAMESPACE\/NAME/, 'controller rollback --help'],
    [
      ['import', 'compse', 'a.yml'],
      /^"controller import compse" is not a command; did you mean "compose"\?$/,
      'controller import --help',
    ],
    [
      ['import', 'compose', '--out', 'x'],
      /^import compose needs at least one compose file/,
      'controller import --help',
    ],
    [['help', 'aply'], /^unknown command "aply"; did you mean "apply"\?$/, 'controller --help'],
    [
      ['proxy', '--set', 'x'],
      /^--set is an option of plan, apply, run, status, get, describe, diff, suspend, resume, bootstrap and rollback, not of proxy$/,
      'controller proxy --help',
    ],
  ];
  for (const [args, message, help] of cases)
    it(`refuses "controller ${args.join(' ')}" with SC9001, a hint, and no engine`, async () => {
      const r = await cli(args);
      assert.equal(r.code, 1);
      assert.equal(r.out, '');
      const lines = r.err.split('\n');
      assert.equal(lines.length, 3, r.err); // the problem, the hint, and the final newline
      assert.match(lines[0], /^error SC9001: /);
      assert.match(lines[0].slice('error SC9001: '.length), message);
      assert.ok(lines[1].startsWith(`See "${help}"`), lines[1]);
    });

  it('keeps a refusal the same whatever else is wrong after it, and --help anywhere shows the help', async () => {
    assert.match((await cli(['plan', '--interval', '5s', '--bogus'])).err, /--interval is an option of run/);
    const help = await cli(['plan', '--bogus', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /^Usage: controller plan /);
  });
});

describe('command line help', () => {
  /** The flags a help text lists as entries (not those its prose mentions). */
  const listed = (text: string) =>
    new Set(
      text
        .split('\n')
        .map((line) => /^ {2}(?:-\w, |\s{4})--([a-z-]+)/.exec(line)?.[1])
        .filter((f): f is string => f !== undefined),
    );

  it('prints the usage, exit 0, for "controller", --help, -h and help, with a line per command', async () => {
    const usage = (await cli([])).out;
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await cli(args);
      assert.equal(r.code, 0);
      assert.equal(r.out, usage, args.join(' '));
    }
    for (const command of commandNames) assert.match(usage, new RegExp(`^ {2}${command} +\\S`, 'm'), command);
    assert.deepEqual(listed(usage), new Set(['help', 'version', 'dry-run']));
  });

  for (const command of commandNames)
    it(`${command} --help lists exactly the flags of ${command}, each with its default`, async () => {
      const r = await cli([command, '--help']);
      assert.equal(r.code, 0);
      assert.equal((await cli(['help', command])).out, r.out, 'controller help COMMAND is the same');
      assert.ok(r.out.startsWith(`Usage: controller ${command}`), r.out);
      assert.deepEqual([...listed(r.out)].sort(), [...flagsOf(command)].sort());
      for (const flag of flagsOf(command)) {
        const spec = flagTable[flag];
        if (spec.kind !== 'value' || !spec.defaultText) continue;
        const entry = r.out.slice(r.out.search(new RegExp(`--${flag} `)));
        assert.match(entry.slice(0, 400), /\(default: [^)]/, `${command} --${flag} shows its default`);
      }
    });

  it('shows the values and defaults a platform engineer looks for', async () => {
    const apply = (await cli(['apply', '--help'])).out;
    assert.match(apply, /--timeout DURATION +how long --wait and task shutdowns may take \(default: 5m\)/);
    assert.match(apply, /--resolve-image MODE +pin images to their registry digest: always, changed/);
    assert.match(apply, /\(default: always\)/);
    const run = (await cli(['run', '-h'])).out;
    assert.match(run, /--image-check DURATION[\s\S]*\(default: off\)/);
    assert.match(run, /--interval DURATION +how often to poll the source .*\(default: 60s\)/);
  });

  it('prints the version without an engine for --version', async () => {
    const r = await cli(['--version']);
    assert.deepEqual([r.code, r.err], [0, '']);
    assert.match(r.out, /^swarm-controller \d+\.\d+\.\d+\n$/);
  });
});

describe('command line options', () => {
  it('gives every flag a single spelling and every short letter to one flag', () => {
    const shorts = flagNames.map((f) => (flagTable[f] as { short?: string }).short).filter(Boolean);
    assert.equal(new Set(shorts).size, shorts.length);
    for (const command of commandNames) assert.ok(flagsOf(command).has('help'), command);
  });

  it('records whether --host or --context named the engine, and types the new flags', () => {
    const none = parseCli(['plan', '-f', 'x'], false, {});
    assert.deepEqual(
      [none.host, none.context, none.hostGiven, none.contextGiven, none.resolveImage, none.imageCheckMs],
      [undefined, undefined, false, false, 'always', undefined],
    );
    const host = parseCli(['apply', '-f', 'x', '--host', 'tcp://10.0.0.1:2375'], false, {});
    assert.deepEqual([host.host, host.hostGiven, host.contextGiven], ['tcp://10.0.0.1:2375', true, false]);
    const context = parseCli(['run', '--source', 'x', '--context', 'prod', '--image-check', '5m'], false, {});
    assert.deepEqual(
      [context.context, context.hostGiven, context.contextGiven, context.imageCheckMs],
      ['prod', false, true, 300_000],
    );
    assert.equal(parseCli(['run', '--source', 'x', '--image-check', 'off'], false, {}).imageCheckMs, undefined);
    assert.equal(parseCli(['bootstrap', '--repo', 'x', '--resolve-image', 'never'], false, {}).resolveImage, 'never');
  });

  it('reads --flag=value, -fVALUE, -f=VALUE, --switch=false, flags before the command, and -- before arguments', () => {
    const o = parseCli(
      ['--host', 'unix:///x.sock', 'plan', '-fa', '-f=b', '--set=prod', '--prune=false', '-o', 'json'],
      false,
      {},
    );
    assert.deepEqual(
      [o.command, o.files, o.applySet, o.prune, o.output, o.host],
      ['plan', ['a', 'b'], 'prod', false, 'json', 'unix:///x.sock'],
    );
    assert.deepEqual(parseCli(['rollback', '--wait', '--', '-odd_name'], false, {}).positionals, [
      'rollback',
      '-odd_name',
    ]);
    assert.deepEqual(parseCli(['plan', '-f', '-'], false, {}).files, ['-']);
  });

  it('takes defaults from the environment where the table says so', () => {
    const o = parseCli(['run'], false, { SC_SOURCE: '/srv/repo.git#main:prod', SC_HTTP_PORT: '9000' });
    assert.deepEqual([o.source, o.applySet, o.listen], ['/srv/repo.git#main:prod', 'prod', '0.0.0.0:9000']);
    assert.equal(parseCli(['bootstrap'], false, { SC_SOURCE: 'https://h/ops.git#main:ctl' }).applySet, 'ctl');
  });
});

describe('controller --dry-run', () => {
  const flagSets = [
    ['-f', 'manifests/examples'],
    ['-f', 'a', '-f', 'b', '--set', 'prod', '-o', 'json', '--prune', '--max-deletions', '3', '--force'],
    ['-f', 'x', '--allow-replace', '--adopt', '--mask-env', 'DSN', '--resolve-image', 'changed', '--no-color'],
    ['-f', 'x', '--host', 'tcp://10.0.0.1:2375'],
    ['-f', 'x', '--context', 'prod'],
  ];

  it('reads its arguments exactly as plan does, with --dry-run anywhere', () => {
    for (const args of flagSets) {
      const plan = parseCli(['plan', ...args], true, {});
      assert.deepEqual(parseCli(['--dry-run', ...args], true, {}), plan, args.join(' '));
      assert.deepEqual(parseCli([...args, '--dry-run'], true, {}), plan, args.join(' '));
      assert.equal(plan.dryRun, true);
    }
  });

  it('prints what plan prints and exits as plan does: 2 with changes, 0 without, 1 on an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sc-dry-run-'));
    writeFileSync(join(dir, 'web.yaml'), service('web', 'image: swarm-controller/test-app:1', '  namespace: dry\n'));
    const swarm = new FakeSwarm();
    const forms = [['plan'], ['--dry-run'], ['apply', '--dry-run']];
    const runAll = async (extra: string[]) =>
      Promise.all(forms.map(async (form) => cli([...form, '-f', dir, ...extra], swarm)));

    const changes = await runAll([]);
    assert.deepEqual(
      changes.map((r) => r.code),
      [2, 2, 2],
    );
    assert.match(changes[0].out, /Plan: 1 to create/);
    for (const r of changes) assert.deepEqual([r.out, r.err], [changes[0].out, changes[0].err]);
    const json = await runAll(['-o', 'json']);
    for (const r of json) assert.deepEqual([r.code, r.out], [2, json[0].out]);
    assert.deepEqual(swarm.writes, [], 'no form wrote anything');

    assert.equal((await cli(['apply', '-f', dir], swarm)).code, 0);
    const none = await runAll([]);
    assert.deepEqual(
      none.map((r) => r.code),
      [0, 0, 0],
    );
    for (const r of none) assert.equal(r.out, none[0].out);

    writeFileSync(join(dir, 'bad.yaml'), 'kind: Service\nmetadata: {name: x}\n');
    const bad = await runAll([]);
    assert.deepEqual(
      bad.map((r) => r.code),
      [1, 1, 1],
    );
    for (const r of bad) assert.equal(r.err, bad[0].err);
  });
});

describe('the Swarm is read while the manifests load', () => {
  it('reports the manifests first: bad manifests and an unreachable engine print only the manifest problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sc-cli-early-'));
    writeFileSync(join(dir, 'bad.yaml'), 'kind: Service\nmetadata: {name: x}\n');
    let connects = 0;
    let err = '';
    const io: CommandIo = {
      out: () => undefined,
      err: (s) => void (err += s),
      connect: () => {
        connects++;
        return Promise.reject(new Error('engine unreachable (from the test)'));
      },
    };
    assert.equal(await main(['apply', '-f', dir], io), 1);
    assert.equal(connects, 1, 'the read started alongside the load');
    assert.match(err, /bad\.yaml:1/);
    assert.doesNotMatch(err, /engine unreachable/);
  });

  it('reports an unreachable engine once the manifests are good', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sc-cli-early-'));
    writeFileSync(join(dir, 'app.yaml'), service('web', '  image: nginx:1.27\n'));
    let err = '';
    const io: CommandIo = {
      out: () => undefined,
      err: (s) => void (err += s),
      connect: () => Promise.reject(new Error('engine unreachable (from the test)')),
    };
    assert.equal(await main(['plan', '-f', dir], io), 1);
    assert.match(err, /engine unreachable \(from the test\)/);
  });
});
