/**
 * The commands of `controller`, as data: what each is for, its arguments, and its flags in
 * titled sections (shared groups such as the engine connection and the manifests, and its own).
 * Parsing (parse-argv.ts), each command's --help and the global usage (help-text.ts) are
 * derived from this table, as shell completion will be. Adding a command is an entry here and
 * a handler in main.ts (the compiler asks for it). Imports no command code.
 */
import type { FlagName } from './flag-table.js';

/** Where `controller run` reads the age key by default: the Swarm secret sops-age-key. */
export const runAgeKeyFile = '/run/secrets/sops-age-key';

export interface FlagSection {
  title: string;
  flags: readonly FlagName[];
}

export interface Positional {
  /** The placeholder in help: NAMESPACE/NAME, FILE. */
  name: string;
  /** The values allowed (a sub-command word such as `compose`). */
  choices?: readonly string[];
  /** Takes every remaining argument. */
  variadic?: boolean;
  /** What to say when it is missing; absent: optional. */
  missing?: string;
}

export interface CommandSpec {
  /** One line in the global usage. */
  summary: string;
  /** `controller plan -f PATH... [options]` */
  synopsis: string;
  /** A paragraph for the command's own help. */
  description?: string;
  positionals: readonly Positional[];
  sections: readonly FlagSection[];
  /** Wording of a shared flag that differs for this command. */
  flagHelp?: Partial<Record<FlagName, { help?: string; defaultText?: string }>>;
  /** The values of a flag this command accepts, when fewer than the flag's own (`-o`). */
  choices?: Partial<Record<FlagName, readonly string[]>>;
}

/** -o of the commands that print a plan or a result: text or json. */
const textOrJson = { output: ['text', 'json'] } as const;

const connection: FlagSection = { title: 'Engine connection', flags: ['host', 'context'] };
const variables = ['var', 'var-file', 'secret-var-file'] as const;
const manifests: FlagSection = { title: 'Manifests', flags: ['filename', 'age-key-file', ...variables, 'set'] };
const planning: FlagSection = {
  title: 'Planning',
  flags: [
    'output',
    'prune',
    'max-deletions',
    'force',
    'allow-replace',
    'adopt',
    'mask-env',
    'resolve-image',
    'no-color',
  ],
};
const applying: FlagSection = { title: 'Applying', flags: ['wait', 'timeout', 'concurrency', 'log-format'] };
const sourceSet = { defaultText: "the source path's last element: repo.git#main:prod -> prod" };
const gitCredentials: FlagSection = {
  title: 'Private repositories (docs/run.md)',
  flags: ['ssh-key-file', 'ssh-known-hosts-file', 'git-token-file', 'git-username'],
};

export const commandTable = {
  validate: {
    summary: 'check manifests; exit 1 on any problem',
    synopsis: 'controller validate -f PATH... [options]',
    description: 'Reads and checks the manifests without an engine. Exit 0 valid, 1 any problem.',
    positionals: [],
    sections: [{ title: 'Options', flags: ['filename', 'age-key-file', ...variables, 'output'] }],
    flagHelp: { output: { help: 'text, or json: the result and every problem as JSON on stdout' } },
    choices: textOrJson,
  },
  plan: {
    summary: 'show what would change; exit 0 none, 2 changes, 1 error',
    synopsis: 'controller plan -f PATH... [options]',
    description:
      'Reads the manifests and the Swarm and shows the changes an apply would make; writes nothing.\n' +
      'Exit 0 no changes, 2 changes, 1 an error or a blocker. "controller --dry-run -f PATH..." and\n' +
      '"controller apply --dry-run" are the same.',
    positionals: [],
    sections: [manifests, planning, connection],
    choices: textOrJson,
  },
  apply: {
    summary: 'make the Swarm match the manifests',
    synopsis: 'controller apply -f PATH... [options]',
    description:
      'Plans as "controller plan" does, then makes the changes. Exit 0 when everything was applied\n' +
      '(and, with --wait, converged), 1 otherwise; nothing is written when the plan has a blocker.',
    positionals: [],
    sections: [manifests, { ...planning, flags: ['dry-run', ...planning.flags] }, applying, connection],
    choices: textOrJson,
  },
  import: {
    summary: 'compose/stack files, or a running stack, to manifests (docs/compose.md)',
    synopsis: 'controller import compose FILE... [options] | controller import stack NAME [options]',
    description:
      'compose: converts compose/stack files (merged in order, like docker stack deploy -c A -c B) to manifests.\n' +
      'stack: reads a stack running in the Swarm (docker stack deploy NAME) and writes its manifests, for\n' +
      'stacks whose files are lost; `apply --adopt` then takes it over without restarting anything.\n' +
      'Warnings (what the manifests cannot express) go to stderr; exit 1 on any error, nothing written.',
    positionals: [
      {
        name: 'compose|stack',
        choices: ['compose', 'stack'],
        missing:
          'import needs what to import: write "controller import compose FILE..." or "controller import stack NAME"',
      },
      {
        name: 'FILE...|NAME',
        variadic: true,
        missing:
          'import compose needs at least one compose file, e.g. "controller import compose docker-compose.yml"; import stack needs the stack name, e.g. "controller import stack shop"',
      },
    ],
    sections: [{ title: 'Options', flags: ['namespace', 'out'] }, connection],
  },
  run: {
    summary: 'follow a git repository or directory and keep the Swarm in sync',
    synopsis: 'controller run --source SRC [options]',
    description:
      'Applies every new revision of the source, repairs drift, and serves health, status and metrics\n' +
      'until SIGTERM (docs/run.md). Logs are JSON lines on stderr.',
    positionals: [],
    sections: [
      { title: 'Source', flags: ['source', 'set', 'interval', 'cache-dir'] },
      gitCredentials,
      {
        title: 'Reconciling',
        flags: [
          'resync',
          'drift',
          'no-prune',
          'allow-replace',
          'max-deletions',
          'timeout',
          'concurrency',
          'mask-env',
          'resolve-image',
          'image-check',
        ],
      },
      { title: 'Apps, SOPS, variables (docs/run.md)', flags: ['age-key-file', 'secrets-dir'] },
      { title: 'Notifications (docs/rollouts.md)', flags: ['notifications'] },
      {
        title: 'Serving',
        flags: [
          'listen',
          'webhook-secret-file',
          'dashboard-token-file',
          'lease-duration',
          'identity',
          'status-interval',
        ],
      },
      {
        title: 'Routes',
        flags: ['proxy-service', 'proxy-network', 'proxy-control-port', 'token-file', 'route-poll', 'no-routes'],
      },
      connection,
    ],
    flagHelp: {
      set: sourceSet,
      timeout: { help: 'how long a sync waits for its services to converge' },
      'max-deletions': { help: 'refuse a sync that deletes more than N objects' },
      'age-key-file': {
        help: 'age key file for SOPS-encrypted manifests, read at every new revision; also $SOPS_AGE_KEY(_FILE)',
        defaultText: `${runAgeKeyFile} when it exists (the Swarm secret sops-age-key)`,
      },
      'secrets-dir': { help: "where the Secrets of an App's variablesFrom are mounted" },
    },
  },
  status: {
    summary: 'show what a running controller is doing',
    synopsis: 'controller status [--set NAME] [options]',
    description:
      'Reads the status the leading controller keeps in the Swarm (docs/status-format.md): from any\n' +
      'machine that reaches a manager, no port needed. With --url, reads GET /status of one controller\n' +
      'instead. Exit 1 when the last sync did not succeed, or the status is stale (no leader writes it).',
    positionals: [],
    sections: [{ title: 'Options', flags: ['set', 'url', 'output', 'no-color'] }, connection],
    flagHelp: {
      output: { help: 'text, or json: the status document as stored (with --url: as the controller serves it)' },
      set: { help: 'the apply set or app', defaultText: 'the only one in the Swarm' },
      url: { help: "read this controller's HTTP /status instead of the Swarm", defaultText: 'none: read the Swarm' },
    },
    choices: textOrJson,
  },
  get: {
    summary: 'list apps, objects or routes from the status in the Swarm',
    synopsis: 'controller get [apps|objects|routes] [-o wide|json|yaml] [options]',
    description:
      'Tables of what the leading controllers keep in the Swarm (docs/status-format.md): apps (apply\n' +
      'sets, and apps), the objects they manage with phase and reason, the routes the proxy tier serves.\n' +
      "Needs only a manager's engine API, as docker does.",
    positionals: [{ name: 'apps|objects|routes', choices: ['apps', 'objects', 'routes'] }],
    sections: [{ title: 'Options', flags: ['output', 'set', 'no-color'] }, connection],
    flagHelp: {
      output: { help: 'text (a table, the default), wide (more columns), json or yaml' },
      set: { help: 'only this apply set or app', defaultText: 'all' },
    },
    choices: { output: ['text', 'wide', 'json', 'yaml'] },
  },
  describe: {
    summary: 'one object: its spec, status, recent events and task errors',
    synopsis: 'controller describe KIND NAME [options]',
    description:
      'KIND is service, network, config, secret or route; NAME is namespace/name or the Swarm name.\n' +
      'Shows the live spec in the manifest view (secrets masked), the status the controller keeps\n' +
      "in the Swarm, the engine's recent events about it and, for a service, its tasks and their errors.",
    positionals: [
      {
        name: 'KIND',
        choices: ['service', 'network', 'config', 'secret', 'route'],
        missing: 'describe needs a kind and a name, e.g. "controller describe service shop/web"',
      },
      { name: 'NAME', missing: 'describe needs a name after the kind, e.g. "controller describe service shop/web"' },
    ],
    sections: [{ title: 'Options', flags: ['set', 'mask-env', 'no-color'] }, connection],
    flagHelp: { set: { help: 'look only in this apply set or app', defaultText: 'all' } },
  },
  diff: {
    summary: 'the live spec against the manifests, as a unified diff',
    synopsis: 'controller diff -f PATH... [options]',
    description:
      'For each object in the manifests that the Swarm holds otherwise, a unified diff of the manifest\n' +
      'view: "-" the live object, "+" the manifest. Secret values are masked. Writes nothing; no\n' +
      'registry is asked. Exit 0 no differences, 2 differences, 1 an error.',
    positionals: [],
    sections: [{ title: 'Options', flags: ['filename', 'age-key-file', 'set', 'mask-env', 'no-color'] }, connection],
  },
  completion: {
    summary: 'print a shell completion script (bash, zsh or fish)',
    synopsis: 'controller completion bash|zsh|fish',
    description:
      'bash:  source <(controller completion bash)\n' +
      'zsh:   source <(controller completion zsh)     (after compinit)\n' +
      'fish:  controller completion fish | source',
    positionals: [
      {
        name: 'SHELL',
        choices: ['bash', 'zsh', 'fish'],
        missing: 'completion needs a shell: controller completion bash, zsh or fish',
      },
    ],
    sections: [],
  },
  dashboard: {
    summary: 'serve the web dashboard from the status in the Swarm',
    synopsis: 'controller dashboard [options]',
    description:
      'Serves the web dashboard (docs/dashboard.md) at /dashboard/ from the status the leaders of\n' +
      '"controller run" write into the Swarm; no port of the controller is needed. Until Ctrl-C.',
    positionals: [],
    sections: [{ title: 'Serving', flags: ['listen', 'dashboard-token-file'] }, connection],
    flagHelp: { listen: { help: 'where to serve the dashboard', defaultText: '127.0.0.1:8090' } },
  },
  sync: {
    summary: 'sync an App now, as a manual sync (passes sync windows with manualSync)',
    synopsis: 'controller sync APPLYSET [options]',
    description:
      "Asks the controller leading the apply set (an App's name unless its spec.applySet says\n" +
      'otherwise) to sync at once, as a manual sync: a sync window with manualSync: true lets it\n' +
      'pass; one without holds it like any other. Acts within a lease round; see controller status.',
    positionals: [{ name: 'APPLYSET', missing: "sync needs the apply set: controller sync APPLYSET (an App's name)" }],
    sections: [connection],
  },
  suspend: {
    summary: 'pause reconciling for an apply set (maintenance)',
    synopsis: 'controller suspend --set NAME [options]',
    description:
      'Every replica of "controller run" for the apply set stops changing the Swarm within a lease\n' +
      'round; health, status, metrics and routes keep being served. Undo with "controller resume".',
    positionals: [],
    sections: [{ title: 'Options', flags: ['set', 'reason'] }, connection],
    flagHelp: { set: { help: 'the apply set to suspend', defaultText: 'default' } },
  },
  resume: {
    summary: 'start reconciling again',
    synopsis: 'controller resume --set NAME [options]',
    positionals: [],
    sections: [{ title: 'Options', flags: ['set'] }, connection],
    flagHelp: { set: { help: 'the apply set to resume', defaultText: 'default' } },
  },
  bootstrap: {
    summary: "install the controller's own manifests from a repository, once",
    synopsis: 'controller bootstrap --repo SRC [options]',
    description:
      'Fetches SRC once and applies it as "controller apply" would, under the apply set\n' +
      '"controller run --source SRC" uses; from then on the controller it installed manages itself.',
    positionals: [],
    sections: [
      { title: 'Source', flags: ['repo', 'set', 'cache-dir'] },
      gitCredentials,
      planning,
      applying,
      connection,
    ],
    flagHelp: { set: sourceSet },
    choices: textOrJson,
  },
  rollback: {
    summary: 'return a service to its previous spec; says what changes',
    synopsis: 'controller rollback NAMESPACE/NAME [options]',
    description: "Returns a managed service to Swarm's previous spec and shows field by field what that changes.",
    positionals: [
      {
        name: 'NAMESPACE/NAME',
        missing: 'rollback needs a service: controller rollback NAMESPACE/NAME (or its Swarm name, NAMESPACE_NAME)',
      },
    ],
    sections: [{ title: 'Options', flags: ['dry-run', 'wait', 'timeout', 'set', 'mask-env'] }, connection],
    flagHelp: {
      'dry-run': { help: 'only say what would change' },
      wait: { help: 'wait until the tasks run the restored spec' },
      timeout: { help: 'how long --wait may take' },
      set: { help: 'refuse unless the service belongs to this apply set', defaultText: 'any' },
    },
  },
  rollout: {
    summary: 'show and steer progressive rollouts (docs/rollouts.md)',
    synopsis: 'controller rollout status|promote|abort [NAMESPACE/NAME] [options]',
    description:
      "status: every rollout recorded in the Swarm (or one service's), with its step, weight and reason.\n" +
      'promote: skip the remaining steps and promote the canary; abort: roll it back now. The leader\n' +
      'acts on the request within its next look (about a second).',
    positionals: [
      {
        name: 'ACTION',
        choices: ['status', 'promote', 'abort'],
        missing: 'rollout needs an action: controller rollout status|promote|abort NAMESPACE/NAME',
      },
      { name: 'NAMESPACE/NAME' },
    ],
    sections: [{ title: 'Options', flags: ['output'] }, connection],
    flagHelp: { output: { help: 'text, or json: the rollout records as stored' } },
  },
  proxy: {
    summary: 'the proxy agent beside HAProxy (docs/proxy.md)',
    synopsis: 'controller proxy [options]',
    description: 'Runs HAProxy and serves the control API the controller pushes route tables to.',
    positionals: [],
    sections: [
      {
        title: 'Options',
        flags: ['http-bind', 'https-bind', 'control', 'token-file', 'secrets-dir', 'state-dir', 'haproxy'],
      },
    ],
    flagHelp: { 'token-file': { help: "the control API's bearer token (required)" } },
  },
  version: {
    summary: 'print the versions of the controller and the engine',
    synopsis: 'controller version [options]',
    positionals: [],
    sections: [connection],
  },
  help: {
    summary: "show a command's options",
    synopsis: 'controller help [COMMAND]',
    description: 'Shows the options of COMMAND (as "controller COMMAND --help" does), or the list of commands.',
    positionals: [{ name: 'COMMAND' }],
    sections: [],
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof commandTable;

export const commandNames = Object.keys(commandTable) as CommandName[];

export function commandSpec(name: CommandName): CommandSpec {
  return commandTable[name];
}

export function isCommand(word: string): word is CommandName {
  return Object.hasOwn(commandTable, word);
}

/** The flags a command takes: those of its sections, and --help. */
export function flagsOf(name: CommandName): ReadonlySet<FlagName> {
  return new Set<FlagName>([...commandSpec(name).sections.flatMap((s) => s.flags), 'help']);
}

/** The flags of `controller` without a command. */
export const globalFlags: ReadonlySet<FlagName> = new Set<FlagName>(['help', 'version', 'dry-run']);

/** The commands that take a flag, in table order. */
export function commandsWithFlag(flag: FlagName): CommandName[] {
  return commandNames.filter((c) => c !== 'help' && flagsOf(c).has(flag));
}
