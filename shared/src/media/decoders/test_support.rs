//! What the decoders' tests share: the fixtures `scripts/make-fixtures.py` and
//! `scripts/make-avif-fixtures.py` write into `$IMGCLOUD_FIXTURES` (scripts/test makes them), a
//! decode that checks the contract, and a coarse comparison of pixels.

use std::path::PathBuf;

use image::DynamicImage;

use super::{Decoder, Header, Pixels};

pub fn fixture(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("IMGCLOUD_FIXTURES")
        .map(PathBuf::from)
        .expect("IMGCLOUD_FIXTURES: the directory scripts/make-fixtures.py and make-avif-fixtures.py write into");
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `bytes` through `decoder`, held to the module's contract: the header's size, RGBA exactly when
/// the header says alpha, 8-bit RGB otherwise.
pub fn decoded(decoder: &Decoder, bytes: &[u8], what: &str) -> (Header, Pixels) {
    let header = (decoder.header)(bytes).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let pixels = (decoder.decode)(bytes, &header).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    assert_eq!((pixels.width(), pixels.height()), (header.width, header.height), "{what}");
    assert_eq!(matches!(pixels, DynamicImage::ImageRgba8(_)), header.has_alpha, "{what}");
    assert!(matches!(pixels, DynamicImage::ImageRgba8(_) | DynamicImage::ImageRgb8(_)), "{what}");
    (header, pixels)
}

/// Mean absolute difference of the RGB samples, compared at a quarter of the size: the codec's
/// noise averages out, a wrong orientation or tile placement does not.
pub fn mean_abs_diff(decoded: &DynamicImage, expected: &DynamicImage) -> f64 {
    assert_eq!((decoded.width(), decoded.height()), (expected.width(), expected.height()));
    let (width, height) = (decoded.width() / 4, decoded.height() / 4);
    let (a, b) = (decoded.thumbnail_exact(width, height).to_rgb8(), expected.thumbnail_exact(width, height).to_rgb8());
    let total: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    total as f64 / a.as_raw().len() as f64
}
