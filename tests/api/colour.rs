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
