/**
 * The oracle of the compose import over the stack corpus (test/fixtures/stacks/, real public
 * stack files): each file docker stack deploy deploys is deployed once with `docker stack
 * deploy --resolve-image never` and once through `controller import compose` + `controller
 * apply --resolve-image never`, under the same stack name, one after the other; the services,
 * networks, configs and secrets each made (those labelled with the stack's namespace) are
 * read back, normalised for representation only (spec-compare.ts) and compared field by field.
 * Every difference must be explained in docs/compose.md "Known differences"; the figures are
 * printed. For each file stack deploy refuses (corpus.json `refusal`), the controller must
 * refuse it too or say why stack deploy does: an error of the import, an SC6008 warning, or a
 * blocker of the plan. Images are not pulled (tasks fail): only what is created counts.
 * Runs on whichever engine DOCKER_HOST names. It removes only what it made: it refuses to start
 * when the Swarm already holds an object with an external name the corpus uses (traefik-public,
 * db_password, ...) or an object of one of its stack namespaces (e2e-corpus-*), and it removes
 * the external objects it created by their IDs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { docker, ensureSwarm, eventually, removeNamespace, repoRoot } from './harness.js';
import {
  compare,
  explained,
  explainedPaths,
  normaliseData,
  normaliseNetwork,
  normaliseService,
  type Comparison,
  type Json,
} from './spec-compare.js';
import { entryEnv, loadCorpus, stackName, stacksDir, type CorpusEntry } from '../helpers/stack-corpus.js';

const run = promisify(execFile);
const cli = join(repoRoot, 'dist/src/cli/main.js');

/** A command with only PATH, HOME, DOCKER_HOST and the entry's variables in its environment. */
async function sh(cmd: string, args: string[], e: CorpusEntry, cwd = join(stacksDir, e.dir)) {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    DOCKER_HOST: ensureSwarm(),
    ...entryEnv(e),
  };
  try {
    const r = await run(cmd, args, { env, cwd, maxBuffer: 1 << 26 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const x = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

const lines = (s: string) => s.split('\n').filter(Boolean);
const label = (ns: string) => `label=com.docker.stack.namespace=${ns}`;

/** Everything labelled with the namespace, normalised, by kind and name. */
async function snapshot(ns: string, pools: string[]): Promise<Map<string, Json>> {
  const out = new Map<string, Json>();
  const networkNames = new Map(
    lines(await docker('network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}}')).map(
      (l) => l.split(' ') as [string, string],
    ),
  );
  const inspect = async (kind: string, ids: string[]) =>
    ids.length ? (JSON.parse(await docker(kind, 'inspect', ...ids)) as Record<string, any>[]) : [];
  for (const s of await inspect('service', lines(await docker('service', 'ls', '-q', '--filter', label(ns))))) {
    const n = normaliseService(s.Spec, ns, networkNames) as { Name: string };
    out.set(`service/${n.Name}`, n);
  }
  const networks = lines(await docker('network', 'ls', '-q', '--no-trunc', '--filter', label(ns)));
  for (const n of await inspect('network', networks)) {
    const x = normaliseNetwork(n, ns, pools) as { Name: string };
    out.set(`network/${x.Name}`, x);
  }
  for (const kind of ['config', 'secret']) {
    const ids = lines(await docker(kind, 'ls', '-q', '--filter', label(ns)));
    for (const o of await inspect(kind, ids)) {
      const x = normaliseData(o, ns) as { Name: string };
      out.set(`${kind}/${x.Name}`, x);
    }
  }
  return out;
}

async function removeAll(ns: string): Promise<void> {
  await removeNamespace(ns);
  const secrets = lines(await docker('secret', 'ls', '-q', '--filter', label(ns)));
  if (secrets.length) await docker('secret', 'rm', ...secrets).catch(() => '');
  await eventually(
    async () => (await docker('service', 'ls', '-q', '--filter', label(ns))).trim() === '',
    60_000,
    `services of ${ns} removed`,
  );
  await eventually(
    async () => (await docker('network', 'ls', '-q', '--filter', label(ns))).trim() === '',
    60_000,
    `networks of ${ns} removed`,
  ).catch(() => removeNamespace(ns));
}

/** The label on the external objects this test creates, so that a leftover of a stopped run is named as such. */
const madeHere = 'swarm-controller.test=stack-corpus';
type DataKindName = 'network' | 'secret' | 'config';

/** The external objects an entry refers to, by kind. */
function externals(e: CorpusEntry): [DataKindName, string][] {
  const p = e.prerequisites ?? {};
  return [
    ...(p.networks ?? []).map((n) => ['network', n] as [DataKindName, string]),
    ...(p.secrets ?? []).map((n) => ['secret', n] as [DataKindName, string]),
    ...(p.configs ?? []).map((n) => ['config', n] as [DataKindName, string]),
  ];
}

/**
 * What in the Swarm this test would have to remove without having made it: objects with the
 * corpus's external names, and objects of its stack namespaces. Each with the command that
 * removes it, for the person who decides to.
 */
async function foreignObjects(corpus: CorpusEntry[]): Promise<string[]> {
  const found: string[] = [];
  const names = new Map<string, DataKindName>();
  for (const e of corpus) for (const [kind, name] of externals(e)) names.set(`${kind}/${name}`, kind);
  for (const [key, kind] of names) {
    const name = key.slice(kind.length + 1);
    const format = kind === 'network' ? '{{json .Labels}}' : '{{json .Spec.Labels}}';
    const inspected = await docker(kind, 'inspect', '--format', format, name).catch(() => undefined);
    if (inspected === undefined) continue;
    const ours = inspected.includes(`"${madeHere.replace('=', '":"')}"`);
    found.push(
      `${kind} "${name}" (${ours ? 'left by a stopped run of this test' : 'not made by this test'}): docker ${kind} rm ${name}`,
    );
  }
  for (const ns of new Set(corpus.map(stackName)))
    for (const kind of ['service', 'network', 'config', 'secret']) {
      const here = lines(await docker(kind, 'ls', '-q', '--filter', label(ns)));
      if (here.length) found.push(`${here.length} ${kind}(s) of stack ${ns}: docker stack rm ${ns}`);
    }
  return found;
}

/** Creates an entry's external objects (stand-in content); returns what it created, by ID, to remove. */
async function createExternals(e: CorpusEntry): Promise<[DataKindName, string][]> {
  const made: [DataKindName, string][] = [];
  try {
    for (const [kind, name] of externals(e)) {
      const [key, value] = madeHere.split('=');
      const created =
        kind === 'network'
          ? await sh('docker', ['network', 'create', '-d', 'overlay', '--attachable', '--label', madeHere, name], e)
          : await sh('sh', ['-c', `printf stand-in | docker ${kind} create --label ${key}=${value} ${name} -`], e);
      assert.equal(created.code, 0, `creating ${kind} ${name}: ${created.stderr}`);
      made.push([kind, created.stdout.trim()]);
    }
  } catch (err) {
    await removeExternals(made);
    throw err;
  }
  return made;
}

async function removeExternals(made: [DataKindName, string][]): Promise<void> {
  for (const [kind, id] of made) await docker(kind, 'rm', id);
}

async function deployBoth(e: CorpusEntry, pools: string[]): Promise<Comparison> {
  const ns = stackName(e);
  const made = await createExternals(e);
  try {
    const files = e.files.flatMap((f) => ['-c', f]);
    const deployed = await sh('docker', ['stack', 'deploy', '--resolve-image', 'never', ...files, ns], e);
    assert.equal(deployed.code, 0, deployed.stderr);
    const stack = await snapshot(ns, pools);
    await removeAll(ns);

    const out = join(await mkdtemp(join(tmpdir(), 'sc-corpus-')), ns);
    const imported = await sh('node', [cli, 'import', 'compose', ...e.files, '--namespace', ns, '--out', out], e);
    assert.equal(imported.code, 0, imported.stderr);
    const applied = await sh('node', [cli, 'apply', '-f', out, '--set', ns, '--resolve-image', 'never'], e);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    const ours = await snapshot(ns, pools);
    await removeAll(ns);
    return compare(stack, ours);
  } finally {
    await removeAll(ns).catch(() => undefined);
    await removeExternals(made);
  }
}

/** How the controller refuses a file stack deploy refuses, or says why stack deploy does. */
async function refusal(e: CorpusEntry): Promise<string> {
  const ns = stackName(e);
  const out = join(await mkdtemp(join(tmpdir(), 'sc-corpus-')), ns);
  const imported = await sh('node', [cli, 'import', 'compose', ...e.files, '--namespace', ns, '--out', out], e);
  const said = lines(imported.stderr).filter((l) => / (error SC\d+|warning SC6008):/.test(l));
  if (imported.code !== 0 || said.length)
    return said.map((l) => l.replace(/^.*?: (error|warning) /, '$1 ')).join(' | ');
  const planned = await sh('node', [cli, 'plan', '-f', out, '--set', ns, '--resolve-image', 'never'], e);
  assert.equal(planned.code, 1, `the plan must refuse it:\n${planned.stdout}${planned.stderr}`);
  return lines(planned.stdout + planned.stderr)
    .filter((l) => /SC\d{4}/.test(l))
    .join(' | ');
}

describe('import compose + apply make what docker stack deploy makes: the stack corpus', { timeout: 3_600_000 }, () => {
  const corpus = loadCorpus();
  let known: string[] = [];
  let pools: string[] = [];
  const totals = { agree: 0, total: 0, explained: 0, objects: 0 };
  const report: string[] = [];
  before(async () => {
    ensureSwarm();
    const foreign = await foreignObjects(corpus);
    assert.deepEqual(
      foreign,
      [],
      `the Swarm already holds objects this test uses the names of; it removes only what it makes, so it does not run. Remove them yourself if they are not needed, or run on another Swarm:\n  ${foreign.join('\n  ')}`,
    );
    known = await explainedPaths();
    pools =
      JSON.parse((await docker('info', '--format', '{{json .Swarm.Cluster.DefaultAddrPool}}')).trim() || '[]') ?? [];
  });
  after(async () => {
    const api = (await docker('version', '--format', '{{.Server.APIVersion}}')).trim();
    console.log(
      `stack corpus (engine API ${api}): ${totals.agree} of ${totals.total} fields equal over ${totals.objects} objects; ${totals.total - totals.agree} differ, ${totals.explained} of them explained in docs/compose.md`,
    );
    for (const l of report) console.log(`  ${l}`);
  });

  for (const e of corpus) {
    if (e.refusal) {
      it(`${e.name}: stack deploy refuses it; the controller says why`, async () => {
        const r = await refusal(e);
        assert.notEqual(r, '');
        report.push(`${e.name}: refused by stack deploy (${e.refusal}); controller: ${r.slice(0, 300)}`);
      });
      continue;
    }
    it(`${e.name} (${e.files.join(' + ')})`, async () => {
      const r = await deployBoth(e, pools);
      const where = (path: string) => {
        const [object, field] = path.split(':');
        const kind = (object ?? '').split('/')[0];
        return field === undefined ? `${kind}:(whole object)` : kind === 'service' ? field : `${kind}:${field}`;
      };
      const unexplained = r.differences.filter((d) => !explained(where(d.path), known));
      // The one env difference docs/compose.md explains: an entry without "=", left out by the import.
      for (const d of r.differences.filter((x) => x.path.includes(':TaskTemplate.ContainerSpec.Env[')))
        assert.ok(d.controller === undefined && !d.stack?.includes('='), `${d.path}: not an entry without "="`);
      totals.agree += r.agree;
      totals.total += r.total;
      totals.objects += r.objects;
      totals.explained += r.differences.length - unexplained.length;
      report.push(
        `${e.name}: ${r.agree} of ${r.total} fields equal over ${r.objects} objects; ${r.differences.length} differ (${unexplained.length} unexplained)`,
      );
      for (const d of r.differences)
        report.push(
          `    ${explained(where(d.path), known) ? 'explained  ' : 'UNEXPLAINED'} ${d.path}: stack ${d.stack ?? '(absent)'}, controller ${d.controller ?? '(absent)'}`,
        );
      assert.deepEqual(unexplained, [], 'differences not explained in docs/compose.md "Known differences"');
    });
  }
});
