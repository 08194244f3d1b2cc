/**
 * The controller's side of the proxy agent's control API (src/proxy/control-server.ts):
 * PUT /v1/table, GET /v1/status and GET /v1/stats with the bearer token. Every call has a deadline.
 */
import type { AgentStatus, ApplyResult } from '../proxy/agent.js';
import type { RouteTable } from '../proxy/route-table.js';
import type { TrafficStats } from '../proxy/traffic-counters.js';

export type AgentAnswer<T> = { ok: true; value: T } | { ok: false; status: number; error: string };

export interface AgentClient {
  putTable(address: string, table: RouteTable): Promise<AgentAnswer<ApplyResult>>;
  getStatus(address: string): Promise<AgentAnswer<AgentStatus>>;
}

/** The traffic counters of one proxy replica, for canary analysis (docs/proxy.md, "Traffic statistics"). */
export interface AgentStatsReader {
  getStats(address: string): Promise<AgentAnswer<TrafficStats>>;
}

export class HttpAgentClient implements AgentClient, AgentStatsReader {
  constructor(
    private readonly port: number,
    private readonly token: string,
    private readonly timeoutMs = 5000,
  ) {}

  putTable(address: string, table: RouteTable): Promise<AgentAnswer<ApplyResult>> {
    return this.call<ApplyResult>(address, 'PUT', '/v1/table', JSON.stringify(table));
  }

  getStatus(address: string): Promise<AgentAnswer<AgentStatus>> {
    return this.call<AgentStatus>(address, 'GET', '/v1/status');
  }

  getStats(address: string): Promise<AgentAnswer<TrafficStats>> {
    return this.call<TrafficStats>(address, 'GET', '/v1/stats');
  }

  private async call<T>(address: string, method: string, path: string, body?: string): Promise<AgentAnswer<T>> {
    try {
      const res = await fetch(`http://${address}:${this.port}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return { ok: false, status: res.status, error: `HTTP ${res.status}: not JSON: ${text.slice(0, 200)}` };
      }
      if (res.ok) return { ok: true, value: parsed as T };
      const e = parsed as { error?: string; problems?: string[] };
      return {
        ok: false,
        status: res.status,
        error: `HTTP ${res.status}: ${e.error ?? 'error'}${e.problems?.length ? `: ${e.problems.slice(0, 5).join('; ')}` : ''}`,
      };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      return {
        ok: false,
        status: 0,
        error:
          e.name === 'TimeoutError'
            ? `no answer within ${this.timeoutMs} ms`
            : (e.cause?.code ?? e.cause?.message ?? e.message),
      };
    }
  }
}
