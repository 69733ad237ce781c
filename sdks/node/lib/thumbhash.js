'use strict';

// ThumbHash placeholders (SPEC §14: an asset's `thumbhash`, standard base64) decoded offline into
// pixels and a PNG data URL, with no dependency. The decoder is Evan Wallace's reference
// `thumbHashToRGBA` (https://github.com/evanw/thumbhash, MIT), kept operation for operation so that
// its output is the reference's to the byte; the PNG is written as the reference's `rgbaToDataURL`
// writes it: zlib "stored" (uncompressed) deflate blocks, adler32 and crc32.

const BASE64 = /^[A-Za-z0-9+/]*$/;

/** The bytes of a standard base64 string, with or without its `=` padding; RangeError otherwise. */
function decodeBase64(text) {
  const body = text.replace(/={1,2}$/, '');
  const padded = body.length !== text.length;
  if (!BASE64.test(body) || body.length % 4 === 1 || (padded && text.length % 4 !== 0)) {
    throw new RangeError('thumbhash must be standard base64 (A-Z, a-z, 0-9, + and /, = padding optional)');
  }
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** How many 4-bit AC factors a channel of nx × ny has (the DC term is stored apart). */
function acCount(nx, ny) {
  let n = 0;
  for (let cy = 0; cy < ny; cy++) {
    for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++) n++;
  }
  return n;
}

/** The header of a ThumbHash, checked against the hash's length. */
function readHeader(hash) {
  if (hash.length < 5) throw new RangeError(`thumbhash is too short: ${hash.length} bytes, a ThumbHash has at least 5`);
  const header24 = hash[0] | (hash[1] << 8) | (hash[2] << 16);
  const header16 = hash[3] | (hash[4] << 8);
  const hasAlpha = header24 >> 23;
  const isLandscape = header16 >> 15;
  // The unclamped counts give the aspect ratio (the reference's thumbHashToApproximateAspectRatio).
  const rawX = isLandscape ? (hasAlpha ? 5 : 7) : header16 & 7;
  const rawY = isLandscape ? header16 & 7 : hasAlpha ? 5 : 7;
  if (rawX === 0 || rawY === 0) throw new RangeError('thumbhash is not a ThumbHash: its header gives a side of 0');
  const lx = Math.max(3, rawX);
  const ly = Math.max(3, rawY);
  const acStart = hasAlpha ? 6 : 5;
  const factors = acCount(lx, ly) + 2 * acCount(3, 3) + (hasAlpha ? acCount(5, 5) : 0);
  const needed = acStart + Math.ceil(factors / 2);
  if (hash.length < needed) {
    throw new RangeError(`thumbhash is too short: ${hash.length} bytes, its header asks for ${needed}`);
  }
  return { header24, header16, hasAlpha, lx, ly, acStart, ratio: rawX / rawY };
}

/**
 * Decodes a ThumbHash (the asset's `thumbhash`: standard base64, padding optional) into its
 * placeholder image: `{width, height, rgba}`, at most 32×32, `rgba` row by row, not premultiplied.
 * Throws TypeError unless given a string, RangeError when it is not base64 or not a ThumbHash.
 */
function thumbHashToRGBA(thumbhash) {
  if (typeof thumbhash !== 'string') {
    throw new TypeError('thumbHashToRGBA: thumbhash is the asset\'s "thumbhash", a base64 string');
  }
  const hash = decodeBase64(thumbhash);
  const { PI, min, max, cos, round } = Math;
  const { header24, header16, hasAlpha, lx, ly, acStart, ratio } = readHeader(hash);

  // The constants.
  const lDc = (header24 & 63) / 63;
  const pDc = ((header24 >> 6) & 63) / 31.5 - 1;
  const qDc = ((header24 >> 12) & 63) / 31.5 - 1;
  const lScale = ((header24 >> 18) & 31) / 31;
  const pScale = ((header16 >> 3) & 63) / 63;
  const qScale = ((header16 >> 9) & 63) / 63;
  const aDc = hasAlpha ? (hash[5] & 15) / 15 : 1;
  const aScale = (hash[5] >> 4) / 15;

  // The varying factors (saturation boosted by 1.25 to make up for the quantisation).
  let acIndex = 0;
  const decodeChannel = (nx, ny, scale) => {
    const ac = [];
    for (let cy = 0; cy < ny; cy++) {
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++) {
        ac.push((((hash[acStart + (acIndex >> 1)] >> ((acIndex++ & 1) << 2)) & 15) / 7.5 - 1) * scale);
      }
    }
    return ac;
  };
  const lAc = decodeChannel(lx, ly, lScale);
  const pAc = decodeChannel(3, 3, pScale * 1.25);
  const qAc = decodeChannel(3, 3, qScale * 1.25);
  const aAc = hasAlpha ? decodeChannel(5, 5, aScale) : [];

  // The inverse DCT, into RGB.
  const width = round(ratio > 1 ? 32 : 32 * ratio);
  const height = round(ratio > 1 ? 32 / ratio : 32);
  const rgba = new Uint8Array(width * height * 4);
  const fx = [];
  const fy = [];
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 4) {
      let l = lDc;
      let p = pDc;
      let q = qDc;
      let a = aDc;
      for (let cx = 0, n = max(lx, hasAlpha ? 5 : 3); cx < n; cx++) fx[cx] = cos((PI / width) * (x + 0.5) * cx);
      for (let cy = 0, n = max(ly, hasAlpha ? 5 : 3); cy < n; cy++) fy[cy] = cos((PI / height) * (y + 0.5) * cy);
      for (let cy = 0, j = 0; cy < ly; cy++) {
        for (let cx = cy ? 0 : 1, fy2 = fy[cy] * 2; cx * ly < lx * (ly - cy); cx++, j++) l += lAc[j] * fx[cx] * fy2;
      }
      for (let cy = 0, j = 0; cy < 3; cy++) {
        for (let cx = cy ? 0 : 1, fy2 = fy[cy] * 2; cx < 3 - cy; cx++, j++) {
          const f = fx[cx] * fy2;
          p += pAc[j] * f;
          q += qAc[j] * f;
        }
      }
      if (hasAlpha) {
        for (let cy = 0, j = 0; cy < 5; cy++) {
          for (let cx = cy ? 0 : 1, fy2 = fy[cy] * 2; cx < 5 - cy; cx++, j++) a += aAc[j] * fx[cx] * fy2;
        }
      }
      const b = l - (2 / 3) * p;
      const r = (3 * l - b + q) / 2;
      const g = r - q;
      // A Uint8Array truncates, as the reference's does.
      rgba[i] = max(0, 255 * min(1, r));
      rgba[i + 1] = max(0, 255 * min(1, g));
      rgba[i + 2] = max(0, 255 * min(1, b));
      rgba[i + 3] = max(0, 255 * min(1, a));
    }
  }
  return { width, height, rgba };
}

let crcTable = null;

function crc32(bytes, start, end) {
  if (crcTable === null) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = ~0;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 255] ^ (c >>> 8);
  return ~c >>> 0;
}

function adler32(bytes) {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream of `data` in stored (uncompressed) deflate blocks of at most 65535 bytes. */
function zlibStored(data) {
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(2 + blocks * 5 + data.length + 4);
  const view = new DataView(out.buffer);
  out[0] = 0x78; // deflate, 32 KiB window
  out[1] = 0x01; // no preset dictionary, fastest; 0x7801 is a multiple of 31
  let at = 2;
  for (let k = 0; k < blocks; k++) {
    const chunk = data.subarray(k * 65535, (k + 1) * 65535);
    out[at] = k === blocks - 1 ? 1 : 0; // BFINAL, BTYPE 00
    view.setUint16(at + 1, chunk.length, true);
    view.setUint16(at + 3, ~chunk.length & 0xffff, true);
    out.set(chunk, at + 5);
    at += 5 + chunk.length;
  }
  view.setUint32(at, adler32(data));
  return out;
}

/** A PNG chunk: length, type, data, crc32 of type and data. */
function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** An 8-bit RGBA PNG of `rgba` (row by row, not premultiplied). */
function rgbaToPng(width, height, rgba) {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, filter method 0, no interlace
  const row = width * 4;
  const raw = new Uint8Array(height * (row + 1)); // each row: filter type 0 (none), then its pixels
  for (let y = 0; y < height; y++) raw.set(rgba.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlibStored(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  return Buffer.concat(parts);
}

/**
 * The placeholder of a ThumbHash (the asset's `thumbhash`) as a `data:image/png;base64,…` URL, for
 * an `<img src>` or a CSS background while the image loads. Throws as thumbHashToRGBA does.
 */
function thumbHashToDataURL(thumbhash) {
  const { width, height, rgba } = thumbHashToRGBA(thumbhash);
  return `data:image/png;base64,${rgbaToPng(width, height, rgba).toString('base64')}`;
}

module.exports = { thumbHashToRGBA, thumbHashToDataURL };
