// The one place that talks to the REST API: same origin, the session cookie, JSON in and out.
// Every error becomes an ApiError carrying the server's `error` sentence and `code`.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    /** Set when the error was already dealt with (the session expired: back to sign-in). */
    this.handled = false;
  }
}

let unauthorizedHandler = () => {};

/** Called with the ApiError when any request answers 401 because the session is gone. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

function toError(status, statusText, data) {
  if (data && typeof data.error === 'string') {
    return new ApiError(status, data.code || `http_${status}`, data.error);
  }
  const text = statusText ? ` ${statusText}` : '';
  return new ApiError(status, `http_${status}`, `The server answered ${status}${text}.`);
}

function networkError() {
  return new ApiError(0, 'network_error', 'Could not reach the server. Check the connection and try again.');
}

// A 401 with `invalid_credentials` is a wrong password typed into a form (sign in, change
// password); any other 401 means the session is missing or over.
function maybeExpired(err, quiet) {
  if (err.status === 401 && err.code !== 'invalid_credentials' && !quiet) {
    err.handled = true;
    unauthorizedHandler(err);
  }
  return err;
}

function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * api('GET', '/v1/assets', undefined, {query: {folder: 'x'}}) → parsed JSON (null for 204).
 * `quiet401` skips the session-expired redirect (used for the first /v1/auth/me).
 * `withStatus` resolves with {status, data} instead, for answers whose status says something
 * (PUT /v1/presets/:name: 201 created, 200 replaced).
 */
export async function api(method, path, body, { query, quiet401 = false, withStatus = false } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, v);
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    throw networkError();
  }
  const data = parse(await res.text().catch(() => ''));
  if (!res.ok) throw maybeExpired(toError(res.status, res.statusText, data), quiet401);
  return withStatus ? { status: res.status, data } : data;
}

/** Path segments of a public_id, each URL-encoded, the slashes kept. */
export function encodeId(publicId) {
  return publicId.split('/').map(encodeURIComponent).join('/');
}

/**
 * Multipart upload with progress: fields {public_id, folder, tags, visibility} are sent when
 * non-empty. onProgress(loaded, total) follows the request body. Resolves with the asset.
 */
export function uploadFile(file, fields, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append('file', file, file.name);
    for (const [k, v] of Object.entries(fields || {})) {
      if (v !== undefined && v !== null && String(v).trim() !== '') form.append(k, String(v).trim());
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/upload');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      if (onProgress) onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    });
    xhr.addEventListener('load', () => {
      const data = parse(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300 && data && data.asset) {
        if (onProgress) onProgress(file.size, file.size);
        resolve(data.asset);
      } else {
        reject(maybeExpired(toError(xhr.status, xhr.statusText, data), false));
      }
    });
    xhr.addEventListener('error', () => reject(networkError()));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'The upload was cancelled.')));
    xhr.send(form);
  });
}
