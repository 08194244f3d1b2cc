/**
 * What a rollout does after a look at its current step: wait, move to the next step, promote or
 * roll back. Pure: the state, the judge's verdict on the step's traffic so far, the time and a
 * request from `controller rollout promote|abort` in; a decision out.
 *  - abort: roll back at once; promote: promote at once (the person takes the decision);
 *  - the judge says fail: roll back at once, whatever the hold time (strong evidence does not wait);
 *  - the hold time has not passed: wait;
 *  - pass: the next step, or promotion after the last;
 *  - inconclusive past the hold: hold the step longer, up to maxExtension, then roll back
 *    (a version that could not show it is good is not promoted).
 */
import type { StepAnalysis } from './analysis.js';
import type { RolloutRequest, RolloutState } from './rollout-record.js';

export type StepDecision =
  | { action: 'wait'; reason: string }
  | { action: 'next'; reason: string }
  | { action: 'promote'; reason: string }
  | { action: 'rollback'; reason: string };

export function stepLabel(s: Pick<RolloutState, 'step' | 'steps' | 'matching'>): string {
  const st = s.steps[Math.min(s.step, s.steps.length - 1)];
  const w = st?.weight ?? 0;
  // With header or cookie matching: "(match only)" for a step of weight 0, "(5% + match)" after.
  const share = s.matching ? (w ? `${w}% + match` : 'match only') : `${w}%`;
  return `step ${Math.min(s.step + 1, s.steps.length)}/${s.steps.length} (${share})`;
}

export function decideStep(
  s: Pick<RolloutState, 'step' | 'steps' | 'stepStartedAt'>,
  maxExtensionMs: number,
  analysis: StepAnalysis | undefined,
  now: number,
  request: RolloutRequest,
): StepDecision {
  const label = stepLabel(s);
  if (request === 'abort') return { action: 'rollback', reason: `aborted with controller rollout abort at ${label}` };
  if (request === 'promote')
    return { action: 'promote', reason: `promoted with controller rollout promote at ${label}` };
  if (!analysis) return { action: 'wait', reason: `${label}: waiting for the first traffic window` };
  if (analysis.verdict === 'fail') return { action: 'rollback', reason: `${label} failed: ${analysis.reason}` };
  const held = now - s.stepStartedAt;
  const hold = s.steps[s.step].holdMs;
  if (held < hold)
    return {
      action: 'wait',
      reason: `${label}: ${analysis.verdict} so far (${analysis.reason}); held ${secs(held)} of ${secs(hold)}`,
    };
  if (analysis.verdict === 'pass')
    return s.step + 1 >= s.steps.length
      ? { action: 'promote', reason: `every step passed; ${label}: ${analysis.reason}` }
      : { action: 'next', reason: `${label} passed: ${analysis.reason}` };
  if (held >= hold + maxExtensionMs)
    return {
      action: 'rollback',
      reason: `${label} could not show the canary is good within ${secs(hold + maxExtensionMs)}: ${analysis.reason}`,
    };
  return {
    action: 'wait',
    reason: `${label}: inconclusive past its hold, held longer (up to ${secs(hold + maxExtensionMs)}): ${analysis.reason}`,
  };
}

function secs(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}
