'use strict';

// cloudimg: the Node.js SDK of img-cloud. CommonJS entry; index.mjs re-exports it for ESM.

const { Client, createClient, VERSION } = require('./lib/client');
const { CloudimgError } = require('./lib/errors');
const { canonicalTransform } = require('./lib/transform');
const { signUrl } = require('./lib/sign');
const { thumbHashToDataURL, thumbHashToRGBA } = require('./lib/thumbhash');

module.exports = {
  createClient,
  Client,
  CloudimgError,
  canonicalTransform,
  signUrl,
  thumbHashToDataURL,
  thumbHashToRGBA,
  VERSION,
};
