//! Masters: at upload, a still original that is slow to decode is also stored in forms that decode
//! fast, oriented and stripped. A render that a master can serve decodes the smallest such master
//! instead of the original (decoding a 12 MP JPEG costs more than the rest of a thumbnail's
//! pipeline, and no decoder trick removes the entropy decoding; inflating a large PNG costs the
//! same):
//! - an opaque original gets reduced copies that fit 2048, 1152 and 768 px (those smaller than
//!   it), as high-quality JPEGs, used by renders that only shrink them (768 serves thumbnails up
//!   to 576 px, 1152 the common 800 px widths: each decodes a fraction of the next one's pixels);
//! - an original with alpha gets one lossless QOI copy (reduced to fit 2048 px when larger).

use std::{io::Cursor, sync::Arc};

use image::{DynamicImage, ImageEncoder};

use super::{decode, encode, RenderError, RenderLimits};
use crate::{
    media::Format,
    transform::{plan, Transform},
};

/// The sides opaque masters are reduced to fit, largest first, and their names.
const SIDES: [(u32, &str); 3] = [(2048, "2048"), (1152, "1152"), (768, "768")];
/// The masters earlier releases made, for every original larger than them: a render of an asset
/// uploaded then still finds them.
const EARLIER_SIDES: [(u32, &str); 2] = [(2048, "2048"), (1024, "1024")];
const MASTER_QUALITY: u8 = 94;
/// A lossy master serves renders at most this fraction of its size.
const MIN_SHRINK: f64 = 0.75;

/// The masters of one original, largest first: each level and its encoded bytes.
pub type Masters = Vec<(Level, Vec<u8>)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Names the stored object (`assets/<blob_id>/master-<name>`).
    pub name: &'static str,
    pub size: (u32, u32),
    pub lossless: bool,
}

fn fit(size: (u32, u32), side: u32) -> (u32, u32) {
    let longest = size.0.max(size.1);
    if longest <= side {
        return size;
    }
    let scale = f64::from(side) / f64::from(longest);
    let scaled = |s: u32| ((f64::from(s) * scale).round() as u32).max(1);
    (scaled(size.0), scaled(size.1))
}

/// The masters an original of `size` gets, largest first (none for animations).
pub fn levels(size: (u32, u32), frames: u32, has_alpha: bool) -> Vec<Level> {
    if frames != 1 {
        return Vec::new();
    }
    if has_alpha {
        return vec![Level { name: "lossless", size: fit(size, SIDES[0].0), lossless: true }];
    }
    opaque(size, &SIDES, MIN_REDUCTION)
}

/// An opaque master is made only where it has at most 2/3 of the original's side: closer, it
/// would decode hardly faster than the original.
const MIN_REDUCTION: f64 = 1.5;

/// The masters of `sides` that an original of `size` larger than `reduction` times theirs gets.
fn opaque(size: (u32, u32), sides: &[(u32, &'static str)], reduction: f64) -> Vec<Level> {
    sides
        .iter()
        .filter(|(side, _)| f64::from(size.0.max(size.1)) > f64::from(*side) * reduction)
        .map(|&(side, name)| Level { name, size: fit(size, side), lossless: false })
        .collect()
}

/// Whether `level` can serve a render of `scaled` from an original of `size`: a lossless one of
/// the original's size, or one that the render shrinks by at least [`MIN_SHRINK`] (resampling an
/// already resampled image by little softens it measurably).
fn serves(level: &Level, size: (u32, u32), scaled: (u32, u32)) -> bool {
    (level.lossless && level.size == size)
        || f64::from(scaled.0.max(scaled.1)) <= f64::from(level.size.0.max(level.size.1)) * MIN_SHRINK
}

/// The smallest master this release makes that can serve rendering `t` from an original of `size`.
pub fn choose(size: (u32, u32), has_alpha: bool, t: &Transform, max_output_side: u32) -> Option<Level> {
    let scaled = plan(size, t, max_output_side).scaled;
    levels(size, 1, has_alpha).into_iter().rfind(|l| serves(l, size, scaled))
}

/// The masters to look for when rendering `t`, in order: the one [`choose`] names, then those
/// earlier releases made that serve it, smallest first. An upload of this release has the first
/// whenever one serves (a render of it looks for nothing else); an earlier upload misses it once.
pub fn serving(size: (u32, u32), has_alpha: bool, t: &Transform, max_output_side: u32) -> Vec<Level> {
    let scaled = plan(size, t, max_output_side).scaled;
    let chosen = choose(size, has_alpha, t, max_output_side);
    let earlier = if has_alpha { Vec::new() } else { opaque(size, &EARLIER_SIDES, 1.0) };
    let earlier =
        earlier.into_iter().rev().filter(|l| serves(l, size, scaled) && chosen.is_none_or(|c| c.name != l.name));
    chosen.into_iter().chain(earlier).collect()
}

/// Makes the masters of a still original, largest first (empty when it needs none); `alpha` is
/// what the upload's inspection found, which is what a delivery will choose a master by.
pub fn make(bytes: &[u8], format: Format, alpha: bool, limits: &RenderLimits) -> Result<Masters, RenderError> {
    match super::first_frame(bytes, format, limits)? {
        Some(image) => from_image(image, 1, alpha, |_| ()).map(|(masters, ())| masters),
        None => Ok(Vec::new()),
    }
}

/// The masters of an original of `frames` frames whose first is decoded (and oriented) as `image`
/// (none for an animation), largest first
/// (empty when it needs none), and what `look` finds in the smallest form of it they passed
/// through (the upload's analysis). A decoder's layout does not say whether a pixel is transparent
/// (a GIF decodes to RGBA either way): the masters follow `alpha`, so that a delivery finds the
/// ones it chooses. Each master is encoded on a thread of its own as soon as it is reduced, while
/// this one reduces the next from it and then looks: an upload keeps two cores busy.
pub fn from_image<A>(
    mut image: DynamicImage,
    frames: u32,
    alpha: bool,
    look: impl FnOnce(&DynamicImage) -> A,
) -> Result<(Masters, A), RenderError> {
    let levels = levels((image.width(), image.height()), frames, alpha);
    if !levels.is_empty() && alpha != image.color().has_alpha() {
        image = if alpha { image.into_rgba8().into() } else { image.into_rgb8().into() };
    }
    std::thread::scope(|scope| {
        let mut current = Arc::new(image);
        let mut encoding = Vec::with_capacity(levels.len());
        for level in levels {
            // Each level is resized from the previous one: the same filter, a fraction of the work.
            if (current.width(), current.height()) != level.size {
                current = Arc::new(super::resize::resampled(&current, level.size, None)?);
            }
            let pixels = current.clone();
            encoding.push((level, scope.spawn(move || encode_master(&pixels, level))));
        }
        let seen = look(&current);
        let masters = encoding
            .into_iter()
            .map(|(level, encoder)| {
                let bytes = encoder.join().map_err(|_| RenderError::Encode("a master's encoder panicked".into()))??;
                Ok((level, bytes))
            })
            .collect::<Result<_, RenderError>>()?;
        Ok((masters, seen))
    })
}

fn encode_master(image: &DynamicImage, level: Level) -> Result<Vec<u8>, RenderError> {
    if !level.lossless {
        return encode::still(image, Format::Jpeg, MASTER_QUALITY);
    }
    let mut bytes = Vec::new();
    image::codecs::qoi::QoiEncoder::new(&mut bytes)
        .write_image(image.as_bytes(), level.size.0, level.size.1, image.color().into())
        .map_err(|e| RenderError::Encode(e.to_string()))?;
    Ok(bytes)
}

/// Decodes a master this module made.
pub fn decode<'a>(bytes: &'a [u8], limits: &RenderLimits) -> Result<decode::Frames<'a>, RenderError> {
    if bytes.starts_with(b"qoif") {
        let decoder =
            image::codecs::qoi::QoiDecoder::new(Cursor::new(bytes)).map_err(|e| RenderError::Decode(e.to_string()))?;
        let image = DynamicImage::from_decoder(decoder).map_err(|e| RenderError::Decode(e.to_string()))?;
        Ok(decode::still(DynamicImage::ImageRgba8(image.to_rgba8())))
    } else {
        decode::decode(bytes, Format::Jpeg, limits, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{render, Source};

    const LIMITS: RenderLimits = RenderLimits::DEFAULT;

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
    fn slow_originals_get_masters_and_renders_use_the_smallest_that_serves() {
        let sizes = |size, alpha| levels(size, 1, alpha).iter().map(|l| l.size).collect::<Vec<_>>();
        assert_eq!(sizes((4000, 3000), false), [(2048, 1536), (1152, 864), (768, 576)]);
        assert_eq!(sizes((2000, 1500), false), [(1152, 864), (768, 576)]);
        assert_eq!(sizes((1500, 900), false), [(768, 461)]);
        assert_eq!(sizes((1152, 864), false), [], "a master must decode much faster than its original");
        assert_eq!(sizes((1000, 667), true), [(1000, 667)]);
        assert!(levels((4000, 3000), 42, false).is_empty(), "animations keep their frames");
        let t = |s: &str| Transform::parse(s).unwrap();
        let chosen = |size, alpha, transform| choose(size, alpha, &t(transform), 4000).map(|l| l.name);
        assert_eq!(chosen((4000, 3000), false, "w_400,h_400,c_fill"), Some("768"));
        assert_eq!(chosen((4000, 3000), false, "w_576"), Some("768"));
        assert_eq!(chosen((4000, 3000), false, "w_577"), Some("1152"));
        assert_eq!(chosen((4000, 3000), false, "w_864"), Some("1152"));
        assert_eq!(chosen((4000, 3000), false, "w_865"), Some("2048"));
        assert_eq!(chosen((4000, 3000), false, "w_1536"), Some("2048"));
        assert_eq!(chosen((4000, 3000), false, "w_1537"), None);
        assert_eq!(chosen((4000, 3000), false, "f_webp"), None, "no resize means the original's pixels");
        assert_eq!(chosen((1000, 667), false, "w_100"), None);
        assert_eq!(chosen((2000, 1500), false, "w_100"), Some("768"));
        let names =
            |transform| serving((4000, 3000), false, &t(transform), 4000).iter().map(|l| l.name).collect::<Vec<_>>();
        assert_eq!(names("w_400,h_400,c_fill"), ["768", "1024", "2048"], "this release's first, then earlier ones");
        assert_eq!(names("w_800"), ["1152", "2048"]);
        let earlier = serving((2500, 1875), false, &t("w_1200"), 4000);
        assert_eq!(earlier.iter().map(|l| l.name).collect::<Vec<_>>(), ["2048"], "made for it by earlier releases");
        assert_eq!(chosen((1024, 1024), true, "w_4000"), Some("lossless"), "a lossless master serves everything");
        assert_eq!(chosen((4096, 4096), true, "w_4000"), None, "unless it was reduced");
    }

    #[test]
    fn masters_from_the_upload_s_inspection_are_the_masters_of_a_fresh_decode() {
        let original = corpus("photo_12mp_4000x3000.jpg");
        let inspect_limits = crate::media::InspectLimits {
            max_pixels: 50_000_000,
            max_frames: 500,
            formats: crate::media::Formats::ALL,
            max_memory: 512 << 20,
        };
        let (_, pixels) = crate::media::inspect_keeping_pixels(&original, &inspect_limits).unwrap();
        let (from_inspection, ()) = from_image(pixels.expect("a JPEG keeps its pixels"), 1, false, |_| ()).unwrap();
        assert_eq!(from_inspection, make(&original, Format::Jpeg, false, &LIMITS).unwrap());
    }

    #[test]
    fn renders_from_the_master_match_renders_from_the_original() {
        let original = corpus("photo_12mp_4000x3000.jpg");
        let masters = make(&original, Format::Jpeg, false, &LIMITS).unwrap();
        assert_eq!(masters.len(), 3, "a 12 MP photo gets three masters");
        for transform in [
            "w_400,h_400,c_fill,f_png",
            "w_576,f_png",
            "w_800,f_png",
            "w_864,f_png",
            "w_1200,h_1200,c_fit,f_png",
            "w_1536,f_png",
        ] {
            let t = Transform::parse(transform).unwrap();
            let level = choose((4000, 3000), false, &t, 4000).expect("a master serves it");
            let master = &masters.iter().find(|(l, _)| *l == level).unwrap().1;
            let direct =
                render(&original, Source::Original(Format::Jpeg), None, &t, Format::Png, &LIMITS, &Default::default())
                    .unwrap();
            let via_master =
                render(master, Source::Master, Some((4000, 3000)), &t, Format::Png, &LIMITS, &Default::default())
                    .unwrap();
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
        let limits = RenderLimits::DEFAULT;
        let original =
            std::fs::read(format!("{}/../../shared/corpus/alpha_1024x1024.png", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let masters = make(&original, Format::Png, true, &limits).unwrap();
        let master = &masters[0].1;
        assert!(masters.len() == 1 && master.starts_with(b"qoif"));
        let t = Transform::parse("w_256,h_256,c_contain,f_png").unwrap();
        let direct =
            render(&original, Source::Original(Format::Png), None, &t, Format::Png, &limits, &Default::default())
                .unwrap();
        let via_master =
            render(master, Source::Master, Some((1024, 1024)), &t, Format::Png, &limits, &Default::default()).unwrap();
        let pixels = |bytes: &[u8]| image::load_from_memory(bytes).unwrap().to_rgba8().into_raw();
        assert_eq!(pixels(&direct.bytes), pixels(&via_master.bytes));
    }
}
