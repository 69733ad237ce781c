'use strict';

// urlFor and the transform grammar without a server (the server's own verdicts are compared in
// client.test.js).

const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient, canonicalTransform, CloudimgError } = require('..');
const { transformCases } = require('./support');

const cli = createClient({ baseUrl: 'https://img-cloud.org', keyId: 'ck_test', keySecret: 'cs_test' });

test('urlFor prints the seed quickstart URL exactly', () => {
  assert.equal(
    cli.urlFor('photo-3a7f9c81b2e4', { w: 400, h: 400, c: 'fill', f: 'webp' }),
    'https://img-cloud.org/v1/image/w_400,h_400,c_fill,f_webp/photo-3a7f9c81b2e4',
  );
});

test('urlFor prints the seed delivery URL with q in canonical place', () => {
  assert.equal(
    cli.urlFor('photo-3a7f9c81b2e4', { f: 'webp', q: 80, c: 'fill', h: 400, w: 400 }),
    'https://img-cloud.org/v1/image/w_400,h_400,c_fill,q_80,f_webp/photo-3a7f9c81b2e4',
  );
});

test('urlFor without a transform is the original', () => {
  assert.equal(cli.urlFor('marketing/hero'), 'https://img-cloud.org/v1/image/marketing/hero');
  assert.equal(cli.urlFor('marketing/hero', {}), 'https://img-cloud.org/v1/image/marketing/hero');
  assert.equal(cli.urlFor('marketing/hero', ''), 'https://img-cloud.org/v1/image/marketing/hero');
  assert.equal(cli.urlFor('marketing/hero', { w: undefined, h: null }), 'https://img-cloud.org/v1/image/marketing/hero');
});

test('a trailing slash or a path prefix of baseUrl is kept right', () => {
  const prefixed = createClient({ baseUrl: 'https://cdn.example.com/img/', keyId: 'ck_a', keySecret: 'cs_b' });
  assert.equal(prefixed.urlFor('a', { w: 1 }), 'https://cdn.example.com/img/v1/image/w_1/a');
});

test('strings are canonicalised as the server does (every valid case of tests/transform-cases.json)', () => {
  for (const { input, canonical } of transformCases.valid) {
    assert.equal(canonicalTransform(input), canonical, input);
  }
});

test('objects are canonicalised like the sign endpoint reads them', () => {
  assert.equal(
    canonicalTransform({ bg: 'FFAA00', r: -90, bl: 4.5, gr: true, dpr: 2, f: 'webp', q: 80, c: 'fill', h: 300, w: 400 }),
    'w_400,h_300,c_fill,q_80,f_webp,dpr_2,gr_1,bl_4.5,r_-90,bg_ffaa00',
  );
  assert.equal(canonicalTransform({ gr: 1, dpr: '1.50' }), 'dpr_1.5,gr_1');
  assert.equal(canonicalTransform({ w: '400' }), 'w_400');
});

test('every pair the server refuses is refused with the server code and message (tests/transform-cases.json)', () => {
  for (const { input, error, sdks_only_refuse: ownMessage } of transformCases.invalid) {
    assert.throws(
      () => cli.urlFor('photo', input),
      (e) => {
        assert.ok(e instanceof CloudimgError, input);
        assert.equal(e.status, 400, input);
        assert.equal(e.code, 'invalid_transform', input);
        // Marked cases: the SDK quotes the pair with JSON's escapes, the server with Rust's.
        if (!ownMessage) assert.equal(e.message, error, input);
        return true;
      },
    );
  }
});

test('object values out of range, unknown keys and wrong types are refused', () => {
  const bad = [{ w: 0 }, { w: 4001 }, { w: 1.5 }, { q: 101 }, { dpr: 1.234 }, { bl: 0.2 }, { r: 400 }, { c: 'crop' },
    { f: 'jpeg' }, { gr: false }, { gr: 0 }, { bg: '#ffffff' }, { bg: 'fff' }, { x: 1 }, { w: NaN }, { w: [400] },
    { w: 1e21 }];
  for (const t of bad) {
    assert.throws(() => cli.urlFor('photo', t), (e) => e instanceof CloudimgError && e.code === 'invalid_transform', JSON.stringify(t));
  }
  assert.throws(() => cli.urlFor('photo', { gr: false }), { message: 'transform value of gr must be a string or a number, not false' });
  assert.throws(() => cli.urlFor('photo', 42), TypeError);
});

test('public_ids are checked as the server checks them', () => {
  const bad = ['', '../x', 'x/..', './x', 'a//b', '/abs', 'abs/', '.hidden', 'a/.b', 'a\\b', 'a\0b', 'a b', 'é',
    'w_400/x', 'c_fill', 'dpr_2/x', 'bg_fff', 'a'.repeat(256), '%2e%2e%2f', 'a\nb'];
  for (const id of bad) {
    assert.throws(() => cli.urlFor(id), (e) => e instanceof CloudimgError && e.status === 400 && e.code === 'invalid_public_id', JSON.stringify(id));
  }
  for (const id of ['photo-3a7f9c81b2e4', 'marketing/hero', 'private/contract-001', 'my_photo/x', 'foo_1/x', 'a.b', 'wx_1', 'a'.repeat(255)]) {
    assert.equal(cli.urlFor(id), `https://img-cloud.org/v1/image/${id}`);
  }
  assert.throws(() => cli.urlFor('w_400/x'), { message: 'public_id must not start with a transform-shaped segment like "w_400"' });
});

test('srcset lists one URL per width, smallest first, keeping the aspect ratio', () => {
  assert.equal(
    cli.srcset('photo', [800, 400, 800], { w: 400, h: 300, c: 'fill', f: 'webp' }),
    'https://img-cloud.org/v1/image/w_400,h_300,c_fill,f_webp/photo 400w, ' +
      'https://img-cloud.org/v1/image/w_800,h_600,c_fill,f_webp/photo 800w',
  );
  assert.equal(
    cli.srcset('photo', [400, 1200], 'q_70'),
    'https://img-cloud.org/v1/image/w_400,q_70/photo 400w, https://img-cloud.org/v1/image/w_1200,q_70/photo 1200w',
  );
  assert.equal(cli.srcset('photo', [640]), 'https://img-cloud.org/v1/image/w_640/photo 640w');
  assert.throws(() => cli.srcset('photo', []), TypeError);
  assert.throws(() => cli.srcset('photo', [400], { h: 300 }), TypeError);
  assert.throws(() => cli.srcset('photo', [0, 400]), (e) => e.code === 'invalid_transform');
  assert.throws(() => cli.srcset('photo', [5000]), (e) => e.code === 'invalid_transform');
});

test('createClient checks its options without echoing the secret', () => {
  assert.throws(() => createClient({}), TypeError);
  assert.throws(() => createClient({ baseUrl: 'ftp://x' }), TypeError);
  assert.throws(() => createClient({ baseUrl: 'http://x', keyId: 'ck_a' }), TypeError);
  assert.throws(() => createClient({ baseUrl: 'http://x', keyId: 'ck_a', keySecret: 'cs_b', timeout: 5 }), /unknown option timeout/);
  assert.throws(
    () => createClient({ baseUrl: 'http://x', keyId: 'ck_a', keySecret: 'cs_hunter2\nInjected: 1' }),
    (e) => e instanceof TypeError && !e.message.includes('hunter2'),
  );
  // URL building needs no key.
  assert.equal(createClient({ baseUrl: 'http://x' }).urlFor('a'), 'http://x/v1/image/a');
});

test('the ESM entry exports the same objects as the CommonJS one', async () => {
  const esm = await import('cloudimg');
  const cjs = require('cloudimg');
  assert.equal(esm.createClient, cjs.createClient);
  assert.equal(esm.CloudimgError, cjs.CloudimgError);
  assert.equal(esm.default, cjs);
  assert.equal(esm.createClient({ baseUrl: 'http://x' }).urlFor('a', 'q_80,w_1'), 'http://x/v1/image/w_1,q_80/a');
});
