// Compiled (not run) by `tsc -p test/types`: the ESM declarations.
import cloudimg, { createClient, CloudimgError, type Asset } from 'cloudimg';

const cli = createClient({ baseUrl: 'https://img-cloud.org', keyId: 'ck_x', keySecret: 'cs_y' });
const asset: Asset = await cli.upload(new Uint8Array([1, 2, 3]), { public_id: 'a/b', overwrite: true });
const url: string = cli.urlFor(asset.public_id, 'w_400,c_fill');
const err: CloudimgError = new cloudimg.CloudimgError('x', { status: 404, code: 'not_found' });
console.log(url, err.status, cloudimg.VERSION);
