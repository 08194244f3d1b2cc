/**
 * The generic webhook's body, version 1 (`apiVersion: swarm.controller/v1`, `kind:
 * Notification`): documented in docs/notifications.md, described by payloadSchema (a test
 * validates every body built here against it). Fields in a fixed order, lists capped, so the
 * body is deterministic and bounded. The message id is a hash of the body without it: the same
 * for every retry of one message, so a receiver can drop duplicates. Pure.
 */

import { createHash } from 'node:crypto';
import type { Repeats } from './dedup.js';
import { eventTypes, severityOf, type NotificationEvent, type ObjectNote, type RolloutNote } from './events.js';

export const payloadApiVersion = 'swarm.controller/v1';
/** Objects and problems listed per message at most; the rest are counted. */
export const maxListed = 50;

/** What the notifier adds to every event: who sends it. */
export interface SenderContext {
  /** The controller replica (its identity, usually the hostname). */
  controller: string;
  /** The source, as `controller status` shows it (credentials already removed). */
  source?: string;
}

/** One event on its way to the receivers. */
export interface Message {
  event: NotificationEvent;
  repeats?: Repeats;
  sender: SenderContext;
}

export interface WebhookPayload {
  apiVersion: typeof payloadApiVersion;
  kind: 'Notification';
  id: string;
  event: NotificationEvent['type'];
  severity: 'info' | 'warning' | 'error';
  occurredAt: string;
  app: string;
  controller: string;
  source?: string;
  revision?: string;
  commit?: string;
  commitMessage?: string;
  summary: string;
  objects: ObjectNote[];
  omittedObjects: number;
  problems: string[];
  omittedProblems: number;
  driftMode?: 'repaired' | 'reported';
  refusal?: 'invalid' | 'image';
  rollout?: RolloutNote;
  repeats?: { count: number; since: string };
}

export function buildPayload(m: Message): WebhookPayload {
  const e = m.event;
  const objects = e.objects ?? [];
  const problems = e.problems ?? [];
  const body: Omit<WebhookPayload, 'id'> = {
    apiVersion: payloadApiVersion,
    kind: 'Notification',
    event: e.type,
    severity: severityOf[e.type],
    occurredAt: new Date(e.at).toISOString(),
    app: e.app,
    controller: m.sender.controller,
    ...(m.sender.source !== undefined ? { source: m.sender.source } : {}),
    ...(e.revision !== undefined ? { revision: e.revision } : {}),
    ...(e.commit !== undefined ? { commit: e.commit } : {}),
    ...(e.commitMessage !== undefined ? { commitMessage: e.commitMessage } : {}),
    summary: e.summary,
    objects: objects.slice(0, maxListed).map((o) => ({ id: o.id, reason: o.reason })),
    omittedObjects: Math.max(0, objects.length - maxListed),
    problems: problems.slice(0, maxListed),
    omittedProblems: Math.max(0, problems.length - maxListed),
    ...(e.driftMode !== undefined ? { driftMode: e.driftMode } : {}),
    ...(e.refusal !== undefined ? { refusal: e.refusal } : {}),
    ...(e.rollout !== undefined
      ? {
          rollout: {
            service: e.rollout.service,
            route: e.rollout.route,
            strategy: e.rollout.strategy,
            step: e.rollout.step,
            steps: e.rollout.steps,
          },
        }
      : {}),
    ...(m.repeats ? { repeats: { count: m.repeats.count, since: new Date(m.repeats.since).toISOString() } } : {}),
  };
  const id = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32);
  const { apiVersion, kind, ...rest } = body;
  return { apiVersion, kind, id, ...rest };
}

/** The JSON Schema of the body (draft 2020-12 subset ajv checks), for receivers and for the tests. */
export const payloadSchema = {
  title: 'Notification',
  description: 'The body the webhook receiver POSTs, version 1.',
  type: 'object',
  additionalProperties: false,
  required: [
    'apiVersion',
    'kind',
    'id',
    'event',
    'severity',
    'occurredAt',
    'app',
    'controller',
    'summary',
    'objects',
    'omittedObjects',
    'problems',
    'omittedProblems',
  ],
  properties: {
    apiVersion: { const: payloadApiVersion, description: 'The version of this body; a breaking change gets v2.' },
    kind: { const: 'Notification', description: 'Always Notification.' },
    id: {
      type: 'string',
      pattern: '^[0-9a-f]{32}$',
      description: 'The message id, the same in every retry (also in X-Swarm-Controller-Delivery).',
    },
    event: { type: 'string', enum: [...eventTypes], description: 'What happened.' },
    severity: { type: 'string', enum: ['info', 'warning', 'error'], description: 'How bad it is.' },
    occurredAt: { type: 'string', description: 'When the controller saw it (RFC 3339, UTC).' },
    app: { type: 'string', description: 'The apply set (the app).' },
    controller: { type: 'string', description: 'The controller replica that sent it.' },
    source: { type: 'string', description: 'The source of the manifests, without credentials.' },
    revision: { type: 'string', description: 'The revision concerned: a commit, or a directory content hash.' },
    commit: { type: 'string', description: 'The git commit, when the source is git.' },
    commitMessage: { type: 'string', description: "The commit's subject line." },
    summary: { type: 'string', description: 'One sentence for a person.' },
    objects: {
      type: 'array',
      description: 'The objects concerned, at most 50.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'reason'],
        properties: {
          id: { type: 'string', description: 'Kind/namespace/name.' },
          reason: { type: 'string', description: 'Why it is listed.' },
        },
      },
    },
    omittedObjects: { type: 'integer', minimum: 0, description: 'Objects left out of the list.' },
    problems: {
      type: 'array',
      items: { type: 'string' },
      description: 'Problems that refused a revision, at most 50.',
    },
    omittedProblems: { type: 'integer', minimum: 0, description: 'Problems left out of the list.' },
    driftMode: { type: 'string', enum: ['repaired', 'reported'], description: 'drift: put back, or only reported.' },
    refusal: { type: 'string', enum: ['invalid', 'image'], description: 'revision-refused: why.' },
    rollout: {
      type: 'object',
      additionalProperties: false,
      required: ['service', 'route', 'strategy', 'step', 'steps'],
      description: 'rollout-*: the progressive rollout that ended.',
      properties: {
        service: { type: 'string', description: "The stable service's Swarm name." },
        route: { type: 'string', description: 'The route, namespace/name.' },
        strategy: { type: 'string', enum: ['canary', 'blueGreen'], description: 'The rollout strategy.' },
        step: { type: 'integer', minimum: 0, description: 'The step reached (1-based).' },
        steps: { type: 'integer', minimum: 0, description: 'How many steps the rollout has.' },
      },
    },
    repeats: {
      type: 'object',
      additionalProperties: false,
      required: ['count', 'since'],
      description: 'The same news seen again and not sent since the last message.',
      properties: {
        count: { type: 'integer', minimum: 1, description: 'How many times.' },
        since: { type: 'string', description: 'Since when (RFC 3339).' },
      },
    },
  },
} as const;
