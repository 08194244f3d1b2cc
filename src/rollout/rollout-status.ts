/**
 * A rollout as the status documents and the dashboard show it (RolloutStatusEntry, status
 * format v1): the record's state with 1-based steps and ISO times, and the leader's last
 * judgement of the current step reduced to what a person compares (requests, error rate, p50,
 * p99 of canary and stable, the verdict; the stable version's baseline and its drift from it). Pure.
 */
import type { RolloutStatusEntry, RolloutWindowEntry } from '../status/format.js';
import { driftText, type WindowSummary } from './analysis.js';
import type { RolloutView } from './rollout-controller.js';
import { isActive } from './rollout-record.js';

const side = (w: WindowSummary): RolloutWindowEntry => ({
  requests: w.requests,
  errorRate: w.errorRate,
  p50Ms: w.p50Ms,
  p99Ms: w.p99Ms,
});

export function rolloutStatusEntry(v: RolloutView): RolloutStatusEntry {
  return {
    service: v.service,
    canary: v.canary,
    route: v.route,
    strategy: v.strategy,
    phase: v.phase,
    step: Math.min(v.step + 1, v.steps.length),
    steps: v.steps.length,
    weight: v.canaryWeight,
    revision: v.revision,
    reason: v.reason,
    startedAt: new Date(v.startedAt).toISOString(),
    updatedAt: new Date(v.updatedAt).toISOString(),
    ...(v.request ? { request: v.request as 'promote' | 'abort' } : {}),
    ...(v.analysis && isActive(v)
      ? {
          judgement: {
            verdict: v.analysis.verdict,
            reason: v.analysis.reason,
            canary: side(v.analysis.canary),
            stable: side(v.analysis.stable),
            ...(v.analysis.baseline ? { baseline: side(v.analysis.baseline) } : {}),
            ...(driftText(v.analysis.checks) ? { drift: driftText(v.analysis.checks) } : {}),
          },
        }
      : {}),
  };
}
