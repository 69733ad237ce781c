//! Formats of SPEC §12 through HTTP: orientation in every format that carries it, and the
//! formats a server accepts (`IMGCLOUD_FORMATS`).

use image::ImageEncoder;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// A TIFF structure (EXIF) that says only: orientation `value`.
fn exif_orientation(value: u8) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
    tiff.extend_from_slice(&[value, 0, 0, 0, 0, 0, 0]);
    tiff
}

/// 60×40, red on the left half, blue on the right: orientation 6 shows it 40×60, red on top.
fn halves() -> image::RgbImage {
    image::RgbImage::from_fn(60, 40, |x, _| if x < 30 { image::Rgb([255, 0, 0]) } else { image::Rgb([0, 0, 255]) })
}

fn encoded(mut encoder: impl ImageEncoder) {
    let pixels = halves();
    encoder.set_exif_metadata(exif_orientation(6)).unwrap();
    encoder.write_image(pixels.as_raw(), 60, 40, image::ExtendedColorType::Rgb8).unwrap();
}

#[tokio::test]
async fn png_and_webp_exif_orientation_is_honoured() {
    let (mut png, mut webp) = (Vec::new(), Vec::new());
    encoded(image::codecs::png::PngEncoder::new(&mut png));
    encoded(image::codecs::webp::WebPEncoder::new_lossless(&mut webp));
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (id, bytes) in [("png", png), ("webp", webp)] {
        let uploaded = app.upload(&admin, Some((bytes, "o.img")), &[("public_id", id)]).await;
        assert_eq!(uploaded.status(), StatusCode::CREATED, "{id}");
        let body: Value = uploaded.json().await.unwrap();
        let asset = &body["asset"];
        assert_eq!((asset["width"].as_u64(), asset["height"].as_u64()), (Some(40), Some(60)), "{id}: {asset}");
        for transform in ["w_40,f_png", "w_20,f_jpg,q_100", "h_60,f_webp"] {
            let response = app.get(&format!("/v1/image/{transform}/{id}"), &Cred::None).await;
            assert_eq!(response.status(), StatusCode::OK, "{id} {transform}");
            let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap().to_rgb8();
            assert!(image.height() > image.width(), "{id} {transform}: {}x{}", image.width(), image.height());
            let (top, bottom) =
                (image.get_pixel(image.width() / 2, 2).0, image.get_pixel(image.width() / 2, image.height() - 3).0);
            assert!(top[0] > 200 && top[2] < 60, "{id} {transform}: top {top:?} is red");
            assert!(bottom[2] > 200 && bottom[0] < 60, "{id} {transform}: bottom {bottom:?} is blue");
        }
    }
}

#[tokio::test]
async fn a_format_switched_off_is_refused_with_its_name() {
    let app = spawn_app_with(&[("IMGCLOUD_FORMATS", "png,webp")]).await;
    let admin = app.admin().await;
    let refused = app.upload(&admin, Some((photo(), "p.jpg")), &[]).await;
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = refused.json().await.unwrap();
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains("jpg") && message.contains("IMGCLOUD_FORMATS"), "{message}");
    let png = corpus("alpha_1024x1024.png");
    assert_eq!(app.upload(&admin, Some((png, "a.png")), &[]).await.status(), StatusCode::CREATED);
}

/// AVIF, HEIC and JPEG XL originals: accepted with their displayed size (AVIF `irot` turns a
/// 4032×3024 phone photo upright), delivered byte for byte with their type, and rendered; without
/// `f_` a HEIC or JPEG XL renders as JPEG, or PNG with alpha, and an AVIF as AVIF.
#[tokio::test]
async fn avif_heic_and_jpeg_xl_originals_are_accepted_and_rendered() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let cases = [
        ("libvips/avif-orientation-6.avif", "avif", (3024, 4032), "image/avif", "image/avif"),
        ("pillow/transparency.avif", "avif", (64, 64), "image/avif", "image/avif"),
        ("pillow/hopper.heif", "heic", (128, 128), "image/heic", "image/jpeg"),
        ("jxl-oxide/cmyk_layers.jxl", "jxl", (512, 512), "image/jxl", "image/png"),
    ];
    for (n, (file, format, size, original_type, default_type)) in cases.into_iter().enumerate() {
        let id = format!("f{n}");
        let bytes = peer(file);
        let uploaded = app.upload(&admin, Some((bytes.clone(), "x.img")), &[("public_id", &id)]).await;
        assert_eq!(uploaded.status(), StatusCode::CREATED, "{file}");
        let body: Value = uploaded.json().await.unwrap();
        let asset = &body["asset"];
        assert_eq!(asset["format"], format, "{file}");
        assert_eq!((asset["width"].as_u64(), asset["height"].as_u64()), (Some(size.0), Some(size.1)), "{file}");
        let original = app.get(&format!("/v1/image/{id}"), &Cred::None).await;
        assert_eq!(original.headers()["content-type"], original_type, "{file}");
        assert_eq!(original.bytes().await.unwrap().as_ref(), bytes.as_slice(), "{file}: byte for byte");
        let default = app.get(&format!("/v1/image/w_32/{id}"), &Cred::None).await;
        assert_eq!(default.status(), StatusCode::OK, "{file}");
        assert_eq!(default.headers()["content-type"], default_type, "{file}");
        let png = app.get(&format!("/v1/image/w_40,f_png/{id}"), &Cred::None).await;
        let image = image::load_from_memory(&png.bytes().await.unwrap()).unwrap();
        let want_height = (40.0 * size.1 as f64 / size.0 as f64).round() as u32;
        assert_eq!((image.width(), image.height()), (40, want_height), "{file}");
    }
}
