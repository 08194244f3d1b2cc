/**
 * The stack-file corpus (test/fixtures/stacks/) is complete and its record agrees with its
 * index: every entry's files and SOURCE.md exist, and what stack deploy did on each recorded
 * engine matches what corpus.json says (deploys, or refuses with a matching message).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { entryEnv, loadCorpus, loadExpected, stacksDir } from '../helpers/stack-corpus.js';

const corpus = loadCorpus();
const expected = loadExpected();

describe('the stack-file corpus', () => {
  it('has unique entry names and a folder with its files and SOURCE.md for each', () => {
    assert.equal(new Set(corpus.map((e) => e.name)).size, corpus.length);
    for (const e of corpus) {
      for (const f of [...e.files, 'SOURCE.md', ...(e.env ? [e.env] : [])]) {
        assert.ok(existsSync(join(stacksDir, e.dir, f)), `${e.name}: ${e.dir}/${f} is missing`);
      }
      assert.doesNotThrow(() => entryEnv(e), `${e.name}: ${e.env} is not KEY=VALUE lines`);
    }
  });

  it('lists every folder it holds', () => {
    const dirs = readdirSync(stacksDir, { withFileTypes: true }).filter((d) => d.isDirectory());
    const listed = new Set(corpus.map((e) => e.dir));
    for (const d of dirs) assert.ok(listed.has(d.name), `${d.name} is not in corpus.json`);
  });

  it('has a record for every entry on every recorded engine, as corpus.json says', () => {
    assert.ok(Object.keys(expected.engines).length > 0);
    for (const e of corpus) {
      for (const engine of Object.keys(expected.engines)) {
        const outcome = expected.entries[e.name]?.[engine];
        assert.ok(outcome, `${e.name}: no record on ${engine}; run scripts/stack-corpus.ts`);
        if (e.refusal) {
          assert.equal(outcome.deploys, false, `${e.name} deployed on ${engine}`);
          assert.match(outcome.refusal ?? '', new RegExp(e.refusal), `${e.name} on ${engine}`);
        } else {
          assert.equal(outcome.deploys, true, `${e.name} refused on ${engine}: ${outcome.refusal}`);
          assert.ok(outcome.services.length > 0, `${e.name}: no service on ${engine}`);
        }
      }
    }
  });
});
