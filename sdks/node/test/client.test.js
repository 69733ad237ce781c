'use strict';

// Every verb against the real server that scripts/test-sdks started, as one fresh user.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { inspect } = require('node:util');
const { createHmac } = require('node:crypto');
const { createClient, canonicalTransform, signUrl, thumbHashToDataURL, thumbHashToRGBA, CloudimgError } = require('..');
const { checkPublicId } = require('../lib/transform');
const { env, newUser, adminKey, photoPath, photoDir, transformCases } = require('./support');

let cli;
let key;
const photo = () => fs.readFileSync(photoPath());
const hex12 = '[0-9a-f]{12}';
/** What a signed URL ends with (docs/SIGNED-URLS.md, v2). */
const signedQuery = '\\?expires=\\d+&v=[0-9a-f]{32}&sig=[A-Za-z0-9_-]{43}';
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test.before(async () => {
  key = await newUser(env.base);
  cli = createClient({ baseUrl: env.base, keyId: key.keyId, keySecret: key.keySecret });
});

async function rejectsWith(promise, status, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof CloudimgError, `not a CloudimgError: ${e}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('seed quickstart: upload ./photo.jpg, asset.url and urlFor have the seed shape, the URL delivers', async () => {
  const dir = photoDir('photo.jpg');
  const asset = await cli.upload(path.join(dir, 'photo.jpg'));
  assert.match(asset.url, new RegExp(`^${escape(env.base)}/v1/image/photo-${hex12}$`));
  assert.match(asset.public_id, new RegExp(`^photo-${hex12}$`));
  assert.equal(asset.original_filename, 'photo.jpg');
  const url = cli.urlFor(asset.public_id, { w: 400, h: 400, c: 'fill', f: 'webp' });
  assert.equal(url, `${env.base}/v1/image/w_400,h_400,c_fill,f_webp/${asset.public_id}`);
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'image/webp');
});

test('AVIF, HEIC and JPEG XL originals upload with their format, and render as any output format', async () => {
  const peerCorpus = path.resolve(env.corpus, '../peer-corpus');
  const cases = [
    ['libvips/avif-orientation-6.avif', 'avif', 'image/avif', [3024, 4032]],
    ['pillow/hopper.heif', 'heic', 'image/heic', [128, 128]],
    ['jxl-oxide/cmyk_layers.jxl', 'jxl', 'image/jxl', [512, 512]],
  ];
  for (const [file, format, contentType, [width, height]] of cases) {
    const asset = await cli.upload(path.join(peerCorpus, file), { folder: 'formats' });
    assert.deepEqual([asset.format, asset.content_type, asset.width, asset.height], [format, contentType, width, height], file);
    const response = await fetch(cli.urlFor(asset.public_id, { w: 64, f: 'webp' }));
    assert.equal(response.status, 200, file);
    assert.equal(response.headers.get('content-type'), 'image/webp', file);
  }
});

test('seed Node SDK block: upload with options, urlFor, signedUrl, update, delete, list', async () => {
  const dir = photoDir('hero.jpg');
  const asset = await cli.upload(path.join(dir, 'hero.jpg'), { folder: 'marketing', tags: ['hero', 'homepage'], visibility: 'public' });
  assert.match(asset.public_id, new RegExp(`^marketing/hero-${hex12}$`));
  assert.deepEqual(asset.tags, ['hero', 'homepage']);
  assert.equal(asset.folder, 'marketing');

  const thumb = cli.urlFor(asset.public_id, { w: 400, h: 400, c: 'fill', f: 'webp', q: 80 });
  assert.equal(thumb, `${env.base}/v1/image/w_400,h_400,c_fill,q_80,f_webp/${asset.public_id}`);

  const signed = await cli.signedUrl(asset.public_id, { transform: { w: 200 }, ttl_seconds: 3600 });
  assert.match(signed, new RegExp(`^${escape(env.base)}/v1/image/w_200/${escape(asset.public_id)}${signedQuery}$`));
  assert.ok(signed.includes(`&v=${asset.revision}&`), signed);
  assert.equal((await fetch(signed)).status, 200);

  const updated = await cli.updateAsset(asset.public_id, { tags: 'archived' });
  assert.deepEqual(updated.tags, ['archived']);
  assert.equal((await cli.listAssets({ folder: 'marketing', limit: 50 })).assets.length, 1);
  await cli.deleteAsset(asset.public_id);
  const { assets } = await cli.listAssets({ folder: 'marketing', limit: 50 });
  assert.deepEqual(assets, []);
});

test('upload from a Buffer, a Uint8Array view, a Blob and a stream', async () => {
  const bytes = photo();
  const fromBuffer = await cli.upload(bytes, { public_id: 'sources/buffer' });
  assert.equal(fromBuffer.public_id, 'sources/buffer');
  assert.equal(fromBuffer.folder, 'sources');
  assert.equal(fromBuffer.bytes, bytes.length);
  assert.equal(fromBuffer.original_filename, null);

  const unnamed = await cli.upload(bytes, { folder: 'sources' });
  assert.match(unnamed.public_id, new RegExp(`^sources/image-${hex12}$`));

  const padded = Buffer.concat([Buffer.from('padding before the view'), bytes]);
  const view = new Uint8Array(padded.buffer, padded.byteOffset + 23, bytes.length);
  const fromView = await cli.upload(view, { public_id: 'sources/view', filename: 'view.jpg' });
  assert.equal(fromView.bytes, bytes.length);
  assert.equal(fromView.original_filename, 'view.jpg');

  const fromBlob = await cli.upload(new Blob([bytes]), { public_id: 'sources/blob', tags: 'a,b', visibility: 'private' });
  assert.deepEqual(fromBlob.tags, ['a', 'b']);
  assert.equal(fromBlob.visibility, 'private');

  const fromStream = await cli.upload(fs.createReadStream(photoPath()), { folder: 'sources' });
  assert.match(fromStream.public_id, new RegExp(`^sources/photo-1000x667-${hex12}$`));
  assert.equal(fromStream.width, 1000);
  assert.equal(fromStream.height, 667);
});

test('overwrite: 409 without it, version 2 with it', async () => {
  const first = await cli.upload(photo(), { public_id: 'overwrite/me' });
  assert.equal(first.version, 1);
  await rejectsWith(cli.upload(photo(), { public_id: 'overwrite/me' }), 409, 'already_exists');
  const second = await cli.upload(photo(), { public_id: 'overwrite/me', overwrite: true, tags: ['v2'] });
  assert.equal(second.version, 2);
  assert.deepEqual(second.tags, ['v2']);
});

test('signed URL of a private asset: delivers; tampered, re-transformed or re-dated it is 401', async () => {
  const asset = await cli.upload(photo(), { public_id: 'private/contract-001', visibility: 'private' });
  assert.equal((await fetch(cli.urlFor(asset.public_id))).status, 401);

  const { url, expires } = await cli.sign(asset.public_id, { transform: 'q_80,w_300', ttl_seconds: 60 });
  const now = Math.floor(Date.now() / 1000);
  assert.ok(expires > now && expires <= now + 61, `${expires}`);
  assert.match(asset.revision, /^[0-9a-f]{32}$/);
  assert.ok(url.startsWith(`${cli.urlFor(asset.public_id, { w: 300, q: 80 })}?expires=${expires}&v=${asset.revision}&sig=`), url);
  assert.match(url, new RegExp(`${signedQuery}$`));
  const ok = await fetch(url);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'image/jpeg');
  assert.match(ok.headers.get('cache-control'), /^public, max-age=(60|59|58)$/);

  const sig = new URL(url).searchParams.get('sig');
  const flipped = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
  const rev = asset.revision;
  const otherRevision = `${rev.slice(0, -1)}${rev.endsWith('0') ? '1' : '0'}`;
  for (const tampered of [
    url.replace(sig, flipped),
    url.replace(`v=${rev}`, `v=${otherRevision}`),
    url.replace(`v=${rev}`, `v=${rev.toUpperCase()}`),
    url.replace(`&v=${rev}`, ''),
    url.replace('w_300,q_80', 'w_301,q_80'),
    url.replace('w_300,q_80', 'q_80,w_300'),
    url.replace(`expires=${expires}`, `expires=${expires + 1}`),
    url.replace('contract-001', 'contract-002'),
  ]) {
    const response = await fetch(tampered);
    assert.ok([401, 404].includes(response.status), `${tampered}: ${response.status}`);
    if (!tampered.includes('contract-002')) assert.equal(response.status, 401, tampered);
  }

  const original = await cli.signedUrl(asset.public_id);
  assert.match(original, new RegExp(`^${escape(env.base)}/v1/image/private/contract-001${signedQuery}$`));
  assert.equal((await fetch(original)).status, 200);

  const short = await cli.signedUrl(asset.public_id, { ttl_seconds: 1 });
  await new Promise((resolve) => setTimeout(resolve, 2100));
  const expired = await fetch(short);
  assert.equal(expired.status, 401);
  assert.equal((await expired.json()).code, 'signature_expired');

  await rejectsWith(cli.signedUrl(asset.public_id, { ttl_seconds: 0 }), 400, 'invalid_ttl');
  await rejectsWith(cli.signedUrl('no/such-asset'), 404, 'not_found');
});

test('signUrl offline: the sign endpoint\'s URL, delivers; after delete and re-upload by another user the old URL is 401', async () => {
  const publicId = 'private/offline-signed';
  const transform = { w: 300, q: 80 };
  const offline = (revision, expires) =>
    signUrl({ baseUrl: env.base, secret: env.signingSecret, publicId, revision, transform, expires });
  const first = await cli.upload(photo(), { public_id: publicId, visibility: 'private' });
  assert.match(first.revision, /^[0-9a-f]{32}$/);

  // Offline signing makes exactly the URL the sign endpoint makes.
  const { url: serverUrl, expires } = await cli.sign(publicId, { transform: 'q_80,w_300', ttl_seconds: 600 });
  const oldUrl = offline(first.revision, expires);
  assert.equal(oldUrl, serverUrl);
  const delivered = await fetch(oldUrl);
  assert.equal(delivered.status, 200);
  assert.equal(delivered.headers.get('content-type'), 'image/jpeg');

  // A legacy URL (no v) for content changed within the last 7 days before its expiry is refused.
  const legacyPath = new URL(oldUrl).pathname;
  const legacySig = createHmac('sha256', env.signingSecret).update(`${legacyPath}?expires=${expires}`).digest('base64url');
  const legacy = await fetch(`${env.base}${legacyPath}?expires=${expires}&sig=${legacySig}`);
  assert.equal(legacy.status, 401);
  assert.equal((await legacy.json()).code, 'invalid_signature');

  // Delete; another user takes the public_id (a new asset: a new revision, whatever its bytes).
  await cli.deleteAsset(publicId);
  const other = await newUser(env.base, 'node-other');
  const otherCli = createClient({ baseUrl: env.base, keyId: other.keyId, keySecret: other.keySecret });
  const second = await otherCli.upload(photo(), { public_id: publicId, visibility: 'private' });
  assert.equal(second.owner_id, other.userId);
  assert.match(second.revision, /^[0-9a-f]{32}$/);
  assert.notEqual(second.revision, first.revision);

  const stale = await fetch(oldUrl);
  assert.equal(stale.status, 401, 'a URL signed for the deleted asset must not serve the new one');
  assert.equal((await stale.json()).code, 'invalid_signature');
  const fresh = await fetch(offline(second.revision, expires));
  assert.equal(fresh.status, 200);
  assert.equal(fresh.headers.get('content-type'), 'image/jpeg');

  // An overwrite is a new revision too: the URL of the one before stops working.
  const third = await otherCli.upload(photo(), { public_id: publicId, visibility: 'private', overwrite: true });
  assert.notEqual(third.revision, second.revision);
  assert.equal((await fetch(offline(second.revision, expires))).status, 401);
  assert.equal((await fetch(offline(third.revision, expires))).status, 200);
  await otherCli.deleteAsset(publicId);
});

// Transforms given out of order, with leading zeros, trailing decimal zeros or capitals.
const SPELLINGS = [
  'h_300,w_400',
  'f_webp,q_080,c_fill,h_300,w_400',
  'bg_FFAA00,c_contain,h_200,w_200',
  'r_-90,gr_1,w_120',
  'bl_4.50,dpr_2.0,w_150',
  'f_png,dpr_1.25,w_100,c_thumb,h_100',
  'q_50,c_outside,h_90,w_90',
  'c_inside,w_2000',
  'r_45,bg_00FF00,w_100',
  'f_auto,w_50',
  'g_auto,c_fill,h_100,w_100',
  'c_thumb,g_north_east,w_80,h_60',
  'w_120,h_90,c_cover,g_faces,f_webp',
  'g_face,c_fill,w_64,h_64',
  'c_fill,g_center,w_40,h_40',
];

test('urlFor spells every transform as the server canonicalises it, and each URL delivers', async () => {
  const asset = await cli.upload(photo(), { public_id: 'canonical/photo' });
  for (const spelling of SPELLINGS) {
    const { url } = await cli.sign(asset.public_id, { transform: spelling });
    // The server's own canonical form, from a request that bypasses the SDK's canonicaliser.
    const raw = await fetch(`${env.base}/v1/image/sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `ApiKey ${key.keyId}:${key.keySecret}` },
      body: JSON.stringify({ public_id: asset.public_id, transform: spelling }),
    });
    const serverUrl = (await raw.json()).url;
    const serverTransform = new URL(serverUrl).pathname.split('/')[3];
    assert.equal(canonicalTransform(spelling), serverTransform, spelling);
    assert.equal(url.split('?')[0], serverUrl.split('?')[0], spelling);
    const sdkUrl = cli.urlFor(asset.public_id, spelling);
    assert.equal(sdkUrl, serverUrl.split('?')[0], spelling);
    const delivered = await fetch(sdkUrl, { headers: { accept: 'image/webp' } });
    assert.equal(delivered.status, 200, `${sdkUrl}: ${await delivered.text()}`);
  }
});

test('the SDK refuses bad transforms and public_ids with the server code and message', async () => {
  const asset = await cli.upload(photo(), { public_id: 'refusals/photo' });
  for (const { input: transform, sdks_only_refuse: ownMessage } of transformCases.invalid) {
    const response = await fetch(`${env.base}/v1/image/sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `ApiKey ${key.keyId}:${key.keySecret}` },
      body: JSON.stringify({ public_id: asset.public_id, transform }),
    });
    assert.equal(response.status, 400, transform);
    const server = await response.json();
    assert.throws(() => cli.urlFor(asset.public_id, transform), (e) => {
      assert.equal(e.code, server.code, transform);
      // Marked cases: the SDK quotes the pair with JSON's escapes, the server with Rust's.
      if (!ownMessage) assert.equal(e.message, server.error, transform);
      return true;
    });
  }
  for (const id of ['../x', 'a//b', '/abs', 'abs/', '.hidden', 'a b', 'é', 'w_400/x', 'a'.repeat(256), '%2e%2e%2f']) {
    const response = await fetch(`${env.base}/v1/image/sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `ApiKey ${key.keyId}:${key.keySecret}` },
      body: JSON.stringify({ public_id: id }),
    });
    const server = await response.json();
    assert.equal(response.status, 400, id);
    assert.throws(() => cli.urlFor(id), (e) => {
      assert.equal(e.code, server.code, id);
      assert.equal(e.message, server.error, id);
      return true;
    });
    await rejectsWith(cli.getAsset(id), 400, 'invalid_public_id');
  }
});

test('t_… and g_… public_ids: an upload is refused as a new id; lookups reach the server; w_1/photo is refused before sending', async () => {
  for (const id of ['t_x/photo', 'g_x/photo', 't_x', 'g_x']) {
    const message = `public_id must not start with a transform-shaped segment like ${JSON.stringify(id.split('/')[0])}`;
    await assert.rejects(cli.upload(photo(), { public_id: id }), (e) => {
      assert.ok(e instanceof CloudimgError, String(e));
      assert.deepEqual([e.status, e.code, e.message, e.path], [400, 'invalid_public_id', message, '/v1/upload'], id);
      return true;
    });
    assert.throws(() => checkPublicId(id), { code: 'invalid_public_id', message }, id);
  }
  // No asset can be stored under t_old/photo any more (only an earlier release could): the server
  // looks each up and answers 404, where a client-side refusal would be a 400 without a path.
  const notFound = (path) => (e) => {
    assert.ok(e instanceof CloudimgError, String(e));
    assert.deepEqual([e.status, e.code, e.message, e.path], [404, 'not_found', 'no such asset', path]);
    return true;
  };
  for (const id of ['t_old/photo', 'g_old/photo']) {
    await assert.rejects(cli.getAsset(id), notFound(`/v1/assets/${id}`), id);
    await assert.rejects(cli.updateAsset(id, { tags: 'kept' }), notFound(`/v1/assets/${id}`), id);
    await assert.rejects(cli.deleteAsset(id), notFound(`/v1/assets/${id}`), id);
    await assert.rejects(cli.signedUrl(id, { transform: { w: 100 } }), notFound('/v1/image/sign'), id);
    // Behind a transform the id is unambiguous: delivery looks it up.
    const delivered = await fetch(cli.urlFor(id, { w: 100 }));
    assert.deepEqual([delivered.status, (await delivered.json()).code], [404, 'not_found'], id);
  }
  // Alone, the first segment is read as a transform first (a preset t_old, g_old without a crop):
  // with no such asset, that reading's 400.
  for (const id of ['t_old/photo', 'g_old/photo']) {
    const delivered = await fetch(cli.urlFor(id));
    assert.deepEqual([delivered.status, (await delivered.json()).code], [400, 'invalid_transform'], id);
  }
  const refused = (e) => {
    assert.ok(e instanceof CloudimgError, String(e));
    assert.deepEqual([e.status, e.code, e.message, e.path], [400, 'invalid_public_id', 'public_id must not start with a transform-shaped segment like "w_1"', undefined]);
    return true;
  };
  await assert.rejects(cli.getAsset('w_1/photo'), refused);
  await assert.rejects(cli.updateAsset('w_1/photo', { tags: 'x' }), refused);
  await assert.rejects(cli.deleteAsset('w_1/photo'), refused);
  await assert.rejects(cli.signedUrl('w_1/photo'), refused);
  assert.throws(() => cli.urlFor('w_1/photo'), refused);
  // And the server refuses it alike.
  const response = await fetch(`${env.base}/v1/assets/w_1/photo`, { headers: { authorization: `ApiKey ${key.keyId}:${key.keySecret}` } });
  assert.deepEqual([response.status, (await response.json()).error], [400, 'public_id must not start with a transform-shaped segment like "w_1"']);
});

test('a new asset carries focal_point null, faces, thumbhash and dominant_color; its thumbhash decodes', async () => {
  const asset = await cli.upload(photo(), { public_id: 'smart/fields' });
  assert.equal(asset.focal_point, null);
  assert.ok(Array.isArray(asset.faces), JSON.stringify(asset.faces));
  for (const face of asset.faces) {
    assert.deepEqual(Object.keys(face).sort(), ['h', 'w', 'x', 'y']);
    for (const v of Object.values(face)) assert.ok(v >= 0 && v <= 1, JSON.stringify(face));
  }
  assert.match(asset.dominant_color, /^#[0-9a-f]{6}$/);
  assert.match(asset.thumbhash, /^[A-Za-z0-9+/]+={0,2}$/);
  // The 1000×667 photo is landscape: so is its placeholder.
  const { width, height, rgba } = thumbHashToRGBA(asset.thumbhash);
  assert.equal(width, 32);
  assert.ok(height >= 18 && height <= 24, `${width}×${height}`);
  assert.equal(rgba.length, width * height * 4);
  assert.match(thumbHashToDataURL(asset.thumbhash), /^data:image\/png;base64,[A-Za-z0-9+/]+={0,2}$/);
  const got = await cli.getAsset(asset.public_id);
  assert.deepEqual([got.thumbhash, got.dominant_color, got.faces, got.focal_point], [asset.thumbhash, asset.dominant_color, asset.faces, null]);
});

test('focal_point: set, read back and cleared; bad ones refused as the server refuses them; an overwrite clears it', async () => {
  const asset = await cli.upload(photo(), { public_id: 'smart/focal' });
  const set = await cli.updateAsset(asset.public_id, { focal_point: { x: 0.25, y: 0.4 } });
  assert.deepEqual(set.focal_point, { x: 0.25, y: 0.4 });
  assert.deepEqual((await cli.getAsset(asset.public_id)).focal_point, { x: 0.25, y: 0.4 });
  for (const corner of [{ x: 0, y: 0 }, { x: 1, y: 1 }]) {
    assert.deepEqual((await cli.updateAsset(asset.public_id, { focal_point: corner })).focal_point, corner);
  }
  // Another field alone leaves it; null clears it.
  assert.deepEqual((await cli.updateAsset(asset.public_id, { tags: 'focused' })).focal_point, { x: 1, y: 1 });
  const cleared = await cli.updateAsset(asset.public_id, { focal_point: null });
  assert.equal(cleared.focal_point, null);
  assert.deepEqual(cleared.tags, ['focused']);
  assert.equal((await cli.getAsset(asset.public_id)).focal_point, null);

  // g_auto delivers with a focal point as without one.
  await cli.updateAsset(asset.public_id, { focal_point: { x: 0.9, y: 0.1 } });
  const cropped = await fetch(cli.urlFor(asset.public_id, { w: 100, h: 100, c: 'fill', g: 'auto', f: 'png' }));
  assert.equal(cropped.status, 200);
  const png = Buffer.from(await cropped.arrayBuffer());
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [100, 100]);

  for (const focal_point of [{ x: 1.5, y: 0 }, { x: -0.5, y: 0 }, { x: 0.5 }, { x: 0.5, y: 0.5, z: 1 }, { x: '0.5', y: 0.5 },
    { x: true, y: 0 }, {}, 'middle', 0.5]) {
    await refusedAlike(asset.public_id, focal_point);
  }
  assert.deepEqual((await cli.getAsset(asset.public_id)).focal_point, { x: 0.9, y: 0.1 });

  const overwritten = await cli.upload(photo(), { public_id: asset.public_id, overwrite: true });
  assert.equal(overwritten.focal_point, null);
  await rejectsWith(cli.updateAsset('no/such-asset', { focal_point: { x: 0.5, y: 0.5 } }), 404, 'not_found');
});

/** PATCHes `focal_point` without the SDK: the server's 400 is the SDK's own refusal, code and message. */
async function refusedAlike(publicId, focal_point) {
  const response = await fetch(`${env.base}/v1/assets/${publicId}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `ApiKey ${key.keyId}:${key.keySecret}` },
    body: JSON.stringify({ focal_point }),
  });
  const server = await response.json();
  assert.deepEqual([response.status, server.code], [400, 'invalid_focal_point'], `${JSON.stringify(focal_point)}: ${JSON.stringify(server)}`);
  await assert.rejects(cli.updateAsset(publicId, { focal_point }), (e) => {
    assert.deepEqual([e.status, e.code, e.message], [400, server.code, server.error], JSON.stringify(focal_point));
    return true;
  });
}

test('a focal point written as an array ([x, y]) is refused by the server as by the SDK', async () => {
  const asset = await cli.upload(photo(), { public_id: 'smart/focal-array' });
  await refusedAlike(asset.public_id, [0.5, 0.5]);
  assert.equal((await cli.getAsset(asset.public_id)).focal_point, null);
});

test('getAsset, updateAsset, listAssets pages, iterAssets, deleteAsset', async () => {
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const asset = await cli.upload(photo(), { public_id: `paging/p${i}`, tags: i % 2 ? ['odd'] : ['even'] });
    ids.push(asset.public_id);
  }
  const got = await cli.getAsset('paging/p3');
  assert.equal(got.public_id, 'paging/p3');
  assert.deepEqual(got.tags, ['odd']);
  assert.equal(got.width, 1000);

  const updated = await cli.updateAsset('paging/p3', { tags: ['odd', 'picked'], visibility: 'private' });
  assert.deepEqual(updated.tags, ['odd', 'picked']);
  assert.equal(updated.visibility, 'private');
  assert.equal((await cli.updateAsset('paging/p3', { folder: 'paging' })).folder, 'paging');

  const first = await cli.listAssets({ folder: 'paging', limit: 2 });
  assert.deepEqual(first.assets.map((a) => a.public_id), ['paging/p4', 'paging/p3']);
  assert.equal(typeof first.next_cursor, 'string');
  const second = await cli.listAssets({ folder: 'paging', limit: 2, cursor: first.next_cursor });
  assert.deepEqual(second.assets.map((a) => a.public_id), ['paging/p2', 'paging/p1']);

  const all = [];
  for await (const asset of cli.iterAssets({ folder: 'paging', limit: 2 })) all.push(asset.public_id);
  assert.deepEqual(all, [...ids].reverse());
  const odd = [];
  for await (const asset of cli.iterAssets({ q: 'paging/', tag: 'odd' })) odd.push(asset.public_id);
  assert.deepEqual(odd, ['paging/p3', 'paging/p1']);
  const privateOnes = (await cli.listAssets({ visibility: 'private', q: 'paging/' })).assets;
  assert.deepEqual(privateOnes.map((a) => a.public_id), ['paging/p3']);

  for (const id of ids) await cli.deleteAsset(id);
  assert.deepEqual((await cli.listAssets({ folder: 'paging' })).assets, []);
  await rejectsWith(cli.listAssets({ limit: 1000 }), 400, 'invalid_limit');
});

test('a missing asset is a 404 CloudimgError with the server message', async () => {
  await assert.rejects(cli.getAsset('no/such-asset'), (e) => {
    assert.ok(e instanceof CloudimgError);
    assert.equal(e.name, 'CloudimgError');
    assert.equal(e.status, 404);
    assert.equal(e.code, 'not_found');
    assert.equal(e.message, 'no such asset');
    assert.equal(e.method, 'GET');
    assert.equal(e.path, '/v1/assets/no/such-asset');
    return true;
  });
  await rejectsWith(cli.deleteAsset('no/such-asset'), 404, 'not_found');
  await rejectsWith(cli.updateAsset('no/such-asset', { tags: 'x' }), 404, 'not_found');
});

test('server-side refusals surface as CloudimgError: bad upload fields, not an image, another user\'s asset', async () => {
  await rejectsWith(cli.upload(photo(), { visibility: 'secret' }), 400, 'invalid_visibility');
  await rejectsWith(cli.upload(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), { filename: 'x.svg' }), 415, 'unsupported_media_type');
  await rejectsWith(cli.upload(Buffer.alloc(0)), 400, 'empty_file');
  await rejectsWith(cli.updateAsset('nope/x', { visibility: 'secret' }), 404, 'not_found');
  await assert.rejects(cli.upload(photo(), { tags: ['a,b'] }), (e) => e.code === 'invalid_tags' && e.status === 400);
  await assert.rejects(cli.upload(photo(), { overwrite: 'yes' }), TypeError);
  await assert.rejects(cli.upload(photo(), { publicId: 'x' }), /unknown option publicId/);
  await assert.rejects(cli.upload(42), TypeError);

  const other = await newUser(env.base, 'other');
  const theirs = createClient({ baseUrl: env.base, keyId: other.keyId, keySecret: other.keySecret });
  const asset = await theirs.upload(photo(), { public_id: `theirs-${other.userId}` });
  await rejectsWith(cli.getAsset(asset.public_id), 403, 'forbidden');
  await rejectsWith(cli.deleteAsset(asset.public_id), 403, 'forbidden');
  await rejectsWith(cli.signedUrl(asset.public_id), 403, 'forbidden');
});

test('usage: the caller\'s month; all=true for admins', async () => {
  const summary = await cli.usage();
  assert.match(summary.period, /^\d{4}-\d{2}$/);
  for (const field of ['storage_bytes', 'original_bytes', 'variant_bytes', 'asset_count', 'bandwidth_bytes', 'requests']) {
    assert.equal(typeof summary[field], 'number', field);
  }
  assert.ok(summary.asset_count >= 1);
  assert.ok(summary.original_bytes >= photo().length);
  await rejectsWith(cli.usage({ all: true }), 403, 'forbidden');
  const admin = await adminKey(env.base);
  const all = await createClient({ baseUrl: env.base, ...admin }).usage({ all: true });
  assert.ok(Array.isArray(all.users));
});

test('presets: an admin puts one, urlFor({t}) delivers it, anyone lists it, bad ones are refused', async () => {
  const admin = createClient({ baseUrl: env.base, ...(await adminKey(env.base)) });
  const name = `node-${Date.now()}`;
  const preset = await admin.putPreset(name, { c: 'fill', w: 90, h: 60 });
  assert.deepEqual([preset.name, preset.transform], [name, 'w_90,h_60,c_fill']);
  assert.ok((await cli.listPresets()).some((p) => p.name === name));
  await rejectsWith(cli.putPreset(name, 'w_10'), 403, 'forbidden');
  const asset = await cli.upload(photo(), { public_id: 'presets/photo' });
  const url = cli.urlFor(asset.public_id, { t: name, f: 'webp' });
  assert.equal(url, `${env.base}/v1/image/t_${name},f_webp/presets/photo`);
  const response = await fetch(url);
  assert.deepEqual([response.status, response.headers.get('content-type')], [200, 'image/webp']);
  assert.throws(() => cli.urlFor(asset.public_id, { t: name, w: 10 }), (e) => {
    assert.deepEqual([e.code, e.message], ['invalid_transform', 'a preset (t_) may be combined with f and dpr only']);
    return true;
  });
  await rejectsWith(admin.putPreset('Bad Name', 'w_10'), 400, 'invalid_preset');
  await admin.deletePreset(name);
  assert.equal((await cli.listPresets()).some((p) => p.name === name), false);
  await rejectsWith(admin.deletePreset(name), 404, 'not_found');
});

test('srcset URLs deliver at their widths', async () => {
  const asset = await cli.upload(photo(), { public_id: 'srcset/photo' });
  const srcset = cli.srcset(asset.public_id, [200, 100], { f: 'webp' });
  assert.equal(srcset, `${env.base}/v1/image/w_100,f_webp/srcset/photo 100w, ${env.base}/v1/image/w_200,f_webp/srcset/photo 200w`);
  for (const candidate of srcset.split(', ')) {
    const [url, width] = candidate.split(' ');
    const response = await fetch(url);
    assert.equal(response.status, 200, url);
    assert.equal(width.endsWith('w'), true);
  }
});

test('no secret in errors, inspect or JSON', async () => {
  const wrong = createClient({ baseUrl: env.base, keyId: key.keyId, keySecret: `${key.keySecret}x` });
  let error;
  try {
    await wrong.getAsset('any/thing');
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof CloudimgError);
  assert.equal(error.status, 401);
  const texts = [String(error), error.message, error.stack, inspect(error, { depth: 10, showHidden: true }),
    JSON.stringify(error), inspect(cli, { depth: 10, showHidden: true }), JSON.stringify(cli), String(cli)];
  for (const text of texts) {
    assert.ok(!text.includes(key.keySecret), text);
    assert.ok(!text.includes(key.keySecret.slice(3, 20)), text);
  }
  // A network error carries its cause, and no secret either.
  const unreachable = createClient({ baseUrl: 'http://127.0.0.1:9', keyId: key.keyId, keySecret: key.keySecret, maxRetries: 0 });
  await assert.rejects(unreachable.usage(), (e) => {
    assert.equal(e.code, 'network_error');
    assert.ok(!inspect(e, { depth: 10, showHidden: true }).includes(key.keySecret));
    return true;
  });
});
