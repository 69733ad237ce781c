use reqwest::{multipart, Method, StatusCode};
use serde_json::Value;

use crate::support::*;

async fn setup() -> (TestApp, Cred) {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = app.key(&admin).await;
    (app, key)
}

#[tokio::test]
async fn an_upload_gets_a_generated_id_and_the_image_s_own_size_and_format() {
    let (app, key) = setup().await;
    let response = app.upload(&key, Some((photo(), "My Photo.JPG")), &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let asset: Value = response.json::<Value>().await.unwrap()["asset"].clone();
    let id = asset["public_id"].as_str().unwrap();
    let (slug, hex) = id.rsplit_once('-').unwrap();
    assert_eq!(slug, "my-photo");
    assert!(hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(asset["url"], format!("{}/v1/image/{id}", app.base));
    assert_eq!((asset["width"].as_u64(), asset["height"].as_u64()), (Some(1000), Some(667)));
    assert_eq!(asset["format"], "jpg");
    assert_eq!(asset["content_type"], "image/jpeg");
    assert_eq!(asset["bytes"].as_u64().unwrap() as usize, photo().len());
    assert_eq!(asset["visibility"], "public");
    assert_eq!(asset["folder"], "");
    assert_eq!(asset["tags"], serde_json::json!([]));
    assert_eq!(asset["version"], 1);
    assert_eq!(asset["original_filename"], "My Photo.JPG");
    let mut keys: Vec<_> = asset.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "bytes",
            "content_type",
            "created_at",
            "dominant_color",
            "faces",
            "focal_point",
            "folder",
            "format",
            "height",
            "original_filename",
            "owner_id",
            "public_id",
            "revision",
            "tags",
            "thumbhash",
            "updated_at",
            "url",
            "version",
            "visibility",
            "width"
        ]
    );
}

#[tokio::test]
async fn every_accepted_format_is_recognised_by_its_bytes() {
    let (app, key) = setup().await;
    for (file, format, width, height) in [
        ("alpha_1024x1024.png", "png", 1024, 1024),
        ("photo_1920x1200.webp", "webp", 2560, 1600),
        ("anim_245x245_42f.gif", "gif", 245, 245),
        ("photo_12mp_4000x3000.jpg", "jpg", 4000, 3000),
    ] {
        // A misleading name changes nothing: the bytes decide.
        let response = app.upload(&key, Some((corpus(file), "looks-like.svg")), &[]).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{file}");
        let asset = response.json::<Value>().await.unwrap()["asset"].clone();
        assert_eq!(
            (asset["format"].as_str().unwrap(), asset["width"].as_u64().unwrap(), asset["height"].as_u64().unwrap()),
            (format, width, height)
        );
    }
}

#[tokio::test]
async fn folder_tags_visibility_and_a_chosen_public_id_are_kept() {
    let (app, key) = setup().await;
    let asset = app
        .upload_photo(
            &key,
            &[
                ("public_id", "marketing/hero"),
                ("folder", "marketing"),
                ("tags", "hero, homepage"),
                ("visibility", "private"),
            ],
        )
        .await;
    assert_eq!(asset["public_id"], "marketing/hero");
    assert_eq!(asset["folder"], "marketing");
    assert_eq!(asset["tags"], serde_json::json!(["hero", "homepage"]));
    assert_eq!(asset["visibility"], "private");

    let derived = app.upload_photo(&key, &[("public_id", "blog/2026/cover")]).await;
    assert_eq!(derived["folder"], "blog/2026", "the folder is the id's directory part");
    let generated = app.upload_photo(&key, &[("folder", "gallery")]).await;
    assert!(generated["public_id"].as_str().unwrap().starts_with("gallery/photo-"), "{generated}");
}

#[tokio::test]
async fn an_existing_public_id_without_overwrite_is_409_and_the_original_stays() {
    let (app, key) = setup().await;
    let first = app.upload_photo(&key, &[("public_id", "keep-me")]).await;
    let again = app.upload(&key, Some((corpus("alpha_1024x1024.png"), "other.png")), &[("public_id", "keep-me")]).await;
    assert_eq!(assert_error(again, StatusCode::CONFLICT).await, "already_exists");
    let stored: Value = app.get("/v1/assets/keep-me", &key).await.json().await.unwrap();
    assert_eq!(stored["asset"], first);
    assert_eq!(app.get("/v1/image/keep-me", &Cred::None).await.bytes().await.unwrap(), photo());
}

#[tokio::test]
async fn overwrite_swaps_in_a_new_version_and_removes_the_old_bytes() {
    let (app, key) = setup().await;
    let first = app.upload_photo(&key, &[("public_id", "swap"), ("tags", "a"), ("visibility", "private")]).await;
    let files_before = app.stored_files().await;
    let response = app
        .upload(&key, Some((corpus("alpha_1024x1024.png"), "new.png")), &[("public_id", "swap"), ("overwrite", "true")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = response.json::<Value>().await.unwrap()["asset"].clone();
    assert_eq!(second["version"], 2);
    assert_eq!(second["format"], "png");
    assert_eq!(second["created_at"], first["created_at"]);
    assert_eq!(second["tags"], first["tags"], "fields not sent are kept");
    assert_eq!(second["visibility"], "private", "an overwrite never publishes a private asset by omission");
    let delivered = app.get("/v1/image/swap", &key).await;
    assert_eq!(delivered.headers()["content-type"], "image/png");
    assert_eq!(delivered.bytes().await.unwrap(), corpus("alpha_1024x1024.png"));
    let files_after = app.stored_files().await;
    assert_eq!(files_after.len(), 2, "the new original and its lossless master: {files_after:?}");
    assert!(files_before.iter().all(|f| !files_after.contains(f)), "the old original is gone");

    let fresh = app.upload(&key, Some((photo(), "p.jpg")), &[("public_id", "brand-new"), ("overwrite", "true")]).await;
    assert_eq!(fresh.status(), StatusCode::CREATED, "overwrite=true on a new id creates it");
}

#[tokio::test]
async fn only_the_owner_or_an_admin_may_overwrite() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    let ann_asset = app.upload_photo(&ann, &[("public_id", "anns")]).await;
    let response = app
        .upload(&bob, Some((corpus("alpha_1024x1024.png"), "x.png")), &[("public_id", "anns"), ("overwrite", "true")])
        .await;
    assert_error(response, StatusCode::FORBIDDEN).await;
    let admin = app.admin().await;
    let stored: Value = app.get("/v1/assets/anns", &admin).await.json().await.unwrap();
    assert_eq!(stored["asset"], ann_asset);
    let by_admin = app.upload(&admin, Some((photo(), "x.jpg")), &[("public_id", "anns"), ("overwrite", "true")]).await;
    assert_eq!(by_admin.status(), StatusCode::OK);
    assert_eq!(by_admin.json::<Value>().await.unwrap()["asset"]["owner_id"], ann_asset["owner_id"], "the owner stays");
}

/// A named upload: the file (bytes, name), the text fields, and the status it must get.
type Case<'a> = (&'a str, Option<(Vec<u8>, &'a str)>, Vec<(&'a str, &'a str)>, StatusCode);

/// Each rejected upload answers its status and leaves nothing behind.
#[tokio::test]
async fn bad_uploads_are_refused_with_their_status_and_write_nothing() {
    let (app, key) = setup().await;
    let jpeg = photo();
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let cases: Vec<Case> = vec![
        ("truncated jpeg", Some((jpeg[..jpeg.len() / 2].to_vec(), "t.jpg")), vec![], StatusCode::BAD_REQUEST),
        (
            "truncated png",
            Some((corpus("alpha_1024x1024.png")[..300_000].to_vec(), "t.png")),
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "png signature + svg",
            Some((b"\x89PNG\r\n\x1a\n<svg/>".to_vec(), "c.png")),
            vec![],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("svg", Some((svg.clone(), "x.svg")), vec![], StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("svg named png", Some((svg, "x.png")), vec![], StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "gif header + html",
            Some((b"GIF89a<html><script>alert(1)</script></html>".to_vec(), "x.gif")),
            vec![],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("pdf", Some((b"%PDF-1.7\n1 0 obj".to_vec(), "x.pdf")), vec![], StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("empty file", Some((Vec::new(), "e.jpg")), vec![], StatusCode::BAD_REQUEST),
        ("missing file", None, vec![("public_id", "x")], StatusCode::BAD_REQUEST),
        ("huge declared png", Some((png_header(100_000, 100_000), "bomb.png")), vec![], StatusCode::PAYLOAD_TOO_LARGE),
        ("overwrite=yes", Some((jpeg.clone(), "p.jpg")), vec![("overwrite", "yes")], StatusCode::BAD_REQUEST),
        ("visibility=secret", Some((jpeg.clone(), "p.jpg")), vec![("visibility", "secret")], StatusCode::BAD_REQUEST),
        ("bad tags", Some((jpeg.clone(), "p.jpg")), vec![("tags", "ok,<script>")], StatusCode::BAD_REQUEST),
        ("unknown field", Some((jpeg.clone(), "p.jpg")), vec![("colour", "red")], StatusCode::BAD_REQUEST),
        ("transform-shaped id", Some((jpeg.clone(), "p.jpg")), vec![("public_id", "w_400/x")], StatusCode::BAD_REQUEST),
        ("bad folder", Some((jpeg.clone(), "p.jpg")), vec![("folder", "../up")], StatusCode::BAD_REQUEST),
    ];
    for (name, file, fields, status) in cases {
        let response = app.upload(&key, file, &fields).await;
        assert_eq!(response.status(), status, "{name}");
        assert_error(response, status).await;
    }
    let long_tags = (0..33).map(|i| format!("t{i}")).collect::<Vec<_>>().join(",");
    assert_error(app.upload(&key, Some((jpeg, "p.jpg")), &[("tags", &long_tags)]).await, StatusCode::BAD_REQUEST).await;
    for id in ["../x", "%2e%2e%2f", "..\\x", "/abs", "a\0b", "a\x01b", "é", &"a".repeat(256), "a//b", "trailing/"] {
        let response = app.upload(&key, Some((photo(), "p.jpg")), &[("public_id", id)]).await;
        assert_eq!(assert_error(response, StatusCode::BAD_REQUEST).await, "invalid_public_id", "{id:?}");
    }
    assert_nothing_stored(&app, &key).await;
}

#[tokio::test]
async fn malformed_multipart_bodies_are_400_and_other_bodies_415() {
    let (app, key) = setup().await;
    let no_boundary = app
        .req(Method::POST, "/v1/upload", &key)
        .header("content-type", "multipart/form-data")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_error(no_boundary, StatusCode::BAD_REQUEST).await;
    let json = app.req(Method::POST, "/v1/upload", &key).json(&serde_json::json!({"file": "x"})).send().await.unwrap();
    assert_error(json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let raw = app
        .req(Method::POST, "/v1/upload", &key)
        .header("content-type", "image/jpeg")
        .body(photo())
        .send()
        .await
        .unwrap();
    assert_error(raw, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let garbage = app
        .req(Method::POST, "/v1/upload", &key)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body("--XyZ\r\nnot a header\r\n\r\n")
        .send()
        .await
        .unwrap();
    assert_error(garbage, StatusCode::BAD_REQUEST).await;
    let twice = multipart::Form::new()
        .part("file", multipart::Part::bytes(photo()).file_name("a.jpg"))
        .part("file", multipart::Part::bytes(photo()).file_name("b.jpg"));
    assert_error(
        app.req(Method::POST, "/v1/upload", &key).multipart(twice).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let ids_twice = multipart::Form::new()
        .text("public_id", "one")
        .text("public_id", "two")
        .part("file", multipart::Part::bytes(photo()).file_name("a.jpg"));
    assert_error(
        app.req(Method::POST, "/v1/upload", &key).multipart(ids_twice).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(app.upload(&Cred::None, Some((photo(), "p.jpg")), &[]).await, StatusCode::UNAUTHORIZED).await;
    assert_nothing_stored(&app, &key).await;
}

#[tokio::test]
async fn an_upload_one_byte_over_the_cap_is_413_also_when_chunked() {
    let cap = photo().len() - 1;
    let app = spawn_app_with(&[("IMGCLOUD_MAX_UPLOAD_BYTES", &cap.to_string())]).await;
    let admin = app.admin().await;
    let key = app.key(&admin).await;
    let response = app.upload(&key, Some((photo(), "p.jpg")), &[]).await;
    assert_eq!(assert_error(response, StatusCode::PAYLOAD_TOO_LARGE).await, "file_too_large");

    // Chunked (no Content-Length): refused while streaming.
    let boundary = "chunkedboundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n\r\n")
        .into_bytes();
    body.extend(photo());
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(8192).map(|c| Ok(c.to_vec())).collect();
    let stream = futures::stream::iter(chunks);
    let response = app
        .req(Method::POST, "/v1/upload", &key)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    let fits = app.upload(&key, Some((corpus("photo_1920x1200.webp"), "a.webp")), &[]).await;
    assert_eq!(fits.status(), StatusCode::CREATED, "a file under the cap passes");
}

#[tokio::test]
async fn a_gif_over_the_frame_cap_is_413() {
    let app = spawn_app_with(&[("IMGCLOUD_MAX_FRAMES", "10")]).await;
    let admin = app.admin().await;
    let response = app.upload(&admin, Some((corpus("anim_245x245_42f.gif"), "a.gif")), &[]).await;
    assert_eq!(assert_error(response, StatusCode::PAYLOAD_TOO_LARGE).await, "image_too_large");
}

#[tokio::test]
async fn concurrent_uploads_of_one_new_public_id_give_exactly_one_201() {
    let (app, key) = setup().await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, key) = (app.clone(), key.clone());
            tokio::spawn(async move {
                app.upload(&key, Some((photo(), "p.jpg")), &[("public_id", "contested")]).await.status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 19, "{statuses:?}");
    // The losers' blobs are gone: one original remains.
    assert_eq!(app.stored_files().await.len(), 1);
}

async fn assert_nothing_stored(app: &TestApp, key: &Cred) {
    let list: Value = app.get("/v1/assets", key).await.json().await.unwrap();
    assert_eq!(list["assets"], serde_json::json!([]), "no asset was created");
    assert_eq!(app.stored_files().await, Vec::<String>::new(), "no blob was left");
}

/// The PNG signature and a valid IHDR chunk declaring `width`×`height`, and nothing else.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
