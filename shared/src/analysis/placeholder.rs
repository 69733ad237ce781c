//! Placeholders: the ThumbHash of the image (a ~25-byte blurred preview, standard base64) and its
//! dominant colour, both from a copy of at most [`SIDE`] px (ThumbHash's own limit).

use base64::{engine::general_purpose::STANDARD, Engine};
use image::{DynamicImage, RgbaImage};

const SIDE: u32 = 100;

/// The ThumbHash and the dominant colour of `image`.
pub fn placeholders(image: &DynamicImage) -> (String, String) {
    let small = crate::render::reduced(image, SIDE).to_rgba8();
    (thumbhash(&small), dominant_color(&small))
}

fn thumbhash(small: &RgbaImage) -> String {
    let (w, h) = small.dimensions();
    STANDARD.encode(thumbhash::rgba_to_thumb_hash(w as usize, h as usize, small.as_raw()))
}

/// The mean of the most common colour: pixels binned by their top 4 bits per channel, each
/// weighted by its opacity. `#000000` for an image without an opaque pixel.
fn dominant_color(small: &RgbaImage) -> String {
    let bin =
        |p: &image::Rgba<u8>| (usize::from(p[0] >> 4) << 8) | (usize::from(p[1] >> 4) << 4) | usize::from(p[2] >> 4);
    let mut weights = vec![0u64; 4096];
    for p in small.pixels() {
        weights[bin(p)] += u64::from(p[3]);
    }
    let Some((best, &weight)) = weights.iter().enumerate().max_by_key(|(_, w)| **w).filter(|(_, w)| **w > 0) else {
        return "#000000".to_owned();
    };
    let mut sum = [0u64; 3];
    for p in small.pixels().filter(|p| bin(p) == best) {
        for (s, c) in sum.iter_mut().zip(p.0) {
            *s += u64::from(c) * u64::from(p[3]);
        }
    }
    let [r, g, b] = sum.map(|s| (s + weight / 2) / weight);
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dominant_colour_is_the_largest_area_and_ignores_transparent_pixels() {
        let image = RgbaImage::from_fn(10, 10, |x, _| match x {
            0..=5 => image::Rgba([200, 30, 30, 255]),
            6..=7 => image::Rgba([0, 0, 255, 255]),
            _ => image::Rgba([0, 255, 0, 0]),
        });
        assert_eq!(dominant_color(&image), "#c81e1e");
        assert_eq!(dominant_color(&RgbaImage::new(4, 4)), "#000000");
    }

    #[test]
    fn a_thumbhash_decodes_to_the_image_colours() {
        let image = RgbaImage::from_pixel(40, 30, image::Rgba([40, 120, 200, 255]));
        let hash = STANDARD.decode(thumbhash(&image)).unwrap();
        let (r, g, b, a) = thumbhash::thumb_hash_to_average_rgba(&hash).unwrap();
        let close = |x: f32, want: u8| (x * 255.0 - f32::from(want)).abs() < 6.0;
        assert!(close(r, 40) && close(g, 120) && close(b, 200) && a > 0.99, "{r} {g} {b} {a}");
    }
}
