//! The master: at upload, a still original that is slow to decode is also stored in a form that
//! decodes fast, oriented and stripped. A render that the master can serve decodes it instead of
//! the original (decoding a 12 MP JPEG costs more than the rest of a thumbnail's pipeline, and no
//! decoder trick removes the entropy decoding; inflating a large PNG costs the same):
//! - an opaque original larger than [`MASTER_SIDE`] gets a reduced copy as a high-quality JPEG,
//!   used by renders that only shrink it;
//! - an original with alpha gets a lossless QOI copy (reduced to [`MASTER_SIDE`] when larger),
//!   used by every render it can serve.

use std::io::Cursor;

use image::{DynamicImage, ImageEncoder};

use super::{decode, encode, Frame, Limits, RenderError};
use crate::{
    media::Format,
    transform::{plan, Placement, Plan, Transform},
};

pub const MASTER_SIDE: u32 = 2048;
const MASTER_QUALITY: u8 = 94;

/// The size of a master reduced to fit [`MASTER_SIDE`], or `None` when the original fits already.
pub fn master_size(size: (u32, u32)) -> Option<(u32, u32)> {
    let longest = size.0.max(size.1);
    if longest <= MASTER_SIDE {
        return None;
    }
    let scale = f64::from(MASTER_SIDE) / f64::from(longest);
    let side = |s: u32| ((f64::from(s) * scale).round() as u32).max(1);
    Some((side(size.0), side(size.1)))
}

/// Whether an original of `size` gets a master.
pub fn wanted(size: (u32, u32), frames: u32, has_alpha: bool) -> bool {
    frames == 1 && (has_alpha || master_size(size).is_some())
}

/// Whether rendering `t` from an original of `size` can start from its master: always from a
/// lossless one of the same size; else only when the render shrinks the reduced master.
pub fn serves(size: (u32, u32), has_alpha: bool, t: &Transform, max_output_side: u32) -> bool {
    let scaled = plan(size, t, max_output_side).scaled;
    match master_size(size) {
        None => has_alpha,
        Some(m) => scaled.0 <= m.0 && scaled.1 <= m.1,
    }
}

/// Makes the master of a still original (`None` when it needs none).
pub fn make(bytes: &[u8], format: Format, limits: &Limits) -> Result<Option<Vec<u8>>, RenderError> {
    let frames = decode::decode(bytes, format, limits, false)?;
    let Some(Frame { image, .. }) = frames.into_iter().next() else { return Ok(None) };
    let (size, alpha) = ((image.width(), image.height()), image.color().has_alpha());
    if !wanted(size, 1, alpha) {
        return Ok(None);
    }
    let reduced = master_size(size).unwrap_or(size);
    let plan = Plan { scaled: reduced, canvas: reduced, placement: Placement::Whole };
    let image = super::resize::resize(image, &plan, [255; 4])?;
    if alpha {
        let mut out = Vec::new();
        image::codecs::qoi::QoiEncoder::new(&mut out)
            .write_image(image.as_bytes(), reduced.0, reduced.1, image.color().into())
            .map_err(|e| RenderError::Encode(e.to_string()))?;
        return Ok(Some(out));
    }
    let frame = Frame { image: DynamicImage::ImageRgb8(image.to_rgb8()), delay_ms: 0 };
    encode::encode(&[frame], Format::Jpeg, Some(MASTER_QUALITY)).map(Some)
}

/// Decodes a master this module made.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Vec<Frame>, RenderError> {
    if bytes.starts_with(b"qoif") {
        let decoder =
            image::codecs::qoi::QoiDecoder::new(Cursor::new(bytes)).map_err(|e| RenderError::Decode(e.to_string()))?;
        let image = DynamicImage::from_decoder(decoder).map_err(|e| RenderError::Decode(e.to_string()))?;
        Ok(vec![Frame { image: DynamicImage::ImageRgba8(image.to_rgba8()), delay_ms: 0 }])
    } else {
        decode::decode(bytes, Format::Jpeg, limits, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{render, Source};

    const LIMITS: Limits = Limits { max_pixels: 50_000_000, max_frames: 500, max_output_side: 4000 };

    fn corpus(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../../shared/corpus/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// Mean SSIM over 8×8 windows of luma (Wang et al. 2004 constants).
    fn ssim(a: &image::GrayImage, b: &image::GrayImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
        let (mut total, mut windows) = (0.0, 0);
        for y in (0..a.height() - 7).step_by(4) {
            for x in (0..a.width() - 7).step_by(4) {
                let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for dy in 0..8 {
                    for dx in 0..8 {
                        let (pa, pb) =
                            (f64::from(a.get_pixel(x + dx, y + dy)[0]), f64::from(b.get_pixel(x + dx, y + dy)[0]));
                        (sa, sb, saa, sbb, sab) = (sa + pa, sb + pb, saa + pa * pa, sbb + pb * pb, sab + pa * pb);
                    }
                }
                let (ma, mb) = (sa / 64.0, sb / 64.0);
                let (va, vb, cov) = (saa / 64.0 - ma * ma, sbb / 64.0 - mb * mb, sab / 64.0 - ma * mb);
                total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
                windows += 1;
            }
        }
        total / f64::from(windows)
    }

    #[test]
    fn only_large_originals_get_a_master_and_only_shrinking_renders_use_it() {
        assert_eq!(master_size((4000, 3000)), Some((2048, 1536)));
        assert_eq!(master_size((2048, 1000)), None);
        let t = |s: &str| Transform::parse(s).unwrap();
        assert!(serves((4000, 3000), false, &t("w_400,h_400,c_fill"), 4000));
        assert!(serves((4000, 3000), false, &t("w_2048"), 4000));
        assert!(!serves((4000, 3000), false, &t("w_2049"), 4000));
        assert!(!serves((4000, 3000), false, &t("f_webp"), 4000), "no resize means the original's pixels");
        assert!(!serves((1000, 667), false, &t("w_100"), 4000));
        assert!(serves((1024, 1024), true, &t("w_4000"), 4000), "a lossless master serves everything");
        assert!(!wanted((1000, 667), 1, false) && wanted((1000, 667), 1, true) && !wanted((4000, 3000), 42, false));
    }

    #[test]
    fn renders_from_the_master_match_renders_from_the_original() {
        let original = corpus("photo_12mp_4000x3000.jpg");
        let master = make(&original, Format::Jpeg, &LIMITS).unwrap().expect("a 12 MP photo gets a master");
        for transform in ["w_400,h_400,c_fill,f_png", "w_1200,h_1200,c_fit,f_png", "w_2000,f_png"] {
            let t = Transform::parse(transform).unwrap();
            let direct = render(&original, Source::Original(Format::Jpeg), None, &t, Format::Png, &LIMITS).unwrap();
            let via_master = render(&master, Source::Master, Some((4000, 3000)), &t, Format::Png, &LIMITS).unwrap();
            assert_eq!((direct.width, direct.height), (via_master.width, via_master.height), "{transform}");
            let luma = |bytes: &[u8]| image::load_from_memory(bytes).unwrap().to_luma8();
            let score = ssim(&luma(&direct.bytes), &luma(&via_master.bytes));
            assert!(score >= 0.98, "{transform}: SSIM {score:.4}");
        }
    }
}

#[cfg(test)]
mod lossless_tests {
    use super::*;
    use crate::render::{render, Source};

    #[test]
    fn an_alpha_master_is_lossless_and_renders_identically() {
        let limits = Limits { max_pixels: 50_000_000, max_frames: 500, max_output_side: 4000 };
        let original =
            std::fs::read(format!("{}/../../shared/corpus/alpha_1024x1024.png", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let master = make(&original, Format::Png, &limits).unwrap().expect("alpha gets a master");
        assert!(master.starts_with(b"qoif"));
        let t = Transform::parse("w_256,h_256,c_contain,f_png").unwrap();
        let direct = render(&original, Source::Original(Format::Png), None, &t, Format::Png, &limits).unwrap();
        let via_master = render(&master, Source::Master, Some((1024, 1024)), &t, Format::Png, &limits).unwrap();
        let pixels = |bytes: &[u8]| image::load_from_memory(bytes).unwrap().to_rgba8().into_raw();
        assert_eq!(pixels(&direct.bytes), pixels(&via_master.bytes));
    }
}
