// Compiled (not run) by `tsc -p test/types`: the ESM declarations.
import cloudimg, { createClient, CloudimgError, signUrl, type Asset, type SignUrlOptions } from 'cloudimg';

const cli = createClient({ baseUrl: 'https://img-cloud.org', keyId: 'ck_x', keySecret: 'cs_y' });
const asset: Asset = await cli.upload(new Uint8Array([1, 2, 3]), { public_id: 'a/b', overwrite: true });
const url: string = cli.urlFor(asset.public_id, 'w_400,c_fill');
const err: CloudimgError = new cloudimg.CloudimgError('x', { status: 404, code: 'not_found' });
const options: SignUrlOptions = { baseUrl: 'https://img-cloud.org', secret: 'k', publicId: asset.public_id, revision: asset.revision, expires: 1800000000 };
const signed: string = signUrl(options);
console.log(url, err.status, cloudimg.VERSION, signed, cloudimg.signUrl === signUrl);
