//! Transforms through HTTP: sizes per crop mode, formats, negotiation, effects measured on pixels,
//! the variant cache, and the errors of the grammar.

use image::{AnimationDecoder, GenericImageView};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

async fn with_photo(fields: &[(&str, &str)]) -> (TestApp, Cred) {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = app.key(&admin).await;
    app.upload_photo(&key, fields).await;
    (app, key)
}

async fn fetch(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = app.get(path, &Cred::None).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)]));
    (headers, bytes)
}

fn size_of(bytes: &[u8]) -> (u32, u32) {
    image::load_from_memory(bytes).expect("a decodable image").dimensions()
}

#[tokio::test]
async fn every_crop_mode_gives_the_spec_s_size() {
    // 1000x667 source; the SPEC table's rules, for a wide and a square box, enlarging or not.
    let (app, _) = with_photo(&[("public_id", "p")]).await;
    for (transform, size) in [
        ("w_400,h_400,c_fit", (400, 267)),
        ("w_400,h_400,c_inside", (400, 267)),
        ("w_400,h_400,c_outside", (600, 400)),
        ("w_400,h_400,c_fill", (400, 400)),
        ("w_400,h_400,c_cover", (400, 400)),
        ("w_400,h_400,c_thumb", (400, 400)),
        ("w_400,h_400,c_contain", (400, 400)),
        ("w_2000,h_2000,c_fit", (2000, 1334)),
        ("w_2000,h_2000,c_inside", (1000, 667)),
        ("w_300", (300, 200)),
        ("h_100", (150, 100)),
        ("w_200,h_100,c_fill,dpr_2", (400, 200)),
        ("w_3000,h_3000,c_fill,dpr_2", (4000, 4000)),
    ] {
        let (_, bytes) = fetch(&app, &format!("/v1/image/{transform}/p")).await;
        assert_eq!(size_of(&bytes), size, "{transform}");
    }
}

#[tokio::test]
async fn every_format_has_its_magic_bytes_and_content_type() {
    let (app, _) = with_photo(&[("public_id", "p")]).await;
    for (f, content_type, magic) in [
        ("jpg", "image/jpeg", &b"\xFF\xD8\xFF"[..]),
        ("png", "image/png", b"\x89PNG"),
        ("webp", "image/webp", b"RIFF"),
        ("gif", "image/gif", b"GIF8"),
        ("avif", "image/avif", b"\0\0\0"),
    ] {
        let (headers, bytes) = fetch(&app, &format!("/v1/image/w_64,f_{f}/p")).await;
        assert_eq!(headers["content-type"], content_type, "{f}");
        assert!(bytes.starts_with(magic), "{f}");
        assert_eq!(headers["content-length"].to_str().unwrap(), bytes.len().to_string());
        if f == "avif" {
            assert_eq!(&bytes[4..12], b"ftypavif");
        } else {
            assert_eq!(size_of(&bytes), (64, 43), "{f}");
        }
    }
}

#[tokio::test]
async fn f_auto_follows_accept_and_says_vary() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "photo")]).await;
    app.upload(&admin, Some((corpus("alpha_1024x1024.png"), "a.png")), &[("public_id", "alpha")]).await;
    for (id, accept, content_type) in [
        ("photo", "image/avif,image/webp,*/*", "image/avif"),
        ("photo", "image/webp,*/*", "image/webp"),
        ("photo", "*/*", "image/jpeg"),
        ("alpha", "text/html", "image/png"),
    ] {
        let response = app
            .req(Method::GET, &format!("/v1/image/w_64,f_auto/{id}"), &Cred::None)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], content_type, "{accept}");
        assert_eq!(response.headers()["vary"], "Accept");
    }
}

#[tokio::test]
async fn the_first_request_renders_and_the_next_ones_are_served_from_the_store() {
    let (app, _) = with_photo(&[("public_id", "p")]).await;
    let (first, bytes) = fetch(&app, "/v1/image/w_400,h_300,c_fill,q_70/p").await;
    assert_eq!(first["x-cache"], "MISS");
    assert_eq!(first["cache-control"], "public, max-age=86400");
    let (second, again) = fetch(&app, "/v1/image/q_70,c_fill,h_300,w_400/p").await;
    assert_eq!(second["x-cache"], "HIT", "any key order is the same variant");
    assert_eq!(second["etag"], first["etag"]);
    assert_eq!(again, bytes);

    let etag = first["etag"].to_str().unwrap();
    assert!(etag.starts_with('"'), "strong: {etag}");
    let not_modified = app
        .req(Method::GET, "/v1/image/w_400,h_300,c_fill,q_70/p", &Cred::None)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    let head = app.req(Method::HEAD, "/v1/image/w_400,h_300,c_fill,q_70/p", &Cred::None).send().await.unwrap();
    assert_eq!(head.headers()["etag"], etag);
    assert_eq!(head.headers()["content-length"].to_str().unwrap(), bytes.len().to_string());
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_first_requests_render_a_variant_once() {
    let (app, _) = with_photo(&[("public_id", "p")]).await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let response = app.get("/v1/image/w_500,f_webp/p", &Cred::None).await;
                response.headers()["x-cache"].to_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut caches = Vec::new();
    for t in tasks {
        caches.push(t.await.unwrap());
    }
    assert_eq!(caches.iter().filter(|c| *c == "MISS").count(), 1, "{caches:?}");
}

#[tokio::test]
async fn an_overwrite_makes_old_variants_unreachable_and_removes_them() {
    let (app, key) = with_photo(&[("public_id", "p")]).await;
    let (before, _) = fetch(&app, "/v1/image/w_100/p").await;
    let files_with_variant = app.stored_files().await.len();
    assert_eq!(files_with_variant, 2, "original + variant");
    let replaced = app
        .upload(&key, Some((corpus("alpha_1024x1024.png"), "a.png")), &[("public_id", "p"), ("overwrite", "true")])
        .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let (after, bytes) = fetch(&app, "/v1/image/w_100/p").await;
    assert_eq!(after["x-cache"], "MISS");
    assert_ne!(after["etag"], before["etag"]);
    assert_eq!(size_of(&bytes), (100, 100), "the new original is rendered");
    assert_eq!(app.stored_files().await.len(), 3, "new original, its master and one variant: the old ones are gone");

    let deleted = app.req(Method::DELETE, "/v1/assets/p", &key).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_error(app.get("/v1/image/w_100/p", &Cred::None).await, StatusCode::NOT_FOUND).await;
    assert!(app.stored_files().await.is_empty());
}

#[tokio::test]
async fn grayscale_and_blur_change_the_pixels_as_asked() {
    let (app, _) = with_photo(&[("public_id", "p")]).await;
    let (_, gray) = fetch(&app, "/v1/image/w_200,gr_1,f_png/p").await;
    let gray = image::load_from_memory(&gray).unwrap().to_rgb8();
    assert!(gray.pixels().all(|p| p[0] == p[1] && p[1] == p[2]), "every pixel is gray");
    // One channel where the format has one; RGB(A) where it has not; alpha kept.
    let (_, jpeg) = fetch(&app, "/v1/image/w_200,gr_1/p").await;
    assert_eq!(image::load_from_memory(&jpeg).unwrap().color(), image::ColorType::L8, "a one-component JPEG");
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("alpha_1024x1024.png"), "a.png")), &[("public_id", "alpha")]).await;
    let (_, png) = fetch(&app, "/v1/image/w_64,gr_1,f_png/alpha").await;
    assert_eq!(image::load_from_memory(&png).unwrap().color(), image::ColorType::La8);
    let (_, webp) = fetch(&app, "/v1/image/w_64,gr_1,f_webp/alpha").await;
    let webp = image::load_from_memory(&webp).unwrap().to_rgba8();
    assert!(webp.pixels().all(|p| p[0].abs_diff(p[1]) <= 4 && p[1].abs_diff(p[2]) <= 4), "a gray WebP");
    assert!(webp.pixels().any(|p| p[3] < 255), "with its alpha");
    for format in ["avif", "gif"] {
        fetch(&app, &format!("/v1/image/w_64,gr_1,f_{format}/alpha")).await;
    }
    let (_, flat) = fetch(&app, "/v1/image/w_64,gr_1,bg_ff0000,f_jpg/alpha").await;
    let flat = image::load_from_memory(&flat).unwrap();
    assert_eq!(flat.color(), image::ColorType::Rgb8, "a coloured background shows through");

    let variance = |bytes: &[u8]| {
        let luma = image::load_from_memory(bytes).unwrap().to_luma8();
        let n = luma.len() as f64;
        let mean = luma.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        luma.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n
    };
    let edges = |bytes: &[u8]| {
        let luma = image::load_from_memory(bytes).unwrap().to_luma8();
        luma.windows(2).map(|w| (i32::from(w[0]) - i32::from(w[1])).abs() as f64).sum::<f64>()
    };
    let (_, sharp) = fetch(&app, "/v1/image/w_200,f_png/p").await;
    let (_, blurred) = fetch(&app, "/v1/image/w_200,bl_4,f_png/p").await;
    assert!(edges(&blurred) < edges(&sharp) * 0.5, "blur removes detail");
    assert!(variance(&blurred) <= variance(&sharp));
}

#[tokio::test]
async fn rotation_swaps_sides_at_right_angles_and_grows_the_canvas_otherwise() {
    let (app, _) = with_photo(&[("public_id", "p")]).await;
    let (_, r90) = fetch(&app, "/v1/image/w_300,r_90/p").await;
    assert_eq!(size_of(&r90), (200, 300));
    let (_, r45) = fetch(&app, "/v1/image/w_300,r_45,bg_ff0000,f_png/p").await;
    let r45 = image::load_from_memory(&r45).unwrap().to_rgba8();
    assert_eq!(r45.dimensions(), (354, 354));
    assert_eq!(r45.get_pixel(0, 0).0, [255, 0, 0, 255], "the grown corners take bg");
}

#[tokio::test]
async fn contain_pads_with_bg_and_alpha_is_flattened_onto_it_for_jpeg() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("alpha_1024x1024.png"), "a.png")), &[("public_id", "alpha")]).await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    let (_, padded) = fetch(&app, "/v1/image/w_200,h_100,c_contain,bg_00ff00,f_png/p").await;
    let padded = image::load_from_memory(&padded).unwrap().to_rgba8();
    assert_eq!(padded.dimensions(), (200, 100));
    assert_eq!(padded.get_pixel(2, 50).0, [0, 255, 0, 255], "the side bands are bg");
    let (_, flat) = fetch(&app, "/v1/image/w_100,f_jpg,bg_0000ff/alpha").await;
    let corner = image::load_from_memory(&flat).unwrap().to_rgb8().get_pixel(0, 0).0;
    assert!(corner[2] > 200 && corner[0] < 60 && corner[1] < 60, "transparent corners become bg: {corner:?}");
}

#[tokio::test]
async fn exif_orientation_is_applied_to_the_size_and_the_pixels() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let response =
        app.upload(&admin, Some((with_orientation(&photo(), 6), "rotated.jpg")), &[("public_id", "rotated")]).await;
    let asset: Value = response.json::<Value>().await.unwrap()["asset"].clone();
    assert_eq!((asset["width"].as_u64(), asset["height"].as_u64()), (Some(667), Some(1000)));
    let (_, bytes) = fetch(&app, "/v1/image/w_100/rotated").await;
    assert_eq!(size_of(&bytes), (100, 150));
}

#[tokio::test]
async fn an_animated_gif_stays_animated_as_gif_and_webp_and_is_its_first_frame_otherwise() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("anim_245x245_42f.gif"), "a.gif")), &[("public_id", "anim")]).await;
    let (headers, gif) = fetch(&app, "/v1/image/w_100/anim").await;
    assert_eq!(headers["content-type"], "image/gif");
    let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(gif)).unwrap().into_frames().count();
    assert_eq!(frames, 42);
    let (_, webp) = fetch(&app, "/v1/image/w_100,f_webp/anim").await;
    let decoder = image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(&webp)).unwrap();
    assert!(decoder.has_animation(), "WebP carries the animation too");
    assert_eq!(decoder.into_frames().count(), 42);
    let (_, png) = fetch(&app, "/v1/image/w_100,f_png/anim").await;
    assert_eq!(size_of(&png), (100, 100), "formats without animation take the first frame");
}

#[tokio::test]
async fn bad_transforms_are_400_naming_the_pair() {
    let (app, _) = with_photo(&[("public_id", "p")]).await;
    for transform in [
        "w_0",
        "w_-1",
        "w_abc",
        "w_1.5",
        "w_4001",
        "q_0",
        "q_101",
        "c_crop",
        "f_bmp",
        "dpr_4",
        "bl_0.1",
        "r_361",
        "bg_fff",
        "gr_2",
        "w_1,w_2",
        "w_1,",
        "w_1%2Ch_2",
        "w_100,x_1",
    ] {
        let response = app.get(&format!("/v1/image/{transform}/p"), &Cred::None).await;
        assert_eq!(assert_error(response, StatusCode::BAD_REQUEST).await, "invalid_transform", "{transform}");
    }
    let long = format!("w_1{}", ",q_1".repeat(90));
    assert_error(app.get(&format!("/v1/image/{long}/p"), &Cred::None).await, StatusCode::BAD_REQUEST).await;
    assert_error(app.get("/v1/image/w_100/missing", &Cred::None).await, StatusCode::NOT_FOUND).await;
    assert!(app.stored_files().await.len() == 1, "nothing rendered");
}

#[tokio::test]
async fn a_private_asset_s_variants_need_credentials_and_are_not_cached_publicly() {
    let (app, key) = with_photo(&[("public_id", "secret"), ("visibility", "private")]).await;
    assert_error(app.get("/v1/image/w_100/secret", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
    let response = app.get("/v1/image/w_100/secret", &key).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    assert_error(app.get("/v1/image/w_100/secret", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
}

/// `jpeg` with an APP1 EXIF segment carrying `orientation`, right after SOI.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend(1u16.to_be_bytes()); // one IFD entry
    tiff.extend(0x0112u16.to_be_bytes()); // Orientation
    tiff.extend(3u16.to_be_bytes()); // SHORT
    tiff.extend(1u32.to_be_bytes());
    tiff.extend(orientation.to_be_bytes());
    tiff.extend([0, 0]);
    tiff.extend(0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

#[tokio::test]
async fn making_an_asset_private_takes_effect_at_once_even_for_cached_variants() {
    let (app, key) = with_photo(&[("public_id", "p")]).await;
    for _ in 0..2 {
        assert_eq!(app.get("/v1/image/w_120/p", &Cred::None).await.status(), StatusCode::OK);
        assert_eq!(app.get("/v1/image/p", &Cred::None).await.status(), StatusCode::OK);
    }
    let private =
        app.send_json(Method::PATCH, "/v1/assets/p", &key, serde_json::json!({"visibility": "private"})).await;
    assert_eq!(private.status(), StatusCode::OK);
    assert_error(app.get("/v1/image/w_120/p", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
    assert_error(app.get("/v1/image/p", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
    let owner = app.get("/v1/image/w_120/p", &key).await;
    assert_eq!((owner.status(), owner.headers()["x-cache"].to_str().unwrap()), (StatusCode::OK, "HIT"));
}

#[tokio::test]
async fn every_key_accepts_its_boundaries() {
    let (app, _) = with_photo(&[("public_id", "p")]).await;
    for transform in [
        "w_1",
        "h_1",
        "w_4000,h_1,c_fill",
        "q_1,w_50",
        "q_100,w_50",
        "dpr_1,w_50",
        "dpr_3,w_50",
        "dpr_1.25,w_50",
        "bl_0.3,w_50",
        "bl_25,w_50",
        "r_-360,w_50",
        "r_360,w_50",
        "r_1,w_50",
        "bg_000000,w_50,h_50,c_contain",
        "bg_FFFFFF,w_50,h_50,c_contain",
        "gr_1,w_50",
        "f_auto,w_50",
    ] {
        let response = app.get(&format!("/v1/image/{transform}/p"), &Cred::None).await;
        assert_eq!(response.status(), StatusCode::OK, "{transform}");
    }
    let (_, bytes) = fetch(&app, "/v1/image/w_4000,h_1,c_fill/p").await;
    assert_eq!(size_of(&bytes), (4000, 1));
}

#[tokio::test]
async fn renders_strip_metadata() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload(&admin, Some((with_orientation(&photo(), 1), "exif.jpg")), &[("public_id", "exif")]).await;
    for f in ["jpg", "png", "webp"] {
        let (_, bytes) = fetch(&app, &format!("/v1/image/w_64,f_{f}/exif")).await;
        let found = bytes.windows(4).any(|w| w == b"Exif" || w == b"eXIf" || w == b"EXIF");
        assert!(!found, "{f} carries no EXIF");
    }
}

#[tokio::test]
async fn a_full_render_queue_answers_503_with_retry_after_and_nothing_else_fails() {
    let app = spawn_app_with(&[("IMGCLOUD_RENDER_QUEUE", "1")]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let response = app.get(&format!("/v1/image/w_{},f_avif/p", 300 + i), &Cred::None).await;
                (response.status(), response.headers().get("retry-after").cloned())
            })
        })
        .collect();
    let mut busy = 0;
    for t in tasks {
        let (status, retry_after) = t.await.unwrap();
        match status {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert_eq!(retry_after.unwrap(), "1");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(busy > 0, "24 concurrent AVIF renders with 2 cores and a queue of 1 turn some away");
}
