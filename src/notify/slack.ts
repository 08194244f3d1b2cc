/**
 * The chat message: Slack's incoming-webhook shape, `text` (the notification line and the
 * fallback) plus one legacy attachment (colour bar, title, details, fields, footer, time).
 * Attachments rather than Block Kit `blocks` because Mattermost and Rocket.Chat render the same
 * attachments (their incoming webhooks are Slack-compatible) but show nothing of `blocks`; Slack
 * still renders attachments. Text is escaped as Slack asks (&, <, >). Pure.
 */

import { severityOf } from './events.js';
import { maxListed, type Message } from './payload.js';

const colours = { info: '#2eb886', warning: '#daa038', error: '#a30200' } as const;
const titles = {
  'sync-started': 'Sync started',
  'sync-succeeded': 'Sync succeeded',
  'sync-failed': 'Sync failed',
  rollback: 'Swarm rolled back',
  drift: 'Drift',
  'revision-refused': 'Revision refused',
  'rollout-promoted': 'Rollout promoted',
  'rollout-rolled-back': 'Rollout rolled back',
  'rollout-aborted': 'Rollout aborted',
} as const;

export interface SlackMessage {
  text: string;
  attachments: {
    fallback: string;
    color: string;
    title: string;
    text: string;
    fields: { title: string; value: string; short: boolean }[];
    footer: string;
    ts: number;
  }[];
}

export function buildSlackMessage(m: Message): SlackMessage {
  const e = m.event;
  const line = `[${e.app}] ${titles[e.type]}: ${e.summary}`;
  const details: string[] = [];
  const objects = e.objects ?? [];
  for (const o of objects.slice(0, 10)) details.push(`• ${o.id}: ${o.reason}`);
  if (objects.length > 10) details.push(`• … and ${objects.length - 10} more`);
  const problems = (e.problems ?? []).slice(0, maxListed);
  for (const p of problems.slice(0, 10)) details.push(`• ${p}`);
  if (problems.length > 10 || (e.problems?.length ?? 0) > problems.length) {
    details.push(`• … and ${(e.problems?.length ?? 0) - Math.min(problems.length, 10)} more`);
  }
  if (m.repeats) {
    details.push(
      `Seen ${m.repeats.count} more time(s) since ${new Date(m.repeats.since).toISOString()} without a message.`,
    );
  }
  const fields: SlackMessage['attachments'][number]['fields'] = [{ title: 'App', value: e.app, short: true }];
  if (e.commit ?? e.revision)
    fields.push({ title: 'Revision', value: (e.commit ?? e.revision ?? '').slice(0, 12), short: true });
  if (e.rollout) {
    fields.push({ title: 'Service', value: e.rollout.service, short: true });
    fields.push({ title: 'Step', value: `${e.rollout.step} of ${e.rollout.steps}`, short: true });
  }
  if (e.commitMessage) fields.push({ title: 'Commit', value: e.commitMessage, short: false });
  if (m.sender.source) fields.push({ title: 'Source', value: m.sender.source, short: false });
  fields.push({ title: 'Controller', value: m.sender.controller, short: true });
  return {
    text: escape(line),
    attachments: [
      {
        fallback: escape(line),
        color: colours[severityOf[e.type]],
        title: escape(`${titles[e.type]}: ${e.app}`),
        text: escape([e.summary, ...details].join('\n')),
        fields: fields.map((f) => ({ ...f, value: escape(f.value) })),
        footer: 'swarm-controller',
        ts: Math.floor(e.at / 1000),
      },
    ],
  };
}

/** Slack's three control characters in message text. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
