/**
 * A bounded HTTP load generator for tests and benchmarks. Every request opens its own
 * connection (no keep-alive), so a proxy reload is seen exactly as a new client would see
 * it. Sends only to the URL given (loopback in every caller). Counts answers by status and
 * by the task that served them (the test app's JSON `task`), and socket errors by message.
 */
import http from 'node:http';

export interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** The `task` field of the test app's JSON answer, if any. */
  task?: string;
  /** Its `version` field (APP_VERSION), if any. */
  version?: string;
}

export function request(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { agent: false, headers: { connection: 'close', ...headers }, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          let task: string | undefined;
          let version: string | undefined;
          try {
            ({ task, version } = JSON.parse(body) as { task?: string; version?: string });
          } catch {
            /* not the test app */
          }
          resolve({
            status: res.statusCode ?? 0,
            body,
            headers: res.headers,
            ...(task ? { task } : {}),
            ...(version ? { version } : {}),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface LoadResult {
  sent: number;
  ok: number;
  /** status -> count, for answers other than 2xx. */
  non2xx: Record<string, number>;
  /** error message -> count. */
  errors: Record<string, number>;
  byTask: Record<string, number>;
  /** Answers by the test app's version (APP_VERSION). */
  byVersion: Record<string, number>;
  /** Examples of bad answers, for the failure message. */
  samples: string[];
  latenciesMs: number[];
}

export interface LoadControl {
  /** Resolves when the load has stopped. */
  done: Promise<LoadResult>;
  /** Stop after the requests in flight (the total is still a bound). */
  stop(): void;
  /** Counts so far. */
  progress(): { sent: number; ok: number };
}

/** Sends up to `total` requests with `concurrency` in flight, until done or stopped. */
export function startLoad(
  url: string,
  o: { total: number; concurrency: number; headers?: Record<string, string> },
): LoadControl {
  const r: LoadResult = {
    sent: 0,
    ok: 0,
    non2xx: {},
    errors: {},
    byTask: {},
    byVersion: {},
    samples: [],
    latenciesMs: [],
  };
  let stopped = false;
  const worker = async () => {
    while (!stopped && r.sent < o.total) {
      r.sent++;
      const t = performance.now();
      try {
        const a = await request(url, o.headers);
        r.latenciesMs.push(performance.now() - t);
        if (a.status >= 200 && a.status < 300) r.ok++;
        else {
          r.non2xx[a.status] = (r.non2xx[a.status] ?? 0) + 1;
          if (r.samples.length < 5) r.samples.push(`${a.status} ${a.body.slice(0, 200)}`);
        }
        if (a.task) r.byTask[a.task] = (r.byTask[a.task] ?? 0) + 1;
        if (a.version) r.byVersion[a.version] = (r.byVersion[a.version] ?? 0) + 1;
      } catch (err) {
        const m = (err as Error).message;
        r.errors[m] = (r.errors[m] ?? 0) + 1;
        if (r.samples.length < 5) r.samples.push(m);
      }
    }
  };
  const done = Promise.all(Array.from({ length: o.concurrency }, worker)).then(() => r);
  return {
    done,
    stop: () => {
      stopped = true;
    },
    progress: () => ({ sent: r.sent, ok: r.ok }),
  };
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
