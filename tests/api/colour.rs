//! Colour management through HTTP (SPEC §12): a photo with a Display P3 or Adobe RGB profile is
//! delivered in sRGB in every variant, and its original byte for byte.

use image::{codecs::jpeg::JpegEncoder, ImageEncoder};
use moxcms::{ColorProfile, Layout, RenderingIntent, TransformOptions};
use reqwest::StatusCode;

use crate::support::*;

/// A flat patch of `rgb` in the colour space of `profile`, as a JPEG that embeds it: large enough
/// for the upload to make masters, so that renders from masters and from the original are seen.
fn flat_jpeg(rgb: [u8; 3], profile: &ColorProfile) -> Vec<u8> {
    let pixels = image::RgbImage::from_pixel(1600, 1200, image::Rgb(rgb));
    let mut bytes = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut bytes, 100);
    encoder.set_icc_profile(profile.encode().unwrap()).unwrap();
    encoder.write_image(pixels.as_raw(), 1600, 1200, image::ExtendedColorType::Rgb8).unwrap();
    bytes
}

/// `rgb` of `profile` in sRGB, as the CMS reference converts it.
fn reference(rgb: [u8; 3], profile: &ColorProfile) -> [u8; 3] {
    let options = TransformOptions { rendering_intent: RenderingIntent::RelativeColorimetric, ..Default::default() };
    let transform =
        profile.create_transform_8bit(Layout::Rgb, &ColorProfile::new_srgb(), Layout::Rgb, options).unwrap();
    let mut out = [0u8; 3];
    transform.transform(&rgb, &mut out).unwrap();
    out
}

#[tokio::test]
async fn a_wide_gamut_photo_is_delivered_in_srgb_and_its_original_untouched() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let p3 = ColorProfile::new_display_p3();
    let cases = [("p3", [60, 160, 90], p3), ("adobe", [200, 40, 120], ColorProfile::new_adobe_rgb())];
    for (id, rgb, profile) in &cases {
        let original = flat_jpeg(*rgb, profile);
        let uploaded = app.upload(&admin, Some((original.clone(), "wide.jpg")), &[("public_id", id)]).await;
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        let want = reference(*rgb, profile);
        assert!(want.iter().zip(rgb).any(|(a, b)| a.abs_diff(*b) > 10), "{id}: the conversion moves colours");
        // From the 1024 master, from the original, from the 1024 master.
        for transform in ["w_32,f_png", "w_1600,f_jpg,q_100", "w_300,f_webp,q_100"] {
            let response = app.get(&format!("/v1/image/{transform}/{id}"), &Cred::None).await;
            assert_eq!(response.status(), StatusCode::OK, "{id} {transform}");
            let pixels = image::load_from_memory(&response.bytes().await.unwrap()).unwrap().to_rgb8();
            let got = pixels.get_pixel(pixels.width() / 2, pixels.height() / 2).0;
            let off = got.iter().zip(want).map(|(a, b)| a.abs_diff(b)).max().unwrap();
            assert!(off <= 3, "{id} {transform}: {got:?}, the reference says {want:?}");
        }
        let served = app.get(&format!("/v1/image/{id}"), &Cred::None).await.bytes().await.unwrap();
        assert_eq!(served.as_ref(), original.as_slice(), "{id}: the original is delivered as uploaded");
    }
}

/// The middle pixel of a render, in sRGB.
async fn middle(app: &TestApp, path: &str) -> [u8; 3] {
    let response = app.get(path, &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let pixels = image::load_from_memory(&response.bytes().await.unwrap()).unwrap().to_rgb8();
    pixels.get_pixel(pixels.width() / 2, pixels.height() / 2).0
}

fn assert_close(got: [u8; 3], want: [u8; 3], what: &str) {
    let off = got.iter().zip(want).map(|(a, b)| a.abs_diff(b)).max().unwrap();
    assert!(off <= 3, "{what}: {got:?}, the reference says {want:?}");
}

/// A print-ready CMYK JPEG (Adobe's inverted samples, as every encoder writes them) with its CMYK
/// profile is delivered in the colours the profile gives its inks.
#[tokio::test]
async fn a_cmyk_jpeg_is_delivered_through_its_profile() {
    let icc = std::fs::read("/usr/share/color/icc/ghostscript/default_cmyk.icc")
        .expect("Debian's libgs-common (scripts/test installs it) has a CMYK profile");
    let profile = ColorProfile::new_from_slice(&icc).unwrap();
    let ink = [20u8, 180, 60, 30];
    let (w, h) = (400u16, 300u16);
    let samples: Vec<u8> = ink.iter().copied().cycle().take(usize::from(w) * usize::from(h) * 4).collect();
    let mut original = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut original, 100);
    encoder.add_icc_profile(&icc).unwrap();
    encoder.encode(&samples, w, h, jpeg_encoder::ColorType::Cmyk).unwrap();
    let options = TransformOptions { rendering_intent: RenderingIntent::RelativeColorimetric, ..Default::default() };
    let transform =
        profile.create_transform_8bit(Layout::Rgba, &ColorProfile::new_srgb(), Layout::Rgb, options).unwrap();
    let mut want = [0u8; 3];
    transform.transform(&ink, &mut want).unwrap();

    let app = spawn_app().await;
    let admin = app.admin().await;
    let uploaded = app.upload(&admin, Some((original, "print.jpg")), &[("public_id", "cmyk")]).await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    for transform in ["w_100,f_png", "w_200,f_jpg,q_100"] {
        assert_close(middle(&app, &format!("/v1/image/{transform}/cmyk")).await, want, transform);
    }
}

/// PNG `iCCP`: a Display P3 PNG and a gray PNG whose profile has another curve than sRGB's.
#[tokio::test]
async fn a_png_s_profile_is_applied() {
    let encode = |pixels: &[u8], color: image::ExtendedColorType, profile: &ColorProfile| {
        let mut bytes = Vec::new();
        let mut encoder = image::codecs::png::PngEncoder::new(&mut bytes);
        encoder.set_icc_profile(profile.encode().unwrap()).unwrap();
        encoder.write_image(pixels, 64, 64, color).unwrap();
        bytes
    };
    let p3 = ColorProfile::new_display_p3();
    let rgb = [60u8, 160, 90];
    let p3_png = encode(&rgb.repeat(64 * 64), image::ExtendedColorType::Rgb8, &p3);
    let gray = ColorProfile::new_gray_with_gamma(1.0);
    let gray_png = encode(&[100u8; 64 * 64], image::ExtendedColorType::L8, &gray);
    let options = TransformOptions { rendering_intent: RenderingIntent::RelativeColorimetric, ..Default::default() };
    let to_srgb = gray.create_transform_8bit(Layout::Gray, &ColorProfile::new_srgb(), Layout::Rgb, options).unwrap();
    let mut gray_want = [0u8; 3];
    to_srgb.transform(&[100], &mut gray_want).unwrap();
    assert!(gray_want[0] > 120, "a linear gray 100 is lighter in sRGB: {gray_want:?}");

    let app = spawn_app().await;
    let admin = app.admin().await;
    for (id, bytes) in [("p3", p3_png), ("gray", gray_png)] {
        let uploaded = app.upload(&admin, Some((bytes, "x.png")), &[("public_id", id)]).await;
        assert_eq!(uploaded.status(), StatusCode::CREATED, "{id}");
    }
    for transform in ["w_32", "w_32,f_jpg,q_100", "w_32,f_webp,q_100"] {
        assert_close(middle(&app, &format!("/v1/image/{transform}/p3")).await, reference(rgb, &p3), transform);
        assert_close(middle(&app, &format!("/v1/image/{transform}/gray")).await, gray_want, transform);
    }
}
