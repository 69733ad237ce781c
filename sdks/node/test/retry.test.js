'use strict';

// Retries, timeouts and 429s: against the rate-limited server (IMGCLOUD_RATE_API_PER_MINUTE=60),
// a closed port, a socket that never answers, and a small proxy in front of the real server that
// answers 503 or drops an answer on purpose.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { createClient, CloudimgError } = require('..');
const { env, newUser, photoPath } = require('./support');

const photo = () => fs.readFileSync(photoPath());

/** Calls until the server says 429; returns that error. */
async function exhaust(client) {
  for (let i = 0; i < 200; i++) {
    try {
      await client.usage();
    } catch (e) {
      if (e instanceof CloudimgError && e.status === 429) return e;
      throw e;
    }
  }
  throw new Error('no 429 after 200 calls');
}

test('429 from the rate-limited server', async (t) => {
  const key = await newUser(env.limited);
  const options = { baseUrl: env.limited, keyId: key.keyId, keySecret: key.keySecret };
  const noRetry = createClient({ ...options, maxRetries: 0 });

  await t.test('is surfaced as a CloudimgError with Retry-After when retries are off', async () => {
    const error = await exhaust(noRetry);
    assert.equal(error.status, 429);
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.message, 'too many API calls; retry later');
    assert.ok(Number.isInteger(error.retryAfter) && error.retryAfter >= 1, `${error.retryAfter}`);
  });

  await t.test('is retried after the Retry-After the server sent', async () => {
    await exhaust(noRetry);
    const retries = [];
    const client = createClient({ ...options, onRetry: (info) => retries.push(info) });
    const started = Date.now();
    const summary = await client.usage();
    assert.match(summary.period, /^\d{4}-\d{2}$/);
    assert.ok(retries.length >= 1);
    assert.equal(retries[0].error.status, 429);
    assert.equal(retries[0].delayMs, retries[0].error.retryAfter * 1000);
    assert.ok(Date.now() - started >= retries[0].delayMs - 50, `${Date.now() - started} ms`);
  });

  await t.test('an upload refused with 429 is sent again and stored once', async () => {
    await exhaust(noRetry);
    const retries = [];
    const client = createClient({ ...options, onRetry: (info) => retries.push(info) });
    const asset = await client.upload(photo(), { public_id: 'retried/upload' });
    assert.equal(asset.version, 1);
    assert.ok(retries.length >= 1 && retries.every((r) => r.error.status === 429));
  });

  await t.test('a Retry-After longer than maxRetryDelayMs is not waited for', async () => {
    await exhaust(noRetry);
    const retries = [];
    const client = createClient({ ...options, maxRetryDelayMs: 10, onRetry: (info) => retries.push(info) });
    const started = Date.now();
    await assert.rejects(client.usage(), (e) => e.status === 429 && e.retryAfter >= 1);
    assert.ok(Date.now() - started < 500);
    assert.deepEqual(retries, []);
  });
});

async function closedPort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('no answer: idempotent calls are retried with backoff, uploads are not', async () => {
  const port = await closedPort();
  const retries = [];
  const client = createClient({
    baseUrl: `http://127.0.0.1:${port}`,
    keyId: 'ck_x',
    keySecret: 'cs_secret-that-must-not-show',
    maxRetries: 2,
    onRetry: (info) => retries.push(info),
  });
  await assert.rejects(client.getAsset('a/b'), (e) => {
    assert.ok(e instanceof CloudimgError);
    assert.equal(e.status, 0);
    assert.equal(e.code, 'network_error');
    assert.match(e.message, /ECONNREFUSED/);
    assert.ok(!e.message.includes('must-not-show'));
    return true;
  });
  assert.equal(retries.length, 2);
  assert.ok(retries[0].delayMs >= 100 && retries[0].delayMs <= 200, `${retries[0].delayMs}`);
  assert.ok(retries[1].delayMs >= 200 && retries[1].delayMs <= 400, `${retries[1].delayMs}`);

  retries.length = 0;
  await assert.rejects(client.upload(photo()), (e) => e.code === 'network_error');
  assert.equal(retries.length, 0);
});

test('timeouts: each attempt is bounded; idempotent calls try again, uploads do not', async (t) => {
  const sockets = new Set();
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const retries = [];
  const client = createClient({
    baseUrl: `http://127.0.0.1:${silent.address().port}`,
    keyId: 'ck_x',
    keySecret: 'cs_y',
    timeoutMs: 300,
    maxRetries: 1,
    onRetry: (info) => retries.push(info),
  });
  const started = Date.now();
  await assert.rejects(client.listAssets(), (e) => {
    assert.equal(e.status, 0);
    assert.equal(e.code, 'timeout');
    assert.equal(e.message, 'no answer from the server within 300 ms (GET /v1/assets)');
    return true;
  });
  assert.ok(Date.now() - started >= 600);
  assert.equal(retries.length, 1);

  retries.length = 0;
  await assert.rejects(client.upload(photo()), (e) => e.code === 'timeout');
  assert.equal(retries.length, 0);
});

/**
 * A proxy to the real server that, per request, follows the next step of `plan`: 'forward',
 * '503' (answers 503 itself) or 'lose' (forwards, then closes the connection without answering).
 * `seen` lists `METHOD path` of every request.
 */
async function flakyProxy(t, plan) {
  const seen = [];
  const proxy = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    seen.push(`${req.method} ${req.url}`);
    const step = plan.shift() ?? 'forward';
    if (step === '503') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'too many renders are waiting; retry shortly', code: 'busy' }));
      return;
    }
    const headers = {};
    for (const name of ['authorization', 'content-type', 'accept']) if (req.headers[name]) headers[name] = req.headers[name];
    const upstream = await fetch(`${env.base}${req.url}`, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    if (step === 'lose') {
      req.socket.destroy();
      return;
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
    res.end(body);
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => proxy.close());
  return { url: `http://127.0.0.1:${proxy.address().port}`, seen };
}

test('503 and lost answers, through a proxy to the real server', async (t) => {
  const key = await newUser(env.base, 'proxy');
  const direct = createClient({ baseUrl: env.base, keyId: key.keyId, keySecret: key.keySecret });
  const plan = [];
  const proxy = await flakyProxy(t, plan);
  const retries = [];
  const client = createClient({ baseUrl: proxy.url, keyId: key.keyId, keySecret: key.keySecret, onRetry: (i) => retries.push(i) });
  await direct.upload(photo(), { public_id: 'flaky/a' });

  await t.test('a GET answered 503 is retried', async () => {
    plan.push('503');
    retries.length = 0;
    assert.equal((await client.getAsset('flaky/a')).public_id, 'flaky/a');
    assert.equal(retries.length, 1);
    assert.equal(retries[0].error.status, 503);
    assert.equal(retries[0].error.code, 'busy');
  });

  await t.test('an upload answered 503 is not retried', async () => {
    plan.push('503');
    retries.length = 0;
    await assert.rejects(client.upload(photo(), { public_id: 'flaky/b' }), (e) => e.status === 503 && e.code === 'busy');
    assert.equal(retries.length, 0);
  });

  await t.test('an upload whose answer was lost is not sent again (it was stored)', async () => {
    plan.push('lose');
    proxy.seen.length = 0;
    await assert.rejects(client.upload(photo(), { public_id: 'flaky/c' }), (e) => e.code === 'network_error');
    assert.deepEqual(proxy.seen, ['POST /v1/upload']);
    assert.equal((await direct.getAsset('flaky/c')).version, 1);
  });

  await t.test('a PATCH whose answer was lost is sent again', async () => {
    plan.push('lose');
    proxy.seen.length = 0;
    assert.deepEqual((await client.updateAsset('flaky/a', { tags: ['again'] })).tags, ['again']);
    assert.deepEqual(proxy.seen, ['PATCH /v1/assets/flaky/a', 'PATCH /v1/assets/flaky/a']);
  });

  await t.test('a DELETE whose answer was lost resolves when the retry finds it gone', async () => {
    plan.push('lose');
    proxy.seen.length = 0;
    await client.deleteAsset('flaky/a');
    assert.deepEqual(proxy.seen, ['DELETE /v1/assets/flaky/a', 'DELETE /v1/assets/flaky/a']);
    await assert.rejects(direct.getAsset('flaky/a'), (e) => e.status === 404);
    // Without a lost answer, deleting a missing asset is still a 404.
    await assert.rejects(client.deleteAsset('flaky/a'), (e) => e.status === 404);
  });
});
