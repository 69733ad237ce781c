// Type declarations of cloudimg (CommonJS entry; index.d.mts re-exports them for ESM).

/// <reference types="node" />

export type Visibility = 'public' | 'private';

/** Every code the server answers with (sdks/README.md, openapi.yaml), and the SDK's own two. */
export type ErrorCode =
  | 'invalid_body'
  | 'invalid_query'
  | 'invalid_cursor'
  | 'invalid_limit'
  | 'invalid_public_id'
  | 'invalid_folder'
  | 'invalid_visibility'
  | 'invalid_tags'
  | 'invalid_overwrite'
  | 'invalid_file_name'
  | 'invalid_multipart'
  | 'missing_file'
  | 'empty_file'
  | 'invalid_image'
  | 'invalid_transform'
  | 'invalid_ttl'
  | 'invalid_email'
  | 'invalid_password'
  | 'invalid_role'
  | 'invalid_name'
  | 'invalid_preset'
  | 'invalid_focal_point'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'invalid_signature'
  | 'signature_expired'
  | 'forbidden'
  | 'csrf_rejected'
  | 'session_required'
  | 'transform_not_allowed'
  | 'not_found'
  | 'direct_upload_unavailable'
  | 'method_not_allowed'
  | 'request_timeout'
  | 'already_exists'
  | 'asset_changed'
  | 'email_taken'
  | 'last_admin'
  | 'body_too_large'
  | 'file_too_large'
  | 'image_too_large'
  | 'unsupported_media_type'
  | 'render_too_large'
  | 'image_unreadable'
  | 'rate_limited'
  | 'busy'
  | 'not_ready'
  | 'internal_error'
  | 'network_error'
  | 'timeout';

/** An asset as the API returns it (openapi.yaml `Asset`). */
export interface Asset {
  public_id: string;
  /** The delivery URL of the original. */
  url: string;
  /** `""` is the root. */
  folder: string;
  tags: string[];
  visibility: Visibility;
  /** The original's format; `heic` and `jxl` are read, never written (`f` cannot ask for them). */
  format: 'jpg' | 'png' | 'webp' | 'gif' | 'avif' | 'heic' | 'jxl';
  /** As displayed (after the EXIF orientation). */
  width: number;
  height: number;
  bytes: number;
  content_type: string;
  owner_id: string;
  original_filename: string | null;
  created_at: string;
  updated_at: string;
  /** 1 at the first upload, +1 at every overwrite. */
  version: number;
  /**
   * Names this version's content: 32 lowercase hex digits, new at every upload and overwrite, never
   * reused. Signed URLs are bound to it (`signUrl`'s `revision`).
   */
  revision: string;
  /**
   * What `g_auto` keeps in the crop, set with `updateAsset(id, {focal_point})`; null when not set.
   * An overwrite clears it.
   */
  focal_point: FocalPoint | null;
  /** The faces detected at upload (again at an overwrite), largest first; `[]` when none. */
  faces: Face[];
  /**
   * The image's ThumbHash, standard base64 (`thumbHashToDataURL` makes a placeholder of it); null
   * for assets stored before the analysis existed.
   */
  thumbhash: string | null;
  /** `"#rrggbb"`; null for assets stored before the analysis existed. */
  dominant_color: string | null;
  [extra: string]: unknown;
}

/** A point of the displayed image (after the EXIF orientation), as fractions of its width and height, 0–1. */
export interface FocalPoint {
  x: number;
  y: number;
}

/** A box of the displayed image: its top-left corner and size, as fractions of the width and height, 0–1. */
export interface Face {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A named transform (openapi.yaml `Preset`), delivered as `t_<name>`. */
export interface Preset {
  name: string;
  /** Canonical. */
  transform: string;
  created_at: string;
  updated_at: string;
}

export interface AssetPage {
  assets: Asset[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

export interface UsageSummary {
  storage_bytes: number;
  original_bytes: number;
  variant_bytes: number;
  asset_count: number;
  bandwidth_bytes: number;
  requests: number;
  /** `YYYY-MM`, UTC. */
  period: string;
  /** `{all: true}` only. */
  users?: Array<Record<string, unknown>>;
  [extra: string]: unknown;
}

/** Where `c_fill`, `c_cover` and `c_thumb` keep their window (SPEC §14). */
export type Gravity =
  | 'auto'
  | 'face'
  | 'faces'
  | 'center'
  | 'north'
  | 'south'
  | 'east'
  | 'west'
  | 'north_east'
  | 'north_west'
  | 'south_east'
  | 'south_west';

/** SPEC §6. Values out of range throw CloudimgError (400 invalid_transform) before any request. */
export interface TransformObject {
  /** A preset's name (`t_<name>`, SPEC §14): only `f` and `dpr` may stand beside it. */
  t?: string;
  /** Width, 1–4000. */
  w?: number | string;
  /** Height, 1–4000. */
  h?: number | string;
  /** Crop mode (default fit). */
  c?: 'fit' | 'fill' | 'cover' | 'contain' | 'inside' | 'outside' | 'thumb';
  /**
   * Gravity, with `c: 'fill' | 'cover' | 'thumb'` only: `auto` (the focal point, else faces, else
   * saliency), `face`, `faces`, or a fixed anchor. `c_thumb` alone means `g_auto`.
   */
  g?: Gravity;
  /** Quality, 1–100. */
  q?: number | string;
  /** Output format (default: the original's). */
  f?: 'auto' | 'jpg' | 'png' | 'webp' | 'avif' | 'gif';
  /** Device pixel ratio, 1–3, at most two decimals. */
  dpr?: number | string;
  /** Grayscale. */
  gr?: 1 | '1' | true;
  /** Blur sigma, 0.3–25, at most two decimals. */
  bl?: number | string;
  /** Clockwise rotation, -360–360. */
  r?: number | string;
  /** Background, 6 hex digits (`ffffff`). */
  bg?: string;
}

/** An object, or a string like `'w_400,c_fill'` (any order; the SDK emits the canonical one). */
export type Transform = TransformObject | string;

export interface RetryInfo {
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  error: CloudimgError;
}

export interface ClientOptions {
  /** The server, like `https://img.example.com` (a path prefix is kept). */
  baseUrl: string;
  keyId?: string;
  keySecret?: string;
  /** Per attempt, including reading the answer. Default 30000. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 3. */
  maxRetries?: number;
  /** A longer Retry-After is not waited for: the error is thrown at once. Default 60000. */
  maxRetryDelayMs?: number;
  /** A fetch to use instead of the global one (a proxy agent, say). */
  fetch?: typeof globalThis.fetch;
  /** Called before each retry. */
  onRetry?: (info: RetryInfo) => void;
}

export type UploadSource =
  | string
  | URL
  | Uint8Array
  | ArrayBuffer
  | Blob
  | NodeJS.ReadableStream
  | AsyncIterable<Uint8Array | string>;

export interface UploadOptions {
  /** Generated from the file name when absent: `<folder/>` + slug + `-` + 12 hex. */
  public_id?: string;
  folder?: string;
  /** `['a', 'b']` or `'a,b'`. */
  tags?: string[] | string;
  /** Default public. */
  visibility?: Visibility;
  /** Required to replace an existing public_id. */
  overwrite?: boolean;
  /** File name sent with bytes or a stream (a path sends its own). */
  filename?: string;
}

export interface AssetChanges {
  tags?: string[] | string;
  folder?: string;
  visibility?: Visibility;
  /** Sets the focal point (`{x, y}`, each 0–1), or clears it with `null`. */
  focal_point?: FocalPoint | null;
}

export interface ListParams {
  folder?: string;
  tag?: string;
  visibility?: Visibility;
  /** A public_id prefix. */
  q?: string;
  /** 1–100, default 50. */
  limit?: number;
  cursor?: string | null;
}

export interface SignOptions {
  transform?: Transform;
  /** 1–604800, default 3600. */
  ttl_seconds?: number;
}

export interface SignedUrl {
  url: string;
  /** Unix seconds. */
  expires: number;
}

export declare class Client {
  private constructor(options: ClientOptions);
  readonly baseUrl: string;
  readonly keyId: string | null;
  upload(source: UploadSource, options?: UploadOptions): Promise<Asset>;
  urlFor(publicId: string, transform?: Transform): string;
  srcset(publicId: string, widths: number[], transform?: Transform): string;
  sign(publicId: string, options?: SignOptions): Promise<SignedUrl>;
  signedUrl(publicId: string, options?: SignOptions): Promise<string>;
  getAsset(publicId: string): Promise<Asset>;
  updateAsset(publicId: string, changes: AssetChanges): Promise<Asset>;
  deleteAsset(publicId: string): Promise<void>;
  listAssets(params?: ListParams): Promise<AssetPage>;
  iterAssets(params?: Omit<ListParams, 'cursor'>): AsyncGenerator<Asset, void, undefined>;
  usage(options?: { all?: boolean }): Promise<UsageSummary>;
  /** Every preset, by name. */
  listPresets(): Promise<Preset[]>;
  /** Creates or replaces a preset (admins); its transform is checked and sent canonical. */
  putPreset(name: string, transform: Transform): Promise<Preset>;
  /** Deletes a preset (admins). */
  deletePreset(name: string): Promise<void>;
  toJSON(): { baseUrl: string; keyId: string | null };
}

export declare class CloudimgError extends Error {
  constructor(
    message: string,
    details: { status: number; code: ErrorCode; retryAfter?: number | null; method?: string; path?: string; cause?: unknown },
  );
  readonly name: 'CloudimgError';
  /** HTTP status; 0 when no answer arrived. */
  readonly status: number;
  /** The server's snake_case code (`not_found`, `rate_limited`, …), or `network_error` / `timeout`. */
  readonly code: ErrorCode;
  /** Seconds the server asked to wait (429 / 503), else null. */
  readonly retryAfter: number | null;
  readonly method?: string;
  readonly path?: string;
}

export declare function createClient(options: ClientOptions): Client;

/** The canonical spelling of a transform (`'w_400,h_400,c_fill,f_webp'`); `''` for none. */
export declare function canonicalTransform(transform?: Transform | null): string;

export interface SignUrlOptions {
  /** The server's public URL (`IMGCLOUD_PUBLIC_URL`), like `https://img.example.com`. */
  baseUrl: string;
  /** The server's signing secret (`IMGCLOUD_SIGNING_SECRET`), not an API key's. */
  secret: string | Uint8Array;
  publicId: string;
  /** The asset's `revision` (32 lowercase hex): the URL delivers that content only. */
  revision: string;
  transform?: Transform | null;
  /** Unix seconds (a whole number). */
  expires: number;
}

/**
 * A signed delivery URL made offline (no request): `<baseUrl><path>?expires=…&v=<revision>&sig=…`,
 * the URL `POST /v1/image/sign` makes. Throws TypeError / RangeError on bad arguments, CloudimgError
 * (400) on a bad transform or public_id.
 */
export declare function signUrl(options: SignUrlOptions): string;

/** The placeholder image of a ThumbHash: at most 32×32, `rgba` row by row, not premultiplied. */
export interface ThumbHashImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/**
 * Decodes a ThumbHash (an asset's `thumbhash`: standard base64, padding optional) into its
 * placeholder's pixels. Throws TypeError unless given a string, RangeError when it is not base64 or
 * not a whole ThumbHash.
 */
export declare function thumbHashToRGBA(thumbhash: string): ThumbHashImage;

/** The placeholder of a ThumbHash as a `data:image/png;base64,…` URL. Throws as thumbHashToRGBA. */
export declare function thumbHashToDataURL(thumbhash: string): string;

export declare const VERSION: string;
