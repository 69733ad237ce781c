'use strict';

// Offline signing of delivery URLs (docs/SIGNED-URLS.md, scheme v2), for holders of the server's
// signing secret: the same URL `POST /v1/image/sign` would make, without a request.

const { createHmac } = require('node:crypto');
const { canonicalTransform, checkExistingPublicId } = require('./transform');

const SIGN_URL_OPTIONS = ['baseUrl', 'secret', 'publicId', 'revision', 'transform', 'expires'];
const REVISION = /^[0-9a-f]{32}$/;

function checkBaseUrl(baseUrl) {
  if (typeof baseUrl !== 'string') throw new TypeError('signUrl: baseUrl is required, like https://img.example.com');
  let parsed;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new TypeError(`signUrl: baseUrl is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError('signUrl: baseUrl must start with http:// or https://');
  }
  if (parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw new TypeError('signUrl: baseUrl takes no query, fragment or credentials');
  }
  return baseUrl.replace(/\/+$/, '');
}

function checkSecret(secret) {
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new TypeError("signUrl: secret is the server's signing secret, a string or Buffer / Uint8Array");
  }
  if (secret.length === 0) throw new RangeError('signUrl: secret must not be empty');
  return secret;
}

function checkRevision(revision) {
  if (typeof revision !== 'string') throw new TypeError("signUrl: revision is the asset's revision, a string");
  if (!REVISION.test(revision)) {
    throw new RangeError(
      `signUrl: revision must be 32 lowercase hex digits (the asset's "revision"), not ${JSON.stringify(revision)}`,
    );
  }
  return revision;
}

function checkExpires(expires) {
  if (typeof expires !== 'number') throw new TypeError('signUrl: expires is required, a unix time in seconds (a number)');
  if (!Number.isSafeInteger(expires) || expires < 0) {
    throw new RangeError(`signUrl: expires must be a whole, non-negative number of unix seconds, not ${expires}`);
  }
  return expires;
}

/**
 * A signed delivery URL made offline with the server's signing secret:
 * `<baseUrl><path>?expires=<expires>&v=<revision>&sig=<sig>`, where sig is the unpadded base64url
 * HMAC-SHA256 of `<path>?expires=<expires>&v=<revision>` and path is `/v1/image/<canonical
 * transform>/<publicId>` (or `/v1/image/<publicId>`). `revision` is the asset's `revision`: the
 * URL delivers that content only, never a later upload under the same public_id. Throws TypeError
 * / RangeError on bad arguments and CloudimgError (400 invalid_transform / invalid_public_id) as
 * urlFor does.
 */
function signUrl(options) {
  if (options === undefined || options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('signUrl takes an options object: {baseUrl, secret, publicId, revision, transform, expires}');
  }
  const unknown = Object.keys(options).filter((k) => !SIGN_URL_OPTIONS.includes(k));
  if (unknown.length > 0) {
    throw new TypeError(`signUrl: unknown option ${unknown.join(', ')} (known: ${SIGN_URL_OPTIONS.join(', ')})`);
  }
  const base = checkBaseUrl(options.baseUrl);
  const secret = checkSecret(options.secret);
  checkExistingPublicId(options.publicId);
  const revision = checkRevision(options.revision);
  const expires = checkExpires(options.expires);
  const canonical = canonicalTransform(options.transform);
  const path = `/v1/image/${canonical === '' ? '' : `${canonical}/`}${options.publicId}`;
  const signed = `${path}?expires=${expires}&v=${revision}`;
  const sig = createHmac('sha256', secret).update(signed).digest('base64url');
  return `${base}${signed}&sig=${sig}`;
}

module.exports = { signUrl };
