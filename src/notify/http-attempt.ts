/**
 * One HTTP attempt of a delivery: POST a body with node:http(s), abandon it when the injected
 * clock says the timeout passed, and classify the answer: delivered (2xx), retry (no answer,
 * timeout, 408, 429, 5xx; with Retry-After when the receiver gave one), or rejected (any other
 * status: a bad token or a wrong repository does not get better by asking again). Reads at most
 * 16 KiB of the answer. Knows nothing about receivers or secrets; callers scrub what it returns.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { http } from '../node-http.js';
import { request as httpsRequest } from 'node:https';
import type { Clock } from '../queue/clock.js';

export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type AttemptResult =
  | { outcome: 'delivered'; status: number; body: string }
  | { outcome: 'retry'; status?: number; error: string; retryAfterMs?: number }
  | { outcome: 'rejected'; status: number; error: string; body: string };

const maxBody = 16 * 1024;

export async function attempt(
  req: HttpRequest,
  timeoutMs: number,
  clock: Clock,
  cancel?: AbortSignal,
): Promise<AttemptResult> {
  const abort = new AbortController();
  let timedOut = false;
  if (cancel?.aborted) return { outcome: 'retry', error: 'cancelled' };
  cancel?.addEventListener('abort', () => abort.abort(), { once: true });
  const timer = clock.sleep(timeoutMs).then(() => {
    timedOut = true;
    abort.abort();
  });
  void timer;
  try {
    const res = await post(req, abort.signal);
    return classify(res, clock);
  } catch (err) {
    if (timedOut) return { outcome: 'retry', error: `no answer within ${timeoutMs} ms` };
    if (cancel?.aborted) return { outcome: 'retry', error: 'cancelled: the notifier is stopping' };
    return { outcome: 'retry', error: describeError(err) };
  } finally {
    abort.abort();
  }
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function post(req: HttpRequest, signal: AbortSignal): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.url);
    const send = url.protocol === 'https:' ? httpsRequest : http.request;
    const body = Buffer.from(req.body, 'utf8');
    const r = send(
      url,
      {
        method: 'POST',
        headers: { ...req.headers, 'Content-Length': String(body.length) },
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < maxBody) chunks.push(c.subarray(0, maxBody - size));
          size += c.length;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

function classify(res: RawResponse, clock: Clock): AttemptResult {
  const { status, body } = res;
  if (status >= 200 && status < 300) return { outcome: 'delivered', status, body };
  const excerpt = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  const error = `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = retryAfter(res.headers['retry-after'], clock.now());
    return { outcome: 'retry', status, error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  return { outcome: 'rejected', status, error, body };
}

/** Retry-After as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function retryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}
