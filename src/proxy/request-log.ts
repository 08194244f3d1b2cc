/**
 * The request log HAProxy sends to the agent: the log-format (one line per HTTP request,
 * emitted by whichever worker served it, old or new) and the parser of one line. The agent
 * counts requests, status classes and response times per task from these lines, which is why
 * its counters survive reloads: a stats socket's counters start at zero in each new worker.
 * Pure. Must not import src/swarm/ or do I/O.
 */

/**
 * `sc1 <backend> <server> <server ip>:<server port> <status> <Tr>`: Tr is the time in ms from
 * sending the request to the server to receiving its response headers, -1 without a response.
 * Names in the rendered configuration contain no spaces (`sanitiseName`). "sc1" versions the
 * format; a line that does not start with it is not ours.
 */
export const requestLogTag = 'sc1';
export const requestLogFormat = `${requestLogTag} %b %s %si:%sp %ST %Tr`;

export interface RequestRecord {
  backend: string;
  /** The server slot that answered (or failed last), "<NOSRV>" when none was chosen. */
  server: string;
  /** "ip:port" of that server, undefined for <NOSRV>. */
  address: string | undefined;
  /** The status sent to the client, HAProxy's own (502, 503, 504) included; -1 when none. */
  status: number;
  /** Ms to the server's response headers; undefined when there was no response. */
  responseMs: number | undefined;
}

const intRe = /^-?\d{1,10}$/;

/** One datagram or line; undefined when it is not a request line in our format. */
export function parseRequestLog(line: string): RequestRecord | undefined {
  const f = line.trimEnd().split(' ');
  if (f.length !== 6 || f[0] !== requestLogTag || !intRe.test(f[4]) || !intRe.test(f[5])) return undefined;
  const tr = Number(f[5]);
  return {
    backend: f[1],
    server: f[2],
    address: f[3] === '-:-' ? undefined : f[3],
    status: Number(f[4]),
    responseMs: tr >= 0 ? tr : undefined,
  };
}

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'other';

export const statusClasses: readonly StatusClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'];

export function statusClass(status: number): StatusClass {
  if (status >= 100 && status < 600) return statusClasses[Math.floor(status / 100) - 1];
  return 'other';
}
