'use strict';

// urlFor and the transform grammar without a server (the server's own verdicts are compared in
// client.test.js).

const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient, canonicalTransform, CloudimgError } = require('..');

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

// Input → canonical, as shared/src/transform/mod.rs prints it.
const CANONICAL = [
  ['bg_FFAA00,r_-90,bl_4.50,gr_1,dpr_2.0,f_webp,q_080,c_fill,h_300,w_400', 'w_400,h_300,c_fill,q_80,f_webp,dpr_2,gr_1,bl_4.5,r_-90,bg_ffaa00'],
  ['h_400,w_400', 'w_400,h_400'],
  ['q_80,w_1200', 'w_1200,q_80'],
  ['dpr_1.25', 'dpr_1.25'],
  ['dpr_1.50', 'dpr_1.5'],
  ['dpr_3.00', 'dpr_3'],
  ['bl_0.3', 'bl_0.3'],
  ['bl_25', 'bl_25'],
  ['r_360', 'r_360'],
  ['r_-360', 'r_-360'],
  ['r_-0', 'r_0'],
  ['w_0004000', null],
  ['w_004000', 'w_4000'],
  ['c_thumb,f_auto', 'c_thumb,f_auto'],
  ['bg_000000', 'bg_000000'],
];

test('strings are canonicalised as the server does', () => {
  for (const [input, canonical] of CANONICAL) {
    if (canonical === null) {
      assert.throws(() => canonicalTransform(input), CloudimgError, input);
    } else {
      assert.equal(canonicalTransform(input), canonical, input);
    }
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

// Every pair shared/src/transform/mod.rs refuses, with its message where it is fixed.
const REFUSED = [
  ['w_0', 'invalid transform pair "w_0": w must be a whole number from 1 to 4000'],
  ['w_-1'], ['w_abc'], ['w_1.5'], ['w_'], ['w_99999999999999999999'], ['w_+10'], ['w_0x10'], ['w_１００'],
  ['w_4001'],
  ['q_0', 'invalid transform pair "q_0": q must be a whole number from 1 to 100'],
  ['q_101'], ['q_NaN'], ['h_0'],
  ['c_crop', 'invalid transform pair "c_crop": c must be one of fit, fill, cover, contain, inside, outside, thumb'],
  ['f_bmp', 'invalid transform pair "f_bmp": f must be one of auto, jpg, png, webp, avif, gif'],
  ['f_jpeg'],
  ['dpr_0.99', 'invalid transform pair "dpr_0.99": dpr must be from 1 to 3, with at most two decimals'],
  ['dpr_3.01'], ['dpr_1.234'], ['dpr_2.'], ['dpr_.5'], ['dpr_1e0'],
  ['bl_0.29', 'invalid transform pair "bl_0.29": bl must be from 0.3 to 25, with at most two decimals'],
  ['bl_25.01'],
  ['r_361', 'invalid transform pair "r_361": r must be a whole number from -360 to 360'],
  ['r_-361'], ['r_+90'], ['r_--1'],
  ['gr_0', 'invalid transform pair "gr_0": gr must be 1'],
  ['gr_true'],
  ['bg_fff', 'invalid transform pair "bg_fff": bg must be 6 hex digits, like ffffff'],
  ['bg_gggggg'], ['bg_#ffffff'],
  ['x_1', 'invalid transform pair "x_1": unknown key'],
  ['w400', 'invalid transform pair "w400": expected key_value'],
  ['w_400,', 'invalid transform pair "": expected key_value'],
  [',w_400'], ['w_400,,h_1'],
  ['w_400,w_500', 'invalid transform pair "w_500": the key is given twice'],
  ['w_400%2Ch_300'], ['w_ 400'],
  [`w_1,${'q_1,'.repeat(70)}`, 'a transform is at most 256 characters'],
  ['w_400,h_x', 'invalid transform pair "h_x": h must be a whole number from 1 to 4000'],
];

test('every pair the server refuses is refused with the server code and message', () => {
  for (const [input, message] of REFUSED) {
    assert.throws(
      () => cli.urlFor('photo', input),
      (e) => {
        assert.ok(e instanceof CloudimgError, input);
        assert.equal(e.status, 400, input);
        assert.equal(e.code, 'invalid_transform', input);
        if (message) assert.equal(e.message, message, input);
        else assert.ok(e.message.includes('transform'), `${input}: ${e.message}`);
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
