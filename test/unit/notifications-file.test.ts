import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNotificationsFile } from '../../src/cli/notifications-file.js';
import { TerminalError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'sc-notif-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('controller run --notifications FILE', () => {
  it('reads the receivers an App would have under spec.notifications', () => {
    const c = loadNotificationsFile(
      file(
        'ok.yaml',
        'repeatInterval: 1h\nreceivers:\n  - {name: hook, type: webhook, url: "http://127.0.0.1:9/hook"}\n',
      ),
    );
    assert.equal(c.repeatIntervalMs, 3600_000);
    assert.deepEqual(
      c.receivers.map((r) => [r.name, r.type, r.events.has('rollout-rolled-back')]),
      [['hook', 'webhook', true]],
    );
  });

  it('refuses a mistake with the file, line and field, and a fix', () => {
    const p = file(
      'bad.yaml',
      'receivers:\n  - name: hook\n    type: webhook\n  - name: gh\n    type: github\n    repository: no-slash\n    tokenFile: /t\n',
    );
    assert.throws(
      () => loadNotificationsFile(p),
      (err: unknown) => {
        assert.ok(err instanceof TerminalError);
        assert.equal(err.code, 'SC8001');
        assert.match(
          err.message,
          new RegExp(
            `${p}:6:5: error SC8001: notifications.receivers\\[1\\].repository: "no-slash" is not "owner/repo"`,
          ),
        );
        assert.match(err.message, new RegExp(`${p}:2:5: error SC8001: notifications.receivers\\[0\\]`));
        assert.match(err.message, /fix: /);
        return true;
      },
    );
  });

  it('names a file it cannot read', () => {
    assert.throws(
      () => loadNotificationsFile(join(dir, 'missing.yaml')),
      /--notifications .*missing.yaml: cannot read it \(ENOENT\)/,
    );
  });
});
