/**
 * `controller get apps` (the Apps a running controller keeps in sync, from GET /status) and
 * `controller sync APPLYSET` (a manual sync: stamps the apply set's state record in the Swarm,
 * which the leading replica reads at its next lease round; sync windows with manualSync let it
 * pass). `get` takes only `apps` for now: other kinds are listed by `controller status`.
 */
import type { AppSummary } from '../controller/app-supervisor.js';
import { SuspendRecord } from '../controller/suspend-record.js';
import { TerminalError } from '../errors.js';
import { realClock } from '../queue/clock.js';
import { DockerSwarm } from '../swarm/docker-swarm.js';
import type { CliOptions } from './args.js';
import { announceEngine, engineSelection, type CommandIo } from './commands.js';
import { checkApplySet } from './flag-table.js';
import { hostname, userInfo } from 'node:os';

export async function fetchJson<T>(url: string, path: string): Promise<T> {
  try {
    const res = await fetch(new URL(path, url));
    if (res.status === 404 && path.startsWith('/apps/'))
      throw new TerminalError('SC9001', `the controller at ${url} runs no App "${decodeURIComponent(path.slice(6))}"`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return (await res.json()) as T;
  } catch (err) {
    if (err instanceof TerminalError) throw err;
    throw new TerminalError(
      'SC5001',
      `cannot read the controller's status at ${url}: ${(err as Error).message}; give its address with --url`,
    );
  }
}

export async function getAppsCommand(options: CliOptions, io: CommandIo): Promise<number> {
  const status = await fetchJson<{ apps?: AppSummary[] }>(options.url, '/status');
  const apps = status.apps ?? [];
  if (options.output === 'json') {
    io.out(JSON.stringify(apps, null, 2) + '\n');
  } else {
    io.out(renderApps(apps));
  }
  return 0;
}

/** A table: one line per App. */
export function renderApps(apps: AppSummary[]): string {
  if (apps.length === 0) return 'No apps: the root source declares no App manifests.\n';
  const rows = apps.map((a) => [
    a.name,
    a.ready ? 'True' : 'False',
    a.suspended ? 'suspended' : a.role,
    a.revision?.slice(0, 12) ?? '-',
    a.lastSync ? `${a.lastSync.result} ${a.lastSync.startedAt.replace(/\.\d+Z$/, 'Z')}` : '-',
    a.dependsOn.join(',') || '-',
    a.waiting ?? (a.ready ? '' : a.reason),
  ]);
  const head = ['NAME', 'READY', 'ROLE', 'REVISION', 'LAST SYNC', 'DEPENDS ON', 'MESSAGE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export async function syncCommand(options: CliOptions, io: CommandIo): Promise<number> {
  const target = options.positionals[1];
  if (!target) throw new TerminalError('SC9001', 'sync needs the apply set: controller sync APPLYSET');
  let applySet: string;
  try {
    applySet = checkApplySet(target);
  } catch (err) {
    throw new TerminalError('SC9001', (err as Error).message);
  }
  const swarm = await DockerSwarm.connect(engineSelection(options));
  announceEngine(io, swarm);
  const record = new SuspendRecord({ records: swarm, applySet, clock: realClock });
  const stamp = await record.requestManualSync(`${userInfo().username}@${hostname()}`);
  io.out(
    `manual sync of "${applySet}" requested (${stamp}); the leading controller syncs within a lease round (controller status --app ${applySet})\n`,
  );
  return 0;
}
