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
  controller import compose FILE... [--namespace NAME] [--out DIR]
                                            compose/stack files to manifests (docs/compose.md)
  controller run --source SRC [options]     follow a git repository or directory and keep the Swarm in sync
  controller status [--url URL]             show what a running controller is doing
  controller suspend [--reason TEXT]        pause reconciling for an apply set (maintenance)
  controller resume                         start reconciling again
  controller bootstrap --repo SRC           install the controller's own manifests from SRC, once
  controller rollback NS/NAME [--wait]      return a service to its previous spec; says what changes (--dry-run: only say)
  controller version                        print versions of the controller and the engine
  controller proxy [options]                the proxy agent beside HAProxy (docs/proxy.md)

Options:
  -f, --filename PATH    manifest file or directory (recursive, .yaml/.yml); "-" for stdin; repeatable
      --set NAME         apply set recorded on every object (default: the manifest directory's name)
      --host URL         Docker engine (default: $DOCKER_HOST, else the docker CLI's current context)
      --context NAME     a docker context (default: $DOCKER_CONTEXT, else config.json's currentContext)
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

Options of run:
      --source SRC       a directory, or a git URL with optional #ref and :path
                         (https://git.example.com/ops/swarm.git#main:prod, /srv/repo.git#v1.2);
                         default $SC_SOURCE. bootstrap takes the same as --repo
      --interval DUR     how often to poll the source (default 60s, jittered by 10%)
      --resync DUR       how often to re-check every object (default 30s)
      --drift MODE       repair (default) or report out-of-band changes
      --no-prune         keep objects removed from the manifests (run prunes by default)
      --listen ADDR      HTTP endpoints /healthz /readyz /metrics /status /hooks/sync
                         (default 0.0.0.0:$SC_HTTP_PORT, else 0.0.0.0:8090)
      --webhook-secret-file F  enable POST /hooks/sync with this HMAC secret
      --lease-duration DUR     leader lease (default 10s: a dead leader is replaced within 10-14 s)
      --identity ID      this replica's name in the lease (default: hostname and pid)
      --cache-dir DIR    git mirror and checked-out revisions (default /tmp/swarm-controller)
      --proxy-service S  the proxy tier's Swarm service (default swarm-controller_proxy)
      --proxy-network N  the network on which the proxies' control API is reached
                         (default swarm-controller_control)
      --proxy-control-port P   the proxies' control API port (default 8091)
      --route-poll DUR   how often the routed services' tasks are listed (default 250ms)
      --no-routes        do not push route tables (no proxy tier)
      --token-file F     also for run: the proxies' bearer token
Options of status, suspend, resume:
      --url URL          status: the controller's HTTP address (default http://127.0.0.1:8090)
      --reason TEXT      suspend: shown in status
Options of proxy:
      --http-bind ADDR   HAProxy's HTTP listener (default 0.0.0.0:80)
      --control ADDR     the control API: PUT /v1/table, GET /v1/status, GET /healthz (default 0.0.0.0:8091)
      --https-bind ADDR  where HTTPS is served while a route has tls (default 0.0.0.0:443)
      --secrets-dir D    where TLS routes' certificate secrets are mounted (default /run/secrets)
      --token-file F     the control API's bearer token (default /run/secrets/swarm-controller-proxy-token; required)
      --state-dir D      haproxy.cfg and the HAProxy sockets (default /run/swarm-controller-proxy)
      --haproxy PATH     the HAProxy binary (default /usr/sbin/haproxy)
`;

export interface CliOptions {
  command: string;
  /** Every positional argument, the command first. */
  positionals: string[];
  /** Whether --set was given (not derived). */
  applySetGiven: boolean;
  files: string[];
  applySet: string;
  host?: string;
  /** --context: a docker context. */
  context?: string;
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
  source?: string;
  pollIntervalMs: number;
  resyncIntervalMs: number;
  drift: 'repair' | 'report';
  noPrune: boolean;
  listen: string;
  webhookSecretFile?: string;
  leaseDurationMs: number;
  identity?: string;
  cacheDir: string;
  url: string;
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
        context: { type: 'string' },
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
        source: { type: 'string' },
        repo: { type: 'string' },
        interval: { type: 'string', default: '60s' },
        resync: { type: 'string', default: '30s' },
        drift: { type: 'string', default: 'repair' },
        'no-prune': { type: 'boolean', default: false },
        listen: { type: 'string', default: `0.0.0.0:${process.env.SC_HTTP_PORT ?? '8090'}` },
        'webhook-secret-file': { type: 'string' },
        'lease-duration': { type: 'string', default: '10s' },
        identity: { type: 'string' },
        'cache-dir': { type: 'string', default: '/tmp/swarm-controller' },
        url: { type: 'string', default: 'http://127.0.0.1:8090' },
        reason: { type: 'string' },
        'http-bind': { type: 'string', default: '0.0.0.0:80' },
        control: { type: 'string', default: '0.0.0.0:8091' },
        'token-file': { type: 'string', default: '/run/secrets/swarm-controller-proxy-token' },
        'https-bind': { type: 'string', default: '0.0.0.0:443' },
        'secrets-dir': { type: 'string', default: '/run/secrets' },
        'state-dir': { type: 'string', default: '/run/swarm-controller-proxy' },
        haproxy: { type: 'string', default: '/usr/sbin/haproxy' },
        'proxy-service': { type: 'string', default: 'swarm-controller_proxy' },
        'proxy-network': { type: 'string', default: 'swarm-controller_control' },
        'proxy-control-port': { type: 'string', default: '8091' },
        'route-poll': { type: 'string', default: '250ms' },
        'no-routes': { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new TerminalError('SC9001', `${(err as Error).message}. Run "controller --help" for usage`);
  }
  const v = parsed.values;
  const command = parsed.positionals[0] ?? 'help';
  const files = v.filename ?? [];
  const output = oneOf('--output', v.output, ['text', 'json'] as const);
  const logFormat = oneOf('--log-format', v['log-format'], ['text', 'json'] as const);
  const ms = (flag: string, value: string) => {
    const ns = parseDuration(value);
    if (ns === undefined)
      throw new TerminalError(
        'SC9001',
        `${flag} ${JSON.stringify(value)} is not a duration; write it like "90s" or "5m"`,
      );
    return ns / 1e6;
  };
  const timeoutMs = ms('--timeout', v.timeout);
  const source = v.source ?? v.repo ?? process.env.SC_SOURCE;
  const applySet =
    v.set ??
    (source && (command === 'run' || command === 'bootstrap')
      ? defaultApplySetForSource(source)
      : defaultApplySet(files));
  if (!/^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$/.test(applySet)) {
    throw new TerminalError(
      'SC9001',
      `apply set ${JSON.stringify(applySet)} is not a valid name; give --set with letters, digits, "-", "_" or "." (at most 63)`,
    );
  }
  return {
    command,
    positionals: parsed.positionals,
    applySetGiven: v.set !== undefined,
    files,
    applySet,
    ...(v.host ? { host: v.host } : {}),
    ...(v.context ? { context: v.context } : {}),
    output,
    dryRun: v['dry-run'],
    prune: v.prune,
    maxDeletions: positiveInt('--max-deletions', v['max-deletions'], 0),
    force: v.force,
    allowReplace: v['allow-replace'],
    adopt: v.adopt,
    wait: v.wait,
    timeoutMs,
    concurrency: positiveInt('--concurrency', v.concurrency, 1),
    maskEnv: v['mask-env'] ?? [],
    logFormat,
    color: isTty && !v['no-color'] && !process.env.NO_COLOR,
    help: v.help,
    ...(source ? { source } : {}),
    pollIntervalMs: ms('--interval', v.interval),
    resyncIntervalMs: ms('--resync', v.resync),
    drift: oneOf('--drift', v.drift, ['repair', 'report'] as const),
    noPrune: v['no-prune'],
    listen: v.listen,
    ...(v['webhook-secret-file'] ? { webhookSecretFile: v['webhook-secret-file'] } : {}),
    leaseDurationMs: ms('--lease-duration', v['lease-duration']),
    ...(v.identity ? { identity: v.identity } : {}),
    cacheDir: v['cache-dir'],
    url: v.url,
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
    proxyControlPort: port('--proxy-control-port', v['proxy-control-port']),
    routePollMs: Math.max(10, ms('--route-poll', v['route-poll'])),
    noRoutes: v['no-routes'],
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

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new TerminalError('SC9001', `${flag} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
}

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new TerminalError('SC9001', `${flag} needs a port from 1 to 65535, not ${JSON.stringify(value)}`);
  return n;
}

function positiveInt(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new TerminalError('SC9001', `${flag} needs a whole number of at least ${min}, not ${JSON.stringify(value)}`);
  return n;
}
