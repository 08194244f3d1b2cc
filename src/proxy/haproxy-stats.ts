/**
 * Parses HAProxy's `show stat` CSV (management.txt section 9.1) into server rows: the columns
 * are found by their names in the header line, values quoted with '"' when they hold a comma
 * or a quote. The agent reads from it what the request log cannot give: `wredis`, the attempts
 * that failed on a server and were sent to another (the client never saw them), and what HAProxy
 * thinks of each server: its state (`status`), the last check (`check_status`), which tells a
 * rollout when a new task is ready, and its effective weight.
 * Pure. Must not import src/swarm/ or do I/O.
 */

export interface ServerStatRow {
  backend: string;
  server: string;
  /** "ip:port" as HAProxy shows it. */
  address: string;
  /** wredis: times a request was switched away from this server after a failed attempt. */
  redispatched: number;
  /** HAProxy's state of the server: "UP", "DOWN", "MAINT", "no check", "UP 1/3" (going down), "DOWN 1/2" (going up)... */
  status: string;
  /** The last health check's result: "L7OK", "L4CON", "INI" (none yet)...; "" when the server is not checked. */
  checkStatus: string;
  /** The `weight` column: the server's effective weight (0 while down or in maintenance); absent without the column. */
  weight?: number;
}

/** Splits one CSV line (RFC 4180 quoting, as HAProxy writes it). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Server rows (type 2) of `show stat` output; throws when the header lacks a needed column. */
export function parseServerStats(csv: string): ServerStatRow[] {
  const lines = csv.split('\n');
  const head = lines.findIndex((l) => l.startsWith('# '));
  if (head < 0) throw new Error(`no "# pxname,..." header in show stat output: ${csv.slice(0, 120)}`);
  const names = splitCsvLine(lines[head].slice(2));
  const col = (name: string) => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`show stat has no column ${name}`);
    return i;
  };
  const [px, sv, type, addr, wredis, status] = ['pxname', 'svname', 'type', 'addr', 'wredis', 'status'].map(col);
  const check = names.indexOf('check_status');
  const weight = names.indexOf('weight');
  const rows: ServerStatRow[] = [];
  for (const line of lines.slice(head + 1)) {
    if (!line.trim()) continue;
    const f = splitCsvLine(line);
    if (f[type] !== '2') continue;
    const row: ServerStatRow = {
      backend: f[px],
      server: f[sv],
      address: f[addr],
      redispatched: Number(f[wredis]) || 0,
      status: f[status] ?? '',
      checkStatus: check < 0 ? '' : (f[check] ?? ''),
    };
    if (weight >= 0 && f[weight] !== undefined && f[weight] !== '') row.weight = Number(f[weight]);
    rows.push(row);
  }
  return rows;
}
