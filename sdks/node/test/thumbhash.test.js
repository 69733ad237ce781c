'use strict';

// thumbHashToRGBA and thumbHashToDataURL without a server, against the reference implementation
// (the npm package `thumbhash`, a devDependency only). client.test.js decodes the server's hashes.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const zlib = require('node:zlib');
const { thumbHashToDataURL, thumbHashToRGBA } = require('..');
const { IMAGES, averageColor } = require('./thumbhash-images');

const reference = import('thumbhash');
const base64 = (bytes) => Buffer.from(bytes).toString('base64');

/** CRC-32 as the PNG specification computes it, bit by bit (independent of lib/thumbhash.js). */
function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Parses a PNG data URL made by thumbHashToDataURL: `{width, height, rgba}`, every CRC checked. */
function parsePngDataUrl(url) {
  const prefix = 'data:image/png;base64,';
  assert.ok(url.startsWith(prefix), url.slice(0, 40));
  const png = Buffer.from(url.slice(prefix.length), 'base64');
  assert.equal(base64(png), url.slice(prefix.length), 'canonical base64');
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const chunks = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    assert.equal(png.readUInt32BE(at + 8 + length), crc32(png.subarray(at + 4, at + 8 + length)), `${type} CRC`);
    chunks.push({ type, data });
    at += 12 + length;
  }
  assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
  const ihdr = chunks[0].data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  assert.deepEqual([...ihdr.subarray(8)], [8, 6, 0, 0, 0], '8-bit RGBA, no interlace');
  const raw = zlib.inflateSync(chunks[1].data); // checks the adler32 too
  const row = width * 4;
  assert.equal(raw.length, height * (row + 1));
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (row + 1)], 0, 'filter type none');
    rgba.set(raw.subarray(y * (row + 1) + 1, (y + 1) * (row + 1)), y * row);
  }
  return { width, height, rgba };
}

test('the decoder gives the reference decoder\'s pixels, to the byte, for hashes of the reference encoder', async () => {
  const { rgbaToThumbHash, thumbHashToRGBA: referenceToRGBA } = await reference;
  for (const source of IMAGES) {
    const hash = rgbaToThumbHash(source.width, source.height, source.rgba);
    const expected = referenceToRGBA(hash);
    const padded = base64(hash);
    for (const text of [padded, padded.replace(/=+$/, '')]) {
      const decoded = thumbHashToRGBA(text);
      assert.deepEqual([decoded.width, decoded.height], [expected.w, expected.h], `${source.name} ${text}`);
      assert.ok(decoded.rgba instanceof Uint8Array);
      assert.ok(Buffer.from(decoded.rgba).equals(Buffer.from(expected.rgba)), `${source.name} pixels`);
    }
  }
});

test('the placeholder keeps the aspect ratio: landscape, portrait and square', () => {
  const sizes = Object.fromEntries(IMAGES.map((s) => [s.name, thumbHashToRGBA(vector(s.name).thumbhash)]));
  const { width: lw, height: lh } = sizes['gradient-landscape'];
  const { width: pw, height: ph } = sizes['gradient-portrait'];
  assert.deepEqual([lw, lh], [32, 18]); // 100×50, 7×4 luminance factors
  assert.deepEqual([pw, ph], [14, 32]); // 40×90, 3×7
  assert.deepEqual([sizes.solid.width, sizes.solid.height], [32, 32]);
  assert.equal(sizes['wide-stripes'].width / sizes['wide-stripes'].height > 5, true);
});

test('the data URL is a PNG of exactly the decoded pixels (IHDR size, CRCs, zlib stream)', async () => {
  const { rgbaToThumbHash } = await reference;
  for (const source of IMAGES) {
    const text = base64(rgbaToThumbHash(source.width, source.height, source.rgba));
    const url = thumbHashToDataURL(text);
    const png = parsePngDataUrl(url);
    const decoded = thumbHashToRGBA(text);
    assert.deepEqual([png.width, png.height], [decoded.width, decoded.height], source.name);
    assert.ok(Buffer.from(png.rgba).equals(Buffer.from(decoded.rgba)), source.name);
    assert.equal(thumbHashToDataURL(text.replace(/=+$/, '')), url);
  }
});

test('a decoded placeholder has about the source image\'s average colour', () => {
  for (const source of IMAGES) {
    const want = averageColor(source);
    const got = averageColor(thumbHashToRGBA(vector(source.name).thumbhash));
    for (let c = 0; c < 4; c++) {
      assert.ok(Math.abs(got[c] - want[c]) <= 12, `${source.name} channel ${c}: ${got[c]} vs ${want[c]}`);
    }
  }
  // A solid colour comes back as that colour everywhere, within the quantisation.
  const { rgba } = thumbHashToRGBA(vector('solid').thumbhash);
  for (let i = 0; i < rgba.length; i += 4) {
    assert.ok([51, 102, 204, 255].every((v, c) => Math.abs(rgba[i + c] - v) <= 4), `pixel ${i / 4}`);
  }
});

const VECTORS_PATH = require.resolve('../../python/tests/thumbhash-vectors.json');
const vectors = JSON.parse(fs.readFileSync(VECTORS_PATH, 'utf8')).vectors;
function vector(name) {
  return vectors.find((v) => v.name === name);
}

test('sdks/python/tests/thumbhash-vectors.json is what the reference makes now, and what this decoder makes', async () => {
  const { vectorsText } = await import('./make-thumbhash-vectors.mjs');
  assert.equal(fs.readFileSync(VECTORS_PATH, 'utf8'), vectorsText(), 'regenerate: node test/make-thumbhash-vectors.mjs');
  for (const v of vectors) {
    const decoded = thumbHashToRGBA(v.thumbhash);
    assert.deepEqual([decoded.width, decoded.height, base64(decoded.rgba)], [v.width, v.height, v.rgba], v.name);
  }
});

test('bad input: TypeError unless a string, RangeError unless base64 of a whole ThumbHash', () => {
  for (const notText of [undefined, null, 42, new Uint8Array(25), { thumbhash: 'x' }]) {
    assert.throws(() => thumbHashToRGBA(notText), TypeError);
    assert.throws(() => thumbHashToDataURL(notText), TypeError);
  }
  const good = vector('alpha-disc').thumbhash;
  const notBase64 = ['not base64!', 'HZQB BwB4', 'HZQB\nBwB4', 'HZQ-BwB_', 'HZQBB', 'HZQBBw=', 'HZQBBwB4=', '====', '=HZQ', 'é'];
  for (const text of notBase64) {
    assert.throws(() => thumbHashToRGBA(text), { name: 'RangeError', message: /must be standard base64/ }, text);
  }
  const tooShort = ['', 'HZQB', 'HZQBBw', good.slice(0, -8), Buffer.from(good, 'base64').subarray(0, 5).toString('base64')];
  for (const text of tooShort) {
    assert.throws(() => thumbHashToDataURL(text), { name: 'RangeError', message: /^thumbhash is too short/ }, text);
  }
  // A portrait header with no luminance factors across would be a 0-pixel-wide image.
  const zeroWide = Buffer.from(vector('gradient-portrait').thumbhash, 'base64');
  zeroWide[3] &= ~7;
  assert.throws(() => thumbHashToDataURL(zeroWide.toString('base64')), { name: 'RangeError', message: /side of 0/ });
});
