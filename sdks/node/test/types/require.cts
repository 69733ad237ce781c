// Compiled (not run) by `tsc -p test/types`: the CommonJS declarations describe the seed's calls.
import cloudimg = require('cloudimg');
import { createClient, CloudimgError, type Asset, type AssetPage } from 'cloudimg';

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
}
void main;
