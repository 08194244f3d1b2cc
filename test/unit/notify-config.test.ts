/** The notification configuration and the two embeddable schemas: defaults, every problem with its field, crds/ conventions. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { compileNotifications } from '../../src/notify/config.js';
import { notificationsSchema } from '../../src/notify/config-schema.js';
import { syncWindowsSchema } from '../../src/schedule/window-schema.js';
import { dedupKey, type NotificationEvent } from '../../src/notify/events.js';

describe('notification configuration', () => {
  it('fills in the defaults of each receiver type', () => {
    const { config, problems } = compileNotifications({
      receivers: [
        { name: 'chat', type: 'slack', urlFile: '/run/secrets/slack' },
        { name: 'gh', type: 'github', repository: 'acme/cfg', tokenFile: '/run/secrets/gh' },
        { name: 'gl', type: 'gitlab', repository: '1234', tokenFile: '/t', apiUrl: 'https://git.acme.example/api/v4/' },
      ],
    });
    assert.deepEqual(problems, []);
    assert.equal(config?.repeatIntervalMs, 4 * 3_600_000);
    assert.equal(config?.queueSize, 100);
    const [chat, gh, gl] = config?.receivers ?? [];
    assert.deepEqual(
      [...chat.events],
      [
        'sync-failed',
        'rollback',
        'drift',
        'revision-refused',
        'rollout-promoted',
        'rollout-rolled-back',
        'rollout-aborted',
      ],
    );
    assert.deepEqual([chat.timeoutMs, chat.maxAttempts, chat.maxRetryMs], [10_000, 5, 300_000]);
    assert.deepEqual([...gh.events], ['sync-started', 'sync-succeeded', 'sync-failed', 'rollback', 'revision-refused']);
    assert.equal(gh.apiUrl, 'https://api.github.com');
    assert.equal(gh.context, 'swarm-controller/{app}');
    assert.equal(gl.apiUrl, 'https://git.acme.example/api/v4');
  });

  it('reports every problem with its field and a fix, and yields no receivers', () => {
    const { config, problems } = compileNotifications(
      {
        receivers: [
          { name: 'chat', type: 'slack', url: 'hooks.slack.com/x', urlFile: '/f' },
          { name: 'chat', type: 'github', repository: 'no-slash', secretFile: '/k' },
          { name: 'tea', type: 'gitea', repository: 'a/b', tokenFile: '/t', targetUrl: 'ftp://x' },
          { name: 'hook', type: 'webhook', url: 'ftp://example.com' },
        ],
      },
      { field: 'spec.notifications' },
    );
    assert.equal(config, undefined);
    assert.deepEqual(
      problems.map((p) => `${p.code} ${p.field}: ${p.message}`),
      [
        'SC8001 spec.notifications.receivers[0].url: exactly one of url and urlFile is needed',
        'SC8001 spec.notifications.receivers[1].name: "chat" is also the name of receivers[0]',
        'SC8001 spec.notifications.receivers[1].secretFile: is not a field of a github receiver',
        'SC8001 spec.notifications.receivers[1].repository: "no-slash" is not "owner/repo"',
        'SC8001 spec.notifications.receivers[1].tokenFile: is required',
        'SC8001 spec.notifications.receivers[2].apiUrl: is required for gitea',
        'SC8001 spec.notifications.receivers[2].targetUrl: is not an http:// or https:// URL',
        'SC8001 spec.notifications.receivers[3].url: is not an http:// or https:// URL',
      ],
    );
    assert.ok(problems.every((p) => typeof p.fix === 'string' && p.fix.length > 0));
  });

  it('reports unknown fields, types and events from the schema', () => {
    const { problems } = compileNotifications({
      receivers: [{ name: 'x', type: 'teams', events: ['sync-failed', 'deploy'], colour: 'red' }],
    });
    assert.deepEqual(
      problems.map((p) => `${p.field}: ${p.message}`),
      [
        'notifications.receivers[0].colour: is not a known field',
        'notifications.receivers[0].type: must be one of "webhook", "slack", "github", "gitea", "gitlab"',
        'notifications.receivers[0].events[1]: must be one of "sync-started", "sync-succeeded", "sync-failed", "rollback", "drift", "revision-refused", "rollout-promoted", "rollout-rolled-back", "rollout-aborted"',
      ],
    );
  });
});

describe('dedup keys', () => {
  const base: NotificationEvent = { type: 'drift', at: 0, app: 'prod', summary: '', objects: [] };
  it('are the same for the same drifted fields whatever the order or the wording around them', () => {
    const a = dedupKey({
      ...base,
      objects: [{ id: 'Service/s/w', reason: 'drifted from the manifests (spec.a, spec.b); repaired' }],
    });
    const b = dedupKey({ ...base, at: 99, objects: [{ id: 'Service/s/w', reason: 'drifted (spec.b, spec.a)' }] });
    const c = dedupKey({ ...base, objects: [{ id: 'Service/s/w', reason: 'drifted (spec.c)' }] });
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it('name a refused revision by file and code, not by line or wording', () => {
    const e: NotificationEvent = { ...base, type: 'revision-refused', revision: 'r1', refusal: 'invalid' };
    assert.equal(
      dedupKey({ ...e, problems: ['web.yaml:12:5: error SC2003: Service "web": unknown field'] }),
      dedupKey({ ...e, problems: ['web.yaml:14:5: error SC2003: Service "web" spec.imag: unknown field "imag"'] }),
    );
  });
});

/** The conventions scripts/generate.ts checks on crds/, so these schemas can be embedded in a kind as they are. */
function conventionProblems(schema: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const visit = (node: unknown, path: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    if (
      n.title !== undefined &&
      (typeof n.title !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(n.title) || typeof n.description !== 'string')
    ) {
      problems.push(`${path}: a title must be PascalCase and come with a description`);
    }
    if ((n.type === 'object' || 'properties' in n) && n.additionalProperties !== false) {
      problems.push(`${path}: objects must set additionalProperties: false`);
    }
    for (const [k, child] of Object.entries((n.properties as Record<string, unknown>) ?? {})) {
      if (typeof (child as Record<string, unknown>).description !== 'string')
        problems.push(`${path}/properties/${k}: needs a description`);
      visit(child, `${path}/properties/${k}`);
    }
    if (n.items) visit(n.items, `${path}/items`);
    for (const [k, def] of Object.entries((n.$defs as Record<string, unknown>) ?? {})) {
      if ((def as Record<string, unknown>).title !== k) problems.push(`${path}/$defs/${k}: needs title ${k}`);
      visit(def, `${path}/$defs/${k}`);
    }
  };
  visit(schema, '#');
  return problems;
}

describe('the embeddable schemas', () => {
  for (const [name, schema] of [
    ['Notifications', notificationsSchema],
    ['SyncWindows', syncWindowsSchema],
  ] as const) {
    it(`${name} follows the conventions of crds/ and accepts its own examples`, () => {
      assert.deepEqual(conventionProblems(schema as unknown as Record<string, unknown>), []);
      const ajv = new Ajv({ strict: true, allErrors: true });
      const validate = ajv.compile(schema);
      const def = Object.values(schema.$defs)[0] as { examples: unknown[] };
      const validateDef = ajv.compile({ ...(def as object), $defs: schema.$defs });
      for (const ex of def.examples) assert.ok(validateDef(ex), JSON.stringify(validateDef.errors));
      if ('examples' in schema)
        for (const ex of schema.examples) assert.ok(validate(ex), JSON.stringify(validate.errors));
    });
  }
});
