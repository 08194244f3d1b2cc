/**
 * Command-line parsing for every command (node:util parseArgs), with usage text and the
 * defaults, kept in one place so README, --help and behaviour agree.
 */
import { basename, dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TerminalError } from '../errors.js';
import { parseDuration } from '../units.js';

export const usage = `swarm-controller: declarative manifests for Docker Swarm

Usage:
  controller validate -f PATH...            check manifests; exit 1 on any problem
  controller plan -f PATH... [options]      show what would change; exit 0 none, 2 changes, 1 error
  controller apply -f PATH... [options]     make the Swarm match the manifests
  controller version                        print versions of the controller and the engine

Options:
  -f, --filename PATH    manifest file or directory (recursive, .yaml/.yml); "-" for stdin; repeatable
      --set NAME         apply set recorded on every object (default: the manifest directory's name)
      --host URL         Docker engine (default: $DOCKER_HOST, else unix:///var/run/docker.sock)
  -o, --output FORMAT    plan output: text (default) or json
      --dry-run          apply: stop after showing the plan (same as plan)
      --prune            delete objects of this apply set that the manifests no longer declare
      --max-deletions N  refuse a prune of more than N objects (default 10) unless --force
      --force            allow more deletions than --max-deletions
      --allow-replace    allow changes that delete and recreate an object
      --adopt            take over existing objects that were not created by the controller
      --wait             wait until every changed service has converged; fail on rollback or timeout
      --timeout DURATION how long --wait and task shutdowns may take (default 5m)
      --concurrency N    changes applied at once (default 4)
      --mask-env NAME    also mask this env var in plans and logs; repeatable
      --log-format FMT   apply progress: text (default) or json (pino lines on stderr)
      --no-color         no colour even on a terminal
  -h, --help             this text
`;

export interface CliOptions {
  command: string;
  files: string[];
  applySet: string;
  host?: string;
  output: 'text' | 'json';
  dryRun: boolean;
  prune: boolean;
  maxDeletions: number;
  force: boolean;
  allowReplace: boolean;
  adopt: boolean;
  wait: boolean;
  timeoutMs: number;
  concurrency: number;
  maskEnv: string[];
  logFormat: 'text' | 'json';
  color: boolean;
  help: boolean;
}

export function parseCli(argv: string[], isTty: boolean): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        set: { type: 'string' },
        host: { type: 'string' },
        output: { type: 'string', short: 'o', default: 'text' },
        'dry-run': { type: 'boolean', default: false },
        prune: { type: 'boolean', default: false },
        'max-deletions': { type: 'string', default: '10' },
        force: { type: 'boolean', default: false },
        'allow-replace': { type: 'boolean', default: false },
        adopt: { type: 'boolean', default: false },
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '5m' },
        concurrency: { type: 'string', default: '4' },
        'mask-env': { type: 'string', multiple: true },
        'log-format': { type: 'string', default: 'text' },
        'no-color': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new TerminalError('SC9001', `${(err as Error).message}. Run "controller --help" for usage`);
  }
  const v = parsed.values;
  const command = parsed.positionals[0] ?? 'help';
  const files = v.filename ?? [];
  const output = oneOf('--output', v.output!, ['text', 'json'] as const);
  const logFormat = oneOf('--log-format', v['log-format']!, ['text', 'json'] as const);
  const timeoutNs = parseDuration(v.timeout!);
  if (timeoutNs === undefined) throw new TerminalError('SC9001', `--timeout ${JSON.stringify(v.timeout)} is not a duration; write it like "90s" or "5m"`);
  const applySet = v.set ?? defaultApplySet(files);
  if (!/^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$/.test(applySet)) {
    throw new TerminalError('SC9001', `apply set ${JSON.stringify(applySet)} is not a valid name; give --set with letters, digits, "-", "_" or "." (at most 63)`);
  }
  return {
    command,
    files,
    applySet,
    ...(v.host ? { host: v.host } : {}),
    output,
    dryRun: v['dry-run']!,
    prune: v.prune!,
    maxDeletions: positiveInt('--max-deletions', v['max-deletions']!, 0),
    force: v.force!,
    allowReplace: v['allow-replace']!,
    adopt: v.adopt!,
    wait: v.wait!,
    timeoutMs: timeoutNs / 1e6,
    concurrency: positiveInt('--concurrency', v.concurrency!, 1),
    maskEnv: v['mask-env'] ?? [],
    logFormat,
    color: isTty && !v['no-color'] && !process.env.NO_COLOR,
    help: v.help!,
  };
}

/** The name of the manifests directory: `-f manifests/shop` -> "shop"; a file -> its directory's name. */
export function defaultApplySet(files: string[]): string {
  const first = files[0];
  if (!first || first === '-') return 'default';
  let dir = resolve(first);
  try {
    if (!statSync(dir).isDirectory()) dir = dirname(dir);
  } catch {
    dir = dirname(dir);
  }
  return basename(dir).replace(/[^-a-zA-Z0-9_.]/g, '-').replace(/^[^a-zA-Z0-9]+/, '') || 'default';
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new TerminalError('SC9001', `${flag} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
}

function positiveInt(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new TerminalError('SC9001', `${flag} needs a whole number of at least ${min}, not ${JSON.stringify(value)}`);
  return n;
}
