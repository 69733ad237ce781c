const cli = require('cloudimg').createClient({
  baseUrl: 'https://img-cloud.org',
  keyId: process.env.CLOUDIMG_KEY_ID,
  keySecret: process.env.CLOUDIMG_KEY_SECRET,
});

const asset = await cli.upload('./photo.jpg');
console.log(asset.url);
//=> https://img-cloud.org/v1/image/photo-3a7f9c81b2e4

console.log(cli.urlFor(asset.public_id, { w: 400, h: 400, c: 'fill', f: 'webp' }));
//=> https://img-cloud.org/v1/image/w_400,h_400,c_fill,f_webp/photo-3a7f9c81b2e4
