import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import {
  ageKeyLoader,
  decryptSopsYaml,
  loadAgeIdentities,
  parseAgeIdentities,
  SopsFailure,
  type SopsProblem,
} from '../../src/sops/index.js';
import { sopsEncrypt } from '../helpers/sops-encrypt.js';

const temp = () => mkdtempSync(join(tmpdir(), 'sc-sops-keys-'));

async function failure(p: Promise<unknown>): Promise<SopsProblem> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SopsFailure) return err.problem;
    throw err;
  }
  return assert.fail('expected a SopsFailure');
}

describe('age keys', () => {
  it('reads an identity age-keygen made, and opens a file sealed for the public key age-keygen -y prints', async () => {
    const dir = temp();
    const file = join(dir, 'keys.txt');
    execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim();
    const ids = await loadAgeIdentities({ env: { SOPS_AGE_KEY_FILE: file, HOME: dir } });
    assert.equal(ids.length, 1);
    assert.equal(ids[0].recipient, recipient);
    assert.match(ids[0].source, /^SOPS_AGE_KEY_FILE \(.*keys\.txt\) line 3$/);
    const text = await sopsEncrypt('password: s3cret\n', { recipients: [recipient] });
    const outcome = await decryptSopsYaml(text, async () => ids);
    assert.ok(outcome.ok);
    assert.deepEqual(outcome.file.documents[0].value, { password: 's3cret' });
  });

  it('opens a data key the age binary sealed (age -a -r), as sops does with filippo.io/age', async () => {
    const dir = temp();
    const file = join(dir, 'keys.txt');
    execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim();
    const dataKey = randomBytes(32);
    const stanza = execFileSync('age', ['-a', '-r', recipient], { input: dataKey, encoding: 'utf8' });
    assert.match(stanza, /^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    const text = await sopsEncrypt('a: b\n', { recipients: [recipient], dataKey, stanza });
    const outcome = await decryptSopsYaml(text, () => loadAgeIdentities({ files: [file], sopsDefaults: false }));
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.problem.message);
    // And the other way: the age binary opens a stanza age-encryption sealed.
    const ours = await sopsEncrypt('a: b\n', { recipients: [recipient], dataKey });
    const armored = /enc: \|\n((?: {8}.*\n)+)/.exec(ours)![1].replace(/^ {8}/gm, '');
    const opened = execFileSync('age', ['-d', '-i', file], { input: armored });
    assert.deepEqual(opened, dataKey);
  });

  it('reads SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, the default key file and --age-key-file together, as sops does', async () => {
    const dir = temp();
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => generateIdentity()));
    const flag = join(dir, 'flag.txt');
    writeFileSync(flag, `# comment\n\n${a}\n`);
    const named = join(dir, 'named.txt');
    writeFileSync(named, `${c}\n`);
    mkdirSync(join(dir, 'xdg/sops/age'), { recursive: true });
    writeFileSync(join(dir, 'xdg/sops/age/keys.txt'), `${d}\r\n`);
    const ids = await loadAgeIdentities({
      files: [flag],
      env: { SOPS_AGE_KEY: `# two lines\n${b}`, SOPS_AGE_KEY_FILE: named, XDG_CONFIG_HOME: join(dir, 'xdg') },
    });
    assert.deepEqual(
      ids.map((i) => i.source.replace(dir, 'DIR')),
      [
        'age key file DIR/flag.txt line 3',
        'SOPS_AGE_KEY line 2',
        'SOPS_AGE_KEY_FILE (DIR/named.txt) line 1',
        'DIR/xdg/sops/age/keys.txt line 1',
      ],
    );
    assert.deepEqual(
      ids.map((i) => i.recipient),
      await Promise.all([a, b, c, d].map((k) => identityToRecipient(k))),
    );
  });

  it('uses ~/.config/sops/age/keys.txt when XDG_CONFIG_HOME is unset, and nothing when it does not exist', async () => {
    const home = temp();
    assert.deepEqual(await loadAgeIdentities({ env: { HOME: home } }), []);
    mkdirSync(join(home, '.config/sops/age'), { recursive: true });
    writeFileSync(join(home, '.config/sops/age/keys.txt'), await generateIdentity());
    assert.equal((await loadAgeIdentities({ env: { HOME: home } })).length, 1);
  });

  it('refuses a key file that cannot be read, and a line that is no age key, by line and never by its text (SC7007)', async () => {
    const dir = temp();
    const missing = await failure(loadAgeIdentities({ env: { SOPS_AGE_KEY_FILE: join(dir, 'nope'), HOME: dir } }));
    assert.equal(missing.code, 'SC7007');
    assert.match(missing.message, /SOPS_AGE_KEY_FILE \(.*nope\) cannot be read \(ENOENT\)/);
    const unreadable = join(dir, 'dir');
    mkdirSync(unreadable);
    assert.match((await failure(loadAgeIdentities({ files: [unreadable], sopsDefaults: false }))).message, /EISDIR/);
    const good = await generateIdentity();
    const broken = good.slice(0, -3) + (good.endsWith('AAA') ? 'BBB' : 'AAA');
    for (const [text, message] of [
      [`${good}\n${broken}\n`, /line 2: is not a valid age secret key/],
      ['AGE-PLUGIN-YUBIKEY-1QQQ\n', /line 1: is an age plugin identity/],
      ['-----BEGIN OPENSSH PRIVATE KEY-----\n', /line 1: is a PEM block/],
      ['password123\n', /line 1: is not an age secret key/],
    ] as const) {
      const p = await failure(parseAgeIdentities(text, 'k.txt'));
      assert.equal(p.code, 'SC7007');
      assert.match(p.message, message);
      assert.doesNotMatch(JSON.stringify(p), /AGE-SECRET-KEY-1[0-9A-Z]{10}|password123/);
    }
  });

  it('reads the keys once, on first need: a load without encrypted files reads none', async () => {
    const dir = temp();
    const file = join(dir, 'keys.txt');
    const load = ageKeyLoader({ files: [file], sopsDefaults: false });
    writeFileSync(file, await generateIdentity()); // written after the loader was made: nothing was read yet
    const first = await load();
    rmSync(file);
    assert.equal((await load())[0].recipient, first[0].recipient, 'the second call does not read again');
  });
});
