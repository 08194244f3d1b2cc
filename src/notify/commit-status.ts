/**
 * Commit statuses on the applied commit, for GitHub, Gitea and GitLab: the request (path, auth
 * header, body) and the state names each forge uses. Pure: the token is passed in.
 *  - GitHub: POST {api}/repos/{owner}/{repo}/statuses/{sha}, `Authorization: Bearer <token>`,
 *    states pending | success | failure | error, description at most 140 characters.
 *  - Gitea: POST {api}/repos/{owner}/{repo}/statuses/{sha}, `Authorization: token <token>`,
 *    states pending | success | failure | error | warning.
 *  - GitLab: POST {api}/projects/{id or url-encoded path}/statuses/{sha}, `PRIVATE-TOKEN`,
 *    states pending | running | success | failed | canceled, the status name in `name`.
 *    GitLab answers 400 "Cannot transition status via ..." when the status already is in the
 *    state asked for (running twice): that counts as delivered.
 */

import type { EventType } from './events.js';
import type { HttpRequest } from './http-attempt.js';
import type { ReceiverConfig } from './config.js';
import type { Message } from './payload.js';

export type Forge = 'github' | 'gitea' | 'gitlab';

const states: Record<Forge, Partial<Record<EventType, string>>> = {
  github: {
    'sync-started': 'pending',
    'sync-succeeded': 'success',
    'sync-failed': 'failure',
    rollback: 'failure',
    'revision-refused': 'failure',
  },
  gitea: {
    'sync-started': 'pending',
    'sync-succeeded': 'success',
    'sync-failed': 'failure',
    rollback: 'failure',
    'revision-refused': 'failure',
  },
  gitlab: {
    'sync-started': 'running',
    'sync-succeeded': 'success',
    'sync-failed': 'failed',
    rollback: 'failed',
    'revision-refused': 'failed',
  },
};

/** The forge's state for an event, or undefined when the event sets no status (drift). */
export function commitState(forge: Forge, event: EventType): string | undefined {
  return states[forge][event];
}

export const maxDescription = 140;

export function commitStatusRequest(forge: Forge, r: ReceiverConfig, m: Message, token: string): HttpRequest {
  const e = m.event;
  const sha = e.commit ?? '';
  const state = commitState(forge, e.type);
  if (!state || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) {
    throw new Error(`no commit status for ${e.type}${sha ? ` on ${sha}` : ' without a commit'}`);
  }
  const context = (r.context ?? 'swarm-controller/{app}').replace(/\{app\}/g, e.app);
  const targetUrl = r.targetUrl?.replace(/\{app\}/g, encodeURIComponent(e.app)).replace(/\{commit\}/g, sha);
  const description = truncate(e.summary, maxDescription);
  const api = r.apiUrl ?? '';
  const repo = r.repository ?? '';
  const json = { 'Content-Type': 'application/json', 'User-Agent': 'swarm-controller' };
  switch (forge) {
    case 'github':
      return {
        url: `${api}/repos/${ownerRepo(repo)}/statuses/${sha}`,
        headers: {
          ...json,
          Accept: 'application/vnd.github+json',
          Authorization: `Bearer ${token}`,
          'X-GitHub-Api-Version': '2022-11-28',
        },
        body: JSON.stringify({ state, ...(targetUrl ? { target_url: targetUrl } : {}), description, context }),
      };
    case 'gitea':
      return {
        url: `${api}/repos/${ownerRepo(repo)}/statuses/${sha}`,
        headers: { ...json, Accept: 'application/json', Authorization: `token ${token}` },
        body: JSON.stringify({ state, ...(targetUrl ? { target_url: targetUrl } : {}), description, context }),
      };
    case 'gitlab':
      return {
        url: `${api}/projects/${encodeURIComponent(repo)}/statuses/${sha}`,
        headers: { ...json, Accept: 'application/json', 'PRIVATE-TOKEN': token },
        body: JSON.stringify({ state, name: context, ...(targetUrl ? { target_url: targetUrl } : {}), description }),
      };
  }
}

/** GitLab's answer when the status already is in the state asked for. */
export function alreadyInState(forge: Forge, status: number, body: string): boolean {
  return forge === 'gitlab' && status === 400 && /Cannot transition status/i.test(body);
}

function ownerRepo(repository: string): string {
  return repository.split('/').map(encodeURIComponent).join('/');
}

function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
