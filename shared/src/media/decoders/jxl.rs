//! JPEG XL, decoded by `jxl-oxide` 0.12 (pure Rust, MIT OR Apache-2.0): without its rayon pool
//! (renders run one per core) and with moxcms as its colour management system.
//!
//! The header is read first (`try_init` parses the image header, the ICC profile and the frame
//! headers, no pixels); the render is then limited by an allocation tracker sized from that header.
//! The first keyframe is rendered with the orientation applied, 8-bit, with straight alpha.
//!
//! Colour: the samples are handed over as coded when they are RGB in sRGB (`Colour::Srgb`) or in
//! an embedded RGB ICC profile (`Colour::Icc`, for the caller to convert). Everything else is
//! rendered in sRGB by jxl-oxide itself and reported as `Colour::Srgb`: XYB (every lossy file; its
//! inverse transform lands in any colour space directly), CMYK with its ICC profile (through
//! moxcms), grey, and enumerated spaces other than sRGB (P3, BT.2100 PQ/HLG…).
//!
//! Working memory: jxl-oxide renders in `f32` planes and keeps more than one set: a 12 MP RGB photo
//! took 282 MB of tracked allocations (about 24 bytes a pixel), then 3 or 4 bytes a pixel for the
//! 8-bit result. The tracker allows `PLANES_PER_CHANNEL` planes a channel (48 bytes a pixel for
//! RGB); past it the render fails as `Corrupt`.

use image::{DynamicImage, RgbImage, RgbaImage};
use jxl_oxide::color::{ColourEncoding, ColourSpace};
use jxl_oxide::{
    AllocTracker, EnumColourEncoding, InitializeResult, JxlImage, JxlThreadPool, PixelFormat, RenderingIntent,
};

use super::{Colour, Failure, Header, Pixels};

/// A bare codestream starts with these bytes; a file in the ISOBMFF container with the next.
const CODESTREAM_SIGNATURE: &[u8] = &[0xff, 0x0a];
const CONTAINER_SIGNATURE: &[u8] = b"\0\0\0\x0cJXL \r\n\x87\n";
/// The render's tracked allocations, in `f32` planes of the header's size for each channel:
/// measured at 2.1 a channel (6.2 planes) for RGB photos, lossy or lossless, and 3 a channel for a
/// layered CMYK file with alpha.
const PLANES_PER_CHANNEL: usize = 4;
/// Small images still get a few groups' worth of buffers (the 512x512 CMYK file took 15 MB).
const MINIMUM_ALLOCATION: usize = 32 << 20;

pub fn header(bytes: &[u8]) -> Result<Header, Failure> {
    Ok(header_of(&open(bytes, None)?))
}

pub fn decode(bytes: &[u8], header: &Header) -> Result<Pixels, Failure> {
    // Reading the headers allocates a little already; the full limit needs their extra channels.
    let tracker = AllocTracker::with_limit(MINIMUM_ALLOCATION);
    let mut image = open(bytes, Some(tracker.clone()))?;
    tracker.expand_limit(allocation_limit(header, &image) - MINIMUM_ALLOCATION);
    let coded = header_of(&image);
    if (coded.width, coded.height, coded.has_alpha) != (header.width, header.height, header.has_alpha) {
        return Err(Failure::Corrupt(format!(
            "JPEG XL: the image is {}x{}, the header says {}x{}",
            coded.width, coded.height, header.width, header.height
        )));
    }
    if renders_in_srgb(&image) {
        image.request_color_encoding(EnumColourEncoding::srgb(RenderingIntent::Relative));
    }
    let format = image.pixel_format();
    let render = image.render_frame(0).map_err(|e| Failure::Corrupt(format!("JPEG XL: {e}")))?;
    let mut stream = render.stream();
    if (stream.width(), stream.height()) != (header.width, header.height) {
        return Err(Failure::Corrupt("JPEG XL: the frame is not the image's size".into()));
    }
    let mut samples = vec![0u8; header.width as usize * header.height as usize * stream.channels() as usize];
    stream.write_to_buffer(&mut samples);
    if alpha_is_premultiplied(&image) {
        unpremultiply(&mut samples, stream.channels() as usize);
    }
    into_pixels(samples, format, header)
}

/// The image with its header, ICC profile and frame headers read, and no pixels decoded.
fn open(bytes: &[u8], tracker: Option<AllocTracker>) -> Result<JxlImage, Failure> {
    if !bytes.starts_with(CODESTREAM_SIGNATURE) && !bytes.starts_with(CONTAINER_SIGNATURE) {
        return Err(Failure::NotThisFormat("no JPEG XL signature".into()));
    }
    // After the signature every failure is a broken JPEG XL file: jxl-oxide's errors do not say
    // whether the image header or a frame header after it was at fault.
    let corrupt = |e| Failure::Corrupt(format!("JPEG XL: {e}"));
    let mut builder = JxlImage::builder().pool(JxlThreadPool::none());
    if let Some(tracker) = tracker {
        builder = builder.alloc_tracker(tracker);
    }
    let mut uninitialized = builder.build_uninit();
    uninitialized.feed_bytes(bytes).map_err(corrupt)?;
    match uninitialized.try_init().map_err(corrupt)? {
        InitializeResult::Initialized(mut image) => {
            image.finalize().map_err(corrupt)?;
            Ok(image)
        }
        InitializeResult::NeedMoreData(_) => Err(Failure::Corrupt("JPEG XL: the file ends inside its header".into())),
    }
}

fn header_of(image: &JxlImage) -> Header {
    let colour = match image.original_icc() {
        Some(icc) if !renders_in_srgb(image) => Colour::Icc(icc.to_vec()),
        _ => Colour::Srgb,
    };
    Header {
        width: image.width(),
        height: image.height(),
        has_alpha: image.image_header().metadata.ec_info.iter().any(|channel| channel.is_alpha()),
        frames: image.num_loaded_keyframes().max(1) as u32,
        colour,
    }
}

/// Whether the samples are to be rendered in sRGB by jxl-oxide rather than handed over as coded:
/// only RGB samples in sRGB or in their own ICC profile are handed over. (CMYK is an RGB-looking
/// ICC colour space with a black extra channel.)
fn renders_in_srgb(image: &JxlImage) -> bool {
    let metadata = &image.image_header().metadata;
    let rgb_as_coded = match &metadata.colour_encoding {
        ColourEncoding::Enum(encoding) => encoding.is_srgb(),
        ColourEncoding::IccProfile(space) => *space == ColourSpace::Rgb,
    };
    let has_black = metadata.ec_info.iter().any(|channel| channel.is_black());
    metadata.xyb_encoded || has_black || !rgb_as_coded
}

fn alpha_is_premultiplied(image: &JxlImage) -> bool {
    let channels = &image.image_header().metadata.ec_info;
    channels.iter().find(|channel| channel.is_alpha()).and_then(|alpha| alpha.alpha_associated()) == Some(true)
}

/// What the render may allocate: its channels (colour and the extra ones: alpha, black, spot
/// colours, depth…) in `f32` planes of the header's size.
fn allocation_limit(header: &Header, image: &JxlImage) -> usize {
    let channels = 3 + image.image_header().metadata.ec_info.len();
    let plane_bytes = header.width as usize * header.height as usize * size_of::<f32>();
    plane_bytes.saturating_mul(channels * PLANES_PER_CHANNEL).max(MINIMUM_ALLOCATION)
}

/// The rendered samples as the contract's 8-bit RGB or RGBA: grey is spread to three channels.
fn into_pixels(samples: Vec<u8>, format: PixelFormat, header: &Header) -> Result<Pixels, Failure> {
    let (width, height) = (header.width, header.height);
    let pixels = match format {
        PixelFormat::Rgb => RgbImage::from_raw(width, height, samples).map(DynamicImage::ImageRgb8),
        PixelFormat::Rgba => RgbaImage::from_raw(width, height, samples).map(DynamicImage::ImageRgba8),
        PixelFormat::Gray => {
            let rgb = samples.iter().flat_map(|&grey| [grey; 3]).collect();
            RgbImage::from_raw(width, height, rgb).map(DynamicImage::ImageRgb8)
        }
        PixelFormat::Graya => {
            let rgba = samples.chunks_exact(2).flat_map(|pair| [pair[0], pair[0], pair[0], pair[1]]).collect();
            RgbaImage::from_raw(width, height, rgba).map(DynamicImage::ImageRgba8)
        }
        PixelFormat::Cmyk | PixelFormat::Cmyka => {
            return Err(Failure::Corrupt("JPEG XL: CMYK that could not be rendered in sRGB".into()))
        }
    };
    pixels.ok_or_else(|| Failure::Corrupt("JPEG XL: rendered buffer does not match its size".into()))
}

/// Colour divided by alpha, which is the last of `channels` interleaved samples, rounded.
fn unpremultiply(samples: &mut [u8], channels: usize) {
    for pixel in samples.chunks_exact_mut(channels) {
        let (colour, alpha) = pixel.split_at_mut(channels - 1);
        let alpha = u16::from(alpha[0]);
        for sample in colour {
            *sample = match alpha {
                0 => 0,
                _ => ((u16::from(*sample) * 255 + alpha / 2) / alpha).min(255) as u8,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::media::{
        decoders::test_support::{self, fixture, mean_abs_diff},
        Format,
    };

    fn decoded(name: &str) -> (Header, Pixels) {
        test_support::decoded(&super::super::of(Format::Jxl).unwrap(), &fixture(name), name)
    }

    fn source(name: &str) -> DynamicImage {
        image::load_from_memory(&fixture(name)).unwrap()
    }

    #[test]
    fn a_lossy_12_megapixel_photo_decodes_to_its_source() {
        let (header, pixels) = decoded("photo_12mp_lossy.jxl");
        assert_eq!((header.width, header.height, header.frames, &header.colour), (4000, 3000, 1, &Colour::Srgb));
        assert!(mean_abs_diff(&pixels, &source("photo_12mp_4000x3000.jpg")) < 1.5);
    }

    #[test]
    fn a_lossless_image_keeps_its_alpha_exactly() {
        let (_, pixels) = decoded("alpha_lossless.jxl");
        assert_eq!(pixels.to_rgba8(), source("alpha_1024x1024.png").to_rgba8());
    }

    #[test]
    fn a_recompressed_jpeg_decodes_to_the_jpeg() {
        let (_, pixels) = decoded("photo_from_jpeg.jxl");
        assert!(mean_abs_diff(&pixels, &source("photo_1000x667.jpg")) < 1.0);
    }

    #[test]
    fn the_orientation_turns_the_photo_and_its_header_size() {
        let (header, pixels) = decoded("photo_orientation6.jxl");
        assert_eq!((header.width, header.height), (667, 1000));
        assert!(mean_abs_diff(&pixels, &source("photo_1000x667.jpg").rotate90()) < 1.5);
    }

    #[test]
    fn lossless_display_p3_is_handed_over_with_its_icc_profile() {
        let (header, pixels) = decoded("photo_p3_lossless.jxl");
        assert_eq!(header.colour, Colour::Icc(fixture("display_p3.icc")));
        // The samples as coded: the P3 values the source PNG held.
        assert!(mean_abs_diff(&pixels, &source("photo_1000x667.jpg")) < 0.5);
    }

    #[test]
    fn lossy_display_p3_is_rendered_in_srgb() {
        let (header, pixels) = decoded("photo_p3.jxl");
        assert_eq!(header.colour, Colour::Srgb);
        // The source's values were P3; the sRGB render is nearer their conversion to sRGB.
        let p3_values = source("photo_1000x667.jpg");
        let (to_srgb, to_p3) = (mean_abs_diff(&pixels, &p3_to_srgb(&p3_values)), mean_abs_diff(&pixels, &p3_values));
        assert!(to_srgb < 0.7 * to_p3, "{to_srgb} from the sRGB conversion, {to_p3} from the P3 values");
    }

    #[test]
    fn cmyk_with_layers_is_rendered_in_plausible_srgb() {
        let (header, pixels) = decoded("cmyk_layers.jxl");
        assert_eq!((header.width, header.height, &header.colour), (512, 512, &Colour::Srgb));
        let rgba = pixels.to_rgba8();
        let distinct: std::collections::HashSet<[u8; 3]> = rgba.pixels().map(|p| [p[0], p[1], p[2]]).collect();
        assert!(distinct.len() > 100, "{} colours", distinct.len());
    }

    #[test]
    fn truncated_files_fail_without_a_panic() {
        for name in ["photo_from_jpeg.jxl", "alpha_lossless.jxl", "photo_orientation6.jxl"] {
            let bytes = fixture(name);
            for cut in [bytes.len() / 3, bytes.len() * 2 / 3, bytes.len() - 1] {
                let result = header(&bytes[..cut]).and_then(|header| decode(&bytes[..cut], &header));
                assert!(matches!(result, Err(Failure::Corrupt(_))), "{name} cut at {cut}: {result:?}");
            }
        }
    }

    #[test]
    fn a_header_that_lies_about_its_size_is_refused() {
        let bytes = fixture("photo_from_jpeg.jxl");
        let mut lying = header(&bytes).unwrap();
        (lying.width, lying.height) = (100, 60);
        assert!(matches!(decode(&bytes, &lying), Err(Failure::Corrupt(_))));
    }

    #[test]
    fn bytes_without_the_signature_are_not_jpeg_xl() {
        assert!(matches!(header(b"\0\0\0\x18ftypheic junk"), Err(Failure::NotThisFormat(_))));
        assert!(matches!(header(b""), Err(Failure::NotThisFormat(_))));
        assert!(matches!(header(&[0xff, 0x0a, 0xff, 0xff, 0xff]), Err(Failure::Corrupt(_))));
    }

    #[test]
    fn premultiplied_colour_is_divided_by_alpha() {
        let mut graya = vec![64, 128, 10, 0];
        unpremultiply(&mut graya, 2);
        assert_eq!(graya, [128, 128, 0, 0]);
    }

    fn p3_to_srgb(image: &DynamicImage) -> DynamicImage {
        let p3 = moxcms::ColorProfile::new_from_slice(&fixture("display_p3.icc")).unwrap();
        let transform = p3
            .create_transform_8bit(
                moxcms::Layout::Rgb,
                &moxcms::ColorProfile::new_srgb(),
                moxcms::Layout::Rgb,
                Default::default(),
            )
            .unwrap();
        let source = image.to_rgb8();
        let mut converted = vec![0u8; source.as_raw().len()];
        transform.transform(source.as_raw(), &mut converted).unwrap();
        DynamicImage::ImageRgb8(RgbImage::from_raw(image.width(), image.height(), converted).unwrap())
    }
}
