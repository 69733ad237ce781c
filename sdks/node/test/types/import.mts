// Compiled (not run) by `tsc -p test/types`: the ESM declarations.
import cloudimg, {
  createClient,
  CloudimgError,
  signUrl,
  thumbHashToDataURL,
  thumbHashToRGBA,
  type Asset,
  type FocalPoint,
  type Gravity,
  type SignUrlOptions,
  type ThumbHashImage,
} from 'cloudimg';

const cli = createClient({ baseUrl: 'https://img-cloud.org', keyId: 'ck_x', keySecret: 'cs_y' });
const asset: Asset = await cli.upload(new Uint8Array([1, 2, 3]), { public_id: 'a/b', overwrite: true });
const url: string = cli.urlFor(asset.public_id, 'w_400,c_fill');
const err: CloudimgError = new cloudimg.CloudimgError('x', { status: 404, code: 'not_found' });
const options: SignUrlOptions = { baseUrl: 'https://img-cloud.org', secret: 'k', publicId: asset.public_id, revision: asset.revision, expires: 1800000000 };
const signed: string = signUrl(options);
console.log(url, err.status, cloudimg.VERSION, signed, cloudimg.signUrl === signUrl);
const g: Gravity = 'faces';
const crop: string = cli.urlFor(asset.public_id, { w: 300, h: 300, c: 'cover', g });
const point: FocalPoint | null = (await cli.updateAsset(asset.public_id, { focal_point: { x: 0.5, y: 0.5 } })).focal_point;
const image: ThumbHashImage = thumbHashToRGBA(asset.thumbhash ?? '');
const placeholder: string = asset.thumbhash === null ? '' : thumbHashToDataURL(asset.thumbhash);
console.log(crop, point, image.width, placeholder, cloudimg.thumbHashToDataURL === thumbHashToDataURL, asset.faces.length, asset.dominant_color);
