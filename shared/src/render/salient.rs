//! `c_thumb`: where to put the crop. The window of the crop's size with the most information
//! (Shannon entropy of luma) wins, searched on a small copy of the image.

use image::DynamicImage;

const PROBE_SIDE: u32 = 128;
const STEPS: u32 = 16;

fn entropy(histogram: &[u32; 256], total: u32) -> f64 {
    let total = f64::from(total.max(1));
    histogram.iter().filter(|&&n| n > 0).map(|&n| f64::from(n) / total).map(|p| -p * p.log2()).sum()
}

/// Top-left corner, in source pixels, of the `crop_w`×`crop_h` window to keep.
pub fn window(image: &DynamicImage, crop_w: f64, crop_h: f64) -> (f64, f64) {
    let (sw, sh) = (f64::from(image.width()), f64::from(image.height()));
    let probe = image.thumbnail(PROBE_SIDE, PROBE_SIDE).to_luma8();
    let (pw, ph) = (probe.width(), probe.height());
    let scale = f64::from(pw) / sw;
    let (win_w, win_h) =
        (((crop_w * scale).round() as u32).clamp(1, pw), ((crop_h * scale).round() as u32).clamp(1, ph));
    let (free_x, free_y) = (pw - win_w, ph - win_h);
    let mut best = (f64::MIN, 0, 0);
    for step in 0..=STEPS {
        let (x, y) = (free_x * step / STEPS, free_y * step / STEPS);
        let mut histogram = [0u32; 256];
        for yy in y..y + win_h {
            for xx in x..x + win_w {
                histogram[probe.get_pixel(xx, yy).0[0] as usize] += 1;
            }
        }
        let e = entropy(&histogram, win_w * win_h);
        if e > best.0 {
            best = (e, x, y);
        }
        if free_x == 0 && free_y == 0 {
            break;
        }
    }
    let left = (f64::from(best.1) / scale).min(sw - crop_w).max(0.0);
    let top = (f64::from(best.2) / scale).min(sh - crop_h).max(0.0);
    (left, top)
}
