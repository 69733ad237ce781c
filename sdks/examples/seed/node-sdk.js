const { createClient } = require('cloudimg');

const cli = createClient({
  baseUrl: 'https://img-cloud.org',
  keyId: process.env.CLOUDIMG_KEY_ID,
  keySecret: process.env.CLOUDIMG_KEY_SECRET,
});

// Upload from disk
const asset = await cli.upload('./hero.jpg', {
  folder: 'marketing',
  tags: ['hero', 'homepage'],
  visibility: 'public',
});

// Delivery URL with transforms
const thumb = cli.urlFor(asset.public_id, {
  w: 400, h: 400, c: 'fill', f: 'webp', q: 80,
});

// Signed URL for private assets
const signed = await cli.signedUrl(asset.public_id, {
  transform: { w: 200 }, ttl_seconds: 3600,
});

// Update / delete / list
await cli.updateAsset(asset.public_id, { tags: 'archived' });
await cli.deleteAsset(asset.public_id);
const { assets } = await cli.listAssets({ folder: 'marketing', limit: 50 });
