import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { interpolateString, interpolateTree, InterpolationError } from '../../src/compose/interpolate.js';
import { parseComposeText } from '../../src/compose/yaml-tree.js';

const env = { TAG: '2', EMPTY: '', NAME: 'shop' };
const i = (text: string) => interpolateString(text, env);

describe('compose interpolation', () => {
  it('replaces $VAR and ${VAR}', () => {
    assert.equal(i('app:$TAG'), 'app:2');
    assert.equal(i('app:${TAG}-x'), 'app:2-x');
    assert.equal(i('$NAME.$TAG'), 'shop.2');
  });

  it('uses :- for unset or empty and - for unset only', () => {
    assert.equal(i('${UNSET:-d}'), 'd');
    assert.equal(i('${EMPTY:-d}'), 'd');
    assert.equal(i('${EMPTY-d}'), '');
    assert.equal(i('${UNSET-d}'), 'd');
    assert.equal(i('${TAG:-d}'), '2');
  });

  it('uses :+ and + for the alternative value when set', () => {
    assert.equal(i('${TAG:+yes}'), 'yes');
    assert.equal(i('${EMPTY:+yes}'), '');
    assert.equal(i('${EMPTY+yes}'), 'yes');
    assert.equal(i('${UNSET+yes}'), '');
  });

  it('ends an expression at the first "}" and takes defaults literally, as docker stack deploy does', () => {
    assert.equal(i('${UNSET:-${TAG}-x}'), '${TAG-x}');
    assert.equal(i('${UNSET:-$TAG}'), '$TAG');
  });

  it('keeps $$ as a literal dollar', () => {
    assert.equal(i('$$HOME and $${TAG}'), '$HOME and ${TAG}');
  });

  it('fails on :? when unset or empty and on ? when unset, with the message', () => {
    assert.throws(() => i('${UNSET:?give it}'), { message: 'required variable UNSET is not set: give it' });
    assert.throws(() => i('${EMPTY:?give it}'), { message: 'required variable EMPTY is empty: give it' });
    assert.equal(i('${EMPTY?give it}'), '');
    assert.throws(() => i('${UNSET?}'), InterpolationError);
  });

  it('refuses malformed expressions', () => {
    assert.throws(() => i('${TAG'), /not closed/);
    assert.throws(() => i('${}'), /not a valid substitution/);
    assert.throws(() => i('cost: 5$'), /\$\$/);
    assert.throws(() => i('${TAG:x}'), /not a valid substitution/);
  });

  it('reports unset variables through the callback and uses an empty string', () => {
    const unset: string[] = [];
    assert.equal(
      interpolateString('a${NOPE}b$NADA', env, (n) => unset.push(n)),
      'ab',
    );
    assert.deepEqual(unset, ['NOPE', 'NADA']);
  });

  it('reports errors with file, line and field path, and warnings for unset variables', () => {
    const text =
      'services:\n  web:\n    image: "app:${TAG}"\n    environment:\n      - A=${MISSING}\n      - B=${REQUIRED:?set REQUIRED}\n';
    const parsed = parseComposeText('c.yml', text);
    const ds = interpolateTree(parsed.value!, env);
    assert.deepEqual(
      ds.map((d) => [d.severity, d.code, `${d.position?.line}:${d.position?.column}`, d.field]),
      [
        ['warning', 'SC6002', '5:9', 'services.web.environment[0]'],
        ['error', 'SC6001', '6:9', 'services.web.environment[1]'],
      ],
    );
    assert.match(ds[1].message, /REQUIRED is not set: set REQUIRED/);
    assert.equal((parsed.value!.services as any).web.image, 'app:2');
  });
});
