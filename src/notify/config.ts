/**
 * The notification configuration: the typed object a user declares (flags now, a manifest kind
 * later; schema in config-schema.ts), checked and resolved into receivers with every default
 * filled in. Problems are SC8001 diagnostics naming the field, all at once; a configuration with
 * any problem yields no receivers. No I/O: files named here are read when a message is sent.
 */

import type { Diagnostic, SourcePosition } from '../errors.js';
import { problem, schemaProblems, type CheckContext } from '../config/schema-check.js';
import { parseDuration } from '../units.js';
import { defaultEvents, type EventType } from './events.js';
import { notificationsSchema } from './config-schema.js';

export type ReceiverType = 'webhook' | 'slack' | 'github' | 'gitea' | 'gitlab';

/** A receiver as declared. */
export interface ReceiverSpec {
  name: string;
  type: ReceiverType;
  events?: EventType[];
  url?: string;
  urlFile?: string;
  secretFile?: string;
  apiUrl?: string;
  repository?: string;
  tokenFile?: string;
  context?: string;
  targetUrl?: string;
  timeout?: string;
  maxAttempts?: number;
  maxRetryTime?: string;
}

export interface NotificationsSpec {
  receivers: ReceiverSpec[];
  repeatInterval?: string;
  queueSize?: number;
}

/** A receiver with its defaults filled in. */
export interface ReceiverConfig {
  name: string;
  type: ReceiverType;
  events: ReadonlySet<EventType>;
  timeoutMs: number;
  maxAttempts: number;
  maxRetryMs: number;
  /** webhook, slack: the URL, or the file holding it. */
  url?: string;
  urlFile?: string;
  /** webhook: the file holding the HMAC key. */
  secretFile?: string;
  /** github, gitea, gitlab */
  apiUrl?: string;
  repository?: string;
  tokenFile?: string;
  /** The status context; "{app}" is replaced at send time. */
  context?: string;
  targetUrl?: string;
}

export interface NotificationsConfig {
  receivers: ReceiverConfig[];
  repeatIntervalMs: number;
  queueSize: number;
}

export const commitStatusEvents: readonly EventType[] = [
  'sync-started',
  'sync-succeeded',
  'sync-failed',
  'rollback',
  'revision-refused',
];

const defaultApi: Partial<Record<ReceiverType, string>> = {
  github: 'https://api.github.com',
  gitlab: 'https://gitlab.com/api/v4',
};

/** Which fields each type takes; any other field set is a mistake worth reporting. */
const fieldsOf: Record<ReceiverType, readonly (keyof ReceiverSpec)[]> = {
  webhook: ['url', 'urlFile', 'secretFile'],
  slack: ['url', 'urlFile'],
  github: ['apiUrl', 'repository', 'tokenFile', 'context', 'targetUrl'],
  gitea: ['apiUrl', 'repository', 'tokenFile', 'context', 'targetUrl'],
  gitlab: ['apiUrl', 'repository', 'tokenFile', 'context', 'targetUrl'],
};
const typeSpecific = new Set<keyof ReceiverSpec>(Object.values(fieldsOf).flat());

export function compileNotifications(
  input: unknown,
  options: { field?: string; position?: (field: string) => SourcePosition | undefined } = {},
): { config?: NotificationsConfig; problems: Diagnostic[] } {
  const ctx: CheckContext = { code: 'SC8001', field: options.field ?? 'notifications', position: options.position };
  const structural = schemaProblems(notificationsSchema, input, ctx);
  if (structural.length > 0) return { problems: structural };
  const spec = input as NotificationsSpec;
  const problems: Diagnostic[] = [];
  const receivers: ReceiverConfig[] = [];
  const names = new Map<string, number>();
  spec.receivers.forEach((r, i) => {
    const at = (f: string) => `${ctx.field}.receivers[${i}].${f}`;
    const add = (f: string, message: string, fix?: string) => problems.push(problem(ctx, at(f), message, fix));
    const earlier = names.get(r.name);
    if (earlier !== undefined)
      add('name', `"${r.name}" is also the name of receivers[${earlier}]`, 'give each receiver its own name');
    names.set(r.name, i);
    for (const f of typeSpecific) {
      if (r[f] !== undefined && !fieldsOf[r.type].includes(f)) {
        add(
          f,
          `is not a field of a ${r.type} receiver`,
          `remove it; a ${r.type} receiver takes ${fieldsOf[r.type].join(', ')}`,
        );
      }
    }
    const timeoutMs = ms(r.timeout ?? '10s');
    const maxRetryMs = ms(r.maxRetryTime ?? '5m');
    if (timeoutMs < 100) add('timeout', `"${r.timeout}" is shorter than 100ms`, 'write e.g. "10s"');
    if (r.type === 'webhook' || r.type === 'slack') {
      if ((r.url === undefined) === (r.urlFile === undefined)) {
        add('url', 'exactly one of url and urlFile is needed', 'set urlFile to a file holding the URL (or url)');
      } else if (r.url !== undefined && !isHttpUrl(r.url)) {
        add('url', 'is not an http:// or https:// URL', 'write the full URL, e.g. https://hooks.example.com/...');
      }
    } else {
      const apiUrl = r.apiUrl ?? defaultApi[r.type];
      if (apiUrl === undefined) add('apiUrl', 'is required for gitea', 'set it to https://<your gitea host>/api/v1');
      else if (!isHttpUrl(apiUrl))
        add('apiUrl', 'is not an http:// or https:// URL', 'write e.g. https://gitea.example.com/api/v1');
      if (r.repository === undefined) {
        add(
          'repository',
          'is required',
          r.type === 'gitlab' ? 'set it to "group/project" or the project ID' : 'set it to "owner/repo"',
        );
      } else if (r.type !== 'gitlab' && !/^[^/\s]+\/[^/\s]+$/.test(r.repository)) {
        add(
          'repository',
          `"${r.repository}" is not "owner/repo"`,
          'write the owner and the repository name, e.g. "acme/swarm-config"',
        );
      } else if (r.type === 'gitlab' && !/^(\d+|[^/\s]+(\/[^/\s]+)+)$/.test(r.repository)) {
        add(
          'repository',
          `"${r.repository}" is neither a project path nor an ID`,
          'write e.g. "acme/ops/swarm-config" or 1234',
        );
      }
      if (r.tokenFile === undefined)
        add('tokenFile', 'is required', 'set it to a file holding the access token, e.g. /run/secrets/git-token');
      if (r.targetUrl !== undefined && !isHttpUrl(r.targetUrl.replace(/\{(app|commit)\}/g, 'x'))) {
        add('targetUrl', 'is not an http:// or https:// URL', 'write e.g. https://controller.example.com/status');
      }
    }
    const commitStatus = r.type === 'github' || r.type === 'gitea' || r.type === 'gitlab';
    receivers.push({
      name: r.name,
      type: r.type,
      events: new Set(r.events ?? (commitStatus ? commitStatusEvents : defaultEvents)),
      timeoutMs,
      maxAttempts: r.maxAttempts ?? 5,
      maxRetryMs,
      ...(r.url !== undefined ? { url: r.url } : {}),
      ...(r.urlFile !== undefined ? { urlFile: r.urlFile } : {}),
      ...(r.secretFile !== undefined ? { secretFile: r.secretFile } : {}),
      ...(commitStatus
        ? {
            apiUrl: (r.apiUrl ?? defaultApi[r.type] ?? '').replace(/\/+$/, ''),
            repository: r.repository,
            tokenFile: r.tokenFile,
            context: r.context ?? 'swarm-controller/{app}',
            ...(r.targetUrl !== undefined ? { targetUrl: r.targetUrl } : {}),
          }
        : {}),
    });
  });
  if (problems.length > 0) return { problems };
  return {
    config: { receivers, repeatIntervalMs: ms(spec.repeatInterval ?? '4h'), queueSize: spec.queueSize ?? 100 },
    problems,
  };
}

function ms(duration: string): number {
  return Math.round((parseDuration(duration) ?? 0) / 1e6);
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
