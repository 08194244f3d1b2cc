/**
 * Turns the end of a progressive rollout into a notification event (src/notify/): promoted,
 * rolled back (a failed check, a canary that did not start, Swarm rolling the stable service
 * back) or aborted (`controller rollout abort`). The steps in between are routine and only
 * logged. The rollout controller tells each transition once, from the replica whose write of it
 * succeeded, so a new leader does not send it again; the notifier's dedup key (app, revision,
 * service) keeps it to one message within a process too. Pure; imports only types.
 */
import type { NotificationEvent } from '../notify/events.js';
import type { RolloutEvent } from './rollout-controller.js';

const typeOf = {
  'rollout-promoted': 'rollout-promoted',
  'rollout-rolled-back': 'rollout-rolled-back',
  'rollout-aborted': 'rollout-aborted',
} as const;

/**
 * The notification for a rollout event, or undefined for the ones that send none (started, step).
 * `git`: the revision is a commit (the source is git), so receivers that want one get it.
 */
export function rolloutNotice(e: RolloutEvent, git: boolean): NotificationEvent | undefined {
  if (!(e.type in typeOf)) return undefined;
  const type = typeOf[e.type as keyof typeof typeOf];
  const step = Math.min(e.step + 1, e.steps);
  return {
    type,
    at: e.at,
    app: e.applySet,
    ...(e.revision ? { revision: e.revision } : {}),
    ...(e.revision && git && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(e.revision) ? { commit: e.revision } : {}),
    summary: e.reason,
    objects: [{ id: e.key, reason: e.reason }],
    rollout: { service: e.service, route: e.route, strategy: e.strategy, step, steps: e.steps },
  };
}
