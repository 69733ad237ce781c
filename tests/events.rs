//! The saved API Gateway (HTTP API, payload v2) events in `events/` invoked through each Lambda
//! function's handler the way the Lambda runtime does it (`lambda_http`'s adapter: event JSON in,
//! response JSON out), against the aws backend on the moto server `scripts/test` starts.

#[path = "common/aws.rs"]
mod aws_emulator;

use std::sync::{Arc, Mutex};

use axum::Router;
use base64::{engine::general_purpose::STANDARD, Engine};
use imgcloud_core::{clock::now_ms, http, secrets::sha256_hex, store::ApiKeyRecord, usage::period, App, Config};
use lambda_http::{request::LambdaRequest, tower::ServiceExt, Context, LambdaEvent};
use serde_json::Value;

const ADMIN_PASSWORD: &str = "admin-password-for-events";
/// The key and signing secret the saved events were made with (see events/README.md).
const EVENTS_KEY_ID: &str = "ck_events0000000000000";
const EVENTS_KEY_SECRET: &str = "cs_events-secret-for-replayed-requests";
const EVENTS_SIGNING_SECRET: &str = "events-signing-secret-0123456789";

/// The functions' shared app on a fresh bucket and table, as a deployment configures it.
async fn app(extra: &[(&str, &str)]) -> Arc<App> {
    let settings = aws_emulator::fresh_settings().await;
    let deployment = [
        ("IMGCLOUD_ADMIN_EMAIL", "admin@example.com"),
        ("IMGCLOUD_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("IMGCLOUD_SIGNING_SECRET", EVENTS_SIGNING_SECRET),
        ("IMGCLOUD_PUBLIC_URL", "https://abc123.execute-api.eu-west-1.amazonaws.com"),
    ];
    let mut vars = aws_emulator::backend_vars(&settings);
    vars.extend(deployment.iter().chain(extra).map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap();
    let app = imgcloud_core::store::aws::open_app(config).await.unwrap();
    app.bootstrap_admin().await.unwrap();
    app
}

/// Gives the admin the API key the saved events carry.
async fn events_key(app: &App) -> String {
    let admin = app.meta.user_by_email("admin@example.com").await.unwrap().unwrap();
    let key = ApiKeyRecord {
        key_id: EVENTS_KEY_ID.into(),
        owner_id: admin.id.clone(),
        name: "events".into(),
        secret_hash: sha256_hex(EVENTS_KEY_SECRET.as_bytes()),
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    app.meta.create_api_key(&key).await.unwrap();
    admin.id
}

/// The EMF documents every function of this run wrote (in place of its log): a process has one
/// recorder, and each flush takes what every test recorded since the last.
static METRICS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// The routers as the function binaries mount them, their metrics written to [`METRICS`].
fn mount(app: &Arc<App>, routes: Router) -> Router {
    let out = Arc::new(|documents: &[u8]| METRICS.lock().unwrap().extend_from_slice(documents));
    imgcloud_core::lambda::mount_with_metrics(app.clone(), routes, out)
}
fn api(app: &Arc<App>) -> Router {
    mount(app, http::api_routes(app.clone()))
}
fn upload(app: &Arc<App>) -> Router {
    mount(app, http::upload_routes(app.clone()))
}
fn delivery(app: &Arc<App>) -> Router {
    mount(app, http::delivery_routes(app.clone()))
}

/// Invokes `function` with `events/<name>`; returns the response JSON Lambda would send back.
async fn invoke(function: Router, name: &str) -> Value {
    invoke_filled(function, name, &[]).await
}

/// [`invoke`] with the event's `{placeholder}`s filled in: what a saved event cannot know (a
/// signature bound to the revision an upload made in this run).
async fn invoke_filled(function: Router, name: &str, fills: &[(&str, &str)]) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (placeholder, value) in fills {
        text = text.replace(&format!("{{{placeholder}}}"), value);
    }
    invoke_event(function, serde_json::from_str(&text).expect(name)).await
}

async fn invoke_event(function: Router, event: Value) -> Value {
    let event: LambdaRequest = serde_json::from_value(event).unwrap();
    let adapter = lambda_http::Adapter::from(function);
    let response = adapter.oneshot(LambdaEvent::new(event, Context::default())).await.unwrap();
    serde_json::to_value(response).unwrap()
}

fn status(response: &Value) -> u64 {
    response["statusCode"].as_u64().unwrap()
}

fn header<'a>(response: &'a Value, name: &str) -> &'a str {
    response["headers"][name].as_str().unwrap_or_else(|| panic!("no {name} in {response}"))
}

fn json_body(response: &Value) -> Value {
    assert_eq!(response["isBase64Encoded"], false, "{response}");
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

fn image_body(response: &Value) -> image::DynamicImage {
    assert_eq!(response["isBase64Encoded"], true, "images travel base64-encoded");
    let bytes = STANDARD.decode(response["body"].as_str().unwrap()).unwrap();
    image::load_from_memory(&bytes).unwrap()
}

#[tokio::test]
async fn the_api_function_answers_its_events() {
    let app = app(&[]).await;
    let response = invoke(api(&app), "api-healthz.json").await;
    assert_eq!((status(&response), json_body(&response)), (200, serde_json::json!({"status": "ok"})));

    let response = invoke(api(&app), "api-login.json").await;
    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(json_body(&response)["user"]["email"], "admin@example.com");
    let cookie = response["cookies"][0].as_str().unwrap();
    assert!(cookie.starts_with("__Host-imgcloud_session=") && cookie.contains("Secure"), "{cookie}");
    let session = app.meta.user_by_email("admin@example.com").await.unwrap();
    assert!(session.is_some(), "the bootstrapped admin is in DynamoDB");

    let response = invoke(api(&app), "api-login-wrong-password.json").await;
    assert_eq!((status(&response), json_body(&response)["code"].as_str()), (401, Some("invalid_credentials")));
    assert_eq!(status(&invoke(api(&app), "api-assets-list-anonymous.json").await), 401);
    // A function answers only its own routes.
    assert_eq!(status(&invoke(delivery(&app), "api-healthz.json").await), 404);
}

#[tokio::test]
async fn upload_list_and_delivery_events_run_end_to_end_on_s3_and_dynamodb() {
    let app = app(&[]).await;
    let owner = events_key(&app).await;

    let anonymous = invoke(upload(&app), "upload-anonymous.json").await;
    assert_eq!((status(&anonymous), json_body(&anonymous)["code"].as_str()), (401, Some("unauthorized")));

    let uploaded = invoke(upload(&app), "upload-photo.json").await;
    assert_eq!(status(&uploaded), 201, "{uploaded}");
    let asset = json_body(&uploaded)["asset"].clone();
    assert_eq!((asset["public_id"].as_str(), asset["width"].as_u64()), (Some("events/photo"), Some(240)));
    assert_eq!(asset["url"], "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/image/events/photo");
    let private = invoke(upload(&app), "upload-private.json").await;
    assert_eq!(status(&private), 201);
    let revision = json_body(&private)["asset"]["revision"].as_str().unwrap().to_owned();
    let sig = imgcloud_core::signing::Signer::new(EVENTS_SIGNING_SECRET.as_bytes()).unwrap().sign(
        "/v1/image/w_64/events/contract",
        4_102_444_800,
        Some(&revision),
    );
    let signature = [("revision", revision.as_str()), ("sig", sig.as_str())];

    let listed = json_body(&invoke(api(&app), "api-assets-list.json").await);
    let ids: Vec<&str> =
        listed["assets"].as_array().unwrap().iter().map(|a| a["public_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["events/photo"], "tag=replayed: only the tagged upload");

    let variant = invoke(delivery(&app), "delivery-transform.json").await;
    assert_eq!(status(&variant), 200, "{variant}");
    assert_eq!(header(&variant, "content-type"), "image/webp");
    assert_eq!(header(&variant, "x-cache"), "MISS");
    let pixels = image_body(&variant);
    assert_eq!((pixels.width(), pixels.height()), (80, 80));
    let again = invoke(delivery(&app), "delivery-transform.json").await;
    assert_eq!(header(&again, "x-cache"), "HIT", "the variant was stored in S3");

    let original = invoke(delivery(&app), "delivery-original.json").await;
    assert_eq!(status(&original), 200);
    assert_eq!(image_body(&original).width(), 240);

    let signed = invoke_filled(delivery(&app), "delivery-signed.json", &signature).await;
    assert_eq!(status(&signed), 200, "{signed}");
    assert_eq!(image_body(&signed).width(), 64);
    let tampered = invoke_filled(delivery(&app), "delivery-signed-tampered.json", &signature).await;
    assert_eq!((status(&tampered), json_body(&tampered)["code"].as_str()), (401, Some("invalid_signature")));
    assert_eq!(status(&invoke(delivery(&app), "delivery-missing.json").await), 404);

    // Each delivery's usage was stored before its response left (no frozen tally).
    let traffic = app.meta.traffic(&period(now_ms()), Some(&owner)).await.unwrap();
    assert_eq!(traffic[0].requests, 4, "{traffic:?}");
}

#[tokio::test]
async fn a_response_over_the_payload_limit_redirects_to_a_short_lived_s3_url() {
    let app = app(&[("IMGCLOUD_INLINE_MAX_BYTES", "4096")]).await;
    events_key(&app).await;
    assert_eq!(status(&invoke(upload(&app), "upload-photo.json").await), 201);

    let response = invoke(delivery(&app), "delivery-original.json").await;
    assert_eq!(status(&response), 307, "{response}");
    assert_eq!(header(&response, "cache-control"), "no-store");
    let location = header(&response, "location");
    assert!(location.contains("X-Amz-Signature=") && location.contains("X-Amz-Expires=300"), "{location}");
    let fetched = reqwest::get(location).await.unwrap();
    assert_eq!(fetched.status(), 200);
    let original = app.meta.asset("events/photo").await.unwrap().unwrap();
    let stored = app.blobs.get(&imgcloud_core::store::original_key(&original.blob_id)).await.unwrap().unwrap();
    assert_eq!(fetched.bytes().await.unwrap(), stored, "the URL serves the original's bytes");

    let small = invoke(delivery(&app), "delivery-transform.json").await;
    assert_eq!(status(&small), 200, "responses under the limit stay inline: {small}");
}

/// SPEC §15 on Lambda: a response, an error's too, carries API Gateway's id of the request
/// (`requestContext.requestId`), unless the client sent a valid `X-Request-Id` of its own.
#[tokio::test]
async fn a_function_s_response_carries_api_gateway_s_request_id() {
    let app = app(&[]).await;
    let saved = |name: &str| -> Value {
        let text = std::fs::read_to_string(format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let healthz = saved("api-healthz.json");
    let gateway_id = healthz["requestContext"]["requestId"].as_str().unwrap().to_owned();
    assert!(!gateway_id.is_empty());

    let response = invoke(api(&app), "api-healthz.json").await;
    assert_eq!((status(&response), header(&response, "x-request-id")), (200, gateway_id.as_str()));
    let missing = invoke(delivery(&app), "delivery-missing.json").await;
    let missing_id = saved("delivery-missing.json")["requestContext"]["requestId"].as_str().unwrap().to_owned();
    assert_eq!((status(&missing), header(&missing, "x-request-id")), (404, missing_id.as_str()));

    let mut own = healthz.clone();
    own["headers"]["x-request-id"] = "client-chosen.id-1".into();
    assert_eq!(header(&invoke_event(api(&app), own).await, "x-request-id"), "client-chosen.id-1");
    let mut invalid = healthz;
    invalid["headers"]["x-request-id"] = "not valid".into();
    assert_eq!(header(&invoke_event(api(&app), invalid).await, "x-request-id"), gateway_id);
}

/// A saved event with its path (and, for an upload, its multipart body) replaced.
fn event_with(name: &str, path: &str, upload: Option<(&str, &[u8])>) -> Value {
    let text = std::fs::read_to_string(format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["path"] = path.into();
    if let Some((public_id, file)) = upload {
        // The saved upload's boundary (its Content-Type names it).
        let boundary = "--imgcloud-events-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"public_id\"\r\n\r\n{public_id}\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        event["body"] = STANDARD.encode(body).into();
    }
    event
}

/// The delivery function runs the server's render with the server's bounds (issue 11): an
/// animation's output frames count against the pixel cap, a render over its memory budget is
/// refused before it allocates, and neither answer may be cached by CloudFront.
#[tokio::test]
async fn the_delivery_function_bounds_renders_as_the_server_does() {
    let app = app(&[("IMGCLOUD_RENDER_MEMORY_BYTES", "67108864"), ("IMGCLOUD_MAX_ANIMATION_PIXELS", "50000000")]).await;
    events_key(&app).await;
    let gif = std::fs::read(format!("{}/../shared/corpus/anim_245x245_42f.gif", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let uploaded =
        invoke_event(upload(&app), event_with("upload-photo.json", "/v1/upload", Some(("events/anim", &gif)))).await;
    assert_eq!(status(&uploaded), 201, "{uploaded}");
    for (path, code, want) in [
        // 42 frames of 1.44 MP: 60 MP of output.
        ("/v1/image/w_1200,h_1200,c_fill,f_webp/events/anim", 413, "image_too_large"),
        ("/v1/image/w_3000,h_3000,c_fill,f_avif/events/anim", 422, "render_too_large"),
    ] {
        let response = invoke_event(delivery(&app), event_with("delivery-transform.json", path, None)).await;
        assert_eq!((status(&response), json_body(&response)["code"].as_str()), (code, Some(want)), "{path}");
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
    }
    let small =
        invoke_event(delivery(&app), event_with("delivery-transform.json", "/v1/image/w_100,f_webp/events/anim", None))
            .await;
    assert_eq!(status(&small), 200, "{small}");
}

/// SPEC §15 in the Lambda shape: after each response, the figures recorded since the last one are
/// written as CloudWatch embedded-metric documents (one per label set, each label a dimension),
/// and `/readyz` answers once S3 and DynamoDB do.
#[tokio::test]
async fn each_response_writes_its_metrics_in_cloudwatch_s_embedded_format() {
    let app = app(&[]).await;
    // Only this test asks for /readyz: its documents are this request's alone.
    let ready = invoke_event(api(&app), event_with("api-healthz.json", "/readyz", None)).await;
    assert_eq!((status(&ready), json_body(&ready)), (200, serde_json::json!({"status": "ready"})));
    let written = String::from_utf8(METRICS.lock().unwrap().clone()).unwrap();
    let documents: Vec<Value> = written.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    // One document per label set: the count's (route, method, status), the latency's (route).
    let readyz: Vec<&Value> = documents.iter().filter(|d| d["route"] == "/readyz").collect();
    assert_eq!(readyz.len(), 2, "{written}");
    let document = *readyz.iter().find(|d| d["method"].is_string()).expect(&written);
    assert_eq!((document["method"].as_str(), document["status"].as_str()), (Some("GET"), Some("200")));
    assert_eq!(document["imgcloud_http_requests_total"], 1, "{document}");
    let latency = *readyz.iter().find(|d| d["method"].is_null()).expect(&written);
    let seconds = latency["imgcloud_http_request_duration_seconds"].as_array().expect("the request's latency");
    assert!(seconds.len() == 1 && seconds[0].as_f64().unwrap() > 0.0, "{latency}");
    let declared = &document["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], "imgcloud");
    let mut dimensions: Vec<&str> =
        declared["Dimensions"][0].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    dimensions.sort();
    assert_eq!(dimensions, ["method", "route", "status"]);
    let names: Vec<&str> =
        declared["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["imgcloud_http_requests_total"]);
    let unit = &latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0];
    assert_eq!(
        (unit["Name"].as_str(), unit["Unit"].as_str()),
        (Some("imgcloud_http_request_duration_seconds"), Some("Seconds"))
    );

    // A delivery's figures: counted by cache status, its body bytes, the render of a miss.
    events_key(&app).await;
    assert_eq!(status(&invoke(upload(&app), "upload-photo.json").await), 201);
    let delivered = invoke(delivery(&app), "delivery-transform.json").await;
    assert_eq!(status(&delivered), 200, "{delivered}");
    let written = String::from_utf8(METRICS.lock().unwrap().clone()).unwrap();
    let documents: Vec<Value> = written.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let has =
        |name: &str, pick: &dyn Fn(&Value) -> bool| documents.iter().any(|d| pick(d) && d[name].as_f64() > Some(0.0));
    assert!(has("imgcloud_deliveries_total", &|d| d["cache"] == "miss"), "{written}");
    assert!(has("imgcloud_renders_total", &|d| d["format"].is_string()), "{written}");
    assert!(has("imgcloud_delivered_bytes_total", &|_| true), "{written}");
    assert!(has("imgcloud_uploads_total", &|d| d["outcome"] == "created"), "{written}");
}
