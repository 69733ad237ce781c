//! Bounded work (SPEC §12, issue 11) through HTTP: the output side cap holds after rotation, keys
//! that cannot change a render store no new variant, delivery errors are never cacheable, an
//! animation's output frames count against the pixel budget, and the variants stored per asset are
//! capped by count and by bytes.

use image::AnimationDecoder;
use imgcloud_core::store::{master_key, original_key};
use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn the_output_side_cap_holds_after_rotation() {
    let app = spawn_app_with(&[("IMGCLOUD_MAX_OUTPUT_SIDE", "400")]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    for transform in ["w_400,h_400,c_fill,r_45", "w_400,dpr_3,r_30", "w_400,h_400,c_contain,r_-10"] {
        let response = app.get(&format!("/v1/image/{transform},f_png/p"), &Cred::None).await;
        assert_eq!(response.status(), StatusCode::OK, "{transform}");
        let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
        let longest = image.width().max(image.height());
        assert!((390..=400).contains(&longest), "{transform}: {}x{}", image.width(), image.height());
    }
}

#[tokio::test]
async fn keys_that_cannot_change_the_output_share_one_stored_variant() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let png = corpus("alpha_1024x1024.png");
    let uploaded = app.upload(&admin, Some((png, "a.png")), &[("public_id", "a")]).await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    app.upload_photo(&admin, &[("public_id", "j")]).await;
    let before = app.stored_files().await.len();
    let spellings = [
        // PNG ignores q; nothing is filled without contain, rotation or flattening.
        ("/v1/image/w_100/a", "MISS"),
        ("/v1/image/w_100,q_1/a", "HIT"),
        ("/v1/image/w_100,q_20/a", "HIT"),
        ("/v1/image/w_100,q_20,bg_ff0000/a", "HIT"),
        // q_80 is JPEG's default; an opaque JPEG fills nothing.
        ("/v1/image/w_100/j", "MISS"),
        ("/v1/image/w_100,q_80/j", "HIT"),
        ("/v1/image/w_100,bg_00ff00/j", "HIT"),
        ("/v1/image/w_100,q_81/j", "MISS"),
        // A fill that is drawn is part of the variant.
        ("/v1/image/w_100,h_100,c_contain,bg_ff0000/j", "MISS"),
        ("/v1/image/w_100,h_100,c_contain,bg_00ff00/j", "MISS"),
    ];
    for (path, cache) in spellings {
        let response = app.get(path, &Cred::None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["x-cache"], cache, "{path}");
    }
    assert_eq!(app.stored_files().await.len(), before + 5);
}

#[tokio::test]
async fn delivery_errors_are_not_cacheable() {
    let app = spawn_app_with(&[("IMGCLOUD_RATE_RENDERS_PER_MINUTE", "1")]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    app.upload_photo(&admin, &[("public_id", "secret"), ("visibility", "private")]).await;
    assert_eq!(app.get("/v1/image/w_10/p", &Cred::None).await.status(), StatusCode::OK);
    for (path, status) in [
        ("/v1/image/w_0/p", StatusCode::BAD_REQUEST),
        ("/v1/image/secret", StatusCode::UNAUTHORIZED),
        ("/v1/image/nothing-here", StatusCode::NOT_FOUND),
        ("/v1/image/w_11/p", StatusCode::TOO_MANY_REQUESTS),
    ] {
        let response = app.get(path, &Cred::None).await;
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
}

/// A render's decode slot goes with the render, not with the request: clients that hang up free
/// no slot while their renders are in a step (one AVIF encode of 12 MP here, seconds long, which
/// starts after the last check: the clients hang up inside it), so the queue behind them fills and
/// says 503.
#[tokio::test]
async fn a_client_hanging_up_does_not_free_its_render_slot_mid_step() {
    let app = spawn_app_with(&[("IMGCLOUD_RENDER_QUEUE", "1")]).await;
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("photo_12mp_4000x3000.jpg"), "big.jpg")), &[("public_id", "big")]).await;
    let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
    let hang_up = |r: usize| {
        let url = app.url(&format!("/v1/image/w_{},f_avif/big", 4000 - r));
        let client = app.client.clone();
        async move { client.get(url).timeout(std::time::Duration::from_millis(1500)).send().await.is_err() }
    };
    let gone = futures::future::join_all((0..slots).map(hang_up)).await;
    assert!(gone.iter().all(|g| *g), "every slow client timed out");
    let queued = hang_up(slots);
    let refused = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        app.get("/v1/image/w_50,r_5/big", &Cred::None).await
    };
    let (_, refused) = tokio::join!(queued, refused);
    assert_eq!(assert_error(refused, StatusCode::SERVICE_UNAVAILABLE).await, "busy");
}

/// The 42-frame GIF at about 2000×2000 as GIF (`n` tells variants apart): 42 quantised 4 MP
/// frames, many seconds of work, with the budget checked between frames.
fn long_animation(n: usize) -> String {
    format!("/v1/image/w_{},h_2000,c_fill,f_gif/anim", 2000 + n)
}

/// A render nobody waits for stops at its next step: once every core's client has hung up, a
/// small render gets a core at once rather than after the long ones.
#[tokio::test]
async fn a_render_nobody_waits_for_stops_and_frees_its_slot() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("anim_245x245_42f.gif"), "a.gif")), &[("public_id", "anim")]).await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
    let hang_up = |r: usize| {
        let url = app.url(&long_animation(r));
        let client = app.client.clone();
        async move { client.get(url).timeout(std::time::Duration::from_millis(700)).send().await.is_err() }
    };
    let gone = futures::future::join_all((0..slots).map(hang_up)).await;
    assert!(gone.iter().all(|g| *g), "every long render's client timed out");
    let small = app.client.get(app.url("/v1/image/w_50/p")).timeout(std::time::Duration::from_secs(4)).send().await;
    assert_eq!(small.expect("a core freed within a frame of the hang-ups").status(), StatusCode::OK);
}

/// A render another request waits for goes on when the client that started it hangs up: the
/// waiter is answered from the stored variant, not by a second render.
#[tokio::test]
async fn a_render_someone_else_waits_for_goes_on_when_its_client_hangs_up() {
    let app = spawn_app_with(&[("IMGCLOUD_RENDER_SECONDS", "300")]).await;
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("anim_245x245_42f.gif"), "a.gif")), &[("public_id", "anim")]).await;
    let impatient = app
        .client
        .get(app.url("/v1/image/w_1200,h_1200,c_fill,f_gif/anim"))
        .timeout(std::time::Duration::from_millis(700))
        .send();
    let patient = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        app.get("/v1/image/w_1200,h_1200,c_fill,f_gif/anim", &Cred::None).await
    };
    let (impatient, patient) = tokio::join!(impatient, patient);
    assert!(impatient.is_err(), "the first client timed out");
    let status = patient.status();
    let cache = patient.headers().get("x-cache").cloned();
    assert_eq!(status, StatusCode::OK, "{}", patient.text().await.unwrap());
    assert_eq!(cache.unwrap(), "HIT", "the waiter got the first render, stored");
}

#[tokio::test]
async fn a_render_past_its_time_budget_is_422_and_stores_nothing() {
    let app = spawn_app_with(&[("IMGCLOUD_RENDER_SECONDS", "1")]).await;
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("anim_245x245_42f.gif"), "a.gif")), &[("public_id", "anim")]).await;
    let before = app.stored_files().await.len();
    let response = app.get(&long_animation(0), &Cred::None).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(assert_error(response, StatusCode::UNPROCESSABLE_ENTITY).await, "render_too_large");
    assert_eq!(app.stored_files().await.len(), before);
    assert_eq!(app.get("/v1/image/w_100/anim", &Cred::None).await.status(), StatusCode::OK, "small renders still fit");
}

/// A render still running when its asset is deleted stores its variant into a tree the collector
/// already swept: it must take it back out.
#[tokio::test]
async fn a_render_that_finishes_after_a_delete_leaves_no_orphan() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("photo_12mp_4000x3000.jpg"), "big.jpg")), &[("public_id", "big")]).await;
    let render = app.get("/v1/image/w_3000,h_3000,c_fill,r_45,f_png/big", &Cred::None);
    let delete = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.req(reqwest::Method::DELETE, "/v1/assets/big", &admin).send().await.unwrap()
    };
    let (rendered, deleted) = tokio::join!(render, delete);
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(rendered.status(), StatusCode::OK, "the request that began before the delete is answered");
    let left = app.stored_files().await;
    assert!(left.iter().all(|f| !f.contains("/variants/")), "orphans: {left:?}");
}

/// The 42-frame GIF is 2.5 MP of input; at 1000×1000 its output frames are 42 MP. They count
/// against the animation budget, and the render stops at the budget rather than hold them all.
#[tokio::test]
async fn an_animation_s_output_frames_count_against_the_pixel_budget() {
    let app = spawn_app_with(&[("IMGCLOUD_MAX_ANIMATION_PIXELS", "10000000")]).await;
    let admin = app.admin().await;
    let gif = corpus("anim_245x245_42f.gif");
    assert_eq!(app.upload(&admin, Some((gif, "a.gif")), &[("public_id", "a")]).await.status(), StatusCode::CREATED);
    let large = app.get("/v1/image/w_1000,h_1000,c_fill,f_webp/a", &Cred::None).await;
    let message = assert_error(large, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(message, "image_too_large");
    for (transform, magic) in [("w_300,f_webp", &b"RIFF"[..]), ("w_300,f_gif", b"GIF89a")] {
        let small = app.get(&format!("/v1/image/{transform}/a"), &Cred::None).await;
        assert_eq!(small.status(), StatusCode::OK, "{transform}");
        let bytes = small.bytes().await.unwrap();
        assert!(bytes.starts_with(magic), "{transform}");
        let frames = match magic {
            b"RIFF" => image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(&bytes)).unwrap().into_frames(),
            _ => image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&bytes)).unwrap().into_frames(),
        };
        let frames = frames.collect_frames().unwrap();
        assert_eq!(frames.len(), 42, "{transform} stays animated, every frame");
        assert_eq!(frames[0].buffer().dimensions(), (300, 300), "{transform}");
    }
    // A still output of the same size is one frame: within the budget.
    assert_eq!(app.get("/v1/image/w_1000,h_1000,c_fill,f_png/a", &Cred::None).await.status(), StatusCode::OK);
}

/// An opaque still GIF decodes to RGBA: its masters must follow what the inspection found (no
/// alpha), or the delivery looks for a master that was never written (it answered 500; a missing
/// master now falls back to the original).
#[tokio::test]
async fn an_opaque_gif_large_enough_for_masters_renders() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let pixels = image::RgbaImage::from_fn(1500, 900, |x, y| image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255]));
    let mut gif = Vec::new();
    image::codecs::gif::GifEncoder::new(&mut gif).encode_frame(image::Frame::new(pixels)).unwrap();
    let uploaded = app.upload(&admin, Some((gif, "still.gif")), &[("public_id", "g")]).await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let masters: Vec<String> = app.stored_files().await.into_iter().filter(|f| f.contains("/master-")).collect();
    assert!(masters.len() == 1 && masters[0].ends_with("/master-768"), "an opaque master: {masters:?}");
    for transform in ["w_300,f_webp", "w_200,h_200,c_fill,f_jpg", "w_1200,f_png"] {
        let response = app.get(&format!("/v1/image/{transform}/g"), &Cred::None).await;
        assert_eq!(response.status(), StatusCode::OK, "{transform}");
    }
}

/// An asset uploaded by an earlier release has the masters it made then (a 1024 px one for a
/// 2000 px photo) and none of this release's: its renders use that master. The original is gone
/// here, so a render that did not find the earlier master fails.
#[tokio::test]
async fn renders_of_an_earlier_upload_use_the_masters_made_then() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let pixels = image::RgbImage::from_fn(2000, 1500, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&image::DynamicImage::ImageRgb8(pixels.clone()))
        .unwrap();
    let uploaded = app.upload(&admin, Some((jpeg, "old.jpg")), &[("public_id", "old")]).await;
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let server = app.server.as_ref().unwrap().app.clone();
    let blob_id = server.meta.asset("old").await.unwrap().unwrap().blob_id;
    let earlier = image::imageops::resize(&pixels, 1024, 768, image::imageops::FilterType::Triangle);
    let mut master = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut master, 94)
        .encode_image(&image::DynamicImage::ImageRgb8(earlier))
        .unwrap();
    server.blobs.put(&master_key(&blob_id, "1024"), master.into()).await.unwrap();
    for key in [master_key(&blob_id, "1152"), master_key(&blob_id, "768"), original_key(&blob_id)] {
        server.blobs.delete_tree(&key).await.unwrap();
    }
    let response = app.get("/v1/image/w_400,h_300,c_fill,f_png/old", &Cred::None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rendered = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
    assert_eq!((rendered.width(), rendered.height()), (400, 300));
}

/// A render's working memory is estimated from the sizes before each step that allocates; past
/// `IMGCLOUD_RENDER_MEMORY_BYTES` it is a 422, and nothing is decoded or stored.
#[tokio::test]
async fn a_render_over_its_memory_budget_is_422_and_smaller_ones_are_not() {
    let app = spawn_app_with(&[("IMGCLOUD_RENDER_MEMORY_BYTES", "67108864")]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    let before = app.stored_files().await.len();
    // 16 MP of AVIF is several hundred MiB of encoder state.
    let avif = app.get("/v1/image/w_4000,h_4000,c_fill,f_avif/p", &Cred::None).await;
    assert_eq!(avif.headers()["cache-control"], "no-store");
    assert_eq!(assert_error(avif, StatusCode::UNPROCESSABLE_ENTITY).await, "render_too_large");
    assert_eq!(app.stored_files().await.len(), before, "nothing stored");
    for transform in ["w_400,f_avif", "w_1000,f_webp", "w_2000,f_jpg"] {
        assert_eq!(
            app.get(&format!("/v1/image/{transform}/p"), &Cred::None).await.status(),
            StatusCode::OK,
            "{transform}"
        );
    }
}

fn variant_files(files: &[String]) -> usize {
    files.iter().filter(|f| f.contains("/variants/")).count()
}

/// Past `IMGCLOUD_MAX_VARIANTS_PER_ASSET` a new variant is rendered and served, every time, but
/// not stored; the cap is per asset and per version.
#[tokio::test]
async fn past_the_variant_count_cap_variants_are_served_but_not_stored() {
    let app = spawn_app_with(&[("IMGCLOUD_MAX_VARIANTS_PER_ASSET", "2")]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    app.upload_photo(&admin, &[("public_id", "q")]).await;
    let before = app.stored_files().await;
    assert_eq!(variant_files(&before), 0);
    for (transform, cache) in
        // The third is not stored; the memory cache alone keeps it, so it is not rendered again.
        [
            ("w_100", "MISS"),
            ("w_200", "MISS"),
            ("w_300", "MISS"),
            ("w_100", "HIT"),
            ("w_200", "HIT"),
            ("w_300", "HIT"),
        ]
    {
        let response = app.get(&format!("/v1/image/{transform}/p"), &Cred::None).await;
        assert_eq!(response.status(), StatusCode::OK, "{transform}");
        assert_eq!(response.headers()["x-cache"], cache, "{transform}");
        let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(image.width(), transform[2..].parse::<u32>().unwrap(), "{transform} is rendered in full");
    }
    let after = app.stored_files().await;
    assert_eq!(variant_files(&after), 2, "{after:?}");
    assert_eq!(after.len(), before.len() + 2);

    // Another asset has room of its own; a new version of this one starts from zero.
    for (path, cache) in [("/v1/image/w_300/q", "MISS"), ("/v1/image/w_300/q", "HIT")] {
        assert_eq!(app.get(path, &Cred::None).await.headers()["x-cache"], cache, "{path}");
    }
    app.upload_photo(&admin, &[("public_id", "p"), ("overwrite", "true")]).await;
    for cache in ["MISS", "HIT"] {
        assert_eq!(app.get("/v1/image/w_300/p", &Cred::None).await.headers()["x-cache"], cache, "after an overwrite");
    }
}

/// Past `IMGCLOUD_MAX_VARIANT_BYTES_PER_ASSET` a variant that does not fit is served but not
/// stored, while smaller ones still fit; the upload's masters count against the cap (they are
/// the usage's `variant_bytes` too), and usage counts only what was stored.
#[tokio::test]
async fn past_the_variant_bytes_cap_variants_are_served_but_not_stored() {
    let cap = 20_000;
    let app = spawn_app_with(&[("IMGCLOUD_MAX_VARIANT_BYTES_PER_ASSET", &cap.to_string())]).await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    let get = |transform: &str| {
        let path = format!("/v1/image/{transform}/p");
        let app = &app;
        async move {
            let response = app.get(&path, &Cred::None).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let cache = response.headers()["x-cache"].to_str().unwrap().to_owned();
            (cache, response.bytes().await.unwrap().len() as u64)
        }
    };
    let (cache, small) = get("w_40").await;
    assert_eq!((cache.as_str(), small < cap / 4), ("MISS", true), "{small} bytes");
    let (cache, large) = get("w_900").await;
    assert_eq!((cache.as_str(), small + large > cap), ("MISS", true), "{large} bytes do not fit");
    assert_eq!(get("w_900").await, ("HIT".to_owned(), large), "kept in memory only, not stored");
    let (cache, other_small) = get("w_41").await;
    assert_eq!((cache.as_str(), small + other_small <= cap), ("MISS", true), "{other_small} bytes fit");
    assert_eq!(get("w_40").await.0, "HIT");
    assert_eq!(get("w_41").await.0, "HIT");
    assert_eq!(variant_files(&app.stored_files().await), 2);
    let usage: serde_json::Value = app.get("/v1/usage/summary", &admin).await.json().await.unwrap();
    assert_eq!(usage["variant_bytes"].as_u64(), Some(small + other_small), "only stored variants are counted");

    // An asset whose masters alone pass the cap stores no variant.
    let png = corpus("alpha_1024x1024.png");
    assert_eq!(app.upload(&admin, Some((png, "a.png")), &[("public_id", "a")]).await.status(), StatusCode::CREATED);
    let usage: serde_json::Value = app.get("/v1/usage/summary", &admin).await.json().await.unwrap();
    let masters = usage["variant_bytes"].as_u64().unwrap() - small - other_small;
    assert!(masters > cap, "the lossless master takes {masters} bytes");
    for cache in ["MISS", "HIT"] {
        let response = app.get("/v1/image/w_40/a", &Cred::None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-cache"], cache);
    }
    assert_eq!(variant_files(&app.stored_files().await), 2);
}
