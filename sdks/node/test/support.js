'use strict';

// What every test file needs: the servers that scripts/test-sdks started, an admin session, a
// fresh user with an API key (so that each file sees only its own assets), and the test photo.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');

function need(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the SDK tests with scripts/test-sdks, which starts the servers`);
  }
  return value;
}

const env = {
  get base() {
    return need('CLOUDIMG_TEST_BASE_URL');
  },
  /** A second server with IMGCLOUD_RATE_API_PER_MINUTE=60, for 429s. */
  get limited() {
    return need('CLOUDIMG_TEST_LIMITED_URL');
  },
  get adminEmail() {
    return need('CLOUDIMG_TEST_ADMIN_EMAIL');
  },
  get adminPassword() {
    return need('CLOUDIMG_TEST_ADMIN_PASSWORD');
  },
  /** The servers' IMGCLOUD_SIGNING_SECRET, for offline signing (signUrl). */
  get signingSecret() {
    return need('CLOUDIMG_TEST_SIGNING_SECRET');
  },
  get corpus() {
    return process.env.CLOUDIMG_TEST_CORPUS || path.resolve(__dirname, '../../../../shared/corpus');
  },
};

async function json(response, expected) {
  const body = await response.json();
  if (response.status !== expected) throw new Error(`expected ${expected}, got ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

async function login(base, email, password) {
  const response = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  await json(response, 200);
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('imgcloud_session='));
  return cookie.split(';')[0];
}

async function mintKey(base, cookie) {
  const response = await fetch(`${base}/v1/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ name: 'sdk-tests' }),
  });
  const body = await json(response, 201);
  return { keyId: body.key_id, keySecret: body.key_secret };
}

/** A new user with a new API key on `base`: `{email, userId, keyId, keySecret}`. */
async function newUser(base, label = 'node') {
  const admin = await login(base, env.adminEmail, env.adminPassword);
  const email = `${label}-${randomBytes(6).toString('hex')}@example.com`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const created = await fetch(`${base}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: admin },
    body: JSON.stringify({ email, password, role: 'user' }),
  });
  const { user } = await json(created, 201);
  const key = await mintKey(base, await login(base, email, password));
  return { email, userId: user.id, ...key };
}

/** The admin's API key on `base`. */
async function adminKey(base) {
  return mintKey(base, await login(base, env.adminEmail, env.adminPassword));
}

/** tests/transform-cases.json: the transform cases the server's parser is tested with too. */
const transformCases = require('../../../tests/transform-cases.json');

/** The 1000×667 JPEG from the corpus. */
function photoPath() {
  return path.join(env.corpus, 'photo_1000x667.jpg');
}

/** A temp dir holding `names` as copies of the test photo (the seed uploads ./photo.jpg, ./hero.jpg). */
function photoDir(...names) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudimg-node-'));
  for (const name of names) fs.copyFileSync(photoPath(), path.join(dir, name));
  return dir;
}

module.exports = { env, newUser, adminKey, photoPath, photoDir, login, transformCases };
