'use strict';

// One request with timeouts and retries. Which failures are retried:
//   429                    always: the server refused before doing anything (honours Retry-After)
//   502, 503, 504          idempotent calls only (Retry-After honoured when given)
//   no answer / timeout    idempotent calls only: a lost answer may hide work that was done
// Waits grow exponentially with jitter; a Retry-After longer than maxRetryDelayMs is not waited
// for: the 429 is returned at once, with `retryAfter` set.

const { CloudimgError } = require('./errors');

const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 5000;

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), else null. */
function parseRetryAfter(value) {
  if (value === null || value === undefined || value === '') return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

/** Exponential backoff with "equal jitter": half the step fixed, half random. */
function backoffMs(attempt) {
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return step / 2 + Math.random() * (step / 2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function errorFromResponse(response, text, method, path) {
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
  let message = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  let code = 'http_error';
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === 'string') message = body.error;
    if (body && typeof body.code === 'string') code = body.code;
  } catch {
    // Not the server's JSON (a proxy's page, say): keep the status line.
  }
  return new CloudimgError(message, { status: response.status, code, retryAfter, method, path });
}

/**
 * Sends one API call. `opts`: {headers, body, idempotent, timeoutMs, maxRetries, maxRetryDelayMs,
 * fetch, onRetry}. Resolves to the parsed JSON body (undefined for 204).
 */
async function request(url, method, path, opts) {
  const { headers, body, idempotent, timeoutMs, maxRetries, maxRetryDelayMs, onRetry } = opts;
  let lostAnswer = false;
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= maxRetries;
    let response;
    let text;
    try {
      response = await opts.fetch(url, {
        method,
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (cause) {
      const timedOut = cause && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
      const error = new CloudimgError(
        timedOut
          ? `no answer from the server within ${timeoutMs} ms (${method} ${path})`
          : `could not reach the server (${method} ${path}): ${describe(cause)}`,
        { status: 0, code: timedOut ? 'timeout' : 'network_error', method, path, cause },
      );
      if (!idempotent || last) throw error;
      lostAnswer = true;
      const delay = backoffMs(attempt);
      if (onRetry) onRetry({ attempt: attempt + 1, delayMs: delay, error });
      await sleep(delay);
      continue;
    }
    if (response.ok) {
      if (text === '') return undefined;
      try {
        return JSON.parse(text);
      } catch {
        throw new CloudimgError(`the server answered ${response.status} with a body that is not JSON`, {
          status: response.status,
          code: 'invalid_response',
          method,
          path,
        });
      }
    }
    const error = errorFromResponse(response, text, method, path);
    // A DELETE whose earlier answer was lost may have worked: its 404 now means "deleted".
    if (method === 'DELETE' && lostAnswer && error.status === 404) return undefined;
    const retryable = error.status === 429 || (idempotent && [502, 503, 504].includes(error.status));
    if (!retryable || last) throw error;
    let delay = backoffMs(attempt);
    if (error.retryAfter !== null) {
      if (error.retryAfter * 1000 > maxRetryDelayMs) throw error;
      delay = error.retryAfter * 1000;
    }
    if (onRetry) onRetry({ attempt: attempt + 1, delayMs: delay, error });
    await sleep(delay);
  }
}

/** The cause of a network failure in a few words (undici nests the system error in `cause`). */
function describe(error) {
  const inner = error && error.cause;
  if (inner && inner.code) return inner.code;
  if (inner && inner.message) return inner.message;
  return (error && error.message) || String(error);
}

module.exports = { request, parseRetryAfter, backoffMs };
