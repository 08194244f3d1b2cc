import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { PassThrough } from 'node:stream';
import {
  decryptSopsYaml,
  parseAgeIdentities,
  redactingStream,
  SensitiveValues,
  type AgeIdentity,
  type SopsOutcome,
} from '../../src/sops/index.js';
import { formatFloat, parseYamlTimestamp, formatRfc3339Nano } from '../../src/sops/go-format.js';
import { repoRoot } from '../helpers/repo.js';
import { encryptOne, sopsEncrypt, type SopsEncryptOptions } from '../helpers/sops-encrypt.js';

const fixtures = join(repoRoot, 'test/fixtures/sops');
const read = (name: string) => readFileSync(join(fixtures, name), 'utf8');
const keysOf = (name: string) => () => parseAgeIdentities(read(name), name);

async function decrypt(text: string, keys: () => Promise<AgeIdentity[]>): Promise<SopsOutcome> {
  return decryptSopsYaml(text, keys);
}

function ok(outcome: SopsOutcome): unknown[] {
  if (!outcome.ok) assert.fail(`${outcome.problem.code}: ${outcome.problem.message}`);
  return outcome.file.documents.map((d) => d.value);
}

function problem(outcome: SopsOutcome) {
  if (outcome.ok) assert.fail('decrypted, but should have been refused');
  return outcome.problem;
}

/** Replaces the first occurrence of `from` in the data part of the first ENC value after `after`. */
function tamperValue(text: string, after: string): string {
  const at = text.indexOf('data:', text.indexOf(after));
  const c = text[at + 5];
  return text.slice(0, at + 5) + (c === 'A' ? 'B' : 'A') + text.slice(at + 6);
}

describe('SOPS files written by the real sops', () => {
  it("decrypts Flux's sops 3.7.0 Secret (encrypted_regex) to the value its test asserts", async () => {
    const [doc] = ok(await decrypt(read('flux-secret.age.yaml'), keysOf('flux-age.txt')));
    assert.deepEqual(doc, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sops-age' },
      stringData: { secret: 'my-sops-age-secret' },
    });
  });

  it("decrypts Flux's sops 3.10.2 Secret, whose metadata has no empty key lists", async () => {
    const outcome = await decrypt(read('flux-global-secret.yaml'), keysOf('flux-age-global.txt'));
    const [doc] = ok(outcome) as { stringData: { key: string } }[];
    assert.equal(doc.stringData.key, 'global-value');
    assert.equal(outcome.ok && outcome.file.version, '3.10.2');
    assert.deepEqual(outcome.ok && outcome.file.documents[0].encrypted, [['stringData', 'key']]);
  });

  it("decrypts helm-secrets' file: the default _unencrypted suffix, an int and a long block scalar", async () => {
    const [doc] = ok(await decrypt(read('helm-secrets.age.yaml'), keysOf('helm-secrets-key.txt'))) as {
      global_secret: string;
      key: string;
      service: { port: number };
    }[];
    assert.equal(doc.global_secret, 'global_age');
    assert.equal(doc.service.port, 92);
    assert.match(doc.key, /^-----BEGIN PGP MESSAGE-----\n\n[\s\S]+\n-----END PGP MESSAGE-----$/);
    assert.equal(doc.key.split('\n').length, 18);
  });

  it("decrypts doco-cd's sops 3.9.0 file (a key with dots)", async () => {
    const [doc] = ok(await decrypt(read('doco-cd-encrypted.yaml'), keysOf('doco-cd-age-key.txt')));
    assert.deepEqual(doc, { 'this.is.encrypted': 'yes' });
  });

  it('refuses a changed encrypted value, at its line (SC7006)', async () => {
    const p = problem(
      await decrypt(tamperValue(read('helm-secrets.age.yaml'), 'port:'), keysOf('helm-secrets-key.txt')),
    );
    assert.equal(p.code, 'SC7006');
    assert.equal(p.field, 'service.port');
    assert.equal(p.line, 4);
    assert.match(p.message, /authentication failed/);
  });

  it('refuses an encrypted value moved to another key: the key path is authenticated (SC7006)', async () => {
    const text = read('flux-secret.age.yaml').replace('    secret: ENC', '    other: ENC');
    const p = problem(await decrypt(text, keysOf('flux-age.txt')));
    assert.equal(p.code, 'SC7006');
    assert.equal(p.field, 'stringData.other');
  });

  it('refuses a changed MAC (SC7003)', async () => {
    const p = problem(await decrypt(tamperValue(read('flux-secret.age.yaml'), 'mac:'), keysOf('flux-age.txt')));
    assert.equal(p.code, 'SC7003');
    assert.equal(p.field, 'sops.mac');
    assert.match(p.message, /cannot be decrypted/);
  });

  it("refuses a changed lastmodified, the MAC's additional data (SC7003)", async () => {
    const text = read('flux-secret.age.yaml').replace('2021-04-06T09:07:05Z', '2021-04-06T09:07:06Z');
    assert.equal(problem(await decrypt(text, keysOf('flux-age.txt'))).code, 'SC7003');
  });

  it('refuses a removed value and a changed unencrypted value: the MAC covers both (SC7003)', async () => {
    const removed = read('helm-secrets.age.yaml').replace(/^global_secret: .*\n/m, '');
    const p = problem(await decrypt(removed, keysOf('helm-secrets-key.txt')));
    assert.equal(p.code, 'SC7003');
    assert.match(p.message, /do not match the MAC/);
    const renamed = read('flux-secret.age.yaml').replace('name: sops-age', 'name: sops-agf');
    assert.equal(problem(await decrypt(renamed, keysOf('flux-age.txt'))).code, 'SC7003');
  });

  it('refuses a missing MAC (SC7003)', async () => {
    const text = read('flux-secret.age.yaml').replace(/^ {4}mac: .*\n/m, '');
    const p = problem(await decrypt(text, keysOf('flux-age.txt')));
    assert.equal(p.code, 'SC7003');
    assert.match(p.message, /no MAC/);
  });

  it('refuses another age key, naming the recipients and the key tried but never the secret (SC7002)', async () => {
    const p = problem(await decrypt(read('helm-secrets.age.yaml'), keysOf('flux-age.txt')));
    assert.equal(p.code, 'SC7002');
    assert.match(p.message, /age1rh2xsjg8avja92j3jhtttuczgmqkz89lezxt4e3mmp5ukl5j4f9smvteju/);
    assert.match(p.message, /age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29 \(flux-age.txt line 3\)/);
    assert.doesNotMatch(JSON.stringify(p), /AGE-SECRET-KEY/);
  });

  it('refuses a file without keys given (SC7001) and one encrypted for PGP only (SC7005, whatever keys)', async () => {
    assert.equal(problem(await decrypt(read('flux-secret.age.yaml'), async () => [])).code, 'SC7001');
    const p = problem(await decrypt(read('sops-comments-pgp.enc.yaml'), keysOf('flux-age.txt')));
    assert.equal(p.code, 'SC7005');
    assert.match(p.message, /PGP only/);
    assert.equal(p.line, 6);
  });
});

describe('SOPS files the tests encrypt', () => {
  const key = generateIdentity();
  const keys = async () => parseAgeIdentities(await key, 'test key');
  const encrypt = async (plain: string, o: Partial<SopsEncryptOptions> = {}) =>
    sopsEncrypt(plain, { recipients: [await identityToRecipient(await key)], ...o });
  const roundTrip = async (plain: string, o: Partial<SopsEncryptOptions> = {}) => {
    const outcome = await decrypt(await encrypt(plain, o), keys);
    if (!outcome.ok) assert.fail(`${outcome.problem.code}: ${outcome.problem.message}`);
    return outcome.file.documents;
  };

  const everyType = [
    '# a comment sops encrypts',
    'str: hello world',
    'unicode: "grüße ✓"',
    'int: 42',
    'negative: -7',
    'float: 1.5',
    'huge: 1.0e21',
    'tiny: 0.000001',
    'yes_bool: true',
    'no_bool: false',
    'empty: ""',
    'nothing: null',
    'date: 2024-01-02',
    'quoted_number: "0123"',
    'multi: |',
    '  line one',
    '  line two',
    'list:',
    '  - a',
    '  # a comment in a list',
    '  - 2',
    '  - {k: v, n: [1, 2.5, true]}',
    'nested:',
    '  deeper:',
    '    deepest: value',
    '',
  ].join('\n');

  it('round-trips every value type, nested maps and lists, with comments encrypted', async () => {
    const [doc] = await roundTrip(everyType);
    assert.deepEqual(doc.value, {
      str: 'hello world',
      unicode: 'grüße ✓',
      int: 42,
      negative: -7,
      float: 1.5,
      huge: 1e21,
      tiny: 0.000001,
      yes_bool: true,
      no_bool: false,
      empty: '',
      nothing: null,
      date: '2024-01-02',
      quoted_number: '0123',
      multi: 'line one\nline two\n',
      list: ['a', 2, { k: 'v', n: [1, 2.5, true] }],
      nested: { deeper: { deepest: 'value' } },
    });
    assert.equal(doc.encrypted.length, 20, 'every value but the null one: 13 top-level, 6 in the list, 1 nested');
  });

  it('writes values of each type as sops does: type tags, and Go forms in the MAC', async () => {
    const text = await encrypt('i: 5\nf: 2.5\nb: true\ns: x\n');
    assert.match(text, /^i: ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:int\]$/m);
    assert.match(text, /^f: ENC\[.*type:float\]$/m);
    assert.match(text, /^b: ENC\[.*type:bool\]$/m);
    assert.match(text, /^s: ENC\[.*type:str\]$/m);
    assert.equal(formatFloat(1e21), '1000000000000000000000');
    assert.equal(formatFloat(1e-7), '0.0000001');
    assert.equal(formatFloat(-0), '-0');
    assert.equal(formatFloat(Infinity), '+Inf');
    assert.equal(formatRfc3339Nano(parseYamlTimestamp('2024-1-2 3:04:05.500')!), '2024-01-02T03:04:05.5Z');
  });

  it('decrypts values sops writes with other type tags (bytes, time, int64)', async () => {
    const dataKey = Buffer.alloc(32, 7);
    const base = await encrypt('a: x\n', { dataKey });
    const withTypes = base.replace(
      /^a: .*$/m,
      [
        `a: ${encryptOne(Buffer.from('raw'), 'bytes', dataKey, 'a:')}`,
        `t: ${encryptOne(Buffer.from('2024-05-06T07:08:09+02:00'), 'time', dataKey, 't:')}`,
        `n: ${encryptOne(Buffer.from('9007199254740991'), 'int64', dataKey, 'n:')}`,
      ].join('\n'),
    );
    // The MAC no longer matches the new values: the error proves each value decrypted first.
    const p = problem(await decrypt(withTypes, keys));
    assert.equal(p.code, 'SC7003');
  });

  for (const [name, rule, plain, expected] of [
    [
      'unencrypted_suffix (the default)',
      undefined,
      'user: admin\npassword: s3cret\nnote_unencrypted: {a: plain}\n',
      [['user'], ['password']],
    ],
    ['a custom unencrypted_suffix', { unencrypted_suffix: '_plain' }, 'a: 1\nb_plain: 2\n', [['a']]],
    [
      'encrypted_suffix',
      { encrypted_suffix: '_secret' },
      'a: 1\nb_secret: 2\nc: {d_secret: {e: 3}}\n',
      [['b_secret'], ['c', 'd_secret', 'e']],
    ],
    [
      'encrypted_regex',
      { encrypted_regex: '^(data|stringData)$' },
      'kind: Secret\ndata: {x: 1}\nlist: [{data: 2}]\n',
      [
        ['data', 'x'],
        ['list', 0, 'data'],
      ],
    ],
    [
      'unencrypted_regex',
      { unencrypted_regex: '^(kind|metadata)$' },
      'kind: Secret\nmetadata: {name: n}\nspec: {data: x}\n',
      [['spec', 'data']],
    ],
  ] as const) {
    it(`encrypts and decrypts by ${name}`, async () => {
      const text = await encrypt(plain, rule ? { rule } : {});
      const [doc] = await roundTrip(plain, rule ? { rule } : {});
      assert.deepEqual(doc.encrypted, expected);
      assert.equal(text.split('ENC[AES256_GCM').length - 1, expected.length + 1, 'the values, and the MAC');
    });
  }

  it('with mac_only_encrypted, covers only encrypted values: an unencrypted one may change, as in sops', async () => {
    const o = { rule: { encrypted_regex: '^password$' }, macOnlyEncrypted: true } as const;
    const text = await encrypt('user: admin\npassword: s3cret\n', o);
    assert.match(text, /mac_only_encrypted: true/);
    const [doc] = ok(await decrypt(text.replace('user: admin', 'user: root'), keys)) as { user: string }[];
    assert.equal(doc.user, 'root');
    const covered = await encrypt('user: admin\npassword: s3cret\n', { rule: { encrypted_regex: '^password$' } });
    assert.equal(problem(await decrypt(covered.replace('user: admin', 'user: root'), keys)).code, 'SC7003');
  });

  it('decrypts every document of a file under one MAC, and refuses a document appended later', async () => {
    const docs = await roundTrip('a: 1\n---\nb: two\n');
    assert.deepEqual(
      docs.map((d) => [d.index, d.value]),
      [
        [0, { a: 1 }],
        [1, { b: 'two' }],
      ],
    );
    const text = await encrypt('a: 1\n');
    assert.equal(problem(await decrypt(`${text}---\nc: plain\n`, keys)).code, 'SC7006');
  });

  it('refuses a plain value where sops writes an encrypted one, at its line (SC7006)', async () => {
    const text = (await encrypt('a: x\nb: y\n')).replace(/^b: .*$/m, 'b: 5');
    const p = problem(await decrypt(text, keys));
    assert.equal(p.code, 'SC7006');
    assert.equal(p.line, 2);
    assert.match(p.message, /plain number where sops writes an encrypted value/);
  });

  it('refuses what it does not support, naming the field (SC7004)', async () => {
    const text = await encrypt('a: x\n');
    for (const [edit, message] of [
      [
        '  encrypted_comment_regex: sops:enc\n',
        /uses encrypted_comment_regex, which swarm-controller does not support/,
      ],
      ['  encrypted_regex: ^a$\n', /more than one of encrypted_suffix, unencrypted_suffix/],
      ['  key_groups: [{age: []}, {age: []}]\n', /split between 2 key groups \(Shamir/],
    ] as const) {
      const edited = text
        .replace('  version:', `${edit}  version:`)
        .replace(/^ {2}age:[\s\S]*?(?=^ {2}lastmodified)/m, edit.includes('key_groups') ? '' : '$&');
      const p = problem(await decrypt(edited, keys));
      assert.equal(p.code, 'SC7004', edit);
      assert.match(p.message, message);
    }
  });

  it('never shows a decrypted value or a key in a problem', async () => {
    const secret = 'correct-horse-battery-staple';
    const text = await encrypt(`a: ${secret}\nb: other\n`);
    for (const broken of [
      tamperValue(text, 'b:'),
      text.replace(/^b: .*$/m, 'b: 5'),
      tamperValue(text, 'mac:'),
      text.replace(
        /^a: (.*)$/m,
        'a: $1\nextra: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]',
      ),
    ]) {
      const p = problem(await decrypt(broken, keys));
      assert.doesNotMatch(JSON.stringify(p), new RegExp(`${secret}|AGE-SECRET-KEY`));
    }
  });
});

describe('redacting decrypted values from text', () => {
  it('replaces each decrypted string, as written and as JSON escapes it, in text and in log lines', async () => {
    const values = new SensitiveValues();
    values.add('s3cr3t "quoted" value');
    values.add('abc'); // too short to recognise: left alone
    values.add(42);
    assert.equal(values.redact('x s3cr3t "quoted" value y'), 'x (encrypted value) y');
    assert.equal(values.redact(JSON.stringify({ e: 'is s3cr3t "quoted" value' })), '{"e":"is (encrypted value)"}');
    assert.equal(values.redact('abc 42'), 'abc 42');
    const sink = new PassThrough();
    const stream = redactingStream(values, sink);
    stream.write('{"msg":"engine said: s3cr3t \\"quoted\\" value"}\n');
    await new Promise((r) => stream.end(r));
    assert.equal(String(sink.read()), '{"msg":"engine said: (encrypted value)"}\n');
  });
});
