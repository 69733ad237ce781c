// ESM entry: the same objects as the CommonJS entry (one implementation, so `instanceof
// CloudimgError` holds whichever way the package was loaded).
import cloudimg from './index.js';

export const { createClient, Client, CloudimgError, canonicalTransform, signUrl, thumbHashToDataURL, thumbHashToRGBA, VERSION } =
  cloudimg;
export default cloudimg;
