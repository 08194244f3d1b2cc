/**
 * The JSON Schema of the notification configuration, in the conventions of crds/ (every
 * property described, objects closed, sub-objects titled), so the app manifest kind can embed
 * Notifications under its spec later, and the CLI's flags produce the same object. Which fields
 * each receiver type needs is checked in config.ts, where the message can name the type.
 */

import { eventTypes } from './events.js';

const duration = {
  type: 'string',
  pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
} as const;

export const receiverSchema = {
  title: 'NotificationReceiver',
  description:
    'Where notifications go: a JSON webhook, a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat), or commit statuses on GitHub, Gitea or GitLab. Secrets (tokens, webhook URLs, HMAC keys) are named by file, never written inline.',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      description: 'The name logs and metrics use for the receiver, e.g. "ops-slack"; unique in the list.',
    },
    type: {
      type: 'string',
      enum: ['webhook', 'slack', 'github', 'gitea', 'gitlab'],
      description:
        'webhook: POST the versioned JSON event; slack: an incoming-webhook message (text and attachments); github, gitea, gitlab: a commit status on the applied commit.',
    },
    events: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: [...eventTypes] },
      description:
        'The events this receiver gets. Default for webhook and slack: sync-failed, rollback, drift, revision-refused, rollout-promoted, rollout-rolled-back, rollout-aborted; for commit statuses: sync-started, sync-succeeded, sync-failed, rollback, revision-refused.',
    },
    url: {
      type: 'string',
      minLength: 1,
      description:
        'webhook, slack: the URL to POST to. A Slack or Mattermost webhook URL is itself a secret: prefer urlFile.',
    },
    urlFile: {
      type: 'string',
      minLength: 1,
      description: 'webhook, slack: a file holding the URL (a Swarm secret such as /run/secrets/slack-webhook).',
    },
    secretFile: {
      type: 'string',
      minLength: 1,
      description:
        'webhook: a file holding the HMAC key; each request then carries X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>.',
    },
    apiUrl: {
      type: 'string',
      minLength: 1,
      description:
        'github, gitea, gitlab: the API base URL. Default https://api.github.com for github (https://HOST/api/v3 for GitHub Enterprise Server) and https://gitlab.com/api/v4 for gitlab; required for gitea (https://HOST/api/v1).',
    },
    repository: {
      type: 'string',
      minLength: 1,
      description:
        'github, gitea: "owner/repo"; gitlab: the project path ("group/subgroup/project") or its numeric ID.',
    },
    tokenFile: {
      type: 'string',
      minLength: 1,
      description:
        'github, gitea, gitlab: a file holding the access token (read at each delivery, so a rotated secret is picked up).',
    },
    context: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: 'github, gitea, gitlab: the status name shown on the commit. Default "swarm-controller/<app>".',
    },
    targetUrl: {
      type: 'string',
      minLength: 1,
      description:
        'github, gitea, gitlab: the link of the status (e.g. the controller\'s /status); "{app}" and "{commit}" are replaced.',
    },
    timeout: {
      ...duration,
      default: '10s',
      description: 'How long one attempt may take before it is abandoned and retried.',
    },
    maxAttempts: {
      type: 'integer',
      minimum: 1,
      maximum: 20,
      default: 5,
      description: 'Attempts per message, the first included; then the message is dropped with a log line.',
    },
    maxRetryTime: {
      ...duration,
      default: '5m',
      description: 'No attempt starts later than this after the first; then the message is dropped with a log line.',
    },
  },
  examples: [
    { name: 'ops-slack', type: 'slack', urlFile: '/run/secrets/slack-webhook' },
    {
      name: 'github-status',
      type: 'github',
      repository: 'acme/swarm-config',
      tokenFile: '/run/secrets/github-token',
      targetUrl: 'https://controller.acme.example/status',
    },
  ],
} as const;

export const notificationsSchema = {
  title: 'Notifications',
  description: 'Who is told when syncs fail, Swarm rolls a service back, drift is found or a revision is refused.',
  type: 'object',
  additionalProperties: false,
  required: ['receivers'],
  properties: {
    receivers: {
      type: 'array',
      maxItems: 50,
      items: { $ref: '#/$defs/NotificationReceiver' },
      description: 'The receivers; each gets the events it names, independently of the others.',
    },
    repeatInterval: {
      ...duration,
      default: '4h',
      description:
        'The same news (the same drift, the same failing revision) is sent again at most this often; repeats in between are counted in the next message.',
    },
    queueSize: {
      type: 'integer',
      minimum: 1,
      maximum: 10000,
      default: 100,
      description: 'Messages waiting per receiver; when full, the oldest is dropped and counted.',
    },
  },
  $defs: { NotificationReceiver: receiverSchema },
  examples: [{ receivers: [{ name: 'ops-slack', type: 'slack', urlFile: '/run/secrets/slack-webhook' }] }],
} as const;
