/**
 * What a git URL names, read the way git reads it (connect.c: url_is_local_not_ssh,
 * parse_connect_url, get_host_and_port): the transport, and for the network transports the
 * user, host and port. Pure: no I/O.
 *
 *   ssh://[user@]host[:port]/path, git+ssh://, ssh+git://   ssh
 *   [user@]host:path                                          ssh, scp-like (no "/" before the first ":")
 *   [user@host:port]:path, user@[::1]:path                    ssh, scp-like with brackets
 *   https://[user[:pass]@]host[:port]/path, http://          https, http
 *   git://host[:port]/path                                    git (the unauthenticated git daemon)
 *   file:///path                                              file
 *   /path, ./path, C:\path                                    local
 *   <helper>::<address>, other schemes                        other (a remote helper)
 */

export type GitTransport = 'ssh' | 'https' | 'http' | 'git' | 'file' | 'local' | 'other';

export interface GitUrl {
  transport: GitTransport;
  /** The user before "@", for ssh; for http(s) the user of `user:pass@`. */
  user?: string;
  /** Host name or address, without brackets; absent for local and file URLs. */
  host?: string;
  /** The port when the URL names one. */
  port?: number;
  /** The repository path as the server sees it. */
  path: string;
  /** Whether the URL carries a password or token (`https://user:token@host`, `https://token@host`). */
  hasPassword: boolean;
}

const schemeUrl = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is;
const sshSchemes = new Set(['ssh', 'git+ssh', 'ssh+git']);

/**
 * Reads a git URL. Throws an Error (with the reason) only for a port of digits out of the
 * range 1 to 65535, which git would pass on to ssh as part of the host name.
 */
export function parseGitUrl(url: string): GitUrl {
  const scheme = schemeUrl.exec(url);
  if (scheme) return parseSchemeUrl(scheme[1].toLowerCase(), scheme[2]);
  if (/^[A-Za-z0-9][A-Za-z0-9+.-]*::/.test(url)) return { transport: 'other', path: url, hasPassword: false };
  if (isLocalPath(url)) return { transport: 'local', path: url, hasPassword: false };
  return parseScpLike(url);
}

/** git's url_is_local_not_ssh (on Linux): no ":" at all, or a "/" before the first ":". */
function isLocalPath(url: string): boolean {
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  return colon < 0 || (slash >= 0 && slash < colon);
}

function parseSchemeUrl(scheme: string, rest: string): GitUrl {
  if (scheme === 'file') return { transport: 'file', path: rest.replace(/^[^/]*/, ''), hasPassword: false };
  const transport: GitTransport = sshSchemes.has(scheme)
    ? 'ssh'
    : scheme === 'https' || scheme === 'http' || scheme === 'git'
      ? scheme
      : 'other';
  const slash = slashAfterHost(rest);
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  const a = parseAuthority(authority);
  // For http(s) a lone userinfo is as good as a password (https://ghp_xxx@github.com/...).
  const hasPassword = a.password || (a.userinfo && (transport === 'https' || transport === 'http'));
  return withAuthority({ transport, path, hasPassword }, a);
}

/** The first "/" after the host, skipping an IPv6 address in brackets. */
function slashAfterHost(rest: string): number {
  const open = rest.indexOf('[');
  const slash = rest.indexOf('/');
  if (open >= 0 && (slash < 0 || open < slash)) {
    const close = rest.indexOf(']', open);
    if (close > 0) return rest.indexOf('/', close);
  }
  return slash;
}

/** `[user@]host:path`, `[user@host:port]:path`, `user@[::1]:path`: the path starts after the ":" that follows the host. */
function parseScpLike(url: string): GitUrl {
  const at = url.indexOf('@[');
  const open = at >= 0 ? at + 1 : url.startsWith('[') ? 0 : -1;
  const close = open >= 0 ? url.indexOf(']', open) : -1;
  const colon = url.indexOf(':', close >= 0 ? close : 0);
  const a = parseAuthority(url.slice(0, colon));
  return withAuthority({ transport: 'ssh', path: url.slice(colon + 1), hasPassword: false }, a);
}

interface Authority {
  user?: string;
  host: string;
  port?: number;
  userinfo: boolean;
  password: boolean;
}

/**
 * `user[:password]@host:port`, `[user@host:port]`, `user@[v6]:port`, as git's host_end and
 * get_host_and_port read them: brackets are removed; the port is what follows the first ":"
 * when that is all digits ("::1" has none); a ":" with nothing after it is dropped.
 */
function parseAuthority(text: string): Authority {
  let inner = text;
  let after = '';
  const at = text.indexOf('@[');
  const open = at >= 0 ? at + 1 : text.startsWith('[') ? 0 : -1;
  if (open >= 0) {
    const close = text.indexOf(']', open);
    if (close > 0) {
      inner = text.slice(0, open) + text.slice(open + 1, close);
      after = text.slice(close + 1);
    }
  }
  let userinfo: string | undefined;
  const atSign = inner.lastIndexOf('@');
  if (atSign >= 0) {
    userinfo = inner.slice(0, atSign);
    inner = inner.slice(atSign + 1);
  }
  let host = inner;
  let portText: string | undefined;
  if (after) {
    if (after.startsWith(':') && after.length > 1) portText = after.slice(1);
  } else {
    const colon = inner.indexOf(':');
    if (colon >= 0) {
      const rest = inner.slice(colon + 1);
      if (rest === '') host = inner.slice(0, colon);
      else if (/^\d+$/.test(rest)) {
        host = inner.slice(0, colon);
        portText = rest;
      }
    }
  }
  const colon = userinfo?.indexOf(':') ?? -1;
  const user = userinfo === undefined ? undefined : decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  return {
    ...(user ? { user } : {}),
    host,
    ...(portText !== undefined ? { port: portNumber(portText) } : {}),
    userinfo: userinfo !== undefined,
    password: colon >= 0,
  };
}

function withAuthority(base: Omit<GitUrl, 'user' | 'host' | 'port'>, a: Authority): GitUrl {
  return {
    transport: base.transport,
    ...(a.user ? { user: a.user } : {}),
    ...(a.host ? { host: a.host } : {}),
    ...(a.port !== undefined ? { port: a.port } : {}),
    path: base.path,
    hasPassword: base.hasPassword,
  };
}

function portNumber(text: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535)
    throw new Error(`port ${JSON.stringify(text)} is not a number from 1 to 65535`);
  return n;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** How ssh names a host in known_hosts: `host`, or `[host]:port` for another port than 22. */
export function knownHostsName(host: string, port: number | undefined): string {
  return port === undefined || port === 22 ? host : `[${host}]:${port}`;
}

/** True for names of the loopback interface (where a token may travel over plain http). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
