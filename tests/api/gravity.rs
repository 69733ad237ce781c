//! Smart crops and placeholders (SPEC §14) through HTTP: `g_` on synthetic images whose subject
//! is known and on real photographs of faces (the crop is located in the original and must hold
//! the face box the upload found), focal points set by PATCH, and the placeholders of the asset.

use image::{GrayImage, RgbImage};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

/// A real photograph (tests/images/README.md): one face in the top third of a 200x300 portrait.
fn portrait() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/images/face-portrait.jpg")).unwrap()
}

/// The same photograph's front rows: many faces in an 800x400 picture.
fn group() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/images/faces-group.jpg")).unwrap()
}

/// A flat grey 1200x400 picture with one busy red and blue patch of 150x150 px at (900, 100).
fn patch_picture() -> Vec<u8> {
    let image = RgbImage::from_fn(1200, 400, |x, y| {
        let inside = (900..1050).contains(&x) && (100..250).contains(&y);
        match (inside, (x / 6 + y / 6) % 2) {
            (true, 0) => image::Rgb([220, 30, 30]),
            (true, _) => image::Rgb([30, 30, 220]),
            (false, _) => image::Rgb([128, 128, 128]),
        }
    });
    let mut png = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    png
}

async fn upload(app: &TestApp, cred: &Cred, bytes: Vec<u8>, public_id: &str) -> Value {
    let response = app.upload(cred, Some((bytes, "image")), &[("public_id", public_id)]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["asset"].clone()
}

/// `/v1/image/<t>,f_png/<public_id>`, anonymously.
async fn render(app: &TestApp, t: &str, public_id: &str) -> reqwest::Response {
    app.get(&format!("/v1/image/{t},f_png/{public_id}"), &Cred::None).await
}

async fn image_of(response: reqwest::Response) -> image::DynamicImage {
    assert_eq!(response.status(), StatusCode::OK);
    image::load_from_memory(&response.bytes().await.unwrap()).unwrap()
}

/// How many pixels are strongly coloured (the patch's), not grey.
fn coloured(image: &image::DynamicImage) -> usize {
    image.to_rgb8().pixels().filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 100).count()
}

/// Where `crop` (rendered at the size of the window it was cut from) lies in `source`: the
/// offset with the least absolute difference, searched along the one free axis of a fill crop.
fn locate(source: &GrayImage, crop: &GrayImage) -> (u32, u32) {
    let (free_x, free_y) = (source.width() - crop.width(), source.height() - crop.height());
    let difference = |dx: u32, dy: u32| -> u64 {
        crop.enumerate_pixels().map(|(x, y, p)| u64::from(p[0].abs_diff(source.get_pixel(x + dx, y + dy)[0]))).sum()
    };
    let offsets = (0..=free_x).flat_map(|x| (0..=free_y).map(move |y| (x, y)));
    offsets.min_by_key(|&(x, y)| difference(x, y)).unwrap()
}

/// A face of the asset JSON in pixels of a `w`x`h` image: (left, top, right, bottom).
fn face_box(face: &Value, (w, h): (u32, u32)) -> (f64, f64, f64, f64) {
    let f = |k: &str| face[k].as_f64().unwrap();
    let (w, h) = (f64::from(w), f64::from(h));
    (f("x") * w, f("y") * h, (f("x") + f("w")) * w, (f("y") + f("h")) * h)
}

fn holds((left, top): (u32, u32), (w, h): (u32, u32), face: (f64, f64, f64, f64)) -> bool {
    // A pixel of slack for the resampling's rounding.
    f64::from(left) <= face.0 + 1.0
        && f64::from(top) <= face.1 + 1.0
        && f64::from(left + w) >= face.2 - 1.0
        && f64::from(top + h) >= face.3 - 1.0
}

#[tokio::test]
async fn gravity_keeps_the_salient_region_an_edge_or_the_centre() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    upload(&app, &admin, patch_picture(), "g/patch").await;

    // The 400x400 window around the patch keeps all of it: 75x75 px at this scale.
    for t in ["w_200,h_200,c_fill,g_auto", "w_200,h_200,c_thumb", "w_200,h_200,c_cover,g_east"] {
        let kept = coloured(&image_of(render(&app, t, "g/patch").await).await);
        assert!(kept >= 5_000, "{t}: {kept} coloured pixels");
    }
    for t in ["w_200,h_200,c_fill", "w_200,h_200,c_fill,g_center", "w_200,h_200,c_fill,g_west"] {
        assert_eq!(coloured(&image_of(render(&app, t, "g/patch").await).await), 0, "{t}");
    }
    let etag = |response: reqwest::Response| response.headers()["etag"].clone();
    assert_eq!(
        etag(render(&app, "w_200,h_200,c_thumb", "g/patch").await),
        etag(render(&app, "w_200,h_200,c_fill,g_auto", "g/patch").await),
        "c_thumb is c_fill,g_auto"
    );
    assert_eq!(
        etag(render(&app, "w_200,h_200,c_fill,g_center", "g/patch").await),
        etag(render(&app, "w_200,h_200,c_fill", "g/patch").await)
    );

    for t in ["w_200,h_200,c_fit,g_auto", "w_200,g_face", "w_200,h_200,c_fill,g_top"] {
        assert_eq!(
            assert_error(render(&app, t, "g/patch").await, StatusCode::BAD_REQUEST).await,
            "invalid_transform",
            "{t}"
        );
    }
}

#[tokio::test]
async fn faces_are_found_at_upload_and_crops_keep_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let asset = upload(&app, &admin, portrait(), "g/portrait").await;
    let faces = asset["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1, "one face: {faces:?}");
    let face = face_box(&faces[0], (200, 300));
    // Where the photograph has it: the head in the top third, left of the middle.
    assert!(face.0 > 40.0 && face.2 < 160.0 && face.1 > 0.0 && face.3 < 110.0, "{face:?}");

    let source = image::load_from_memory(&portrait()).unwrap().to_luma8();
    // Landscape crops of a portrait: the window is the whole width and a third of the height.
    for t in ["w_200,h_100,c_fill,g_face", "w_200,h_100,c_fill,g_faces", "w_200,h_100,c_thumb"] {
        let at = locate(&source, &image_of(render(&app, t, "g/portrait").await).await.to_luma8());
        assert!(holds(at, (200, 100), face), "{t}: the crop at {at:?} cuts the face {face:?}");
    }
    let centre = locate(&source, &image_of(render(&app, "w_200,h_100,c_fill", "g/portrait").await).await.to_luma8());
    assert!(!holds(centre, (200, 100), face), "the centre crop at {centre:?} would not have held it either");

    let asset = upload(&app, &admin, group(), "g/group").await;
    let faces = asset["faces"].as_array().unwrap();
    assert!(faces.len() >= 6, "the front rows hold many faces: {}", faces.len());
    let area = |f: &Value| f["w"].as_f64().unwrap() * f["h"].as_f64().unwrap();
    assert!(faces.windows(2).all(|pair| area(&pair[0]) >= area(&pair[1])), "largest first");
    let largest = face_box(&faces[0], (800, 400));
    let source = image::load_from_memory(&group()).unwrap().to_luma8();
    let tall = image_of(render(&app, "w_100,h_400,c_fill,g_face", "g/group").await).await;
    let at = locate(&source, &tall.to_luma8());
    assert!(holds(at, (100, 400), largest), "the crop at {at:?} cuts the largest face {largest:?}");
}

#[tokio::test]
async fn a_focal_point_is_set_cleared_and_moves_g_auto() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, ann) = app.user("ann@example.com").await;
    let asset = upload(&app, &admin, patch_picture(), "g/focal").await;
    assert_eq!(asset["focal_point"], Value::Null);
    let auto = "w_200,h_200,c_fill,g_auto";
    let before = render(&app, auto, "g/focal").await;
    let etag = before.headers()["etag"].clone();
    assert!(coloured(&image_of(before).await) >= 5_000, "saliency finds the patch");

    let patch = |cred: &Cred, body: Value| {
        let (app, cred) = (&app, cred.clone());
        async move { app.send_json(Method::PATCH, "/v1/assets/g/focal", &cred, body).await }
    };
    let set = patch(&admin, json!({"focal_point": {"x": 0.1, "y": 0.5}})).await;
    assert_eq!(set.status(), StatusCode::OK);
    let point = json!({"x": 0.1, "y": 0.5});
    assert_eq!(set.json::<Value>().await.unwrap()["asset"]["focal_point"], point);
    let read: Value = app.get("/v1/assets/g/focal", &admin).await.json().await.unwrap();
    assert_eq!(read["asset"]["focal_point"], point);
    let moved = render(&app, auto, "g/focal").await;
    assert_ne!(moved.headers()["etag"], etag, "a crop around the old point is not served");
    assert_eq!(coloured(&image_of(moved).await), 0, "the window is at the left edge now");

    for bad in
        [json!({"x": 2, "y": 0}), json!({"x": 0.5}), json!("0.5,0.5"), json!({"x": "a", "y": 0}), json!([0.5, 0.5])]
    {
        let refused = patch(&admin, json!({ "focal_point": bad })).await;
        assert_eq!(assert_error(refused, StatusCode::BAD_REQUEST).await, "invalid_focal_point", "{bad}");
    }
    assert_error(patch(&ann, json!({"focal_point": null})).await, StatusCode::FORBIDDEN).await;
    let tagged = patch(&admin, json!({"tags": ["kept"]})).await.json::<Value>().await.unwrap();
    assert_eq!(tagged["asset"]["focal_point"], point, "a PATCH without it keeps it");

    let cleared = patch(&admin, json!({"focal_point": null})).await.json::<Value>().await.unwrap();
    assert_eq!(cleared["asset"]["focal_point"], Value::Null);
    assert_eq!(render(&app, auto, "g/focal").await.headers()["etag"], etag, "back to the saliency crop");

    patch(&admin, json!({"focal_point": point})).await;
    let replaced =
        app.upload(&admin, Some((patch_picture(), "p.png")), &[("public_id", "g/focal"), ("overwrite", "true")]);
    let replaced: Value = replaced.await.json().await.unwrap();
    assert_eq!(replaced["asset"]["focal_point"], Value::Null, "an overwrite clears it");
}

#[tokio::test]
async fn placeholders_describe_the_image_and_older_assets_have_none() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let asset = app.upload_photo(&admin, &[("public_id", "g/photo")]).await;
    let decoded = image::load_from_memory(&photo()).unwrap().to_rgb8();
    let pixels = f64::from(decoded.width() * decoded.height());
    let mean: Vec<f64> =
        (0..3).map(|c| decoded.pixels().map(|p| f64::from(p[c])).sum::<f64>() / pixels / 255.0).collect();
    let hash = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, asset["thumbhash"].as_str().unwrap())
        .expect("standard base64");
    let (r, g, b, a) = thumbhash::thumb_hash_to_average_rgba(&hash).unwrap();
    for (got, want) in [r, g, b].into_iter().zip(&mean) {
        assert!((f64::from(got) - want).abs() < 0.06, "average {r} {g} {b}, the photo's {mean:?}");
    }
    assert!(a > 0.99, "opaque");
    let (w, h, _) = thumbhash::thumb_hash_to_rgba(&hash).unwrap();
    assert!((w as f64 / h as f64 - 1000.0 / 667.0).abs() < 0.25, "the aspect ratio: {w}x{h}");

    let solid =
        RgbImage::from_fn(300, 200, |x, _| if x < 200 { image::Rgb([200, 60, 30]) } else { image::Rgb([10, 10, 10]) });
    let mut png = Vec::new();
    solid.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let solid = upload(&app, &admin, png, "g/solid").await;
    assert_eq!(solid["dominant_color"], "#c83c1e", "the larger area's colour");
    assert_eq!(solid["faces"], json!([]));

    // As an earlier release stored it: no analysis.
    let meta = app.meta_store().await;
    let mut old = meta.asset("g/photo").await.unwrap().unwrap();
    (old.public_id, old.analysis) = ("g/old".into(), None);
    meta.create_asset(&old).await.unwrap();
    let old: Value = app.get("/v1/assets/g/old", &admin).await.json().await.unwrap();
    assert_eq!(
        (&old["asset"]["faces"], &old["asset"]["thumbhash"], &old["asset"]["dominant_color"]),
        (&json!([]), &Value::Null, &Value::Null)
    );
    let thumb = app.get("/v1/image/w_100,h_100,c_thumb/g/old", &Cred::None).await;
    assert_eq!(thumb.status(), StatusCode::OK, "crops without faces fall back to saliency");
}
