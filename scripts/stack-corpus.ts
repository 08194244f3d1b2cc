/**
 * Records what `docker stack deploy` makes of each file of the stack corpus
 * (test/fixtures/stacks/corpus.json) and writes test/fixtures/stacks/expected.json.
 *
 *   npm run build && node dist/scripts/stack-corpus.js [--engine 20.10|sid]... [--only NAME,...]
 *
 * For every engine that answers (default: all known ones), under that engine's lock (the
 * script re-runs itself through `flock`), each entry is deployed as `e2e-corpus-<name>` with
 * `--resolve-image never`, from its own folder, with only PATH, HOME, DOCKER_HOST and the
 * entry's env file in the environment. Its prerequisites (external networks, secrets,
 * configs) are created first with stand-in content and removed after. The objects labelled
 * with the stack's namespace are listed, the stack is removed, and the outcome (or the
 * refusal message) is merged into expected.json; entries and engines not run keep their
 * record. Images are never pulled, so tasks fail: only what stack deploy creates counts.
 * A prerequisite whose name is already taken on the Swarm stops the run: nothing of
 * another owner is touched.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type CorpusEntry,
  type EngineOutcome,
  type ExpectedRecord,
  entryEnv,
  loadCorpus,
  stackName,
  stacksDir,
} from '../test/helpers/stack-corpus.js';

const run = promisify(execFile);

interface Engine {
  host: string;
  lock: string;
}

/** The engines the project's scripts start (scripts/local-swarm.sh). */
const engines: Record<string, Engine> = {
  '20.10': { host: 'unix:///run/sc-swarm/docker.sock', lock: '/run/sc-locks/swarm.lock' },
  sid: { host: 'unix:///run/sc-swarm-sid/docker.sock', lock: '/run/sc-locks/engine-sid.lock' },
};

const expectedFile = join(stacksDir, 'expected.json');
const objectKinds = ['service', 'network', 'config', 'secret'] as const;
type ObjectKind = (typeof objectKinds)[number];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function docker(host: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...options.env };
  try {
    const { stdout, stderr } = await run('docker', ['-H', host, ...args], {
      cwd: options.cwd,
      env,
      maxBuffer: 1 << 26,
    });
    return { code: 0, stdout, stderr } satisfies Result;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function must(host: string, args: string[]): Promise<string> {
  const r = await docker(host, args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** Names of the objects of one kind labelled with the stack's namespace. */
async function labelled(host: string, kind: ObjectKind, stack: string): Promise<string[]> {
  const out = await must(host, [
    kind,
    'ls',
    '--filter',
    `label=com.docker.stack.namespace=${stack}`,
    '--format',
    '{{.Name}}',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

async function exists(host: string, kind: Exclude<ObjectKind, 'service'>, name: string): Promise<boolean> {
  return (await docker(host, [kind, 'inspect', name])).code === 0;
}

/** stderr lines worth keeping: warnings and errors, without the --detach notice. */
function messages(stderr: string): string[] {
  const out: string[] = [];
  for (const line of lines(stderr)) {
    if (/--detach=false|^In a future release/.test(line)) continue;
    const m = /^time="[^"]*" level=\w+ msg="(.*)"$/.exec(line);
    out.push(m ? m[1].replace(/\\"/g, '"') : line);
  }
  return out;
}

/** An entry's external objects: networks first, as they are created. */
function prerequisites(e: CorpusEntry): (readonly [Exclude<ObjectKind, 'service'>, string])[] {
  const p = e.prerequisites ?? {};
  return [
    ...(p.networks ?? []).map((n) => ['network', n] as const),
    ...(p.secrets ?? []).map((n) => ['secret', n] as const),
    ...(p.configs ?? []).map((n) => ['config', n] as const),
  ];
}

async function createPrerequisites(host: string, e: CorpusEntry): Promise<void> {
  const label = ['--label', `sc.corpus.prerequisite=${stackName(e)}`];
  for (const [kind, n] of prerequisites(e)) {
    if (kind === 'network') {
      await must(host, ['network', 'create', '-d', 'overlay', '--attachable', ...label, n]);
      continue;
    }
    const file = join(mkdtempSync(join(tmpdir(), 'sc-corpus-')), n);
    writeFileSync(file, `stand-in ${kind} ${n} for the stack corpus\n`);
    try {
      await must(host, [kind, 'create', ...label, n, file]);
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  }
}

/** Removes what is left (stack rm then retries while tasks still hold networks); bounded. */
async function cleanUp(host: string, e: CorpusEntry): Promise<void> {
  const stack = stackName(e);
  await docker(host, ['stack', 'rm', stack]);
  const deadline = Date.now() + 90_000;
  const pending = async () => {
    const left: [ObjectKind, string][] = [];
    for (const kind of objectKinds) for (const n of await labelled(host, kind, stack)) left.push([kind, n]);
    for (const [kind, n] of prerequisites(e)) if (await exists(host, kind, n)) left.push([kind, n]);
    return left;
  };
  for (;;) {
    const left = await pending();
    if (!left.length) return;
    if (Date.now() > deadline) throw new Error(`${stack}: could not remove ${left.map((l) => l.join(' ')).join(', ')}`);
    // Services first: their tasks hold the networks, secrets and configs.
    for (const [kind, n] of left) if (kind === 'service') await docker(host, ['service', 'rm', n]);
    for (const [kind, n] of left) if (kind !== 'service') await docker(host, [kind, 'rm', n]);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function recordEntry(host: string, e: CorpusEntry): Promise<EngineOutcome> {
  const stack = stackName(e);
  for (const kind of objectKinds) {
    if ((await labelled(host, kind, stack)).length) throw new Error(`${stack} is already deployed: remove it first`);
  }
  for (const [kind, n] of prerequisites(e)) {
    if (await exists(host, kind, n)) throw new Error(`${e.name}: a ${kind} named ${n} already exists on the Swarm`);
  }
  try {
    await createPrerequisites(host, e);
    const args = ['stack', 'deploy', '--resolve-image', 'never', ...e.files.flatMap((f) => ['-c', f]), stack];
    const r = await docker(host, args, { cwd: join(stacksDir, e.dir), env: { DOCKER_HOST: host, ...entryEnv(e) } });
    const msgs = messages(r.stderr);
    const [services, networks, configs, secrets] = await Promise.all(objectKinds.map((k) => labelled(host, k, stack)));
    const outcome: EngineOutcome = {
      deploys: r.code === 0,
      services,
      networks,
      configs,
      secrets,
      warnings: r.code === 0 ? msgs : msgs.slice(0, -1),
    };
    if (r.code !== 0) outcome.refusal = msgs.at(-1) ?? `exit code ${r.code}`;
    return outcome;
  } finally {
    await cleanUp(host, e);
  }
}

function readExpected(): ExpectedRecord {
  return existsSync(expectedFile)
    ? (JSON.parse(readFileSync(expectedFile, 'utf8')) as ExpectedRecord)
    : { cli: '', engines: {}, entries: {} };
}

/** JSON with object keys sorted, so the file only changes where the record does. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

async function recordEngine(name: string, only: Set<string> | undefined): Promise<void> {
  const { host } = engines[name];
  const corpus = loadCorpus().filter((e) => !only || only.has(e.name));
  const expected = readExpected();
  const [version, api, cli] = lines(
    await must(host, ['version', '--format', '{{.Server.Version}}\n{{.Server.APIVersion}}\n{{.Client.Version}}']),
  );
  expected.cli = cli!;
  expected.engines[name] = { version: version, api: api, recorded: new Date().toISOString().slice(0, 10) };
  let unexpected = 0;
  for (const e of corpus) {
    const outcome = await recordEntry(host, e);
    (expected.entries[e.name] ??= {})[name] = outcome;
    const what = outcome.deploys
      ? `deployed: ${outcome.services.length} services, ${outcome.networks.length} networks, ${outcome.configs.length} configs, ${outcome.secrets.length} secrets`
      : `refused: ${outcome.refusal}`;
    const asListed = e.refusal
      ? !outcome.deploys && new RegExp(e.refusal).test(outcome.refusal ?? '')
      : outcome.deploys;
    if (!asListed) unexpected++;
    console.log(`${name} ${e.name}: ${what}${asListed ? '' : '  <- NOT as corpus.json says'}`);
    writeFileSync(expectedFile, JSON.stringify(sorted(expected), null, 2) + '\n');
  }
  if (unexpected) throw new Error(`${unexpected} entries did not behave as corpus.json says (recorded anyway)`);
}

function engineUp(name: string): boolean {
  const r = spawnSync('docker', ['-H', engines[name].host, 'info', '--format', '{{.Swarm.LocalNodeState}}'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return r.status === 0 && r.stdout.trim() === 'active';
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const picked: string[] = [];
  let only: Set<string> | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--engine') picked.push(argv[++i] ?? '');
    else if (argv[i] === '--only') only = new Set((argv[++i] ?? '').split(','));
    else
      throw new Error(`unknown argument ${argv[i]}; usage: stack-corpus.js [--engine 20.10|sid]... [--only NAME,...]`);
  }
  for (const n of picked)
    if (!engines[n]) throw new Error(`unknown engine ${n}; known: ${Object.keys(engines).join(', ')}`);
  const names = new Set(loadCorpus().map((e) => e.name));
  for (const n of only ?? []) if (!names.has(n)) throw new Error(`no corpus entry named ${n}`);

  // Run under the engine's lock: the parent re-runs this script once per engine through flock,
  // and the child checks, holding the lock, that the engine answers (it may be restarting).
  const locked = process.env.SC_CORPUS_ENGINE;
  if (locked) {
    if (!engineUp(locked)) {
      console.log(`${locked}: engine not up (${engines[locked].host}); its record is kept`);
      return;
    }
    return recordEngine(locked, only);
  }
  for (const name of picked.length ? picked : Object.keys(engines)) {
    const socket = engines[name].host.replace(/^unix:\/\//, '');
    if (!existsSync(socket)) {
      console.log(`${name}: no engine at ${socket}; its record is kept`);
      continue;
    }
    const self = fileURLToPath(import.meta.url);
    const r = spawnSync('flock', [engines[name].lock, process.execPath, self, ...argv], {
      stdio: 'inherit',
      env: { ...process.env, SC_CORPUS_ENGINE: name },
    });
    if (r.status !== 0) throw new Error(`${name}: recording failed (exit ${r.status})`);
  }
}

main().catch((err: unknown) => {
  console.error(`stack-corpus: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
