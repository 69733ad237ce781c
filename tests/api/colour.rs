//! Colour management through HTTP (SPEC §12): a photo with a Display P3, Adobe RGB, ProPhoto, gray
//! or CMYK profile is delivered in sRGB in every variant, and its original byte for byte. Colours
//! are compared with a CMS reference (moxcms) in CIEDE2000: under 2, under 3 through lossy WebP and
//! AVIF.

use deltae::{DEMethod, DeltaE, LabValue, XyzValue};
use image::{codecs::jpeg::JpegEncoder, ImageEncoder};
use imgcloud_core::media::{decoders, Format};
use moxcms::{ColorProfile, Layout, RenderingIntent, TransformOptions};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// The colour difference a viewer would see between two sRGB pixels (CIEDE2000).
fn delta_e(got: [u8; 3], want: [u8; 3]) -> f32 {
    // sRGB's colorants in the ICC connection space (D50), where `deltae`'s Lab is defined.
    let srgb = ColorProfile::new_srgb();
    let lab = |rgb: [u8; 3]| {
        let linear = rgb.map(|c| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        });
        let [r, g, b] = [srgb.red_colorant, srgb.green_colorant, srgb.blue_colorant];
        let xyz = |f: fn(&moxcms::Xyzd) -> f64| (linear[0] * f(&r) + linear[1] * f(&g) + linear[2] * f(&b)) as f32;
        LabValue::from(XyzValue { x: xyz(|c| c.x), y: xyz(|c| c.y), z: xyz(|c| c.z) })
    };
    *DeltaE::new(lab(got), lab(want), DEMethod::DE2000).value()
}

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
    let cases = [
        ("p3", [60, 160, 90], ColorProfile::new_display_p3()),
        ("adobe", [200, 40, 120], ColorProfile::new_adobe_rgb()),
        ("prophoto", [150, 110, 60], ColorProfile::new_pro_photo_rgb()),
    ];
    for (id, rgb, profile) in &cases {
        let original = flat_jpeg(*rgb, profile);
        let uploaded = app.upload(&admin, Some((original.clone(), "wide.jpg")), &[("public_id", id)]).await;
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        let want = reference(*rgb, profile);
        assert!(want.iter().zip(rgb).any(|(a, b)| a.abs_diff(*b) > 10), "{id}: the conversion moves colours");
        // From a master, from the original, from a master.
        for transform in ["w_32,f_png", "w_1600,f_jpg,q_100", "w_300,f_webp,q_100", "w_300,f_avif,q_90"] {
            let path = format!("/v1/image/{transform}/{id}");
            rendered(&app, &path).await.assert_middle(want, &path);
        }
        let served = app.get(&format!("/v1/image/{id}"), &Cred::None).await.bytes().await.unwrap();
        assert_eq!(served.as_ref(), original.as_slice(), "{id}: the original is delivered as uploaded");
    }
}

/// A render decoded to sRGB, and how far from the reference its format lets it be: ΔE2000 under 2,
/// under 3 through lossy WebP and AVIF.
struct Render {
    pixels: image::RgbImage,
    limit: f32,
}

impl Render {
    fn assert_close(&self, (x, y): (u32, u32), want: [u8; 3], what: &str) {
        let got = self.pixels.get_pixel(x, y).0;
        let de = delta_e(got, want);
        assert!(de < self.limit, "{what}: {got:?}, the reference says {want:?} (ΔE2000 {de:.2}, limit {})", self.limit);
    }

    fn assert_middle(&self, want: [u8; 3], what: &str) {
        self.assert_close((self.pixels.width() / 2, self.pixels.height() / 2), want, what);
    }
}

async fn rendered(app: &TestApp, path: &str) -> Render {
    let response = app.get(path, &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    let bytes = response.bytes().await.unwrap();
    let pixels = if content_type == "image/avif" {
        // The tests' `image` reads no AVIF: the core's decoder does (its tests check it against
        // libavif's).
        let decoder = decoders::of(Format::Avif).unwrap();
        let header = (decoder.header)(&bytes).unwrap();
        (decoder.decode)(&bytes, &header).unwrap().to_rgb8()
    } else {
        image::load_from_memory(&bytes).unwrap().to_rgb8()
    };
    let lossy = ["image/webp", "image/avif"].contains(&content_type.as_str());
    Render { pixels, limit: if lossy { 3.0 } else { 2.0 } }
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
        rendered(&app, &format!("/v1/image/{transform}/cmyk")).await.assert_middle(want, transform);
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
        rendered(&app, &format!("/v1/image/{transform}/p3")).await.assert_middle(reference(rgb, &p3), transform);
        rendered(&app, &format!("/v1/image/{transform}/gray")).await.assert_middle(gray_want, transform);
    }
}

/// Phone photos: a HEIC and an AVIF with a Display P3 profile, stored landscape (1200×900) and
/// turned to portrait by `irot`, two flat patches that end up one above the other. Every render is
/// portrait, and its patches are the P3 colours in sRGB.
#[tokio::test]
async fn phone_heic_and_avif_photos_keep_their_portrait_and_p3_colours() {
    let p3 = ColorProfile::new_display_p3();
    let (top, bottom) = (reference([60, 160, 90], &p3), reference([200, 40, 120], &p3));
    let app = spawn_app().await;
    let admin = app.admin().await;
    for id in ["heic", "avif"] {
        let file = format!("phone_p3_portrait.{id}");
        let uploaded = app.upload(&admin, Some((fixture(&file), &file)), &[("public_id", id)]).await;
        assert_eq!(uploaded.status(), StatusCode::CREATED, "{file}");
        let asset = &uploaded.json::<Value>().await.unwrap()["asset"];
        assert_eq!((asset["width"].as_u64(), asset["height"].as_u64()), (Some(900), Some(1200)), "{file}");
        // Without f_, a HEIC renders as JPEG and an AVIF as AVIF.
        for transform in ["w_300", "w_300,f_png", "w_450,f_jpg,q_100", "w_300,f_webp,q_100", "w_300,f_avif,q_90"] {
            let path = format!("/v1/image/{transform}/{id}");
            let render = rendered(&app, &path).await;
            let (w, h) = render.pixels.dimensions();
            assert_eq!(h * 3, w * 4, "{path}: portrait, {w}x{h}");
            render.assert_close((w / 2, h / 4), top, &format!("{path} top"));
            render.assert_close((w / 2, h * 3 / 4), bottom, &format!("{path} bottom"));
        }
    }
}
