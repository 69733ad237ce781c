'use strict';

// The upload body: the source read into memory (the server caps uploads at 25 MiB by default, and
// a body in hand can be sent again after a 429), then one multipart/form-data buffer.

const fs = require('node:fs/promises');
const nodePath = require('node:path');
const { randomBytes } = require('node:crypto');
const { fileURLToPath } = require('node:url');

/**
 * Reads a path (string or file: URL), a Buffer / Uint8Array / ArrayBuffer, a Blob or File, or a
 * readable stream (anything async-iterable over byte chunks) into `{bytes, filename}`.
 */
async function readSource(source) {
  if (typeof source === 'string' || source instanceof URL) {
    const path = source instanceof URL ? fileURLToPath(source) : source;
    return { bytes: await fs.readFile(path), filename: nodePath.basename(path) };
  }
  if (source instanceof Uint8Array) return { bytes: source, filename: null };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), filename: null };
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = typeof source.name === 'string' && source.name !== '' ? source.name : null;
    return { bytes: new Uint8Array(await source.arrayBuffer()), filename: name };
  }
  if (source && typeof source[Symbol.asyncIterator] === 'function') {
    const chunks = [];
    for await (const chunk of source) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    }
    const filename = typeof source.path === 'string' ? nodePath.basename(source.path) : null;
    return { bytes: Buffer.concat(chunks), filename };
  }
  throw new TypeError('upload takes a file path, a Buffer or Uint8Array, a Blob, or a readable stream');
}

/** A name or file name inside a Content-Disposition header, escaped as browsers do. */
function quoted(s) {
  return `"${s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

/**
 * `fields`: [[name, value], …] sent first, then `file`. Returns {body, contentType}.
 * `filename` null sends the file part without a file name.
 */
function formData(fields, bytes, filename) {
  let boundary;
  do {
    boundary = `cloudimg-${randomBytes(16).toString('hex')}`;
  } while (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(boundary));
  const parts = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}\r\n\r\n${value}\r\n`));
  }
  const disposition = `form-data; name="file"${filename === null ? '' : `; filename=${quoted(filename)}`}`;
  parts.push(
    Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: application/octet-stream\r\n\r\n`),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

module.exports = { readSource, formData };
