'use strict';

// Synthetic images for the ThumbHash tests: thumbhash.test.js hashes them with the reference
// encoder, and make-thumbhash-vectors.mjs writes the vectors sdks/python/tests checks against.

/** An RGBA image of `width` × `height` whose pixel (x, y) is `pixel(x, y)` ([r, g, b, a], 0–255). */
function image(name, width, height, pixel) {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgba.set(pixel(x, y), (y * width + x) * 4);
  }
  return { name, width, height, rgba };
}

/** The mean of each channel, 0–255; r, g and b weighted by alpha (the colour one sees). */
function averageColor({ rgba }) {
  let r = 0;
  let g = 0;
  let b = 0;
  let a = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    const alpha = rgba[i + 3] / 255;
    r += rgba[i] * alpha;
    g += rgba[i + 1] * alpha;
    b += rgba[i + 2] * alpha;
    a += alpha;
  }
  const n = rgba.length / 4;
  return a === 0 ? [0, 0, 0, 0] : [r / a, g / a, b / a, (255 * a) / n];
}

const IMAGES = [
  image('solid', 64, 64, () => [51, 102, 204, 255]),
  image('gradient-landscape', 100, 50, (x, y) => [Math.round((255 * x) / 99), Math.round((255 * y) / 49), 96, 255]),
  image('gradient-portrait', 40, 90, (x, y) => [30, Math.round((255 * x) / 39), Math.round((255 * y) / 89), 255]),
  image('alpha-disc', 60, 60, (x, y) => {
    const inside = (x - 29.5) ** 2 + (y - 29.5) ** 2 < 20 ** 2;
    return inside ? [220, 40, 40, 255] : [0, 0, 0, 0];
  }),
  image('alpha-ramp-landscape', 80, 20, (x) => [20, 160, 90, Math.round((255 * x) / 79)]),
  image('wide-stripes', 100, 10, (x) => (Math.floor(x / 10) % 2 ? [250, 250, 250, 255] : [10, 10, 10, 255])),
  image('small', 12, 8, (x, y) => [255, 200 - 10 * y, 20 * x, 255]),
];

module.exports = { IMAGES, averageColor };
