// Every image URL the dashboard builds, in one place.
import { encodeId } from './api.js';

// Page and API share an origin (the CSP allows images from 'self' only), so an absolute URL
// from the API is re-rooted on this page's origin before it goes into an <img>.
function sameOrigin(url) {
  try {
    const u = new URL(url, window.location.origin);
    return `${u.pathname}${u.search}`;
  } catch {
    return url;
  }
}

/** The public base the API hands out (IMGCLOUD_PUBLIC_URL), read from an asset's `url`. */
export function publicOrigin(asset) {
  try {
    return new URL(asset.url).origin;
  } catch {
    return window.location.origin;
  }
}

/**
 * The grid's thumbnails: THE one place that decides their URL. A 200×200 centre crop rendered
 * by the image engine; set THUMB_TRANSFORM to '' to show the originals (`asset.url`) instead.
 */
export const THUMB_TRANSFORM = 'w_200,h_200,c_fill';
export function thumbnailUrl(asset) {
  if (!THUMB_TRANSFORM) return sameOrigin(asset.url);
  return `/v1/image/${THUMB_TRANSFORM}/${encodeId(asset.public_id)}`;
}

/** The full-size original on this page's origin (detail view). */
export function originalUrl(asset) {
  return sameOrigin(asset.url);
}

/** Cleans a typed transform: no spaces, no leading or trailing slashes. */
export function normaliseTransform(text) {
  return String(text || '').replace(/\s+/g, '').replace(/^\/+|\/+$/g, '');
}

/** `<origin>/v1/image/<transform>/<public_id>`, or the original's URL with no transform. */
export function transformUrl(asset, transform, origin = publicOrigin(asset)) {
  const t = normaliseTransform(transform);
  const id = encodeId(asset.public_id);
  return t ? `${origin}/v1/image/${t}/${id}` : `${origin}/v1/image/${id}`;
}

/** The same transform URL on this page's origin, for previews. */
export function previewUrl(asset, transform) {
  return sameOrigin(transformUrl(asset, transform, window.location.origin));
}

/**
 * A crop preview that follows the focal point (`g_auto`), on this page's origin. The URL names
 * the point in a query the delivery ignores (`?fp=0.25,0.4`, `?fp=none`): moving the point gives
 * the crop new bytes (and ETag) at the same path, and a URL of its own keeps the browser's cache
 * (`max-age`) from showing the crop of an earlier point.
 */
export function focalCropUrl(asset, transform) {
  const fp = asset.focal_point;
  return `${previewUrl(asset, transform)}?fp=${fp ? `${fp.x},${fp.y}` : 'none'}`;
}
