//! Where the eye goes, in the spirit of libvips' `attention`: on a small copy of the image each
//! pixel scores its edges (the luma Laplacian), its saturation and whether it has a skin tone, and
//! the window of the crop's size with the highest total wins, nearest the centre among equals (a
//! summed-area table makes each window four lookups, so every position is tried).

use image::{DynamicImage, Rgb};

const PROBE_SIDE: u32 = 128;
const SKIN: u32 = 128;

/// A skin tone by Kovač's RGB rule (daylight): enough red, above green and blue, with contrast.
fn skin(Rgb([r, g, b]): Rgb<u8>) -> bool {
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    r > 95 && g > 40 && b > 20 && max - min > 15 && r.abs_diff(g) > 15 && r > g && r > b
}

fn scores(probe: &image::RgbImage) -> Vec<u32> {
    let (w, h) = probe.dimensions();
    let luma: Vec<i32> = probe
        .pixels()
        .map(|&Rgb([r, g, b])| (77 * i32::from(r) + 150 * i32::from(g) + 29 * i32::from(b)) >> 8)
        .collect();
    let at = |x: u32, y: u32| luma[(y * w + x) as usize];
    let mut out = Vec::with_capacity(luma.len());
    for y in 0..h {
        for x in 0..w {
            let around = at(x.saturating_sub(1), y)
                + at((x + 1).min(w - 1), y)
                + at(x, y.saturating_sub(1))
                + at(x, (y + 1).min(h - 1));
            let edge = (4 * at(x, y) - around).unsigned_abs().min(255);
            let p = *probe.get_pixel(x, y);
            let saturation = u32::from(p.0.iter().max().unwrap_or(&0) - p.0.iter().min().unwrap_or(&0));
            out.push(edge + saturation / 2 + if skin(p) { SKIN } else { 0 });
        }
    }
    out
}

/// Top-left corner, in source pixels, of the `crop` (width, height) window to keep.
pub fn window(image: &DynamicImage, crop: (f64, f64)) -> (f64, f64) {
    let (sw, sh) = (f64::from(image.width()), f64::from(image.height()));
    let probe = super::reduced(image, PROBE_SIDE).to_rgb8();
    let (pw, ph) = probe.dimensions();
    let (scale_x, scale_y) = (f64::from(pw) / sw, f64::from(ph) / sh);
    let win = (((crop.0 * scale_x).round() as u32).clamp(1, pw), ((crop.1 * scale_y).round() as u32).clamp(1, ph));
    // table[y][x]: the sum of the scores above and left of (x, y).
    let stride = pw as usize + 1;
    let mut table = vec![0u64; stride * (ph as usize + 1)];
    for (i, score) in scores(&probe).into_iter().enumerate() {
        let (x, y) = (i % pw as usize + 1, i / pw as usize + 1);
        table[y * stride + x] = u64::from(score) + table[(y - 1) * stride + x] + table[y * stride + x - 1]
            - table[(y - 1) * stride + x - 1];
    }
    let sum = |x: usize, y: usize| {
        let (x2, y2) = (x + win.0 as usize, y + win.1 as usize);
        table[y2 * stride + x2] + table[y * stride + x] - table[y * stride + x2] - table[y2 * stride + x]
    };
    let (free_x, free_y) = ((pw - win.0) as usize, (ph - win.1) as usize);
    let off_centre = |x: usize, y: usize| (2 * x).abs_diff(free_x) + (2 * y).abs_diff(free_y);
    let mut best = (0, free_x / 2, free_y / 2);
    for y in 0..=free_y {
        for x in 0..=free_x {
            let s = sum(x, y);
            if s > best.0 || (s == best.0 && off_centre(x, y) < off_centre(best.1, best.2)) {
                best = (s, x, y);
            }
        }
    }
    let left = (best.1 as f64 / scale_x).min(sw - crop.0).max(0.0);
    let top = (best.2 as f64 / scale_y).min(sh - crop.1).max(0.0);
    (left, top)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat grey picture with one busy, colourful patch.
    fn patch_at(w: u32, h: u32, (px, py): (u32, u32), side: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            let inside = (px..px + side).contains(&x) && (py..py + side).contains(&y);
            if inside && (x / 4 + y / 4) % 2 == 0 {
                Rgb([230, 40, 40])
            } else if inside {
                Rgb([20, 20, 200])
            } else {
                Rgb([128, 128, 128])
            }
        }))
    }

    #[test]
    fn the_window_holds_the_busy_colourful_patch() {
        for (at, crop, w, h) in [((900, 100), (400.0, 400.0), 1200, 400), ((60, 700), (300.0, 300.0), 400, 1200)] {
            let image = patch_at(w, h, at, 150);
            let (left, top) = window(&image, crop);
            let holds = |start: f64, len: f64, p: u32| start <= f64::from(p) && f64::from(p + 150) <= start + len;
            assert!(holds(left, crop.0, at.0) && holds(top, crop.1, at.1), "{at:?}: {left},{top}");
        }
    }

    #[test]
    fn a_featureless_image_is_cropped_in_the_middle() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(1000, 500, Rgb([90, 90, 90])));
        let (left, top) = window(&image, (500.0, 500.0));
        assert!((left - 250.0).abs() < 8.0 && top == 0.0, "{left}");
    }
}
