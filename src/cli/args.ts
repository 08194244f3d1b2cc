/**
 * The options a command handler receives (CliOptions), made from a parsed command line
 * (parse-argv.ts, driven by command-table.ts and flag-table.ts): flag values with their
 * defaults, and what is derived from them (the apply set, colour, the source).
 */
import { basename, dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import type { GitCredentialFlag, GitCredentialOptions } from '../source/git-auth.js';
import { useColour } from './colour.js';
import { checkApplySet, type Env, type resolveImageModes } from './flag-table.js';
import { parseArgv, type CommandInvocation } from './parse-argv.js';
import { UsageError } from './usage-error.js';

export interface CliOptions {
  command: string;
  /** Every positional argument, the command first. */
  positionals: string[];
  /** Whether --set was given (not derived). */
  applySetGiven: boolean;
  files: string[];
  applySet: string;
  /** --host, when given. */
  host?: string;
  /** --context, when given (never together with --host). */
  context?: string;
  /** Whether the engine was named by --host / --context on the command line. */
  hostGiven: boolean;
  contextGiven: boolean;
  /** text or json; get also takes wide and yaml (the command table says which command takes what). */
  output: 'text' | 'json' | 'wide' | 'yaml';
  /** apply --dry-run, rollback --dry-run, and always for plan (controller --dry-run is plan). */
  dryRun: boolean;
  prune: boolean;
  maxDeletions: number;
  force: boolean;
  allowReplace: boolean;
  adopt: boolean;
  /** --resolve-image: when to pin an image to its registry digest (default always). */
  resolveImage: (typeof resolveImageModes)[number];
  wait: boolean;
  timeoutMs: number;
  concurrency: number;
  maskEnv: string[];
  /** --age-key-file: an age key file for SOPS-encrypted manifests. */
  ageKeyFile?: string;
  /** --var, --var-file, --secret-var-file: variables for the manifests (docs/variables.md). */
  variables: { vars: string[]; files: string[]; secretFiles: string[] };
  logFormat: 'text' | 'json';
  color: boolean;
  source?: string;
  pollIntervalMs: number;
  resyncIntervalMs: number;
  /** run --image-check: how often to look for new digests; absent: off. */
  imageCheckMs?: number;
  drift: 'repair' | 'report';
  noPrune: boolean;
  listen: string;
  webhookSecretFile?: string;
  /** run and dashboard: --dashboard-token-file, the token the dashboard's actions need. */
  dashboardTokenFile?: string;
  /** run --notifications: the receivers of the root apply set's rollout notifications. */
  notificationsFile?: string;
  /** Whether --listen was given (controller dashboard defaults to loopback). */
  listenGiven: boolean;
  leaseDurationMs: number;
  identity?: string;
  cacheDir: string;
  /** run and bootstrap: the deploy key, known_hosts and token of a private git source. */
  gitCredentials: GitCredentialOptions;
  /** status --url; absent: read the status from the Swarm. */
  url?: string;
  reason?: string;
  /** Set by bootstrap: the source revision being applied, recorded on what is written. */
  revision?: string;
  proxyHttpBind: string;
  proxyControl: string;
  proxyTokenFile: string;
  proxyHttpsBind: string;
  proxySecretsDir: string;
  proxyStateDir: string;
  proxyHaproxy: string;
  proxyService: string;
  proxyNetwork: string;
  proxyControlPort: number;
  routePollMs: number;
  noRoutes: boolean;
  /** run --status-interval: how often the status in the Swarm is looked at (and at most written). */
  statusIntervalMs: number;
  /** import compose --namespace. */
  namespace?: string;
  /** import compose --out. */
  outDir?: string;
}

/** The options of a command line that runs a command (tests, and callers that know it does). */
export function parseCli(argv: string[], isTty: boolean, env: Env = process.env): CliOptions {
  const invocation = parseArgv(argv, env);
  if (invocation.kind !== 'command')
    throw new UsageError(`"controller ${argv.join(' ')}" asks for ${invocation.kind}, not a command`);
  return cliOptions(invocation, isTty, env);
}

export function cliOptions(invocation: CommandInvocation, isTty: boolean, env: Env = process.env): CliOptions {
  const { command, values: v, given } = invocation;
  const source = command === 'bootstrap' ? v.repo : v.source;
  const applySet = checkApplySet(
    v.set ??
      (source && (command === 'run' || command === 'bootstrap')
        ? defaultApplySetForSource(source)
        : defaultApplySet(v.filename)),
  );
  return {
    command,
    positionals: [command, ...invocation.positionals],
    applySetGiven: given.has('set'),
    files: v.filename,
    applySet,
    ...(v.host !== undefined ? { host: v.host } : {}),
    ...(v.context !== undefined ? { context: v.context } : {}),
    hostGiven: given.has('host'),
    contextGiven: given.has('context'),
    output: v.output,
    dryRun: command === 'plan' || v['dry-run'],
    prune: v.prune,
    maxDeletions: v['max-deletions'],
    force: v.force,
    allowReplace: v['allow-replace'],
    adopt: v.adopt,
    resolveImage: v['resolve-image'],
    wait: v.wait,
    timeoutMs: v.timeout,
    concurrency: v.concurrency,
    maskEnv: v['mask-env'],
    ...(v['age-key-file'] ? { ageKeyFile: v['age-key-file'] } : {}),
    variables: { vars: v.var, files: v['var-file'], secretFiles: v['secret-var-file'] },
    logFormat: v['log-format'],
    color: useColour(isTty, v['no-color'], env),
    ...(source ? { source } : {}),
    pollIntervalMs: v.interval,
    resyncIntervalMs: v.resync,
    ...(v['image-check'] !== undefined ? { imageCheckMs: v['image-check'] } : {}),
    drift: v.drift,
    noPrune: v['no-prune'],
    listen: v.listen,
    ...(v['webhook-secret-file'] ? { webhookSecretFile: v['webhook-secret-file'] } : {}),
    ...(v['dashboard-token-file'] ? { dashboardTokenFile: v['dashboard-token-file'] } : {}),
    ...(v.notifications ? { notificationsFile: v.notifications } : {}),
    listenGiven: given.has('listen'),
    leaseDurationMs: v['lease-duration'],
    ...(v.identity ? { identity: v.identity } : {}),
    cacheDir: v['cache-dir'],
    gitCredentials: {
      sshKeyFile: v['ssh-key-file'],
      sshKnownHostsFile: v['ssh-known-hosts-file'],
      ...(v['git-token-file'] ? { tokenFile: v['git-token-file'] } : {}),
      username: v['git-username'],
      given: new Set(gitCredentialFlags.filter((f) => given.has(f))),
    },
    ...(v.url ? { url: v.url } : {}),
    ...(v.reason ? { reason: v.reason } : {}),
    proxyHttpBind: v['http-bind'],
    proxyControl: v.control,
    proxyTokenFile: v['token-file'],
    proxyHttpsBind: v['https-bind'],
    proxySecretsDir: v['secrets-dir'],
    proxyStateDir: v['state-dir'],
    proxyHaproxy: v.haproxy,
    proxyService: v['proxy-service'],
    proxyNetwork: v['proxy-network'],
    proxyControlPort: v['proxy-control-port'],
    routePollMs: Math.max(10, v['route-poll']),
    noRoutes: v['no-routes'],
    statusIntervalMs: Math.max(100, v['status-interval']),
    ...(v.namespace !== undefined ? { namespace: v.namespace } : {}),
    ...(v.out !== undefined ? { outDir: v.out } : {}),
  };
}

const gitCredentialFlags: readonly GitCredentialFlag[] = [
  'ssh-key-file',
  'ssh-known-hosts-file',
  'git-token-file',
  'git-username',
];

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
  return (
    basename(dir)
      .replace(/[^-a-zA-Z0-9_.]/g, '-')
      .replace(/^[^a-zA-Z0-9]+/, '') || 'default'
  );
}

/** The apply set of `run --source`: the last path element of the source (`...git#main:prod` -> "prod"). */
export function defaultApplySetForSource(source: string): string {
  const path = source.includes('#') ? (source.split('#')[1].split(':')[1] ?? '') : source;
  const base =
    path
      .replace(/\/+$/, '')
      .split('/')
      .pop()
      ?.replace(/\.git$/, '') ?? '';
  const repo = source
    .split('#')[0]
    .replace(/\/+$/, '')
    .split('/')
    .pop()!
    .replace(/\.git$/, '');
  return (
    (base && base !== '.' ? base : repo).replace(/[^-a-zA-Z0-9_.]/g, '-').replace(/^[^a-zA-Z0-9]+/, '') || 'default'
  );
}
