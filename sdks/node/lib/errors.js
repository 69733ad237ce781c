'use strict';

/**
 * The one error class of the SDK. An HTTP error carries the server's `status`, `code` and
 * sentence (`message`); an error the SDK finds before sending (a bad transform or public_id)
 * carries the status and code the server would have answered; a request that got no answer has
 * `status` 0 and `code` `network_error` or `timeout`. Never carries a credential.
 */
class CloudimgError extends Error {
  /**
   * @param {string} message
   * @param {{status: number, code: string, retryAfter?: number|null, method?: string, path?: string, cause?: unknown}} details
   */
  constructor(message, { status, code, retryAfter = null, method, path, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CloudimgError';
    /** HTTP status; 0 when no response arrived. */
    this.status = status;
    /** The server's stable snake_case code, or `network_error` / `timeout`. */
    this.code = code;
    /** Seconds the server asked to wait (429 / 503), else null. */
    this.retryAfter = retryAfter;
    if (method !== undefined) this.method = method;
    if (path !== undefined) this.path = path;
  }
}

module.exports = { CloudimgError };
