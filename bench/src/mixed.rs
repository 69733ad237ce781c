//! The load check: 64 clients mixing uploads, signed deliveries of private assets and public
//! deliveries (cached and new variants) for a fixed time. Passes when no request got a 5xx and
//! every upload answered 201 is listed and deliverable afterwards.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{corpus, load::run, server::TestServer};

pub async fn bench(seconds: u64) {
    let server = Arc::new(TestServer::start().await);
    let photo = Arc::new(corpus("photo_1000x667.jpg"));
    server.upload(&photo, &[("public_id", "public-base")]).await.expect("upload");
    let private = "private-base";
    server.upload(&photo, &[("public_id", private), ("visibility", "private")]).await.expect("upload");
    let signed = sign(&server, private).await;
    let uploaded: Arc<Mutex<Vec<String>>> = Arc::default();
    let server_errors = Arc::new(std::sync::atomic::AtomicU64::new(0));

    let outcome = run(64, seconds, {
        let (server, photo, uploaded, server_errors) =
            (server.clone(), photo.clone(), uploaded.clone(), server_errors.clone());
        move |n| {
            let (server, photo, uploaded, server_errors, signed) =
                (server.clone(), photo.clone(), uploaded.clone(), server_errors.clone(), signed.clone());
            async move {
                let (url, is_upload) = match n % 10 {
                    0 => (String::new(), true),
                    1..=3 => (signed.clone(), false),
                    4..=8 => (format!("{}/v1/image/w_300,h_300,c_fill,f_webp/public-base", server.base), false),
                    _ => (format!("{}/v1/image/w_{},f_webp/public-base", server.base, 100 + n % 500), false),
                };
                if is_upload {
                    return match server.upload(&photo, &[]).await {
                        Some(asset) => {
                            uploaded.lock().unwrap().push(asset["public_id"].as_str().unwrap_or_default().to_owned());
                            true
                        }
                        None => false,
                    };
                }
                match server.client.get(&url).send().await {
                    Ok(r) if r.status().is_server_error() && r.status() != StatusCode::SERVICE_UNAVAILABLE => {
                        server_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        false
                    }
                    Ok(r) => r.status() == StatusCode::OK && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
        }
    })
    .await;
    outcome.print("mixed load (10% uploads, 30% signed private, 60% public deliveries), 64 clients", None);

    let ids = uploaded.lock().unwrap().clone();
    let mut lost = 0;
    for id in &ids {
        let listed = server
            .client
            .get(format!("{}/v1/assets/{id}", server.base))
            .header("authorization", &server.key)
            .send()
            .await;
        let delivered = server.client.get(format!("{}/v1/image/{id}", server.base)).send().await;
        let ok = |r: Result<reqwest::Response, reqwest::Error>| r.is_ok_and(|r| r.status() == StatusCode::OK);
        if !(ok(listed) && ok(delivered)) {
            lost += 1;
        }
    }
    let errors = server_errors.load(std::sync::atomic::Ordering::Relaxed);
    println!("uploads answered 201: {}; lost afterwards: {lost}; 5xx answers (503 busy aside): {errors}", ids.len());
    if lost > 0 || errors > 0 {
        eprintln!("load check FAILED");
        std::process::exit(1);
    }
}

async fn sign(server: &TestServer, id: &str) -> String {
    let body: Value = server
        .client
        .post(format!("{}/v1/image/sign", server.base))
        .header("authorization", &server.key)
        .json(&json!({"public_id": id, "transform": "w_400,f_webp", "ttl_seconds": 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["url"].as_str().expect("a signed URL").to_owned()
}
