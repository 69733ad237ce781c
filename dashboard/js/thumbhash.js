// ThumbHash placeholders: an asset's `thumbhash` (standard base64, SPEC §14) decoded in the
// browser into a small PNG data: URL (the CSP allows data: images), shown while a thumbnail loads.
// The decoder follows Evan Wallace's reference `thumbHashToRGBA` (https://github.com/evanw/thumbhash,
// MIT); the PNG is 8-bit RGBA in zlib "stored" (uncompressed) blocks, one per row, as the
// reference's `rgbaToDataURL` writes it. No dependency: the dashboard is served from dashboard/ only.

/** The bytes of a standard base64 string (padding optional), or null when it is not base64. */
function base64Bytes(text) {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * Decodes ThumbHash bytes into {w, h, rgba}: at most 32×32 pixels, row by row, not premultiplied.
 * Throws a RangeError when the bytes are too short to be a ThumbHash.
 */
export function thumbHashToRGBA(hash) {
  const { PI, min, max, cos, round } = Math;
  if (hash.length < 5) throw new RangeError('A ThumbHash has at least 5 bytes.');

  // The header: DC terms, scales, alpha and orientation, and the L channel's factor counts.
  const header24 = hash[0] | (hash[1] << 8) | (hash[2] << 16);
  const header16 = hash[3] | (hash[4] << 8);
  const lDc = (header24 & 63) / 63;
  const pDc = ((header24 >> 6) & 63) / 31.5 - 1;
  const qDc = ((header24 >> 12) & 63) / 31.5 - 1;
  const lScale = ((header24 >> 18) & 31) / 31;
  const hasAlpha = header24 >> 23;
  const pScale = ((header16 >> 3) & 63) / 63;
  const qScale = ((header16 >> 9) & 63) / 63;
  const isLandscape = header16 >> 15;
  const lx = max(3, isLandscape ? (hasAlpha ? 5 : 7) : header16 & 7);
  const ly = max(3, isLandscape ? header16 & 7 : (hasAlpha ? 5 : 7));
  const aDc = hasAlpha ? (hash[5] & 15) / 15 : 1;
  const aScale = (hash[5] >> 4) / 15;

  // The AC factors, 4 bits each (saturation boosted 1.25× to make up for the quantisation).
  const acStart = hasAlpha ? 6 : 5;
  let acIndex = 0;
  const decodeChannel = (nx, ny, scale) => {
    const ac = [];
    for (let cy = 0; cy < ny; cy++) {
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++) {
        const byte = hash[acStart + (acIndex >> 1)];
        if (byte === undefined) throw new RangeError('This ThumbHash is too short for its header.');
        ac.push((((byte >> ((acIndex++ & 1) << 2)) & 15) / 7.5 - 1) * scale);
      }
    }
    return ac;
  };
  const lAc = decodeChannel(lx, ly, lScale);
  const pAc = decodeChannel(3, 3, pScale * 1.25);
  const qAc = decodeChannel(3, 3, qScale * 1.25);
  const aAc = hasAlpha ? decodeChannel(5, 5, aScale) : [];

  // The inverse DCT into RGB, at the hash's approximate aspect ratio.
  const ratio = thumbHashAspectRatio(hash);
  const w = round(ratio > 1 ? 32 : 32 * ratio);
  const h = round(ratio > 1 ? 32 / ratio : 32);
  const rgba = new Uint8Array(w * h * 4);
  const fx = [];
  const fy = [];
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i += 4) {
      let l = lDc;
      let p = pDc;
      let q = qDc;
      let a = aDc;
      for (let cx = 0, n = max(lx, hasAlpha ? 5 : 3); cx < n; cx++) fx[cx] = cos((PI / w) * (x + 0.5) * cx);
      for (let cy = 0, n = max(ly, hasAlpha ? 5 : 3); cy < n; cy++) fy[cy] = cos((PI / h) * (y + 0.5) * cy);
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
  return { w, h, rgba };
}

/** Width / height of the image a ThumbHash was made from, approximately (from its header). */
export function thumbHashAspectRatio(hash) {
  const header = hash[3];
  const hasAlpha = hash[2] & 0x80;
  const isLandscape = hash[4] & 0x80;
  const lx = isLandscape ? (hasAlpha ? 5 : 7) : header & 7;
  const ly = isLandscape ? header & 7 : (hasAlpha ? 5 : 7);
  if (!lx || !ly) throw new RangeError('This is not a ThumbHash: its header gives a side of 0.');
  return lx / ly;
}

let crcTable = null;
function crc32(bytes, start, end) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pushUint32(out, n) {
  out.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

function pushChunk(out, type, data) {
  pushUint32(out, data.length);
  const start = out.length;
  for (let i = 0; i < 4; i++) out.push(type.charCodeAt(i));
  for (const byte of data) out.push(byte);
  pushUint32(out, crc32(out, start, out.length));
}

/** An 8-bit RGBA PNG of `rgba` (w × h, row by row) as a data: URL. Rows of at most 16383 pixels. */
export function rgbaToDataURL(w, h, rgba) {
  const row = w * 4 + 1; // the filter byte (0, none), then the row's pixels
  const ihdr = [];
  pushUint32(ihdr, w);
  pushUint32(ihdr, h);
  ihdr.push(8, 6, 0, 0, 0); // 8 bits per channel, RGBA, deflate, adaptive filtering, no interlace

  // zlib: a header, one stored deflate block per row, the adler32 of the raw rows.
  const idat = [0x78, 0x01];
  let a = 1;
  let b = 0;
  for (let y = 0; y < h; y++) {
    idat.push(y + 1 < h ? 0 : 1, row & 255, row >> 8, ~row & 255, (~row >> 8) & 255);
    const raw = [0, ...rgba.subarray(y * w * 4, (y + 1) * w * 4)];
    for (const byte of raw) {
      idat.push(byte);
      a = (a + byte) % 65521;
      b = (b + a) % 65521;
    }
  }
  pushUint32(idat, ((b << 16) | a) >>> 0);

  const png = [137, 80, 78, 71, 13, 10, 26, 10];
  pushChunk(png, 'IHDR', ihdr);
  pushChunk(png, 'IDAT', idat);
  pushChunk(png, 'IEND', []);
  let binary = '';
  for (const byte of png) binary += String.fromCharCode(byte);
  return `data:image/png;base64,${btoa(binary)}`;
}

const cache = new Map();

/**
 * The placeholder of an asset's `thumbhash` as a PNG data: URL, or null when there is none or it
 * cannot be decoded (a placeholder is a nicety: never an error). Decoded once per hash.
 */
export function thumbHashToDataURL(thumbhash) {
  if (typeof thumbhash !== 'string' || !thumbhash) return null;
  if (cache.has(thumbhash)) return cache.get(thumbhash);
  let url = null;
  const bytes = base64Bytes(thumbhash);
  if (bytes) {
    try {
      const { w, h, rgba } = thumbHashToRGBA(bytes);
      url = rgbaToDataURL(w, h, rgba);
    } catch {
      url = null;
    }
  }
  cache.set(thumbhash, url);
  return url;
}
