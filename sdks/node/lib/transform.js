'use strict';

// The transform grammar (SPEC §6) and the public_id rules (SPEC §3), checked exactly as the server
// checks them (shared/src/transform/mod.rs, shared/src/domain/public_id.rs), with the same codes
// and messages, so a bad URL fails here rather than as a 400 later.

const { CloudimgError } = require('./errors');

/** Keys in canonical order. */
const KEYS = ['t', 'w', 'h', 'c', 'g', 'q', 'f', 'dpr', 'gr', 'bl', 'r', 'bg'];
/** What may stand beside a preset (`t_<name>`). */
const BESIDE_PRESET = ['t', 'f', 'dpr'];
const CROPS = ['fit', 'fill', 'cover', 'contain', 'inside', 'outside', 'thumb'];
const GRAVITIES = ['auto', 'face', 'faces', 'center', 'north', 'south', 'east', 'west', 'north_east', 'north_west',
  'south_east', 'south_west'];
/** The crop modes a gravity (`g_…`) applies to (SPEC §14). */
const CROPS_WITH_GRAVITY = ['fill', 'cover', 'thumb'];
const FORMATS = ['auto', 'jpg', 'png', 'webp', 'avif', 'gif'];
const MAX_LEN = 256;
const MAX_SIDE = 4000;
const MAX_ID_LEN = 255;

function invalid(code, message) {
  return new CloudimgError(message, { status: 400, code });
}

const DIGITS = /^[0-9]+$/;

/** A whole number of at most 6 ASCII digits within [min, max], else null. */
function integer(s, min, max) {
  if (s.length === 0 || s.length > 6 || !DIGITS.test(s)) return null;
  const n = Number(s);
  return n >= min && n <= max ? n : null;
}

function signedInteger(s, min, max) {
  const n = s.startsWith('-') ? negate(integer(s.slice(1), 0, -min)) : integer(s, 0, max);
  return n !== null && n >= min && n <= max ? n : null;
}

function negate(n) {
  return n === null ? null : n === 0 ? 0 : -n;
}

/** `1`, `1.5`, `1.25` as hundredths within [min, max], else null. */
function decimal(s, min, max) {
  const dot = s.indexOf('.');
  const whole = dot < 0 ? s : s.slice(0, dot);
  const fraction = dot < 0 ? '' : s.slice(dot + 1);
  if (s.endsWith('.') || fraction.length > 2 || (fraction.length > 0 && !DIGITS.test(fraction))) return null;
  const w = integer(whole, 0, 1000);
  if (w === null) return null;
  const n = w * 100 + Number(fraction.padEnd(2, '0'));
  return n >= min && n <= max ? n : null;
}

function hundredths(n) {
  const f = n % 100;
  const w = Math.floor(n / 100);
  if (f === 0) return String(w);
  if (f % 10 === 0) return `${w}.${f / 10}`;
  return `${w}.${String(f).padStart(2, '0')}`;
}

function utf8Length(s) {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Parses a transform string as the server does; returns the canonical string
 * (`t,w,h,c,g,q,f,dpr,gr,bl,r,bg`, numbers without leading zeros or trailing decimal zeros, colours
 * in lowercase). Throws CloudimgError 400 `invalid_transform` naming the bad pair.
 */
function canonicalString(s) {
  if (utf8Length(s) > MAX_LEN) throw invalid('invalid_transform', `a transform is at most ${MAX_LEN} characters`);
  const values = new Array(KEYS.length).fill(null);
  for (const pair of s.split(',')) {
    const bad = (why) => invalid('invalid_transform', `invalid transform pair ${JSON.stringify(pair)}: ${why}`);
    const sep = pair.indexOf('_');
    if (sep < 0) throw bad('expected key_value');
    const key = pair.slice(0, sep);
    const value = pair.slice(sep + 1);
    const index = KEYS.indexOf(key);
    if (index < 0) throw bad('unknown key');
    if (values[index] !== null) throw bad('the key is given twice');
    let out;
    switch (key) {
      case 't':
        if (!/^[a-z0-9_-]{1,64}$/.test(value)) throw bad('t must be a preset name: 1 to 64 of a-z, 0-9, _ and -');
        out = value;
        break;
      case 'w':
      case 'h':
        out = integer(value, 1, MAX_SIDE);
        if (out === null) throw bad(`${key} must be a whole number from 1 to 4000`);
        break;
      case 'q':
        out = integer(value, 1, 100);
        if (out === null) throw bad('q must be a whole number from 1 to 100');
        break;
      case 'r':
        out = signedInteger(value, -360, 360);
        if (out === null) throw bad('r must be a whole number from -360 to 360');
        break;
      case 'c':
        if (!CROPS.includes(value)) throw bad('c must be one of fit, fill, cover, contain, inside, outside, thumb');
        out = value;
        break;
      case 'g':
        if (!GRAVITIES.includes(value)) throw bad(`g must be one of ${GRAVITIES.join(', ')}`);
        out = value;
        break;
      case 'f':
        if (!FORMATS.includes(value)) throw bad('f must be one of auto, jpg, png, webp, avif, gif');
        out = value;
        break;
      case 'dpr': {
        const n = decimal(value, 100, 300);
        if (n === null) throw bad('dpr must be from 1 to 3, with at most two decimals');
        out = hundredths(n);
        break;
      }
      case 'bl': {
        const n = decimal(value, 30, 2500);
        if (n === null) throw bad('bl must be from 0.3 to 25, with at most two decimals');
        out = hundredths(n);
        break;
      }
      case 'gr':
        if (value !== '1') throw bad('gr must be 1');
        out = '1';
        break;
      case 'bg':
        if (!/^[0-9A-Fa-f]{6}$/.test(value)) throw bad('bg must be 6 hex digits, like ffffff');
        out = value.toLowerCase();
        break;
    }
    values[index] = out;
  }
  if (values[0] !== null && KEYS.some((k, i) => values[i] !== null && !BESIDE_PRESET.includes(k))) {
    throw invalid('invalid_transform', 'a preset (t_) may be combined with f and dpr only');
  }
  const crop = values[KEYS.indexOf('c')];
  if (values[KEYS.indexOf('g')] !== null && !CROPS_WITH_GRAVITY.includes(crop)) {
    throw invalid('invalid_transform', 'gravity (g) applies to c_fill, c_cover and c_thumb only');
  }
  return KEYS.flatMap((k, i) => (values[i] === null ? [] : [`${k}_${values[i]}`])).join(',');
}

/** One value of an object transform, spelled as the sign endpoint spells JSON values. */
function valueText(key, value) {
  if (value === true) return '1';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  let shown;
  try {
    shown = JSON.stringify(value);
  } catch {
    shown = undefined;
  }
  throw invalid(
    'invalid_transform',
    `transform value of ${key} must be a string or a number, not ${shown === undefined ? typeof value : shown}`,
  );
}

/**
 * The canonical spelling of a transform given as an object (`{w: 400, c: 'fill'}`), a string
 * (`'c_fill,w_400'`) or nothing (`''`). `undefined` and `null` values are left out.
 */
function canonicalTransform(transform) {
  if (transform === undefined || transform === null || transform === '') return '';
  if (typeof transform === 'string') return canonicalString(transform);
  if (typeof transform !== 'object' || Array.isArray(transform)) {
    throw new TypeError('a transform is an object like {w: 400, c: "fill"} or a string like "w_400,c_fill"');
  }
  const pairs = Object.entries(transform)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}_${valueText(k, v)}`);
  return pairs.length === 0 ? '' : canonicalString(pairs.join(','));
}

/** A segment the delivery URL would read as a transform (`w_…`, `dpr_…`). */
function isTransformShaped(segment) {
  const sep = segment.indexOf('_');
  return sep >= 0 && KEYS.includes(segment.slice(0, sep));
}

/**
 * Keys added to the grammar after public_ids could start with them (SPEC §14's `t` and `g`): a new
 * public_id may not start with one, one stored before keeps working (checkExistingPublicId).
 */
const ADDED_KEYS = ['t', 'g'];

/** Whether `segment` starts with a key added after public_ids could (`t_…`, `g_…`). */
function startsWithAddedKey(segment) {
  const sep = segment.indexOf('_');
  return sep >= 0 && ADDED_KEYS.includes(segment.slice(0, sep));
}

/** The rules; `existing` lets a first segment start with an added key (startsWithAddedKey). */
function checkPathRules(id, existing) {
  const what = 'public_id';
  const bad = (m) => invalid('invalid_public_id', m);
  if (typeof id !== 'string') throw new TypeError('a public_id is a string');
  if (id.length === 0 || utf8Length(id) > MAX_ID_LEN) throw bad(`${what} must be 1 to ${MAX_ID_LEN} bytes long`);
  const other = [...id].find((c) => !/^[A-Za-z0-9_.\-/]$/.test(c));
  if (other !== undefined) {
    throw bad(`${what} may only contain A-Z, a-z, 0-9, _ . - and /, not ${JSON.stringify(other).replace(/^"|"$/g, "'")}`);
  }
  if (id.startsWith('/') || id.endsWith('/')) throw bad(`${what} must not start or end with /`);
  for (const segment of id.split('/')) {
    if (segment.length === 0) throw bad(`${what} must not contain an empty segment (//)`);
    if (segment.startsWith('.')) throw bad(`${what} segments must not start with . (no ., .. or hidden names)`);
  }
  const first = id.split('/')[0];
  if (isTransformShaped(first) && !(existing && startsWithAddedKey(first))) {
    throw bad(`${what} must not start with a transform-shaped segment like ${JSON.stringify(first)}`);
  }
  return id;
}

/**
 * Throws CloudimgError 400 `invalid_public_id` unless `id` follows SPEC §3's rules for a new
 * public_id (the server's `PublicId::parse`): no transform-shaped first segment at all.
 */
function checkPublicId(id) {
  return checkPathRules(id, false);
}

/**
 * The same for the public_id of an asset that may have been stored before `t` and `g` joined the
 * grammar (the server's `PublicId::existing`): its first segment may start with `t_` or `g_`
 * (`t_old/photo`), never with another key (`w_400/x`). For finding, changing, deleting and
 * delivering an asset, never for making one.
 */
function checkExistingPublicId(id) {
  return checkPathRules(id, true);
}

/** Throws CloudimgError 400 `invalid_preset` unless `name` is a preset's name (SPEC §14). */
function checkPresetName(name) {
  if (typeof name !== 'string' || !/^[a-z0-9_-]{1,64}$/.test(name)) {
    throw invalid('invalid_preset', 'a preset name is 1 to 64 of a-z, 0-9, _ and -');
  }
}

module.exports = {
  KEYS,
  ADDED_KEYS,
  canonicalTransform,
  checkExistingPublicId,
  checkPresetName,
  checkPublicId,
  isTransformShaped,
  startsWithAddedKey,
  MAX_SIDE,
};
