// Type declarations of the ESM entry: the same as the CommonJS ones.
import cloudimg = require('./index.js');

export import Client = cloudimg.Client;
export import CloudimgError = cloudimg.CloudimgError;
export import createClient = cloudimg.createClient;
export import canonicalTransform = cloudimg.canonicalTransform;
export import signUrl = cloudimg.signUrl;
export import thumbHashToDataURL = cloudimg.thumbHashToDataURL;
export import thumbHashToRGBA = cloudimg.thumbHashToRGBA;
export import VERSION = cloudimg.VERSION;
export type {
  Asset,
  AssetChanges,
  AssetPage,
  ClientOptions,
  ErrorCode,
  Face,
  FocalPoint,
  Gravity,
  ListParams,
  Preset,
  RetryInfo,
  SignedUrl,
  SignOptions,
  SignUrlOptions,
  ThumbHashImage,
  Transform,
  TransformObject,
  UploadOptions,
  UploadSource,
  UsageSummary,
  Visibility,
} from './index.js';

export default cloudimg;
