/**
 * Every flag of the command line, once: its spelling, value placeholder, help line, default,
 * and how its value is checked and converted. Commands (command-table.ts) pick flags from here
 * by name, so a flag means the same on every command that has it; parsing, help and (later)
 * shell completion are all derived from this table and the command table. Pure: no I/O, and
 * the environment is passed in where a default depends on it.
 */
import { closest } from '../manifest/suggest.js';
import { defaultGitUsername, defaultSshKeyFile, defaultSshKnownHostsFile } from '../source/git-auth.js';
import { parseDuration } from '../units.js';
import { orList, UsageError } from './usage-error.js';

export type Env = Readonly<Record<string, string | undefined>>;

interface FlagBase {
  /** One letter: `-f`. */
  short?: string;
  help: string;
}

/** A switch: `--prune` (also `--prune=true|false`). */
export interface SwitchFlag extends FlagBase {
  kind: 'switch';
}

/** A repeatable value: `-f a -f b`. */
export interface ListFlag extends FlagBase {
  kind: 'list';
  value: string;
}

/** A value, converted and checked as it is read: `--timeout 90s` -> 90000. */
export interface ValueFlag<T> extends FlagBase {
  kind: 'value';
  /** The placeholder in help: PATH, DURATION. */
  value: string;
  /** The values allowed, for help, "did you mean" and completion. */
  choices?: readonly string[];
  /** How help shows the default ("5m", "$SC_SOURCE"); absent: no default worth showing. */
  defaultText?: string;
  /** The value given, checked; throws a UsageError naming `flag`. */
  convert(raw: string, flag: string): T;
  /** The value when the flag is not given. */
  initial(env: Env): T;
}

export type Flag = SwitchFlag | ListFlag | ValueFlag<unknown>;

const toggle = (help: string, short?: string): SwitchFlag => ({ kind: 'switch', help, ...(short ? { short } : {}) });
const list = (value: string, help: string, short?: string): ListFlag => ({
  kind: 'list',
  value,
  help,
  ...(short ? { short } : {}),
});

/** A value with a default typed as on the command line (help shows it, it is checked like a given one). */
function withDefault<T>(
  value: string,
  help: string,
  convert: (raw: string, flag: string) => T,
  dflt: string,
  extra: { short?: string; choices?: readonly string[]; defaultText?: string } = {},
): ValueFlag<T> {
  return { kind: 'value', value, help, convert, defaultText: dflt, initial: () => convert(dflt, ''), ...extra };
}

/** A value that is absent unless given (or taken from the environment by `initial`). */
function optional(
  value: string,
  help: string,
  extra: { initial?: (env: Env) => string | undefined; defaultText?: string } = {},
): ValueFlag<string | undefined> {
  const { initial = () => undefined, ...rest } = extra;
  return { kind: 'value', value, help, convert: (raw) => raw, initial, ...rest };
}

/** Like `optional`, with a check of the value given. */
function checked(
  value: string,
  help: string,
  convert: (raw: string, flag: string) => string,
  extra: { defaultText?: string } = {},
): ValueFlag<string | undefined> {
  return { kind: 'value', value, help, convert, initial: () => undefined, ...extra };
}

// --- converters: each names its flag and says what would be accepted -----------------------

export function durationMs(raw: string, flag: string): number {
  const ns = parseDuration(raw);
  if (ns === undefined)
    throw new UsageError(`${flag} ${JSON.stringify(raw)} is not a duration; write it like "90s" or "5m"`);
  return ns / 1e6;
}

const wholeNumber =
  (min: number) =>
  (raw: string, flag: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min)
      throw new UsageError(`${flag} needs a whole number of at least ${min}, not ${JSON.stringify(raw)}`);
    return n;
  };

function port(raw: string, flag: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 65535)
    throw new UsageError(`${flag} needs a port from 1 to 65535, not ${JSON.stringify(raw)}`);
  return n;
}

const oneOf =
  <T extends string>(choices: readonly T[]) =>
  (raw: string, flag: string): T => {
    if ((choices as readonly string[]).includes(raw)) return raw as T;
    const near = closest(raw, choices);
    throw new UsageError(
      `${flag} ${JSON.stringify(raw)} is not one of ${choices.join(', ')}${near ? `; did you mean "${near}"?` : ''}`,
    );
  };

const choice = <T extends string>(
  value: string,
  help: string,
  choices: readonly T[],
  dflt: T,
  short?: string,
): ValueFlag<T> => withDefault(value, help, oneOf(choices), dflt, { choices, ...(short ? { short } : {}) });

const applySetPattern = /^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$/;

/** The check of an apply set name, given (--set) or derived (args.ts). */
export function checkApplySet(name: string): string {
  if (!applySetPattern.test(name))
    throw new UsageError(
      `apply set ${JSON.stringify(name)} is not a valid name; give --set with letters, digits, "-", "_" or "." (at most 63)`,
    );
  return name;
}

// docker's own rule for context names (docker/cli cli/command/context: restrictedNamePattern).
const contextPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

function contextName(raw: string, flag: string): string {
  if (raw === 'default' || contextPattern.test(raw)) return raw;
  throw new UsageError(
    `${flag} ${JSON.stringify(raw)} is not a context name; docker context names are letters, digits and "_.+-", starting with a letter or digit (docker context ls)`,
  );
}

function namespaceName(raw: string, flag: string): string {
  if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(raw)) return raw;
  throw new UsageError(
    `${flag} ${JSON.stringify(raw)} is not a valid namespace; use lower-case letters, digits and "-"`,
  );
}

function listenAddress(raw: string, flag: string): string {
  if (/^(?:(.*):)?(\d+)$/.test(raw)) return raw;
  throw new UsageError(`${flag} ${JSON.stringify(raw)}: give host:port or a port`);
}

function gitUsername(raw: string, flag: string): string {
  if (raw !== '' && !/[\s\x00-\x1f\x7f]/.test(raw)) return raw;
  throw new UsageError(
    `${flag} ${JSON.stringify(raw)}: give a user name without blanks, e.g. x-access-token or oauth2`,
  );
}

function imageCheck(raw: string, flag: string): number | undefined {
  if (raw === 'off') return undefined;
  const ms = durationMs(raw, flag);
  return ms > 0 ? ms : undefined;
}

// --- the flags ---------------------------------------------------------------------------

export const resolveImageModes = ['always', 'changed', 'never'] as const;
const proxyToken = '/run/secrets/swarm-controller-proxy-token';

export const flagTable = {
  help: toggle('show this help', 'h'),
  version: toggle("print the controller's version (controller version also asks the engine)"),

  // manifests and apply set
  filename: list('PATH', 'manifest file or directory (recursive, .yaml/.yml); "-" for stdin; repeatable', 'f'),
  'age-key-file': optional(
    'FILE',
    'age key file for SOPS-encrypted manifests (docs/sops.md); also read: $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt',
  ),
  var: list('NAME=VALUE', 'a value for ${NAME} in the manifests (docs/variables.md); repeatable; overrides the files'),
  'var-file': list('FILE', 'variables for the manifests, NAME=VALUE a line (dotenv); repeatable, later files win'),
  'secret-var-file': list(
    'FILE',
    'like --var-file, and every value is secret: hidden in plans, logs and messages; repeatable',
  ),
  set: checked('NAME', 'apply set recorded on every object', (raw) => checkApplySet(raw), {
    defaultText: "the manifest directory's name",
  }),

  // engine connection
  host: optional(
    'URL',
    'Docker engine to talk to: unix://, tcp:// (TLS from DOCKER_TLS_VERIFY), ssh://; not with --context',
    {
      defaultText: "$DOCKER_HOST, else $DOCKER_CONTEXT, else the docker CLI's current context (docs/connecting.md)",
    },
  ),
  context: checked('NAME', 'docker context to connect through (docker context ls); not with --host', contextName, {
    defaultText: '$DOCKER_CONTEXT, else currentContext of ~/.docker/config.json',
  }),

  // planning
  output: choice(
    'FORMAT',
    'the plan as text, or json (docs/plan-json.md)',
    ['text', 'json', 'wide', 'yaml'] as const,
    'text',
    'o',
  ),
  'dry-run': toggle('stop after showing the plan (the same as plan)'),
  prune: toggle('delete objects of this apply set that the manifests no longer declare'),
  'max-deletions': withDefault('N', 'refuse a prune of more than N objects unless --force', wholeNumber(0), '10'),
  force: toggle('allow more deletions than --max-deletions'),
  'allow-replace': toggle('allow changes that delete and recreate an object'),
  adopt: toggle('take over existing objects that were not created by the controller'),
  'mask-env': list('NAME', 'also mask this env var in plans and logs; repeatable'),
  'resolve-image': choice(
    'MODE',
    'pin images to their registry digest: always, changed (only images whose reference changed) or never, as docker stack deploy --resolve-image',
    resolveImageModes,
    'always',
  ),
  'no-color': toggle('no colour even on a terminal (also: $NO_COLOR)'),

  // applying
  wait: toggle('wait until every changed service has converged; fail on rollback or timeout'),
  timeout: withDefault('DURATION', 'how long --wait and task shutdowns may take', durationMs, '5m'),
  concurrency: withDefault('N', 'changes applied at once', wholeNumber(1), '4'),
  'log-format': choice(
    'FORMAT',
    'apply progress: text or json (pino lines on stderr)',
    ['text', 'json'] as const,
    'text',
  ),

  // run and bootstrap
  source: optional('SRC', 'a directory, or a git URL with optional #ref and :path (repo.git#main:prod)', {
    initial: (env) => env.SC_SOURCE,
    defaultText: '$SC_SOURCE',
  }),
  repo: optional('SRC', 'the git URL or directory of the controller manifests, as run --source takes it', {
    initial: (env) => env.SC_SOURCE,
    defaultText: '$SC_SOURCE',
  }),
  interval: withDefault('DURATION', 'how often to poll the source (jittered by 10%)', durationMs, '60s'),
  resync: withDefault('DURATION', 'how often to re-check every object', durationMs, '30s'),
  drift: choice('MODE', 'repair or report out-of-band changes', ['repair', 'report'] as const, 'repair'),
  'no-prune': toggle('keep objects removed from the manifests (run prunes by default)'),
  'image-check': {
    kind: 'value',
    value: 'DURATION',
    help: "check the images' registry digests this often and roll out a new digest, e.g. 5m",
    convert: imageCheck,
    initial: () => undefined,
    defaultText: 'off',
  } satisfies ValueFlag<number | undefined>,
  listen: {
    kind: 'value',
    value: 'ADDR',
    help: 'HTTP endpoints /healthz /readyz /metrics /status /hooks/sync /dashboard/',
    convert: listenAddress,
    initial: (env) => `0.0.0.0:${env.SC_HTTP_PORT ?? '8090'}`,
    defaultText: '0.0.0.0:$SC_HTTP_PORT, else 0.0.0.0:8090',
  } satisfies ValueFlag<string>,
  'webhook-secret-file': optional('FILE', 'enable POST /hooks/sync with this HMAC secret'),
  'dashboard-token-file': optional(
    'FILE',
    "enable the dashboard's actions (sync now, suspend, resume) for requests with this Bearer token",
  ),
  notifications: optional(
    'FILE',
    'notify the ends of rollouts (promoted, rolled back, aborted) to the receivers this YAML file names (docs/rollouts.md)',
  ),
  'lease-duration': withDefault(
    'DURATION',
    'leader lease (a dead leader is replaced within 1 to 1.4 times this)',
    durationMs,
    '10s',
  ),
  identity: optional('ID', "this replica's name in the lease", { defaultText: 'hostname and pid' }),
  'cache-dir': withDefault('DIR', 'git mirror and checked-out revisions', (raw) => raw, '/tmp/swarm-controller'),
  'ssh-key-file': withDefault(
    'FILE',
    'the private deploy key of an ssh source (ssh://git@host/repo.git, git@host:repo.git), read at every fetch',
    (raw) => raw,
    defaultSshKeyFile,
  ),
  'ssh-known-hosts-file': withDefault(
    'FILE',
    "the known_hosts file the ssh server's host key must be in (always checked)",
    (raw) => raw,
    defaultSshKnownHostsFile,
  ),
  'git-token-file': optional(
    'FILE',
    'a token for an https source, read at every fetch, given to git by a credential helper',
  ),
  'git-username': withDefault(
    'NAME',
    'the user name sent with --git-token-file (GitLab deploy tokens: theirs; OAuth: oauth2)',
    gitUsername,
    defaultGitUsername,
  ),
  'proxy-service': withDefault('NAME', "the proxy tier's Swarm service", (raw) => raw, 'swarm-controller_proxy'),
  'proxy-network': withDefault(
    'NAME',
    "the network on which the proxies' control API is reached",
    (raw) => raw,
    'swarm-controller_control',
  ),
  'proxy-control-port': withDefault('PORT', "the proxies' control API port", port, '8091'),
  'route-poll': withDefault('DURATION', "how often the routed services' tasks are listed", durationMs, '250ms'),
  'no-routes': toggle('do not push route tables (no proxy tier)'),
  'status-interval': withDefault(
    'DURATION',
    'how often the leader looks whether its status in the Swarm changed; at most one write per interval (docs/status-format.md)',
    durationMs,
    '5s',
  ),
  'token-file': withDefault('FILE', "the proxies' bearer token", (raw) => raw, proxyToken),

  // status, suspend
  url: optional('URL', "the controller's HTTP address (http://HOST:8090)"),
  reason: optional('TEXT', 'why, shown in status'),

  // proxy
  'http-bind': withDefault('ADDR', "HAProxy's HTTP listener", (raw) => raw, '0.0.0.0:80'),
  'https-bind': withDefault('ADDR', 'where HTTPS is served while a route has tls', (raw) => raw, '0.0.0.0:443'),
  control: withDefault(
    'ADDR',
    'the control API: PUT /v1/table, GET /v1/status, GET /healthz',
    (raw) => raw,
    '0.0.0.0:8091',
  ),
  'secrets-dir': withDefault('DIR', "where TLS routes' certificate secrets are mounted", (raw) => raw, '/run/secrets'),
  'state-dir': withDefault('DIR', 'haproxy.cfg and the HAProxy sockets', (raw) => raw, '/run/swarm-controller-proxy'),
  haproxy: withDefault('PATH', 'the HAProxy binary', (raw) => raw, '/usr/sbin/haproxy'),

  // import compose
  namespace: checked('NAME', 'namespace of every manifest', namespaceName, {
    defaultText: 'the compose project name: the top-level "name:", else the first file\'s directory, lower-cased',
  }),
  out: optional('DIR', 'where to write; must be new, empty, or an earlier import', { defaultText: './NAMESPACE' }),
} satisfies Record<string, Flag>;

export type FlagName = keyof typeof flagTable;

type ValueOf<F> = F extends SwitchFlag
  ? boolean
  : F extends ListFlag
    ? string[]
    : F extends ValueFlag<infer T>
      ? T
      : never;

/** The value of every flag: given, or its default. */
export type FlagValues = { -readonly [K in FlagName]: ValueOf<(typeof flagTable)[K]> };

export const flagNames = Object.keys(flagTable) as FlagName[];

export function flagSpec(name: FlagName): Flag {
  return flagTable[name];
}

/** The flag a short letter stands for. */
export function flagOfShort(letter: string): FlagName | undefined {
  return flagNames.find((n) => flagSpec(n).short === letter);
}

/** Pairs that cannot be given together, with the docker CLI's words where it has the same rule. */
export const conflictingFlags: readonly { flags: readonly [FlagName, FlagName]; message: string }[] = [
  { flags: ['host', 'context'], message: 'conflicting options: either specify --host or --context, not both' },
];

/** Every flag's value when none is given. */
export function initialValues(env: Env): FlagValues {
  const values: Record<string, unknown> = {};
  for (const name of flagNames) {
    const spec = flagSpec(name);
    values[name] = spec.kind === 'switch' ? false : spec.kind === 'list' ? [] : spec.initial(env);
  }
  return values as FlagValues;
}

/** `--timeout DURATION`, `-f, --filename PATH`: how help writes a flag. */
export function flagSynopsis(name: FlagName): string {
  const spec = flagSpec(name);
  const long = `--${name}${spec.kind === 'switch' ? '' : ` ${spec.value}`}`;
  return spec.short ? `-${spec.short}, ${long}` : `    ${long}`;
}

/** For messages: "run" or "plan, apply and bootstrap". */
export const proseList = (items: readonly string[]) => orList(items, 'and');
