/**
 * `controller dashboard`: the web dashboard from any machine that reaches a manager. Reads the
 * status documents the leaders of `controller run` write into the Swarm (src/status/reader.ts),
 * every 2 s while a page is open, and serves /dashboard/ on --listen (default 127.0.0.1:8090: a
 * laptop's dashboard is not offered to the network unless asked). Its actions go through the
 * Swarm like the CLI's: sync now stamps the apply set's state record, which its leader reads at
 * its next lease round (as a standby forwards a webhook); suspend and resume set the suspend
 * flag, as `controller suspend` and `controller resume` do. Runs until SIGINT or SIGTERM.
 */
import { http } from '../node-http.js';
import { hostname } from 'node:os';
import { SuspendRecord } from '../controller/suspend-record.js';
import { swarmDashboardState } from '../dashboard/from-swarm.js';
import { readDashboardToken, setSuspended } from '../dashboard/run-dashboard.js';
import { dashboardHandler } from '../dashboard/server.js';
import { TerminalError } from '../errors.js';
import { createLogger } from '../log.js';
import { realClock } from '../queue/clock.js';
import { isAppStatus, readStatuses } from '../status/reader.js';
import { DockerSwarm } from '../swarm/docker-swarm.js';
import type { CliOptions } from './args.js';
import { announceEngine, engineSelection, type CommandIo } from './commands.js';

export const dashboardDefaultListen = '127.0.0.1:8090';

export async function dashboardCommand(options: CliOptions, io: CommandIo): Promise<number> {
  const swarm = await DockerSwarm.connect(engineSelection(options));
  announceEngine(io, swarm);
  let token: string;
  try {
    token = readDashboardToken(options.dashboardTokenFile);
  } catch (err) {
    throw new TerminalError('SC9001', `${(err as Error).message}: put the dashboard token in it`);
  }
  const log = createLogger();
  const identity = `dashboard@${hostname()}`;
  const handler = dashboardHandler({
    token,
    pollMs: 2000,
    clock: realClock,
    state: async () =>
      swarmDashboardState(await readStatuses(swarm), { server: identity, actions: token !== '', now: Date.now() }),
    act: async (action, set) => {
      const app = (await readStatuses(swarm)).statuses.filter(isAppStatus).find((s) => s.document.applySet === set);
      if (!app) throw new Error(`no apply set "${set}" has written its status into this Swarm`);
      const record = new SuspendRecord({ records: swarm, applySet: set, clock: realClock });
      if (action === 'sync') {
        if (!(await record.requestSync(identity, app.document.leader, log)))
          throw new Error(`could not ask the leader of "${set}" to sync; it syncs at its next poll`);
        return `sync of "${set}" requested: its leader syncs within a lease round`;
      }
      return setSuspended(record, set, action);
    },
  });
  const listen = options.listenGiven ? options.listen : dashboardDefaultListen;
  const m = /^(?:(.*):)?(\d+)$/.exec(listen)!;
  const host = m[1] || '0.0.0.0';
  const server = http.createServer((req, res) => {
    handler
      .handle(req, res)
      .then((done) => {
        if (!done) {
          res.writeHead(302, { location: '/dashboard/' });
          res.end();
        }
      })
      .catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${err.message}\n`);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new TerminalError('SC9001', `cannot listen on ${listen}: ${err.message}; choose another with --listen`)),
    );
    server.listen(Number(m[2]), host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  io.out(
    `Dashboard on http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/dashboard/ (${token ? 'actions need the token' : 'read-only'}); Ctrl-C stops it\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  handler.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  return 0;
}
