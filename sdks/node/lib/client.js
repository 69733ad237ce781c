'use strict';

const { inspect } = require('node:util');
const { CloudimgError } = require('./errors');
const { request } = require('./http');
const { readSource, formData } = require('./multipart');
const { canonicalTransform, checkExistingPublicId, checkPresetName, KEYS } = require('./transform');

const VERSION = '0.1.0';

const CLIENT_OPTIONS = ['baseUrl', 'keyId', 'keySecret', 'timeoutMs', 'maxRetries', 'maxRetryDelayMs', 'fetch', 'onRetry'];
const UPLOAD_OPTIONS = ['public_id', 'folder', 'tags', 'visibility', 'overwrite', 'filename'];
const UPDATE_FIELDS = ['tags', 'folder', 'visibility', 'focal_point'];
const LIST_PARAMS = ['folder', 'tag', 'visibility', 'q', 'limit', 'cursor'];
const SIGN_OPTIONS = ['transform', 'ttl_seconds'];

function checkKeys(given, allowed, what) {
  if (given === undefined || given === null) return {};
  if (typeof given !== 'object' || Array.isArray(given)) throw new TypeError(`${what} takes an options object`);
  const unknown = Object.keys(given).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new TypeError(`${what}: unknown option ${unknown.join(', ')} (known: ${allowed.join(', ')})`);
  }
  return given;
}

function checkNumber(value, name, min) {
  if (!Number.isFinite(value) || value < min) throw new TypeError(`${name} must be a number ≥ ${min}`);
  return value;
}

/** Printable ASCII without spaces: anything else would end up in a header-validation error text. */
function checkCredential(value, name) {
  if (typeof value !== 'string' || !/^[\x21-\x7e]+$/.test(value)) {
    throw new TypeError(`${name} must be a non-empty string of printable ASCII characters`);
  }
  return value;
}

/** A client for one img-cloud server and one API key. Make it with `createClient`. */
class Client {
  #authorization;
  #fetch;
  #timeoutMs;
  #maxRetries;
  #maxRetryDelayMs;
  #onRetry;

  constructor(options) {
    const o = checkKeys(options, CLIENT_OPTIONS, 'createClient');
    if (typeof o.baseUrl !== 'string') throw new TypeError('createClient: baseUrl is required, like https://img.example.com');
    let parsed;
    try {
      parsed = new URL(o.baseUrl);
    } catch {
      throw new TypeError(`createClient: baseUrl is not a URL: ${JSON.stringify(o.baseUrl)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError('createClient: baseUrl must start with http:// or https://');
    }
    if (parsed.search || parsed.hash || parsed.username || parsed.password) {
      throw new TypeError('createClient: baseUrl takes no query, fragment or credentials');
    }
    /** The server's base URL, without a trailing slash. */
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    const hasId = o.keyId !== undefined && o.keyId !== null;
    const hasSecret = o.keySecret !== undefined && o.keySecret !== null;
    if (hasId !== hasSecret) throw new TypeError('createClient: give both keyId and keySecret, or neither');
    /** The API key's id (not a secret). */
    this.keyId = hasId ? checkCredential(o.keyId, 'keyId') : null;
    this.#authorization = hasId ? `ApiKey ${this.keyId}:${checkCredential(o.keySecret, 'keySecret')}` : null;
    this.#timeoutMs = checkNumber(o.timeoutMs ?? 30_000, 'timeoutMs', 1);
    this.#maxRetries = Math.floor(checkNumber(o.maxRetries ?? 3, 'maxRetries', 0));
    this.#maxRetryDelayMs = checkNumber(o.maxRetryDelayMs ?? 60_000, 'maxRetryDelayMs', 0);
    this.#fetch = o.fetch ?? globalThis.fetch;
    if (typeof this.#fetch !== 'function') throw new TypeError('createClient: no fetch; Node ≥ 18 has one');
    if (o.onRetry !== undefined && typeof o.onRetry !== 'function') throw new TypeError('onRetry must be a function');
    this.#onRetry = o.onRetry;
  }

  /** Never shows the secret. */
  [inspect.custom](depth, options) {
    return `Client ${inspect({ baseUrl: this.baseUrl, keyId: this.keyId }, options)}`;
  }

  toJSON() {
    return { baseUrl: this.baseUrl, keyId: this.keyId };
  }

  async #call(method, path, { json, body, contentType, idempotent }) {
    const headers = { accept: 'application/json', 'user-agent': `cloudimg-node/${VERSION}` };
    if (this.#authorization !== null) headers.authorization = this.#authorization;
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (contentType !== undefined) {
      headers['content-type'] = contentType;
    }
    return request(this.baseUrl + path, method, path, {
      headers,
      body,
      idempotent,
      timeoutMs: this.#timeoutMs,
      maxRetries: this.#maxRetries,
      maxRetryDelayMs: this.#maxRetryDelayMs,
      fetch: this.#fetch,
      onRetry: this.#onRetry,
    });
  }

  /**
   * Uploads an original; resolves to the asset. `source`: a file path, a Buffer / Uint8Array /
   * ArrayBuffer, a Blob or File, or a readable stream. Options: public_id, folder, tags (array or
   * "a,b"), visibility ('public' | 'private'), overwrite (boolean), filename (for bytes and streams).
   * Retried on 429 only: a lost answer is not retried, since the upload may have been stored.
   */
  async upload(source, options) {
    const o = checkKeys(options, UPLOAD_OPTIONS, 'upload');
    const { bytes, filename } = await readSource(source);
    const fields = [];
    for (const name of ['public_id', 'folder', 'visibility']) {
      if (o[name] !== undefined && o[name] !== null) {
        if (typeof o[name] !== 'string') throw new TypeError(`upload: ${name} must be a string`);
        fields.push([name, o[name]]);
      }
    }
    if (o.tags !== undefined && o.tags !== null) fields.push(['tags', tagsText(o.tags)]);
    if (o.overwrite !== undefined && o.overwrite !== null) {
      if (typeof o.overwrite !== 'boolean') throw new TypeError('upload: overwrite must be true or false');
      fields.push(['overwrite', String(o.overwrite)]);
    }
    if (o.filename !== undefined && o.filename !== null && typeof o.filename !== 'string') {
      throw new TypeError('upload: filename must be a string');
    }
    const { body, contentType } = formData(fields, bytes, o.filename ?? filename);
    const result = await this.#call('POST', '/v1/upload', { body, contentType, idempotent: false });
    return result.asset;
  }

  /**
   * The delivery URL of `publicId`, with the transform in canonical order (`t,w,h,c,g,q,f,dpr,gr,bl,r,bg`).
   * Pure: no request. Throws CloudimgError (400 invalid_transform / invalid_public_id) on bad input.
   * A public_id stored before `t` and `g` were transform keys (`t_old/photo`) is accepted, as the
   * server accepts it; without a transform, `/v1/image/t_old/photo` is a preset `old` if one exists.
   */
  urlFor(publicId, transform) {
    checkExistingPublicId(publicId);
    const canonical = canonicalTransform(transform);
    return `${this.baseUrl}/v1/image/${canonical === '' ? '' : `${canonical}/`}${publicId}`;
  }

  /**
   * A `srcset` value: one URL per width (`url 400w, url 800w`), smallest first. When the
   * transform has both `w` and `h`, `h` follows each width at the same aspect ratio.
   */
  srcset(publicId, widths, transform) {
    if (!Array.isArray(widths) || widths.length === 0) throw new TypeError('srcset: widths is a non-empty array');
    const base = transformObject(transform);
    if (base.h !== undefined && base.w === undefined) {
      throw new TypeError('srcset: give w with h, so that h can follow each width at the same aspect ratio');
    }
    const sorted = [...new Set(widths)].sort((a, b) => a - b);
    return sorted
      .map((width) => {
        const t = { ...base, w: width };
        if (base.h !== undefined) t.h = Math.max(1, Math.round((Number(base.h) * width) / Number(base.w)));
        return `${this.urlFor(publicId, t)} ${width}w`;
      })
      .join(', ');
  }

  /** Signs a delivery URL (POST /v1/image/sign); resolves to `{url, expires}`. */
  async sign(publicId, options) {
    const o = checkKeys(options, SIGN_OPTIONS, 'signedUrl');
    checkExistingPublicId(publicId);
    const body = { public_id: publicId };
    const canonical = canonicalTransform(o.transform);
    if (canonical !== '') body.transform = canonical;
    if (o.ttl_seconds !== undefined && o.ttl_seconds !== null) body.ttl_seconds = o.ttl_seconds;
    // Signing changes nothing on the server: safe to retry.
    return this.#call('POST', '/v1/image/sign', { json: body, idempotent: true });
  }

  /** A signed delivery URL for `publicId` (private assets); resolves to the URL string. */
  async signedUrl(publicId, options) {
    return (await this.sign(publicId, options)).url;
  }

  /** The asset's metadata. */
  async getAsset(publicId) {
    checkExistingPublicId(publicId);
    return (await this.#call('GET', `/v1/assets/${publicId}`, { idempotent: true })).asset;
  }

  /**
   * Changes tags (array or "a,b"), folder, visibility or focal_point (`{x, y}` fractions of the
   * displayed width and height, or `null` to clear it); resolves to the asset.
   */
  async updateAsset(publicId, changes) {
    const c = checkKeys(changes, UPDATE_FIELDS, 'updateAsset');
    checkExistingPublicId(publicId);
    if (c.focal_point !== undefined) checkFocalPoint(c.focal_point);
    const body = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
    // The patch sets values, so sending it twice leaves the same asset.
    return (await this.#call('PATCH', `/v1/assets/${publicId}`, { json: body, idempotent: true })).asset;
  }

  /** Deletes the asset and its stored bytes. */
  async deleteAsset(publicId) {
    checkExistingPublicId(publicId);
    await this.#call('DELETE', `/v1/assets/${publicId}`, { idempotent: true });
  }

  /**
   * One page of assets, newest first: `{assets, next_cursor}`. Filters: folder, tag, visibility,
   * q (a public_id prefix), limit (1–100, default 50), cursor (a previous page's next_cursor).
   */
  async listAssets(params) {
    const p = checkKeys(params, LIST_PARAMS, 'listAssets');
    const query = new URLSearchParams();
    for (const name of LIST_PARAMS) {
      if (p[name] !== undefined && p[name] !== null) query.set(name, String(p[name]));
    }
    const qs = query.toString();
    return this.#call('GET', `/v1/assets${qs === '' ? '' : `?${qs}`}`, { idempotent: true });
  }

  /** Every asset matching the filters, across all pages: `for await (const a of cli.iterAssets())`. */
  async *iterAssets(params) {
    const p = { limit: 100, ...checkKeys(params, LIST_PARAMS.filter((k) => k !== 'cursor'), 'iterAssets') };
    let cursor;
    do {
      const page = await this.listAssets({ ...p, cursor });
      yield* page.assets;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /** Every preset (`t_<name>` in a delivery URL), by name. */
  async listPresets() {
    return (await this.#call('GET', '/v1/presets', { idempotent: true })).presets;
  }

  /** Creates or replaces the preset `name` (admins); resolves to it, its transform canonical. */
  async putPreset(name, transform) {
    const canonical = canonicalTransform(transform); // Checks it, as the server does.
    checkPresetName(name);
    return (await this.#call('PUT', `/v1/presets/${name}`, { json: { transform: canonical }, idempotent: true })).preset;
  }

  /** Deletes the preset `name` (admins). */
  async deletePreset(name) {
    checkPresetName(name);
    await this.#call('DELETE', `/v1/presets/${name}`, { idempotent: true });
  }

  /** Storage and traffic this month; `{all: true}` (admins) adds every user. */
  async usage(options) {
    const o = checkKeys(options, ['all'], 'usage');
    return this.#call('GET', `/v1/usage/summary${o.all ? '?all=true' : ''}`, { idempotent: true });
  }
}

function tagsText(tags) {
  if (typeof tags === 'string') return tags;
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
    throw new TypeError('upload: tags is an array of strings or a "a,b" string');
  }
  const withComma = tags.find((t) => t.includes(','));
  if (withComma !== undefined) {
    throw new CloudimgError(`tag ${JSON.stringify(withComma)} may only contain A-Z, a-z, 0-9, _ - . and :`, {
      status: 400,
      code: 'invalid_tags',
    });
  }
  return tags.join(',');
}

/** A fraction of a side: a finite number from 0 to 1. */
function isFraction(v) {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
}

/**
 * Throws CloudimgError 400 `invalid_focal_point` unless `point` is null or exactly `{x, y}` with
 * both fractions from 0 to 1, as the server checks it (SPEC §14).
 */
function checkFocalPoint(point) {
  if (point === null) return;
  const ok = typeof point === 'object' && !Array.isArray(point) && Object.keys(point).sort().join() === 'x,y' &&
    isFraction(point.x) && isFraction(point.y);
  if (!ok) {
    throw new CloudimgError('focal_point must be null or {"x": 0..1, "y": 0..1}', { status: 400, code: 'invalid_focal_point' });
  }
}

/** A transform as an object, whether given as an object or a string. */
function transformObject(transform) {
  if (transform === undefined || transform === null || transform === '') return {};
  if (typeof transform === 'string') {
    return Object.fromEntries(
      canonicalTransform(transform)
        .split(',')
        .map((pair) => [pair.slice(0, pair.indexOf('_')), pair.slice(pair.indexOf('_') + 1)]),
    );
  }
  canonicalTransform(transform); // Checks it.
  return Object.fromEntries(Object.entries(transform).filter(([k, v]) => KEYS.includes(k) && v !== undefined && v !== null));
}

/** `createClient({baseUrl, keyId, keySecret})`: see Client. */
function createClient(options) {
  return new Client(options);
}

module.exports = { Client, createClient, VERSION };
