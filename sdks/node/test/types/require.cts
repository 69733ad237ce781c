// Compiled (not run) by `tsc -p test/types`: the CommonJS declarations describe the seed's calls.
import cloudimg = require('cloudimg');
import {
  createClient,
  CloudimgError,
  signUrl,
  thumbHashToRGBA,
  type Asset,
  type AssetPage,
  type Face,
  type FocalPoint,
  type Gravity,
  type SignUrlOptions,
  type ThumbHashImage,
} from 'cloudimg';

async function main(): Promise<void> {
  const cli = createClient({
    baseUrl: 'https://img-cloud.org',
    keyId: process.env.CLOUDIMG_KEY_ID,
    keySecret: process.env.CLOUDIMG_KEY_SECRET,
  });
  const asset: Asset = await cli.upload('./hero.jpg', { folder: 'marketing', tags: ['hero', 'homepage'], visibility: 'public' });
  const thumb: string = cli.urlFor(asset.public_id, { w: 400, h: 400, c: 'fill', f: 'webp', q: 80 });
  const signed: string = await cli.signedUrl(asset.public_id, { transform: { w: 200 }, ttl_seconds: 3600 });
  await cli.updateAsset(asset.public_id, { tags: 'archived' });
  await cli.deleteAsset(asset.public_id);
  const { assets }: AssetPage = await cli.listAssets({ folder: 'marketing', limit: 50 });
  for await (const a of cli.iterAssets({ tag: 'hero' })) console.log(a.public_id, a.width);
  console.log(thumb, signed, assets.length, cli.srcset(asset.public_id, [400, 800], { f: 'webp' }));
  console.log(cloudimg.canonicalTransform('q_80,w_400'), (await cli.usage()).storage_bytes);
  try {
    await cli.getAsset('missing');
  } catch (e) {
    if (e instanceof CloudimgError) console.log(e.status, e.code, e.message, e.retryAfter);
  }
  // @ts-expect-error: not a crop mode
  cli.urlFor('x', { c: "crop" });

  // Smart delivery: gravity, the focal point, the analysis fields, the ThumbHash placeholder.
  const gravity: Gravity = 'north_east';
  const card: string = cli.urlFor(asset.public_id, { w: 400, h: 400, c: 'fill', g: 'auto' });
  console.log(card, cli.urlFor(asset.public_id, { c: 'thumb', g: gravity, w: 200 }));
  // @ts-expect-error: not a gravity
  cli.urlFor('x', { c: 'fill', g: 'top' });
  const focused: Asset = await cli.updateAsset(asset.public_id, { focal_point: { x: 0.25, y: 0.4 } });
  const point: FocalPoint | null = focused.focal_point;
  await cli.updateAsset(asset.public_id, { focal_point: null });
  // @ts-expect-error: a focal point has x and y
  await cli.updateAsset(asset.public_id, { focal_point: { x: 0.25 } });
  const faces: Face[] = asset.faces;
  const color: string | null = asset.dominant_color;
  if (asset.thumbhash !== null) {
    const placeholder: string = cloudimg.thumbHashToDataURL(asset.thumbhash);
    const image: ThumbHashImage = thumbHashToRGBA(asset.thumbhash);
    const pixels: Uint8Array = image.rgba;
    console.log(placeholder, image.width * image.height, pixels.length);
  }
  // @ts-expect-error: thumbhash may be null
  thumbHashToRGBA(asset.thumbhash);
  console.log(point?.x, faces.map((f) => f.w * f.h), color);

  // Offline signing with the server's signing secret, bound to the asset's revision.
  const revision: string = asset.revision;
  const options: SignUrlOptions = {
    baseUrl: 'https://img-cloud.org',
    secret: process.env.IMGCLOUD_SIGNING_SECRET ?? '',
    publicId: asset.public_id,
    revision,
    transform: { w: 1200, q: 80 },
    expires: Math.floor(Date.now() / 1000) + 3600,
  };
  const offline: string = signUrl(options);
  const fromBytes: string = cloudimg.signUrl({ ...options, secret: Buffer.from('k'), transform: 'w_100' });
  console.log(offline, fromBytes, signUrl({ ...options, transform: undefined }));
  // @ts-expect-error: expires is required
  signUrl({ baseUrl: 'https://x', secret: 's', publicId: 'a', revision });
  // @ts-expect-error: the revision is the asset's, not its version number
  signUrl({ ...options, revision: asset.version });
}
void main;
