'use strict';

// cloudimg: the Node.js SDK of img-cloud. CommonJS entry; index.mjs re-exports it for ESM.

const { Client, createClient, VERSION } = require('./lib/client');
const { CloudimgError } = require('./lib/errors');
const { canonicalTransform } = require('./lib/transform');
const { signUrl } = require('./lib/sign');

module.exports = { createClient, Client, CloudimgError, canonicalTransform, signUrl, VERSION };
