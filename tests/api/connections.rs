//! SPEC §15 "Connections", over real TCP: stalled headers, idle keep-alive connections and stalled
//! bodies are cut off, the connection cap holds new connections back until a slot frees, and uploads past their cap are
//! refused before their bodies are read.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::{assert_error, photo, spawn_app_with, Cred, TestApp};

const BOUNDARY: &str = "connections-test-boundary";

fn addr(app: &TestApp) -> SocketAddr {
    app.server.as_ref().expect("the server runs").addr
}

/// A request line and one header, and then nothing.
async fn half_sent_request(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    stream
}

/// An upload whose headers announce 20 MB and whose body stops after the start of a 1 MB file part.
async fn stalled_upload(addr: SocketAddr, key: &Cred) -> TcpStream {
    let Cred::Key(authorization) = key else { panic!("an API key") };
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/upload HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 20000000\r\n\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut part = photo();
    part.resize(1 << 20, 0);
    stream.write_all(&part).await.unwrap();
    stream
}

/// Reads what the server sends until it closes the connection; `None` if it is still open after
/// `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read).await.ok()?;
    Some(received)
}

/// A client of its own: no pooled connection that a short header timeout may have closed.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn stalled_headers_are_cut_off_and_healthz_answers_again() {
    let app = spawn_app_with(&[("IMGCLOUD_HEADER_TIMEOUT_SECONDS", "1"), ("IMGCLOUD_MAX_CONNECTIONS", "20")]).await;
    let mut stalled = Vec::new();
    for _ in 0..30 {
        stalled.push(half_sent_request(addr(&app)).await);
    }
    // Past the cap: this one waits in the backlog until the first stalled ones are timed out.
    let started = Instant::now();
    let health = tokio::time::timeout(Duration::from_secs(6), fresh_client().get(app.url("/healthz")).send())
        .await
        .expect("/healthz answers within a few seconds")
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(6));
    for (i, mut stream) in stalled.into_iter().enumerate() {
        let sent = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        assert!(sent.is_some(), "stalled connection {i} is closed by the server");
    }
    // And the server keeps answering.
    assert_eq!(fresh_client().get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(&[("IMGCLOUD_HEADER_TIMEOUT_SECONDS", "1")]).await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200", "answered, and kept alive");
    // Then nothing more is sent: the connection must not stay open for ever.
    let started = Instant::now();
    let rest = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(rest.is_some(), "an idle keep-alive connection is closed by the server");
    assert!(started.elapsed() >= Duration::from_millis(500), "not before the timeout: {:?}", started.elapsed());
}

#[tokio::test]
async fn past_the_connection_cap_a_new_connection_waits_for_a_free_slot() {
    let app = spawn_app_with(&[("IMGCLOUD_MAX_CONNECTIONS", "2")]).await;
    let held = [half_sent_request(addr(&app)).await, half_sent_request(addr(&app)).await];
    let health = tokio::spawn(fresh_client().get(app.url("/healthz")).send());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!health.is_finished(), "a third connection is not served while two are open");
    drop(held);
    let health = tokio::time::timeout(Duration::from_secs(5), health)
        .await
        .expect("served as soon as a slot frees")
        .unwrap()
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_stalled_upload_body_is_answered_408_and_closed() {
    let app = spawn_app_with(&[("IMGCLOUD_BODY_TIMEOUT_SECONDS", "1")]).await;
    let key = app.key(&app.admin().await).await;
    let mut stream = stalled_upload(addr(&app), &key).await;
    let started = Instant::now();
    let answer = read_until_closed(&mut stream, Duration::from_secs(6)).await.expect("answered and closed in time");
    assert!(started.elapsed() < Duration::from_secs(6));
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole response");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("\r\ncache-control: no-store\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-type: application/json\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    let body: Value = serde_json::from_str(body).expect("a JSON error");
    assert_eq!(body["code"], "request_timeout", "{body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");

    assert_eq!(fresh_client().get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.stored_files().await, Vec::<String>::new(), "nothing stored");
}

#[tokio::test]
async fn a_stalled_json_body_is_answered_408() {
    let app = spawn_app_with(&[("IMGCLOUD_BODY_TIMEOUT_SECONDS", "1")]).await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    let request = "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                   Content-Length: 100\r\n\r\n{\"email\": \"admin@";
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(6)).await.expect("answered and closed in time");
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
}

#[tokio::test]
async fn uploads_past_the_in_flight_cap_are_503_busy_and_store_nothing() {
    let app = spawn_app_with(&[("IMGCLOUD_UPLOADS_IN_FLIGHT", "2")]).await;
    let key = app.key(&app.admin().await).await;
    let held = [stalled_upload(addr(&app), &key).await, stalled_upload(addr(&app), &key).await];
    // Wait until both hold their places: an empty file would be 400 if it got one.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let probe = app.upload(&key, Some((Vec::new(), "empty.jpg")), &[]).await;
        if probe.status() == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        assert_eq!(probe.status(), StatusCode::BAD_REQUEST);
        assert!(Instant::now() < deadline, "the stalled uploads never filled the cap");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let refused = app.upload(&key, Some((photo(), "photo.jpg")), &[("public_id", "refused")]).await;
    assert_eq!(refused.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
    assert_eq!(refused.headers().get("cache-control").unwrap(), "no-store");
    assert_eq!(assert_error(refused, StatusCode::SERVICE_UNAVAILABLE).await, "busy");
    let list: Value = app.get("/v1/assets", &key).await.json().await.unwrap();
    assert_eq!(list["assets"], serde_json::json!([]), "no asset was created");
    assert_eq!(app.stored_files().await, Vec::<String>::new(), "no blob was stored");

    // The places come back when the stalled uploads end.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = app.upload(&key, Some((photo(), "photo.jpg")), &[("public_id", "accepted")]).await;
        if response.status() != StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(response.status(), StatusCode::CREATED);
            break;
        }
        assert!(Instant::now() < deadline, "the places never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
