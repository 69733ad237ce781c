'use strict';

// urlFor, the transform grammar and the other checks made before any request, without a server
// (the server's own verdicts are compared in client.test.js).

const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient, canonicalTransform, CloudimgError } = require('..');
const { checkExistingPublicId, checkPublicId } = require('../lib/transform');
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

test('gravity (g) goes with c_fill, c_cover and c_thumb, in its canonical place after c', () => {
  assert.equal(
    cli.urlFor('photo', { g: 'face', c: 'fill', h: 400, w: 400, f: 'webp' }),
    'https://img-cloud.org/v1/image/w_400,h_400,c_fill,g_face,f_webp/photo',
  );
  assert.equal(canonicalTransform({ c: 'thumb', g: 'north_east', w: 200, q: 70 }), 'w_200,c_thumb,g_north_east,q_70');
  assert.equal(canonicalTransform({ c: 'cover', g: 'center', w: 10, h: 10 }), 'w_10,h_10,c_cover,g_center');
  for (const g of ['auto', 'face', 'faces', 'center', 'north', 'south', 'east', 'west', 'north_east', 'north_west', 'south_east', 'south_west']) {
    assert.equal(canonicalTransform({ w: 100, h: 100, c: 'fill', g }), `w_100,h_100,c_fill,g_${g}`);
  }
  assert.equal(
    cli.srcset('photo', [200, 400], { w: 200, h: 100, c: 'fill', g: 'auto' }),
    'https://img-cloud.org/v1/image/w_200,h_100,c_fill,g_auto/photo 200w, https://img-cloud.org/v1/image/w_400,h_200,c_fill,g_auto/photo 400w',
  );
  const refused = (t, message) =>
    assert.throws(() => cli.urlFor('photo', t), (e) => e instanceof CloudimgError && e.code === 'invalid_transform' && e.message === message, JSON.stringify(t));
  const onlyCrops = 'gravity (g) applies to c_fill, c_cover and c_thumb only';
  for (const c of [undefined, 'fit', 'contain', 'inside', 'outside']) refused({ w: 100, h: 100, c, g: 'auto' }, onlyCrops);
  refused({ t: 'card', g: 'auto' }, 'a preset (t_) may be combined with f and dpr only');
  refused({ w: 100, c: 'fill', g: 'top' }, 'invalid transform pair "g_top": g must be one of auto, face, faces, center, north, south, east, west, north_east, north_west, south_east, south_west');
  // A bad pair is named before the combination is judged.
  refused('g_auto,w_0', 'invalid transform pair "w_0": w must be a whole number from 1 to 4000');
});

test('a new public_id may not start with g_ (now a transform key)', () => {
  assert.throws(() => checkPublicId('g_auto/x'), { message: 'public_id must not start with a transform-shaped segment like "g_auto"' });
  assert.equal(cli.urlFor('gx_1/x'), 'https://img-cloud.org/v1/image/gx_1/x');
  assert.equal(cli.urlFor('g/x'), 'https://img-cloud.org/v1/image/g/x');
});

test('a public_id stored before t and g were keys is still found but never made (PublicId::existing / ::parse)', () => {
  for (const id of ['t_old/photo', 'g_old/photo', 't_card', 'g_face/x', 't_/x', 'g_old/w_1/x']) {
    assert.equal(checkExistingPublicId(id), id);
    const first = id.split('/')[0];
    assert.throws(() => checkPublicId(id), (e) => e instanceof CloudimgError && e.status === 400 && e.code === 'invalid_public_id' &&
      e.message === `public_id must not start with a transform-shaped segment like ${JSON.stringify(first)}`, id);
  }
  // w (like every key but t and g) was always a key: no asset was ever stored under w_….
  for (const id of ['w_1/photo', 'w_400/x', 'c_fill', 'dpr_2/x', 'bg_fff', 'q_80/x']) {
    const first = id.split('/')[0];
    assert.throws(() => checkExistingPublicId(id), {
      name: 'CloudimgError', status: 400, code: 'invalid_public_id',
      message: `public_id must not start with a transform-shaped segment like ${JSON.stringify(first)}`,
    }, id);
  }
  // The other rules stand.
  for (const [id, message] of [
    ['t_old//x', 'public_id must not contain an empty segment (//)'],
    ['g_old/.x', 'public_id segments must not start with . (no ., .. or hidden names)'],
    ['t_old/a b', "public_id may only contain A-Z, a-z, 0-9, _ . - and /, not ' '"],
    ['t_old/', 'public_id must not start or end with /'],
    [`t_${'a'.repeat(254)}`, 'public_id must be 1 to 255 bytes long'],
  ]) {
    assert.throws(() => checkExistingPublicId(id), { code: 'invalid_public_id', message }, id);
  }
});

test('urlFor and srcset build URLs for t_… and g_… public_ids; the transform comes first, as always', () => {
  assert.equal(cli.urlFor('t_old/photo'), 'https://img-cloud.org/v1/image/t_old/photo');
  assert.equal(cli.urlFor('g_old/photo'), 'https://img-cloud.org/v1/image/g_old/photo');
  assert.equal(cli.urlFor('t_old/photo', { w: 100 }), 'https://img-cloud.org/v1/image/w_100/t_old/photo');
  assert.equal(cli.urlFor('g_old/photo', 'f_webp,t_card'), 'https://img-cloud.org/v1/image/t_card,f_webp/g_old/photo');
  assert.equal(cli.srcset('g_old/photo', [100]), 'https://img-cloud.org/v1/image/w_100/g_old/photo 100w');
  assert.throws(() => cli.urlFor('w_1/photo'), { code: 'invalid_public_id', message: 'public_id must not start with a transform-shaped segment like "w_1"' });
  assert.throws(() => cli.urlFor('w_1/photo', { w: 100 }), { code: 'invalid_public_id' });
});

test('getAsset, updateAsset, deleteAsset and sign send t_… and g_… public_ids; w_1/photo is refused before any request', async () => {
  const sent = [];
  const recording = createClient({
    baseUrl: 'https://img-cloud.org',
    keyId: 'ck_test',
    keySecret: 'cs_test',
    fetch: async (url, init) => {
      sent.push(`${init.method} ${url}${init.body === undefined ? '' : ` ${init.body}`}`);
      const body = init.method === 'DELETE' ? '' : JSON.stringify({ asset: { public_id: 'x' }, url: 'u', expires: 1 });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    },
  });
  for (const id of ['t_old/photo', 'g_old/photo']) {
    sent.length = 0;
    await recording.getAsset(id);
    await recording.updateAsset(id, { tags: 'kept' });
    await recording.deleteAsset(id);
    await recording.signedUrl(id, { transform: { w: 100 } });
    assert.deepEqual(sent, [
      `GET https://img-cloud.org/v1/assets/${id}`,
      `PATCH https://img-cloud.org/v1/assets/${id} {"tags":"kept"}`,
      `DELETE https://img-cloud.org/v1/assets/${id}`,
      `POST https://img-cloud.org/v1/image/sign {"public_id":"${id}","transform":"w_100"}`,
    ]);
  }
  sent.length = 0;
  const refused = { name: 'CloudimgError', status: 400, code: 'invalid_public_id', message: 'public_id must not start with a transform-shaped segment like "w_1"' };
  await assert.rejects(recording.getAsset('w_1/photo'), refused);
  await assert.rejects(recording.updateAsset('w_1/photo', { tags: 'x' }), refused);
  await assert.rejects(recording.deleteAsset('w_1/photo'), refused);
  await assert.rejects(recording.signedUrl('w_1/photo'), refused);
  await assert.rejects(recording.getAsset('t_old//photo'), { code: 'invalid_public_id', message: 'public_id must not contain an empty segment (//)' });
  assert.deepEqual(sent, []);
});

test('updateAsset refuses a bad focal_point before any request, with the server code and message', async () => {
  const offline = createClient({
    baseUrl: 'https://img-cloud.org',
    keyId: 'ck_test',
    keySecret: 'cs_test',
    fetch: () => assert.fail('no request may be sent'),
  });
  const bad = [{}, { x: 0.5 }, { y: 0.5 }, { x: 0.5, y: 0.5, z: 0 }, { x: -0.01, y: 0.5 }, { x: 0.5, y: 1.01 },
    { x: '0.5', y: 0.5 }, { x: 0.5, y: NaN }, { x: Infinity, y: 0 }, { x: true, y: 0 }, { x: null, y: 0 }, [0.5, 0.5],
    '0.5,0.5', 0.5, false, { x: 0.5, y: { value: 0.5 } }];
  for (const focal_point of bad) {
    await assert.rejects(offline.updateAsset('photo', { focal_point }), (e) => {
      assert.ok(e instanceof CloudimgError, String(e));
      assert.deepEqual([e.status, e.code, e.message], [400, 'invalid_focal_point', 'focal_point must be null or {"x": 0..1, "y": 0..1}']);
      return true;
    }, JSON.stringify(focal_point));
  }
  await assert.rejects(offline.updateAsset('photo', { focalPoint: { x: 0, y: 0 } }), /unknown option focalPoint/);
});

test('object values out of range, unknown keys and wrong types are refused', () => {
  const bad = [{ w: 0 }, { w: 4001 }, { w: 1.5 }, { q: 101 }, { dpr: 1.234 }, { bl: 0.2 }, { r: 400 }, { c: 'crop' },
    { f: 'jpeg' }, { g: 'Auto' }, { c: 'fill', g: 'up' }, { w: 10, g: 'auto' }, { gr: false }, { gr: 0 }, { bg: '#ffffff' }, { bg: 'fff' }, { x: 1 }, { w: NaN }, { w: [400] },
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
  // New ones only: an asset stored before t and g were keys keeps its id (the test above).
  for (const id of [...bad, 'g_face/x', 't_card']) {
    assert.throws(() => checkPublicId(id), (e) => e instanceof CloudimgError && e.status === 400 && e.code === 'invalid_public_id', JSON.stringify(id));
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
  assert.equal(esm.thumbHashToDataURL, cjs.thumbHashToDataURL);
  assert.equal(esm.thumbHashToRGBA, cjs.thumbHashToRGBA);
  assert.equal(esm.createClient({ baseUrl: 'http://x' }).urlFor('a', 'q_80,w_1'), 'http://x/v1/image/w_1,q_80/a');
});
