// sharp's AVIF (libheif + libaom) of the 12 MP photo resized to 800 px wide, at each effort and
// quality asked, for imgcloud-bench's like-for-like table. Writes each output and sharp's own
// lossless resize (the reference its quality is scored against) to <out dir>; prints
// [{"effort", "quality", "ms", "bytes", "file"}, ...] and {"reference": file} as one JSON object.
// Usage: node avif.mjs <corpus dir> <iterations> <out dir> <efforts,...> <qualities,...>
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const [corpus, iterationsArg, out, effortsArg, qualitiesArg] = process.argv.slice(2);
const iterations = Number(iterationsArg || 5);
const photo = readFileSync(join(corpus, 'photo_12mp_4000x3000.jpg'));
sharp.cache(false);

const reference = join(out, 'sharp-reference.png');
writeFileSync(reference, await sharp(photo).resize(800).png().toBuffer());
const results = [];
for (const effort of effortsArg.split(',').map(Number)) {
  for (const quality of qualitiesArg.split(',').map(Number)) {
    const encode = () => sharp(photo).resize(800).avif({ quality, effort }).toBuffer();
    let bytes = await encode();
    const times = [];
    for (let i = 0; i < iterations; i++) {
      const start = process.hrtime.bigint();
      bytes = await encode();
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    const file = join(out, `sharp-e${effort}-q${quality}.avif`);
    writeFileSync(file, bytes);
    results.push({ effort, quality, ms: times[Math.floor(times.length / 2)], bytes: bytes.length, file });
  }
}
console.log(JSON.stringify({ reference, results }));
