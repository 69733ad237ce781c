//! `cargo run --release -p imgcloud-bench -- [seconds]`: throughput of the local server on this
//! machine, client and server in one process on loopback (so both share the cores).
//!
//! - authenticated metadata reads: `GET /v1/assets/:id` with an API key;
//! - uploads of a ~1 MB JPEG (made from the corpus), each fully sniffed, decoded and stored.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use imgcloud_core::Config;
use reqwest::{multipart, Client, StatusCode};
use serde_json::{json, Value};

const ADMIN: (&str, &str) = ("bench@example.com", "bench-password-123");

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data_dir = dir.path().display().to_string();
    let config = Config::from_lookup(|k| match k {
        "IMGCLOUD_ADDR" => Some(addr.to_string()),
        "IMGCLOUD_DATA_DIR" => Some(data_dir.clone()),
        "IMGCLOUD_ADMIN_EMAIL" => Some(ADMIN.0.into()),
        "IMGCLOUD_ADMIN_PASSWORD" => Some(ADMIN.1.into()),
        _ => None,
    })
    .unwrap();
    let server = imgcloud_local::serve(config, listener).await.unwrap();
    let base = format!("http://{addr}");
    let client = Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let key = api_key(&client, &base).await;
    let jpeg = one_megabyte_jpeg();

    println!(
        "imgcloud-bench: {} cores, {seconds} s per phase",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let asset = upload(&client, &base, &key, &jpeg).await.expect("first upload");
    let id = asset["public_id"].as_str().unwrap().to_owned();

    let url = format!("{base}/v1/assets/{id}");
    let reads = run(64, seconds, {
        let (client, key) = (client.clone(), key.clone());
        move || {
            let (client, key, url) = (client.clone(), key.clone(), url.clone());
            async move {
                let response = client.get(&url).header("authorization", &key).send().await.ok()?;
                (response.status() == StatusCode::OK && response.bytes().await.is_ok()).then_some(())
            }
        }
    })
    .await;
    reads.print("GET /v1/assets/:id (ApiKey), 64 clients", None);

    let uploads = run(4, seconds, {
        let (client, key, base, jpeg) = (client.clone(), key.clone(), base.clone(), jpeg.clone());
        move || {
            let (client, key, base, jpeg) = (client.clone(), key.clone(), base.clone(), jpeg.clone());
            async move { upload(&client, &base, &key, &jpeg).await.map(drop) }
        }
    })
    .await;
    uploads.print(&format!("POST /v1/upload ({} bytes JPEG), 4 clients", jpeg.len()), Some(jpeg.len()));

    server.stop().await.unwrap();
}

async fn api_key(client: &Client, base: &str) -> String {
    let login = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": ADMIN.0, "password": ADMIN.1}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let key: Value = client
        .post(format!("{base}/v1/api-keys"))
        .header("cookie", cookie)
        .json(&json!({"name": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    format!("ApiKey {}:{}", key["key_id"].as_str().unwrap(), key["key_secret"].as_str().unwrap())
}

async fn upload(client: &Client, base: &str, key: &str, jpeg: &[u8]) -> Option<Value> {
    let form = multipart::Form::new().part("file", multipart::Part::bytes(jpeg.to_vec()).file_name("bench.jpg"));
    let response =
        client.post(format!("{base}/v1/upload")).header("authorization", key).multipart(form).send().await.ok()?;
    if response.status() != StatusCode::CREATED {
        return None;
    }
    response.json::<Value>().await.ok().map(|v| v["asset"].clone())
}

/// The 12 MP corpus photo scaled to 2400×1800 and encoded at quality 90: about 1 MB.
fn one_megabyte_jpeg() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/photo_12mp_4000x3000.jpg");
    let image = image::open(path).expect("the corpus is beside the project");
    let image = image.resize_exact(2400, 1800, image::imageops::FilterType::Triangle);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&image).unwrap();
    out
}

struct Outcome {
    ok: u64,
    failed: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Outcome {
    fn print(&self, what: &str, bytes_each: Option<usize>) {
        let rate = self.ok as f64 / self.elapsed.as_secs_f64();
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        let pct = |p: f64| {
            sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0)
        };
        let throughput = bytes_each.map(|b| format!(", {:.1} MB/s", rate * b as f64 / 1e6)).unwrap_or_default();
        println!(
            "{what}: {rate:.0}/s{throughput} ({} ok, {} failed, p50 {:.2} ms, p99 {:.2} ms)",
            self.ok,
            self.failed,
            pct(0.50) as f64 / 1000.0,
            pct(0.99) as f64 / 1000.0
        );
    }
}

/// Runs `make()`'s request from `clients` concurrent loops for `seconds`.
async fn run<F, Fut>(clients: usize, seconds: u64, make: F) -> Outcome
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<()>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (make, stop, failed) = (make.clone(), stop.clone(), failed.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    match make().await {
                        Some(()) => latencies.push(t.elapsed().as_micros() as u64),
                        None => drop(failed.fetch_add(1, Ordering::Relaxed)),
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.unwrap());
    }
    Outcome {
        ok: latencies_us.len() as u64,
        failed: failed.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
        latencies_us,
    }
}
