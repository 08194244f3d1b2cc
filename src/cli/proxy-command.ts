/**
 * `controller proxy`: the agent beside HAProxy in the proxy image. Checks its options, starts
 * HAProxy with the empty table (everything 404), serves the control API, and on SIGTERM or
 * SIGINT stops HAProxy and exits 0. Must not import src/swarm/ (the proxy never talks to the engine).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TerminalError } from '../errors.js';
import { createLogger } from '../log.js';
import { ProxyAgent } from '../proxy/agent.js';
import { startControlServer } from '../proxy/control-server.js';
import { HaproxyProcess } from '../proxy/haproxy-process.js';
import type { CliOptions } from './args.js';

/** "0.0.0.0:8091" -> host and port; ":80" -> 0.0.0.0. */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535)
    throw new TerminalError('SC9001', `${flag} ${JSON.stringify(value)} must be HOST:PORT, like 0.0.0.0:8091`);
  return { host: m[1] || '0.0.0.0', port };
}

/** The TLS options of `controller proxy` and their defaults (absent: the default). */
export interface ProxyTlsOptions {
  /** --https-bind: HAProxy's TLS listener, bound while at least one route has tls. */
  proxyHttpsBind?: string;
  /** --secrets-dir: where a TLS route's secret is the file <dir>/<secret> (Swarm mounts secrets there). */
  proxySecretsDir?: string;
}

export const proxyTlsDefaults = { httpsBind: '0.0.0.0:443', secretsDir: '/run/secrets' } as const;

export interface ProxySettings {
  control: { host: string; port: number };
  httpBind: string;
  httpsBind: string;
  stateDir: string;
  secretsDir: string;
}

/** An absolute directory that can stand in haproxy.cfg and a crt-list unquoted. */
function configDir(flag: string, value: string): string {
  const dir = resolve(value);
  if (/[\s"'#\\]/.test(dir))
    throw new TerminalError(
      'SC9001',
      `${flag} ${JSON.stringify(dir)} must be a path without spaces, quotes, "#" or "\\" (it is written into haproxy.cfg)`,
    );
  return dir;
}

/** Checks the proxy's addresses and directories; every problem names its flag. */
export function proxySettings(options: CliOptions & ProxyTlsOptions): ProxySettings {
  const control = parseHostPort('--control', options.proxyControl);
  const http = parseHostPort('--http-bind', options.proxyHttpBind);
  const httpsBind = options.proxyHttpsBind ?? proxyTlsDefaults.httpsBind;
  const https = parseHostPort('--https-bind', httpsBind);
  const anyHost = (h: string) => h === '0.0.0.0' || h === '*';
  if (http.port === https.port && (http.host === https.host || anyHost(http.host) || anyHost(https.host))) {
    throw new TerminalError(
      'SC9001',
      `--https-bind ${httpsBind} and --http-bind ${options.proxyHttpBind} use the same port; give the TLS listener its own port (default 443)`,
    );
  }
  return {
    control,
    httpBind: options.proxyHttpBind,
    httpsBind,
    stateDir: configDir('--state-dir', options.proxyStateDir),
    secretsDir: configDir('--secrets-dir', options.proxySecretsDir ?? proxyTlsDefaults.secretsDir),
  };
}

export function readToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new TerminalError(
      'SC9001',
      `cannot read the proxy token from ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give --token-file with a Swarm secret`,
    );
  }
  if (!token)
    throw new TerminalError(
      'SC9001',
      `the proxy token file ${file} is empty; the control API never runs without a token`,
    );
  return token;
}

export async function proxyCommand(options: CliOptions & ProxyTlsOptions): Promise<number> {
  const token = readToken(options.proxyTokenFile);
  const { control, httpBind, httpsBind, stateDir, secretsDir } = proxySettings(options);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const log = createLogger().child({ component: 'proxy' });
  const haproxy = new HaproxyProcess({ binary: options.proxyHaproxy, stateDir, log });
  const agent = new ProxyAgent({ haproxy, httpBind, httpsBind, stateDir, secretsDir, log });
  try {
    await agent.start();
  } catch (err) {
    await agent.stop().catch(() => undefined);
    throw new TerminalError('SC9001', `haproxy did not start: ${(err as Error).message}`);
  }
  const server = await startControlServer(control.port, control.host, agent, token, log).catch(async (err: Error) => {
    await agent.stop();
    throw new TerminalError('SC9001', `cannot listen on --control ${options.proxyControl}: ${err.message}`);
  });
  log.info(
    { http: httpBind, https: httpsBind, control: options.proxyControl, stateDir, secretsDir, haproxyPid: haproxy.pid },
    'proxy agent ready',
  );
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      server.close();
      server.closeAllConnections();
      agent.stop().then(done, done);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
