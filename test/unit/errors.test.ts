import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCatalogue, formatDiagnostic, diagnostic } from '../../src/errors.js';
import { repoRoot } from '../helpers/repo.js';

describe('the error catalogue', () => {
  const doc = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| (SC\d{4}) \| ([^|]+) \|/gm)].map((m) => [m[1], m[2].trim()]));

  it('documents every code, with the same summary, and nothing else', () => {
    assert.deepEqual([...documented.keys()].sort(), Object.keys(errorCatalogue).sort());
    for (const [code, summary] of Object.entries(errorCatalogue))
      assert.equal(documented.get(code), summary.replace('--allow-replace', '`--allow-replace`'), code);
  });

  it('formats a diagnostic as file:line:column, code, object, field, message and fix', () => {
    const d = diagnostic('SC3002', 'network "backend" is not declared', {
      position: { file: 'm/web.yaml', line: 12, column: 5 },
      object: 'Service "shop/web"',
      field: 'spec.networks[0]',
      fix: 'add a Network manifest named "backend"',
    });
    assert.equal(
      formatDiagnostic(d),
      'm/web.yaml:12:5: error SC3002: Service "shop/web" spec.networks[0]: network "backend" is not declared\n    fix: add a Network manifest named "backend"',
    );
  });
});
