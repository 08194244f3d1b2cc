/** Sync webhook verification: GitHub and Gitea HMAC signatures, Bearer tokens, and every way to fail. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signGitea, signGithub, verifyWebhook, type WebhookVerdict } from '../../src/controller/webhook.js';

const secret = 'It5-a-s3cret!';
const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: '0123abcd' }));
const hmac = (b: Buffer, key: string) => createHmac('sha256', key).update(b).digest('hex');

function assertRefused(v: WebhookVerdict, status: 400 | 401, reason?: RegExp): void {
  assert.equal(v.ok, false, `expected a refusal, got ${JSON.stringify(v)}`);
  if (v.ok) return;
  assert.equal(v.status, status, v.reason);
  if (reason) assert.match(v.reason, reason);
  assert.ok(!v.reason.includes(secret), 'the reason must not contain the secret');
  assert.ok(!v.reason.includes(hmac(body, secret)), 'the reason must not contain the expected signature');
}

describe('sync webhook verification', () => {
  it('accepts a GitHub X-Hub-Signature-256 computed over the raw body', () => {
    const headers = { 'x-hub-signature-256': `sha256=${hmac(body, secret)}` };
    assert.deepEqual(verifyWebhook(headers, body, secret), { ok: true, kind: 'github' });
  });

  it('accepts a Gitea X-Gitea-Signature and a Gogs X-Gogs-Signature', () => {
    assert.deepEqual(verifyWebhook({ 'x-gitea-signature': hmac(body, secret) }, body, secret), {
      ok: true,
      kind: 'gitea',
    });
    assert.deepEqual(verifyWebhook({ 'x-gogs-signature': hmac(body, secret) }, body, secret), {
      ok: true,
      kind: 'gitea',
    });
  });

  it('accepts what Gitea really sends: its own header and GitHub-style ones with the same HMAC', () => {
    const sig = hmac(body, secret);
    const headers = { 'X-Gitea-Signature': sig, 'X-Gogs-Signature': sig, 'X-Hub-Signature-256': `sha256=${sig}` };
    assert.deepEqual(verifyWebhook(headers, body, secret), { ok: true, kind: 'gitea' });
  });

  it('refuses when any of several signature headers does not match', () => {
    const headers = { 'X-Gitea-Signature': hmac(body, secret), 'X-Hub-Signature-256': `sha256=${hmac(body, 'other')}` };
    assertRefused(verifyWebhook(headers, body, secret), 401, /signature does not match/);
  });

  it('reads header names case-insensitively', () => {
    assert.deepEqual(verifyWebhook({ 'X-Hub-Signature-256': signGithub(body, secret) }, body, secret), {
      ok: true,
      kind: 'github',
    });
    assert.deepEqual(verifyWebhook({ 'X-GITEA-SIGNATURE': signGitea(body, secret) }, body, secret), {
      ok: true,
      kind: 'gitea',
    });
    assert.deepEqual(verifyWebhook({ AUTHORIZATION: `Bearer ${secret}` }, body, secret), { ok: true, kind: 'token' });
  });

  it('accepts upper-case hex and a single-element header array, as node:http may give', () => {
    const upper = hmac(body, secret).toUpperCase();
    assert.deepEqual(verifyWebhook({ 'x-gitea-signature': [upper] }, body, secret), { ok: true, kind: 'gitea' });
  });

  it('refuses a signature made with the wrong secret', () => {
    assertRefused(
      verifyWebhook({ 'x-hub-signature-256': `sha256=${hmac(body, 'wrong')}` }, body, secret),
      401,
      /^signature does not match$/,
    );
    assertRefused(
      verifyWebhook({ 'x-gitea-signature': hmac(body, 'wrong') }, body, secret),
      401,
      /^signature does not match$/,
    );
  });

  it('refuses a tampered body', () => {
    const tampered = Buffer.from(body.toString().replace('main', 'evil'));
    assertRefused(
      verifyWebhook({ 'x-hub-signature-256': signGithub(body, secret) }, tampered, secret),
      401,
      /signature does not match/,
    );
    assertRefused(
      verifyWebhook({ 'x-gitea-signature': signGitea(body, secret) }, tampered, secret),
      401,
      /signature does not match/,
    );
  });

  it('refuses a request with no signature header with 401 "no signature"', () => {
    assertRefused(verifyWebhook({}, body, secret), 401, /^no signature/);
    assertRefused(
      verifyWebhook({ 'content-type': 'application/json', 'x-hub-signature-256': undefined }, body, secret),
      401,
      /^no signature/,
    );
    assertRefused(verifyWebhook({ 'x-hub-signature': 'sha1=0123' }, body, secret), 401, /^no signature/);
    assertRefused(verifyWebhook({ authorization: 'Basic dXNlcjpwYXNz' }, body, secret), 401, /^no signature/);
  });

  it('refuses malformed hex with 400', () => {
    const good = hmac(body, secret);
    for (const value of ['zz' + good.slice(2), good.slice(1), '', `sha256=${good}`, 'sha256=']) {
      assertRefused(verifyWebhook({ 'x-gitea-signature': value }, body, secret), 400, /malformed X-Gitea-Signature/);
    }
    for (const value of [good, `sha1=${good}`, `sha256=${good}g`, 'sha256=', `sha256=${good.slice(3)}`]) {
      assertRefused(
        verifyWebhook({ 'x-hub-signature-256': value }, body, secret),
        400,
        /malformed X-Hub-Signature-256/,
      );
    }
  });

  it('refuses well-formed hex of the wrong length as a mismatch, not a crash', () => {
    assertRefused(
      verifyWebhook({ 'x-gitea-signature': hmac(body, secret).slice(0, 32) }, body, secret),
      401,
      /signature does not match/,
    );
    assertRefused(
      verifyWebhook({ 'x-gitea-signature': hmac(body, secret) + '00' }, body, secret),
      401,
      /signature does not match/,
    );
  });

  it('refuses a header given twice with 400', () => {
    const sig = hmac(body, secret);
    assertRefused(verifyWebhook({ 'x-gitea-signature': [sig, sig] }, body, secret), 400, /more than once/);
    assertRefused(
      verifyWebhook({ 'X-Gitea-Signature': sig, 'x-gitea-signature': sig }, body, secret),
      400,
      /more than once/,
    );
  });

  it('accepts Authorization: Bearer <secret> and refuses any other token', () => {
    assert.deepEqual(verifyWebhook({ authorization: `Bearer ${secret}` }, body, secret), { ok: true, kind: 'token' });
    assert.deepEqual(verifyWebhook({ authorization: `bearer   ${secret}  ` }, body, secret), {
      ok: true,
      kind: 'token',
    });
    assertRefused(verifyWebhook({ authorization: 'Bearer wrong' }, body, secret), 401, /signature does not match/);
    assertRefused(verifyWebhook({ authorization: `Bearer ${secret}x` }, body, secret), 401, /signature does not match/);
    assertRefused(verifyWebhook({ authorization: 'Bearer' }, body, secret), 401, /signature does not match/);
    assertRefused(
      verifyWebhook({ authorization: `Bearer ${secret.slice(0, -1)}` }, body, secret),
      401,
      /signature does not match/,
    );
  });

  it('does not let a right Bearer token rescue a wrong signature', () => {
    const headers = { authorization: `Bearer ${secret}`, 'x-hub-signature-256': `sha256=${hmac(body, 'wrong')}` };
    assertRefused(verifyWebhook(headers, body, secret), 401, /signature does not match/);
  });

  it('never verifies anything with an empty secret', () => {
    const empty = '';
    assertRefused(verifyWebhook({ 'x-hub-signature-256': `sha256=${hmac(body, empty)}` }, body, empty), 401);
    assertRefused(verifyWebhook({ 'x-gitea-signature': hmac(body, empty) }, body, empty), 401);
    assertRefused(verifyWebhook({ authorization: 'Bearer ' }, body, empty), 401);
    assertRefused(verifyWebhook({ authorization: 'Bearer' }, body, empty), 401);
    assertRefused(verifyWebhook({}, body, empty), 401);
    assert.throws(() => signGithub(body, empty), /must not be empty/);
  });

  it('signGithub and signGitea give the values GitHub and Gitea send', () => {
    assert.equal(signGithub(body, secret), `sha256=${hmac(body, secret)}`);
    assert.equal(signGitea(body, secret), hmac(body, secret));
    // The example from GitHub's documentation on validating webhook deliveries.
    assert.equal(
      signGithub('Hello, World!', "It's a Secret to Everybody"),
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });
});
