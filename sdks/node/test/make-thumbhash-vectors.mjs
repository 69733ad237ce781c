// Writes sdks/python/tests/thumbhash-vectors.json from the reference ThumbHash implementation (the
// npm package `thumbhash`, a devDependency): for each synthetic image of thumbhash-images.js, its
// hash (standard base64) and the reference decoder's placeholder (width, height, RGBA in base64).
// thumbhash.test.js checks that the file is what this script writes. Run from sdks/node after
// `npm ci`: node test/make-thumbhash-vectors.mjs
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { rgbaToThumbHash, thumbHashToRGBA } from 'thumbhash';

const { IMAGES, averageColor } = createRequire(import.meta.url)('./thumbhash-images.js');

export function vectors() {
  return {
    about:
      'ThumbHash vectors from the reference implementation (npm thumbhash 0.1.1), written by sdks/node/test/make-thumbhash-vectors.mjs: `thumbhash` encodes the synthetic image `source` (width, height, alpha-weighted average colour r, g, b and mean alpha, 0-255) and decodes to `width` x `height` RGBA pixels (`rgba`, base64).',
    vectors: IMAGES.map((source) => {
      const hash = rgbaToThumbHash(source.width, source.height, source.rgba);
      const decoded = thumbHashToRGBA(hash);
      return {
        name: source.name,
        source: {
          width: source.width,
          height: source.height,
          average: averageColor(source).map((v) => Math.round(v * 100) / 100),
        },
        thumbhash: Buffer.from(hash).toString('base64'),
        width: decoded.w,
        height: decoded.h,
        rgba: Buffer.from(decoded.rgba).toString('base64'),
      };
    }),
  };
}

/** The file's text: one vector a line, as tests/transform-cases.json has one case a line. */
export function vectorsText() {
  const { about, vectors: list } = vectors();
  const lines = list.map((v) => `    ${JSON.stringify(v)}`).join(',\n');
  return `{\n  "about": ${JSON.stringify(about)},\n  "vectors": [\n${lines}\n  ]\n}\n`;
}

export const VECTORS_PATH = new URL('../../python/tests/thumbhash-vectors.json', import.meta.url);

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(VECTORS_PATH, vectorsText());
  console.log(`wrote ${VECTORS_PATH.pathname}`);
}
