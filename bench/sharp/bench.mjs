// sharp (libvips) on the operations imgcloud-bench renders; prints {"<op>": median_ms, ...} as JSON.
// Usage: node bench.mjs <corpus dir> <iterations>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const [corpus, iterationsArg] = process.argv.slice(2);
const iterations = Number(iterationsArg || 10);
const photo = readFileSync(join(corpus, 'photo_12mp_4000x3000.jpg'));
const alpha = readFileSync(join(corpus, 'alpha_1024x1024.png'));
// No result caching between runs: every iteration decodes and encodes for real.
sharp.cache(false);

const ops = {
  'w_400,h_400,c_fill,f_webp,q_80': () => sharp(photo).resize(400, 400, { fit: 'cover' }).webp({ quality: 80 }).toBuffer(),
  'w_800,f_jpg,q_80': () => sharp(photo).resize(800).jpeg({ quality: 80 }).toBuffer(),
  'w_1200,h_1200,c_fit,f_avif': () => sharp(photo).resize(1200, 1200, { fit: 'inside' }).avif({ quality: 60 }).toBuffer(),
  'w_800,f_auto (AVIF)': () => sharp(photo).resize(800).avif({ quality: 60 }).toBuffer(),
  'png: w_256,h_256,c_contain,f_png': () =>
    sharp(alpha).resize(256, 256, { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 0 } }).png().toBuffer(),
  'w_400,h_400,c_fill,gr_1,bl_4,f_jpg': () =>
    sharp(photo).resize(400, 400, { fit: 'cover' }).grayscale().blur(4).jpeg({ quality: 80 }).toBuffer(),
};

const results = {};
for (const [name, op] of Object.entries(ops)) {
  await op();
  const times = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await op();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  results[name] = times[Math.floor(times.length / 2)];
}
results.peak_rss_mb = process.resourceUsage().maxRSS / 1024;
results.threads = sharp.concurrency();
console.log(JSON.stringify(results));
