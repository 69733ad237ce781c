//! Bounded work (SPEC §12, issue 11) through HTTP: the output side cap holds after rotation, keys
//! that cannot change a render store no new variant, delivery errors are never cacheable, and an
//! animation's output frames count against the pixel budget.

use image::AnimationDecoder;
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
/// no slot while their renders run on, so the queue behind them fills and says 503.
#[tokio::test]
async fn a_client_hanging_up_does_not_free_its_render_slot() {
    let app = spawn_app_with(&[("IMGCLOUD_RENDER_QUEUE", "1")]).await;
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("photo_12mp_4000x3000.jpg"), "big.jpg")), &[("public_id", "big")]).await;
    let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Slow renders (a 4000 px canvas rotated pixel by pixel), each client gone after 500 ms.
    let hang_up = |r: usize| {
        let url = app.url(&format!("/v1/image/w_4000,h_4000,c_fill,r_{},f_png/big", 10 + r));
        let client = app.client.clone();
        async move { client.get(url).timeout(std::time::Duration::from_millis(500)).send().await.is_err() }
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

#[tokio::test]
async fn a_render_past_its_time_budget_is_422_and_stores_nothing() {
    let app = spawn_app_with(&[("IMGCLOUD_RENDER_SECONDS", "1")]).await;
    let admin = app.admin().await;
    app.upload(&admin, Some((corpus("photo_12mp_4000x3000.jpg"), "big.jpg")), &[("public_id", "big")]).await;
    let before = app.stored_files().await.len();
    let response = app.get("/v1/image/w_4000,h_4000,c_fill,r_45,f_png/big", &Cred::None).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(assert_error(response, StatusCode::UNPROCESSABLE_ENTITY).await, "render_too_large");
    assert_eq!(app.stored_files().await.len(), before);
    assert_eq!(app.get("/v1/image/w_100/big", &Cred::None).await.status(), StatusCode::OK, "small renders still fit");
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
/// against the pixel budget too, and the render stops at the budget rather than hold them all.
#[tokio::test]
async fn an_animation_s_output_frames_count_against_the_pixel_budget() {
    let app = spawn_app_with(&[("IMGCLOUD_MAX_PIXELS", "10000000")]).await;
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
    assert!(masters.len() == 1 && masters[0].ends_with("/master-1024"), "an opaque master: {masters:?}");
    for transform in ["w_300,f_webp", "w_200,h_200,c_fill,f_jpg", "w_1200,f_png"] {
        let response = app.get(&format!("/v1/image/{transform}/g"), &Cred::None).await;
        assert_eq!(response.status(), StatusCode::OK, "{transform}");
    }
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
