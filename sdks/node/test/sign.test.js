'use strict';

// signUrl (offline signing, docs/SIGNED-URLS.md scheme v2) without a server: the documented worked
// example, canonicalisation, and argument checks. client.test.js checks the URLs against the server.

const test = require('node:test');
const assert = require('node:assert/strict');
const { createHmac } = require('node:crypto');
const { signUrl, CloudimgError } = require('..');

// The worked example of docs/SIGNED-URLS.md.
const SECRET = 'an-example-signing-secret-of-32b';
const REVISION = '0123456789abcdef0123456789abcdef';
const EXPIRES = 1800000000;
const PATH = '/v1/image/w_1200,q_80/private/contract-001';
const SIGNED_STRING = `${PATH}?expires=${EXPIRES}&v=${REVISION}`;
const SIG = 'BXDl-rixgHNAOEAFxAz8l01DrRYRXvj58UDtMwfiRxw';
const URL_ = `https://img-cloud.org${SIGNED_STRING}&sig=${SIG}`;
const LEGACY_SIG = 'viiq07a1fAa85ZjoREvHDnoYqV_xGhogR3k4myE0Ykw';

const example = (changes = {}) => ({
  baseUrl: 'https://img-cloud.org',
  secret: SECRET,
  publicId: 'private/contract-001',
  revision: REVISION,
  transform: { w: 1200, q: 80 },
  expires: EXPIRES,
  ...changes,
});

test('the documented worked example: its signed string, sig and URL', () => {
  assert.equal(createHmac('sha256', SECRET).update(SIGNED_STRING).digest('base64url'), SIG);
  assert.equal(signUrl(example()), URL_);
  assert.equal(new URL(signUrl(example())).searchParams.get('sig'), SIG);
});

test('the v2 signature is not the legacy one (the revision is signed)', () => {
  assert.equal(createHmac('sha256', SECRET).update(`${PATH}?expires=${EXPIRES}`).digest('base64url'), LEGACY_SIG);
  assert.notEqual(SIG, LEGACY_SIG);
  const other = signUrl(example({ revision: '0123456789abcdef0123456789abcdee' }));
  assert.notEqual(new URL(other).searchParams.get('sig'), SIG);
});

test('the transform is canonicalised, given as a string in any order or as an object', () => {
  for (const transform of ['q_80,w_1200', 'w_1200,q_080', { q: 80, w: 1200 }, { q: '80', w: '1200', h: null }]) {
    assert.equal(signUrl(example({ transform })), URL_, JSON.stringify(transform));
  }
});

test('without a transform the path is the original', () => {
  const expected = `/v1/image/private/contract-001?expires=${EXPIRES}&v=${REVISION}`;
  const sig = createHmac('sha256', SECRET).update(expected).digest('base64url');
  for (const transform of [undefined, null, '', {}]) {
    assert.equal(signUrl(example({ transform })), `https://img-cloud.org${expected}&sig=${sig}`);
  }
  const { transform, ...withoutKey } = example();
  void transform;
  assert.equal(signUrl(withoutKey), `https://img-cloud.org${expected}&sig=${sig}`);
});

test('the shape: ?expires=<n>&v=<32 hex>&sig=<43 base64url>', () => {
  assert.match(signUrl(example()), /^https:\/\/img-cloud\.org\/v1\/image\/w_1200,q_80\/private\/contract-001\?expires=\d+&v=[0-9a-f]{32}&sig=[A-Za-z0-9_-]{43}$/);
});

test('a secret as bytes signs as the same string does; the base URL keeps a path prefix, drops a trailing /', () => {
  assert.equal(signUrl(example({ secret: Buffer.from(SECRET) })), URL_);
  assert.equal(signUrl(example({ secret: new TextEncoder().encode(SECRET) })), URL_);
  assert.equal(signUrl(example({ baseUrl: 'https://img-cloud.org/' })), URL_);
  // The prefix is not signed: the server receives the path without it (a proxy strips it).
  assert.equal(signUrl(example({ baseUrl: 'https://cdn.example.com/img' })), `https://cdn.example.com/img${SIGNED_STRING}&sig=${SIG}`);
});

test('bad arguments throw TypeError / RangeError', () => {
  assert.throws(() => signUrl(), TypeError);
  assert.throws(() => signUrl('https://img-cloud.org'), TypeError);
  assert.throws(() => signUrl(example({ ttl_seconds: 60 })), /unknown option ttl_seconds/);
  for (const baseUrl of [undefined, 'img-cloud.org', 'ftp://img-cloud.org', 'https://img-cloud.org/?a=1', 'https://u:p@img-cloud.org']) {
    assert.throws(() => signUrl(example({ baseUrl })), TypeError, String(baseUrl));
  }
  for (const secret of [undefined, null, 42, ['a'], new ArrayBuffer(4)]) {
    assert.throws(() => signUrl(example({ secret })), TypeError, String(secret));
  }
  for (const secret of ['', Buffer.alloc(0), new Uint8Array(0)]) {
    assert.throws(() => signUrl(example({ secret })), RangeError, String(secret));
  }
  for (const revision of [undefined, null, 12345, Buffer.from(REVISION)]) {
    assert.throws(() => signUrl(example({ revision })), TypeError, String(revision));
  }
  for (const revision of ['', REVISION.toUpperCase(), REVISION.slice(1), `${REVISION}0`, `${REVISION.slice(1)}g`, ` ${REVISION.slice(1)}`]) {
    assert.throws(() => signUrl(example({ revision })), RangeError, revision);
  }
  for (const expires of [undefined, null, '1800000000', 1800000000n, new Date(0)]) {
    assert.throws(() => signUrl(example({ expires })), TypeError, String(expires));
  }
  for (const expires of [1.5, -1, NaN, Infinity, 2 ** 53]) {
    assert.throws(() => signUrl(example({ expires })), RangeError, String(expires));
  }
});

test('a bad transform or public_id throws the CloudimgError urlFor throws', () => {
  const is = (status, code) => (e) => e instanceof CloudimgError && e.status === status && e.code === code;
  assert.throws(() => signUrl(example({ transform: 'w_0' })), is(400, 'invalid_transform'));
  assert.throws(() => signUrl(example({ transform: { c: 'crop' } })), is(400, 'invalid_transform'));
  assert.throws(() => signUrl(example({ publicId: '../x' })), is(400, 'invalid_public_id'));
  assert.throws(() => signUrl(example({ publicId: 'w_400/x' })), is(400, 'invalid_public_id'));
  assert.throws(() => signUrl(example({ publicId: undefined })), TypeError);
});

test('a public_id stored before t and g were keys (t_old/photo, g_old/photo) is signed; w_1/photo is not', () => {
  for (const publicId of ['t_old/photo', 'g_old/photo']) {
    const signed = `/v1/image/w_1200,q_80/${publicId}?expires=${EXPIRES}&v=${REVISION}`;
    const sig = createHmac('sha256', SECRET).update(signed).digest('base64url');
    assert.equal(signUrl(example({ publicId })), `https://img-cloud.org${signed}&sig=${sig}`);
  }
  assert.throws(() => signUrl(example({ publicId: 'w_1/photo' })), {
    name: 'CloudimgError', status: 400, code: 'invalid_public_id',
    message: 'public_id must not start with a transform-shaped segment like "w_1"',
  });
  assert.throws(() => signUrl(example({ publicId: 'g_old//photo' })), { code: 'invalid_public_id' });
});

test('the ESM entry exports the same signUrl', async () => {
  const esm = await import('cloudimg');
  assert.equal(esm.signUrl, signUrl);
  assert.equal(esm.default.signUrl, signUrl);
});
