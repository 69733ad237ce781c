//! Throughput of the metadata and upload paths.

use reqwest::StatusCode;

use crate::{corpus, load::run, server::TestServer};

pub async fn bench(seconds: u64) {
    let server = TestServer::start().await;
    let jpeg = one_megabyte_jpeg();
    let asset = server.upload(&jpeg, &[]).await.expect("first upload");
    let url = format!("{}/v1/assets/{}", server.base, asset["public_id"].as_str().unwrap());

    let (client, key) = (server.client.clone(), server.key.clone());
    let reads = run(64, seconds, move |_| {
        let (client, key, url) = (client.clone(), key.clone(), url.clone());
        async move {
            match client.get(&url).header("authorization", &key).send().await {
                Ok(r) => r.status() == StatusCode::OK && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    reads.print("GET /v1/assets/:id with an API key, 64 clients", None);

    let server = std::sync::Arc::new(server);
    let uploads = run(4, seconds, {
        let (server, jpeg) = (server.clone(), jpeg.clone());
        move |_| {
            let (server, jpeg) = (server.clone(), jpeg.clone());
            async move { server.upload(&jpeg, &[]).await.is_some() }
        }
    })
    .await;
    uploads.print(&format!("POST /v1/upload of a {}-byte JPEG, 4 clients", jpeg.len()), Some(jpeg.len()));
    if let Ok(server) = std::sync::Arc::try_unwrap(server) {
        server.stop().await;
    }
}

/// The 12 MP corpus photo scaled to 2000×1500 and encoded at quality 85: about 1 MB.
fn one_megabyte_jpeg() -> Vec<u8> {
    let image = image::load_from_memory(&corpus("photo_12mp_4000x3000.jpg")).expect("the corpus photo decodes");
    let image = image.resize_exact(2000, 1500, image::imageops::FilterType::Triangle);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&image).unwrap();
    out
}
