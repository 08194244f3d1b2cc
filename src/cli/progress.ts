/**
 * Apply progress: a line per finished action with its duration, and per service that
 * converged or failed, as text on stdout or as pino JSON records on stderr.
 */
import { refLabel } from '../api/object-ref.js';
import type { CallCounts } from '../api/swarm-access.js';
import type { ConvergenceResult } from '../apply/convergence.js';
import type { ApplyReporter, ChangeOutcome } from '../apply/execute-plan.js';
import type { Change } from '../plan/plan.js';
import { formatDiagnostic, type Diagnostic } from '../errors.js';
import type { Logger } from '../log.js'; // type only: pino loads only for --log-format json

export interface ApplySummary {
  changes: number;
  failed: number;
  notConverged: number;
  /** Engine calls made by the whole command, when known. */
  calls?: CallCounts;
}

export interface Progress extends ApplyReporter {
  line(text: string): void;
  /** Which engine the command talks to and how it was chosen. */
  engine(description: string): void;
  /** A problem found before applying (an image the registry would not pin, say). */
  diagnostic(d: Diagnostic): void;
  converged(r: ConvergenceResult): void;
  /** The end of an apply: a record in JSON logs (text output already said it in words). */
  summary(s: ApplySummary): void;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
const label = (c: Change) =>
  refLabel({ kind: c.kind, name: c.name, ...(c.namespace ? { namespace: c.namespace } : {}) });

export function textProgress(write: (s: string) => void): Progress {
  return {
    line: (text) => write(text + '\n'),
    engine: (description) => write(`Engine: ${description}\n`),
    diagnostic: (d) => write(formatDiagnostic(d) + '\n'),
    retrying: (c, attempt, error, delay) =>
      write(`  ... ${label(c)}: attempt ${attempt} failed (${error.message}); retrying in ${seconds(delay)}\n`),
    finished: (o: ChangeOutcome) => {
      const mark = o.status === 'succeeded' ? 'ok  ' : o.status === 'failed' ? 'FAIL' : 'skip';
      const attempts = o.attempts > 1 ? `, ${o.attempts} attempts` : '';
      write(`  ${mark} ${o.change.action} ${label(o.change)}: ${o.detail} (${seconds(o.durationMs)}${attempts})\n`);
    },
    converged: (r) => {
      const mark = r.status === 'converged' ? 'ok  ' : 'FAIL';
      write(
        `  ${mark} ${r.swarmName}: ${r.status === 'converged' ? 'converged, ' : ''}${r.detail} (${seconds(r.durationMs)})\n`,
      );
    },
    summary: () => {},
  };
}

export function jsonProgress(log: Logger): Progress {
  return {
    line: (text) => log.info({ event: 'message' }, text),
    engine: (description) => log.info({ event: 'engine', engine: description }, `engine: ${description}`),
    diagnostic: (d) => log[d.severity === 'error' ? 'error' : 'warn']({ event: 'diagnostic', ...d }, d.message),
    started: (c, attempt) =>
      log.info({ event: 'action.started', id: c.id, action: c.action, attempt }, `${c.action} ${c.id}`),
    retrying: (c, attempt, error, delayMs) =>
      log.warn(
        { event: 'action.retry', id: c.id, action: c.action, attempt, delayMs, error: error.message },
        `retrying ${c.id}`,
      ),
    finished: (o) => {
      const level = o.status === 'succeeded' ? 'info' : 'error';
      log[level](
        {
          event: 'action.finished',
          id: o.change.id,
          action: o.change.action,
          status: o.status,
          detail: o.detail,
          attempts: o.attempts,
          durationMs: o.durationMs,
        },
        `${o.change.action} ${o.change.id}: ${o.status}`,
      );
    },
    converged: (r) => {
      const level = r.status === 'converged' ? 'info' : 'error';
      log[level](
        {
          event: 'service.converge',
          id: r.id,
          service: r.swarmName,
          status: r.status,
          detail: r.detail,
          running: r.running,
          desired: r.desired,
          durationMs: r.durationMs,
        },
        `${r.swarmName}: ${r.status}`,
      );
    },
    summary: (s) => {
      const ok = s.failed === 0 && s.notConverged === 0;
      log[ok ? 'info' : 'error'](
        {
          event: 'apply.summary',
          changes: s.changes,
          failed: s.failed,
          notConverged: s.notConverged,
          engineReads: s.calls?.reads,
          engineWrites: s.calls?.writes,
        },
        ok ? 'apply complete' : 'apply failed',
      );
    },
  };
}
