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
