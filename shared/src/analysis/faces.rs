//! Faces: SeetaFace's frontal detector (rustface, its model in the binary) on a grey copy of at
//! most [`SIDE`] px. Faces smaller than about 4% of the longer side are not looked for: they do
//! not decide a crop.

use std::{
    io::Cursor,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::OnceLock,
};

use image::DynamicImage;

use crate::domain::{Fraction, Region};

/// The longest side the detector sees (measured: docs/BENCHMARKS.md, "Smart delivery").
pub const SIDE: u32 = 512;
/// In pixels at [`SIDE`]: the detector's least.
const MIN_FACE: u32 = 20;
const MAX_FACES: usize = 32;
/// The model's score below which a window is no face (rustface's default).
const SCORE_THRESHOLD: f64 = 2.0;

const MODEL: &[u8] = include_bytes!("../../models/seeta_fd_frontal_v1.0.bin");

fn model() -> Option<&'static rustface::Model> {
    static PARSED: OnceLock<Option<rustface::Model>> = OnceLock::new();
    PARSED.get_or_init(|| rustface::read_model(Cursor::new(MODEL)).ok()).as_ref()
}

/// The faces in `image` (already reduced to [`SIDE`]), largest first, as fractions of its size.
pub fn detect(image: &DynamicImage) -> Vec<Region> {
    let grey = image.to_luma8();
    let (w, h) = grey.dimensions();
    let Some(model) = model().filter(|_| w.min(h) >= MIN_FACE * 2) else {
        return Vec::new();
    };
    let mut detector = rustface::create_detector_with_model(model.clone());
    detector.set_min_face_size(MIN_FACE);
    detector.set_score_thresh(SCORE_THRESHOLD);
    detector.set_pyramid_scale_factor(0.7);
    detector.set_slide_window_step(4, 4);
    // A detector's panic must not fail the upload: without faces, crops fall back to saliency.
    let found = catch_unwind(AssertUnwindSafe(|| detector.detect(&rustface::ImageData::new(grey.as_raw(), w, h))))
        .unwrap_or_else(|_| {
            tracing::warn!("the face detector panicked; the asset has no faces");
            Vec::new()
        });
    let (fw, fh) = (f64::from(w), f64::from(h));
    // A face's box is no more exact than the detector's pixels at SIDE: four decimals say it.
    let fraction = |v: f64| Fraction::clamped((v * 1e4).round() / 1e4);
    let mut faces: Vec<Region> = found
        .iter()
        .map(|face| {
            let b = face.bbox();
            let (left, top) = (f64::from(b.x().max(0)), f64::from(b.y().max(0)));
            let (right, bottom) = ((left + f64::from(b.width())).min(fw), (top + f64::from(b.height())).min(fh));
            Region {
                x: fraction(left / fw),
                y: fraction(top / fh),
                w: fraction((right - left) / fw),
                h: fraction((bottom - top) / fh),
            }
        })
        .collect();
    faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
    faces.truncate(MAX_FACES);
    faces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_in_the_binary_loads_and_a_face_free_image_has_none() {
        assert!(model().is_some());
        let gradient = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 128]));
        assert_eq!(detect(&DynamicImage::ImageRgb8(gradient)), Vec::new());
        assert_eq!(detect(&DynamicImage::new_rgb8(30, 30)), Vec::new(), "too small to look at");
    }
}
