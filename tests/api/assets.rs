use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn the_owner_reads_changes_and_deletes_an_asset() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    let key = app.key(&ann).await;
    let asset = app.upload_photo(&key, &[("public_id", "marketing/hero")]).await;

    let got: Value = app.get("/v1/assets/marketing/hero", &key).await.json().await.unwrap();
    assert_eq!(got["asset"], asset);

    let patched = app
        .send_json(
            Method::PATCH,
            "/v1/assets/marketing/hero",
            &key,
            json!({"tags": ["a", "b"], "folder": "archive", "visibility": "private"}),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched = patched.json::<Value>().await.unwrap()["asset"].clone();
    assert_eq!(patched["tags"], json!(["a", "b"]));
    assert_eq!(patched["folder"], "archive");
    assert_eq!(patched["visibility"], "private");
    assert_eq!(patched["version"], 1, "metadata changes keep the content version");
    assert_eq!(patched["public_id"], "marketing/hero");
    let csv = app.send_json(Method::PATCH, "/v1/assets/marketing/hero", &key, json!({"tags": "archived,old"})).await;
    assert_eq!(csv.json::<Value>().await.unwrap()["asset"]["tags"], json!(["archived", "old"]));

    assert_eq!(
        app.req(Method::DELETE, "/v1/assets/marketing/hero", &key).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_error(app.get("/v1/assets/marketing/hero", &key).await, StatusCode::NOT_FOUND).await;
    assert_error(app.get("/v1/image/marketing/hero", &Cred::None).await, StatusCode::NOT_FOUND).await;
    assert_error(
        app.req(Method::DELETE, "/v1/assets/marketing/hero", &key).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(app.stored_files().await.is_empty(), "the original is removed");
}

#[tokio::test]
async fn patch_bodies_are_validated() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.upload_photo(&admin, &[("public_id", "p")]).await;
    for body in [
        json!({"visibility": "secret"}),
        json!({"tags": "a,,b"}),
        json!({"tags": 5}),
        json!({"folder": "/abs"}),
        json!({"public_id": "renamed"}),
    ] {
        assert_error(app.send_json(Method::PATCH, "/v1/assets/p", &admin, body.clone()).await, StatusCode::BAD_REQUEST)
            .await;
    }
    let unchanged: Value = app.get("/v1/assets/p", &admin).await.json().await.unwrap();
    assert_eq!(unchanged["asset"]["tags"], json!([]));
}

#[tokio::test]
async fn another_user_gets_403_on_every_asset_verb_and_the_asset_is_unchanged() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    let bob_key = app.key(&bob).await;
    let asset = app.upload_photo(&ann, &[("public_id", "anns-photo"), ("visibility", "private")]).await;
    for cred in [&bob, &bob_key] {
        assert_error(app.get("/v1/assets/anns-photo", cred).await, StatusCode::FORBIDDEN).await;
        assert_error(
            app.send_json(Method::PATCH, "/v1/assets/anns-photo", cred, json!({"visibility": "public"})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_error(
            app.req(Method::DELETE, "/v1/assets/anns-photo", cred).send().await.unwrap(),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let admin = app.admin().await;
    let stored: Value = app.get("/v1/assets/anns-photo", &admin).await.json().await.unwrap();
    assert_eq!(stored["asset"], asset, "admins read every asset, and nothing changed");
    assert_error(app.get("/v1/assets/anns-photo", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
    assert_error(app.get("/v1/assets/nothing-here", &admin).await, StatusCode::NOT_FOUND).await;
    assert_error(app.get("/v1/assets/..%2f..%2fetc%2fpasswd", &admin).await, StatusCode::BAD_REQUEST).await;
}

/// A 16×16 PNG: many uploads, quickly.
fn tiny_png() -> Vec<u8> {
    let mut png = Vec::new();
    image::RgbImage::from_pixel(16, 16, image::Rgb([200, 30, 90]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

/// A page reads a bounded number of index entries: a combination of two broad filters that match
/// together only once comes back in pages shorter than asked, whose cursors still lead to exactly
/// the matches.
#[tokio::test]
async fn a_rare_combination_of_broad_filters_pages_short_but_whole() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    // 45 tagged `broad`, then 45 in the folder `wide`; only the first is in both.
    let specs: Vec<(String, &str, &str)> = (0..90)
        .map(|i| match i {
            0 => (format!("n{i:02}"), "wide", "broad"),
            1..45 => (format!("n{i:02}"), "", "broad"),
            _ => (format!("n{i:02}"), "wide", ""),
        })
        .collect();
    let png = tiny_png();
    for (id, folder, tags) in &specs {
        let fields = [("public_id", id.as_str()), ("folder", *folder), ("tags", *tags)];
        let response = app.upload(&ann, Some((png.clone(), "tiny.png")), &fields).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{id}");
    }

    let (mut seen, mut pages, mut short) = (Vec::new(), 0, 0);
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/v1/assets?tag=broad&folder=wide&limit=1&cursor={c}"),
            None => "/v1/assets?tag=broad&folder=wide&limit=1".to_owned(),
        };
        let page: Value = app.get(&query, &ann).await.json().await.unwrap();
        let assets = page["assets"].as_array().unwrap();
        assert!(assets.len() <= 1, "{page}");
        pages += 1;
        seen.extend(assets.iter().map(|a| a["public_id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => {
                short += usize::from(assets.is_empty());
                cursor = Some(c.to_owned());
            }
            None => break,
        }
        assert!(pages < 10, "the pages end");
    }
    assert_eq!(seen, ["n00"], "exactly the one match, after {pages} pages");
    assert!(short >= 1, "a page of 1 reads 40 entries at most: the first comes back empty, with a cursor");
    let both: Value = app.get("/v1/assets?tag=broad&folder=wide&q=n0&limit=5", &ann).await.json().await.unwrap();
    assert_eq!(both["assets"].as_array().unwrap().len(), 1, "a narrow prefix reads its whole range: {both}");
}

#[tokio::test]
async fn the_list_is_newest_first_scoped_filtered_and_paged() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    for (id, folder, tags, visibility) in [
        ("gallery/a", "gallery", "hero", "public"),
        ("gallery/b", "gallery", "hero,night", "private"),
        ("c", "", "night", "public"),
        ("gallery-2/d", "gallery-2", "", "public"),
        ("e", "", "", "private"),
    ] {
        app.upload_photo(&ann, &[("public_id", id), ("folder", folder), ("tags", tags), ("visibility", visibility)])
            .await;
    }
    app.upload_photo(&bob, &[("public_id", "bobs")]).await;

    let ids = |v: &Value| {
        v["assets"].as_array().unwrap().iter().map(|a| a["public_id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let list = |query: &'static str, cred: &Cred| {
        let (app, cred) = (&app, cred.clone());
        async move { app.get(&format!("/v1/assets{query}"), &cred).await.json::<Value>().await.unwrap() }
    };
    assert_eq!(ids(&list("", &ann).await), ["e", "gallery-2/d", "c", "gallery/b", "gallery/a"]);
    assert_eq!(ids(&list("", &bob).await), ["bobs"]);
    assert_eq!(ids(&list("", &app.admin().await).await).len(), 6, "admins see everyone's");
    assert_eq!(ids(&list("?folder=gallery", &ann).await), ["gallery/b", "gallery/a"]);
    assert_eq!(ids(&list("?tag=night", &ann).await), ["c", "gallery/b"]);
    assert_eq!(ids(&list("?visibility=private", &ann).await), ["e", "gallery/b"]);
    assert_eq!(ids(&list("?q=gallery", &ann).await), ["gallery-2/d", "gallery/b", "gallery/a"]);
    assert_eq!(ids(&list("?q=gallery/&tag=hero&visibility=public", &ann).await), ["gallery/a"]);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/v1/assets?limit=2&cursor={c}"),
            None => "/v1/assets?limit=2".to_owned(),
        };
        let page: Value = app.get(&query, &ann).await.json().await.unwrap();
        assert!(ids(&page).len() <= 2);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["e", "gallery-2/d", "c", "gallery/b", "gallery/a"], "pages neither skip nor repeat");

    for bad in [
        "?limit=0",
        "?limit=101",
        "?limit=abc",
        "?cursor=garbage!",
        "?visibility=secret",
        "?colour=red",
        "?folder=../x",
    ] {
        assert_error(app.get(&format!("/v1/assets{bad}"), &ann).await, StatusCode::BAD_REQUEST).await;
    }
    assert_error(app.get("/v1/assets", &Cred::None).await, StatusCode::UNAUTHORIZED).await;
}
