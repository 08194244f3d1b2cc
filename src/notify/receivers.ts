/**
 * A receiver turns a message into the HTTP request its service expects: which events it takes,
 * the request (reading its secret files at each delivery, so rotated Swarm secrets are picked
 * up, and registering what it read with the redactor), and how to read a refusal. The generic
 * webhook signs its body with HMAC-SHA256 in X-Hub-Signature-256 (`sha256=<hex>`), the header
 * GitHub sends and the controller's own /hooks/sync verifies.
 */

import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { alreadyInState, commitState, commitStatusRequest, type Forge } from './commit-status.js';
import type { ReceiverConfig } from './config.js';
import type { NotificationEvent } from './events.js';
import type { HttpRequest } from './http-attempt.js';
import { buildPayload, type Message } from './payload.js';
import type { Redactor } from './redact.js';
import { buildSlackMessage } from './slack.js';

export interface Receiver {
  readonly config: ReceiverConfig;
  /** Whether this receiver gets the event at all. */
  wants(e: NotificationEvent): boolean;
  /** The request for a message; throws SecretFileError when a file cannot be read. */
  prepare(m: Message, redactor: Redactor): Promise<HttpRequest>;
  /** True when a non-2xx answer still means the receiver has what it needs. */
  acceptsRefusal(status: number, body: string): boolean;
}

/** A token, key or URL file that cannot be read: its path and the reason, never its content. */
export class SecretFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot read ${path}: ${reason}`);
    this.name = 'SecretFileError';
  }
}

export async function readSecretFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SecretFileError(path, (err as NodeJS.ErrnoException).code ?? 'unreadable');
  }
  const value = text.trim();
  if (value === '') throw new SecretFileError(path, 'the file is empty');
  return value;
}

export function createReceiver(config: ReceiverConfig): Receiver {
  switch (config.type) {
    case 'webhook':
      return webhookReceiver(config);
    case 'slack':
      return slackReceiver(config);
    case 'github':
    case 'gitea':
    case 'gitlab':
      return commitStatusReceiver(config, config.type);
  }
}

async function targetUrl(config: ReceiverConfig, redactor: Redactor): Promise<string> {
  const url = config.urlFile !== undefined ? await readSecretFile(config.urlFile) : (config.url ?? '');
  redactor.add(url, { url: true });
  return url;
}

function webhookReceiver(config: ReceiverConfig): Receiver {
  return {
    config,
    wants: (e) => config.events.has(e.type),
    async prepare(m, redactor) {
      const url = await targetUrl(config, redactor);
      const payload = buildPayload(m);
      const body = JSON.stringify(payload);
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'User-Agent': 'swarm-controller',
        'X-Swarm-Controller-Event': payload.event,
        'X-Swarm-Controller-Delivery': payload.id,
      };
      if (config.secretFile !== undefined) {
        const key = await readSecretFile(config.secretFile);
        redactor.add(key);
        headers['X-Hub-Signature-256'] = `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
      }
      return { url, headers, body };
    },
    acceptsRefusal: () => false,
  };
}

function slackReceiver(config: ReceiverConfig): Receiver {
  return {
    config,
    wants: (e) => config.events.has(e.type),
    async prepare(m, redactor) {
      const url = await targetUrl(config, redactor);
      return {
        url,
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'swarm-controller' },
        body: JSON.stringify(buildSlackMessage(m)),
      };
    },
    acceptsRefusal: () => false,
  };
}

function commitStatusReceiver(config: ReceiverConfig, forge: Forge): Receiver {
  return {
    config,
    // A status needs a commit: directory sources have none, and drift is about no commit.
    wants: (e) =>
      config.events.has(e.type) &&
      commitState(forge, e.type) !== undefined &&
      /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(e.commit ?? ''),
    async prepare(m, redactor) {
      const token = await readSecretFile(config.tokenFile ?? '');
      redactor.add(token);
      return commitStatusRequest(forge, config, m, token);
    },
    acceptsRefusal: (status, body) => alreadyInState(forge, status, body),
  };
}
