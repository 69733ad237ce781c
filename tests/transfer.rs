//! `imgcloud import DIR` and `imgcloud export DIR` (SPEC §15): the real `imgcloud` binary, run as a
//! user would run it, against the real server started in this process (`spawn_app`, on the backend
//! under test: `IMGCLOUD_TEST_BACKEND=aws` as in the HTTP suite).
//!
//! The binary is the one cargo builds into this target directory (`cargo build -p imgcloud-local`;
//! `scripts/test` builds every binary first), or `$IMGCLOUD_BIN`.

#[path = "common/aws.rs"]
mod aws_emulator;
// The HTTP suite's harness; this binary uses only some of its helpers.
#[allow(dead_code)]
#[path = "api/support.rs"]
mod support;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::*;

/// `$IMGCLOUD_BIN`, else `imgcloud` in this target directory (this test runs from its `deps/`).
fn imgcloud_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("IMGCLOUD_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().join("imgcloud");
    assert!(bin.is_file(), "no {}: build it first (cargo build -p imgcloud-local), or set IMGCLOUD_BIN", bin.display());
    bin
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The last line on stdout: `imported N, skipped M, failed K` (or `exported …`).
    fn summary(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }

    fn failures(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("failed: ")).collect()
    }

    /// Not on a terminal, the output is plain lines: no bar, no cursor movement, no colour, and
    /// every line on stderr one of the documented kinds.
    fn assert_plain(&self) {
        for text in [&self.stdout, &self.stderr] {
            assert!(!text.contains('\r') && !text.contains('\x1b'), "not plain lines:\n{text}");
        }
        let kinds = ["failed: ", "retry: ", "skipped: ", "imported: ", "exported: "];
        for line in self.stderr.lines() {
            let progress = line.split_once(" files: ").is_some_and(|(n, _)| n.split(" of ").all(is_number));
            assert!(kinds.iter().any(|k| line.starts_with(k)) || progress, "unexpected line on stderr: {line:?}");
        }
        assert_eq!(self.stdout.lines().count(), 1, "stdout is the summary alone:\n{}", self.stdout);
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.status, self.stdout, self.stderr)
    }
}

/// `imgcloud <args>` with `IMGCLOUD_URL` and `IMGCLOUD_KEY` set to `app` and `key`, stdout and
/// stderr captured (so not a terminal). The server runs in this process: the child is waited for
/// off the runtime's thread.
async fn imgcloud(app: &TestApp, key: &str, args: &[&str]) -> Run {
    let mut command = Command::new(imgcloud_bin());
    command.args(args).env("IMGCLOUD_URL", &app.base).env("IMGCLOUD_KEY", key);
    run(command).await
}

async fn run(mut command: Command) -> Run {
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("imgcloud runs");
    Run {
        status: output.status.code().expect("imgcloud exits"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A user of `app` and an API key of theirs: as a request credential and as `KEY_ID:KEY_SECRET`.
async fn account(app: &TestApp, email: &str) -> (Cred, String) {
    let (_, session) = app.user(email).await;
    let key = app.key(&session).await;
    let Cred::Key(header) = &key else { unreachable!() };
    let secret = header.strip_prefix("ApiKey ").unwrap().to_owned();
    (key, secret)
}

/// Every asset `key` sees, by public_id.
async fn assets(app: &TestApp, key: &Cred) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    let mut path = "/v1/assets?limit=100".to_owned();
    loop {
        let page: Value = app.get(&path, key).await.json().await.unwrap();
        for asset in page["assets"].as_array().unwrap() {
            all.insert(asset["public_id"].as_str().unwrap().to_owned(), asset.clone());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/assets?limit=100&cursor={cursor}"),
            None => return all,
        }
    }
}

/// What an import must recreate of an asset (SPEC §15), and what cannot change with the bytes.
fn essentials(asset: &Value) -> Value {
    let fields =
        ["public_id", "folder", "tags", "visibility", "format", "bytes", "width", "height", "original_filename"];
    fields.iter().map(|f| (f.to_string(), asset[f].clone())).collect::<serde_json::Map<_, _>>().into()
}

fn write(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Every file under `root`, by relative path (with `/`).
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A small PNG of one colour: a distinct image per `seed`.
fn tiny_png(seed: u8) -> Vec<u8> {
    let pixels = image::RgbImage::from_pixel(8, 8, image::Rgb([seed, 255 - seed, seed / 2]));
    let mut out = std::io::Cursor::new(Vec::new());
    pixels.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A nested tree of photographs, with a file that is not an image and a truncated JPEG.
fn photo_library(root: &Path) {
    write(root, "trips/2024/beach.jpg", &corpus("photo_1000x667.jpg"));
    write(root, "trips/2024/city view.webp", &corpus("photo_1920x1200.webp"));
    write(root, "w_400/logo.png", &corpus("alpha_1024x1024.png"));
    write(root, "anim.gif", &corpus("anim_245x245_42f.gif"));
    write(root, "notes/readme.txt", b"a text file, not an image\n");
    write(root, "broken.jpg", &photo()[..4000]);
}

#[tokio::test]
async fn import_export_and_import_elsewhere_recreates_the_same_library() {
    let app = spawn_app().await;
    let (ann, ann_key) = account(&app, "ann@example.com").await;
    let (bob, _) = account(&app, "bob@example.com").await;
    app.upload_photo(&bob, &[("public_id", "bob/photo")]).await;
    let source = tempfile::tempdir().unwrap();
    photo_library(source.path());
    let source_dir = source.path().to_str().unwrap();

    // Arrange / act: every image under the tree, under a folder, with tags and a visibility.
    let import = ["import", source_dir, "--folder", "library", "--tags", "holiday,2024", "--visibility", "private"];
    let imported = imgcloud(&app, &ann_key, &[&import[..], &["--jobs", "3"]].concat()).await;

    // The text file is skipped, the truncated JPEG failed (with the server's code), so exit 1.
    assert_eq!(imported.status, 1, "{imported:?}");
    assert_eq!(imported.summary(), "imported 4, skipped 1, failed 1", "{imported:?}");
    imported.assert_plain();
    let failures = imported.failures();
    assert_eq!(failures.len(), 1, "{imported:?}");
    assert!(failures[0].starts_with("failed: broken.jpg: 400 invalid_image: "), "{imported:?}");
    let library = assets(&app, &ann).await;
    let expected = [
        ("library/anim", "library", "gif"),
        ("library/trips/2024/beach", "library/trips/2024", "jpg"),
        ("library/trips/2024/city-view", "library/trips/2024", "webp"),
        ("library/w_400/logo", "library/w_400", "png"),
    ];
    assert_eq!(library.keys().collect::<Vec<_>>(), expected.iter().map(|e| e.0).collect::<Vec<_>>());
    for (id, folder, format) in expected {
        let asset = &library[id];
        assert_eq!((asset["folder"].as_str(), asset["format"].as_str()), (Some(folder), Some(format)), "{asset}");
        assert_eq!(asset["tags"], json!(["holiday", "2024"]));
        assert_eq!(asset["visibility"], "private");
    }
    assert_eq!(library["library/trips/2024/city-view"]["original_filename"], "city view.webp");
    assert_eq!(app.get("/v1/image/library/trips/2024/beach", &ann).await.bytes().await.unwrap(), photo());

    // A re-run skips every id that exists; the broken file fails again.
    let again = imgcloud(&app, &ann_key, &import).await;
    assert_eq!((again.status, again.summary()), (1, "imported 0, skipped 5, failed 1"), "{again:?}");
    again.assert_plain();

    // Metadata of its own, as an export must carry it: a folder that is not the id's directory,
    // other tags, another visibility.
    let patch = json!({"folder": "albums/best", "tags": ["best"], "visibility": "public"});
    let patched = app.send_json(Method::PATCH, "/v1/assets/library/anim", &ann, patch).await;
    assert_eq!(patched.status(), StatusCode::OK);
    let library = assets(&app, &ann).await;

    // Export: every asset Ann's key may see (not Bob's), originals byte for byte.
    let export = tempfile::tempdir().unwrap();
    let export_dir = export.path().to_str().unwrap();
    let exported = imgcloud(&app, &ann_key, &["export", export_dir, "--jobs", "2"]).await;
    assert_eq!((exported.status, exported.summary()), (0, "exported 4, skipped 0, failed 0"), "{exported:?}");
    exported.assert_plain();
    let written = files(export.path());
    let originals = [
        ("library/anim.gif", "anim.gif"),
        ("library/trips/2024/beach.jpg", "trips/2024/beach.jpg"),
        ("library/trips/2024/city-view.webp", "trips/2024/city view.webp"),
        ("library/w_400/logo.png", "w_400/logo.png"),
    ];
    let mut names: Vec<&str> = originals.iter().map(|o| o.0).collect();
    names.insert(0, "assets.jsonl");
    assert_eq!(written.keys().map(String::as_str).collect::<Vec<_>>(), names, "no temp file is left");
    for (file, original) in originals {
        assert!(written[file] == std::fs::read(source.path().join(original)).unwrap(), "{file} is the original");
    }
    let lines: Vec<Value> = String::from_utf8(written["assets.jsonl"].clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let listed: BTreeMap<String, Value> =
        lines.iter().map(|a| (a["public_id"].as_str().unwrap().to_owned(), essentials(a))).collect();
    assert_eq!(listed, library.iter().map(|(id, a)| (id.clone(), essentials(a))).collect());

    // Resumable: a re-run skips what is there whole, and fetches again what is missing or short.
    let again = imgcloud(&app, &ann_key, &["export", export_dir]).await;
    assert_eq!((again.status, again.summary()), (0, "exported 0, skipped 4, failed 0"), "{again:?}");
    std::fs::remove_file(export.path().join("library/anim.gif")).unwrap();
    std::fs::write(export.path().join("library/trips/2024/beach.jpg"), &photo()[..1000]).unwrap();
    let resumed = imgcloud(&app, &ann_key, &["export", export_dir]).await;
    assert_eq!((resumed.status, resumed.summary()), (0, "exported 2, skipped 2, failed 0"), "{resumed:?}");
    assert!(files(export.path()) == written, "the export is whole again");

    // Another server: importing the export recreates the same ids, folders, tags and visibility.
    let elsewhere = spawn_app().await;
    let (carol, carol_key) = account(&elsewhere, "carol@example.com").await;
    let recreated = imgcloud(&elsewhere, &carol_key, &["import", export_dir, "-v"]).await;
    assert_eq!((recreated.status, recreated.summary()), (0, "imported 4, skipped 0, failed 0"), "{recreated:?}");
    recreated.assert_plain();
    assert!(recreated.stderr.contains("imported: library/anim.gif as library/anim\n"), "{recreated:?}");
    let copies = assets(&elsewhere, &carol).await;
    let essentials_of = |all: &BTreeMap<String, Value>| all.values().map(essentials).collect::<Vec<_>>();
    assert_eq!(essentials_of(&copies), essentials_of(&library));
    assert_eq!(copies["library/anim"]["folder"], "albums/best");
    assert_eq!(copies["library/anim"]["visibility"], "public");

    // …and exporting it again gives the same files, byte for byte.
    let second = tempfile::tempdir().unwrap();
    let exported = imgcloud(&elsewhere, &carol_key, &["export", second.path().to_str().unwrap()]).await;
    assert_eq!((exported.status, exported.summary()), (0, "exported 4, skipped 0, failed 0"), "{exported:?}");
    let mut first_files = files(export.path());
    let mut second_files = files(second.path());
    let (first_lines, second_lines) = (first_files.remove("assets.jsonl"), second_files.remove("assets.jsonl"));
    assert!(first_files == second_files, "the second export's originals are the first's");
    let metadata = |text: Option<Vec<u8>>| {
        let text = String::from_utf8(text.unwrap()).unwrap();
        let mut lines: Vec<Value> = text.lines().map(|l| essentials(&serde_json::from_str(l).unwrap())).collect();
        lines.sort_by_key(|a| a["public_id"].to_string());
        lines
    };
    assert_eq!(metadata(first_lines), metadata(second_lines));

    // Importing an export again skips what is there.
    let again = imgcloud(&elsewhere, &carol_key, &["import", export_dir]).await;
    assert_eq!((again.status, again.summary()), (0, "imported 0, skipped 4, failed 0"), "{again:?}");
}

#[tokio::test]
async fn public_ids_are_the_paths_made_valid() {
    let app = spawn_app().await;
    let (key, secret) = account(&app, "ann@example.com").await;
    let tree = tempfile::tempdir().unwrap();
    for (n, name) in
        ["w_400/x.png", ".hidden.png", "Été 2024/a b (1).png", "c_fill.png", "dup.png", "dup.webp", "ok_1/y.png"]
            .iter()
            .enumerate()
    {
        write(tree.path(), name, &tiny_png(n as u8 * 30));
    }
    let run = imgcloud(&app, &secret, &["import", tree.path().to_str().unwrap(), "--verbose"]).await;
    assert_eq!((run.status, run.summary()), (1, "imported 6, skipped 0, failed 1"), "{run:?}");
    run.assert_plain();
    // Two files with one public_id: the first in path order wins, the other fails.
    assert_eq!(run.failures(), ["failed: dup.webp: its public_id dup is also that of dup.png"], "{run:?}");
    assert!(run.stderr.contains("imported: w_400/x.png as w-400/x\n"), "{run:?}");
    let ids: Vec<String> = assets(&app, &key).await.into_keys().collect();
    // Invalid characters in runs become one `-`, leading dots go, a transform-shaped first
    // segment loses its first `_` (`ok_1` is not transform-shaped).
    assert_eq!(ids, ["-t-2024/a-b-1-", "c-fill", "dup", "hidden", "ok_1/y", "w-400/x"]);
}

#[tokio::test]
async fn uploads_refused_as_busy_are_retried_after_retry_after() {
    // One upload at a time: the others of four jobs get 503 busy with Retry-After: 1.
    let app = spawn_app_with(&[("IMGCLOUD_UPLOADS_IN_FLIGHT", "1")]).await;
    let (key, secret) = account(&app, "ann@example.com").await;
    let tree = tempfile::tempdir().unwrap();
    for n in 0..6 {
        write(tree.path(), &format!("photo-{n}.jpg"), &photo());
    }
    let run = imgcloud(&app, &secret, &["import", tree.path().to_str().unwrap(), "--jobs", "4"]).await;
    assert_eq!((run.status, run.summary()), (0, "imported 6, skipped 0, failed 0"), "{run:?}");
    run.assert_plain();
    let busy: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("retry: ") && l.contains("503 busy")).collect();
    assert!(!busy.is_empty(), "a busy answer was retried: {run:?}");
    for line in busy {
        let wait: f64 = line.split(" in ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert!((1.0..=1.5).contains(&wait), "Retry-After: 1 is waited for (with up to half of it again): {line}");
    }
    assert_eq!(assets(&app, &key).await.len(), 6);
}

#[tokio::test]
async fn uploads_past_the_rate_limit_are_retried_after_retry_after() {
    if aws_backend() {
        // The shared counters of the aws backend count per minute: a 429 there waits up to a minute.
        return;
    }
    // 60 uploads at once, then one a second: the 61st waits for `Retry-After: 1`.
    let app = spawn_app_with(&[("IMGCLOUD_RATE_UPLOADS_PER_MINUTE", "60")]).await;
    let (key, secret) = account(&app, "ann@example.com").await;
    let tree = tempfile::tempdir().unwrap();
    for n in 0..66u8 {
        write(tree.path(), &format!("tile-{n:02}.png"), &tiny_png(n * 3));
    }
    let run = imgcloud(&app, &secret, &["import", tree.path().to_str().unwrap(), "--jobs", "1"]).await;
    assert_eq!((run.status, run.summary()), (0, "imported 66, skipped 0, failed 0"), "{run:?}");
    run.assert_plain();
    assert!(run.stderr.lines().any(|l| l.starts_with("retry: ") && l.contains("429 rate_limited")), "{run:?}");
    assert_eq!(assets(&app, &key).await.len(), 66);
}

/// API Gateway in front of the server, as in the Lambda shape: a payload limit of its own (answered
/// with its 413, before reading the body), every other request passed on.
async fn gateway(app: &TestApp, payload_limit: u64) -> String {
    use axum::{body::Body, extract::Request, http::header, response::Response};
    let upstream = app.base.clone();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let forward = move |request: Request| {
        let (upstream, client) = (upstream.clone(), client.clone());
        async move {
            let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
            if request.uri().path() == "/v1/upload" && declared.is_some_and(|n: u64| n > payload_limit) {
                let body = Body::from(r#"{"message":"Request Entity Too Large"}"#);
                return Response::builder().status(413).body(body).unwrap();
            }
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let mut headers = parts.headers.clone();
            headers.remove(header::HOST);
            let url = format!("{upstream}{}", parts.uri.path_and_query().unwrap());
            let answer = client.request(parts.method, url).headers(headers).body(body).send().await.unwrap();
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
                    response = response.header(name, value);
                }
            }
            response.body(Body::from(answer.bytes().await.unwrap())).unwrap()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(forward)).await });
    url
}

#[tokio::test]
async fn a_file_over_a_gateways_payload_limit_goes_direct_where_the_server_offers_it() {
    let app = spawn_app().await;
    let (key, secret) = account(&app, "ann@example.com").await;
    let gateway = gateway(&app, 300_000).await;
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "small.jpg", &photo());
    let large = corpus("photo_1920x1080.jpg");
    write(tree.path(), "large.jpg", &large);
    let run = imgcloud(&app, &secret, &["import", tree.path().to_str().unwrap(), "--url", &gateway]).await;
    run.assert_plain();
    if aws_backend() {
        // `POST /v1/uploads`, the file to the store's presigned form, then `…/complete`.
        assert_eq!((run.status, run.summary()), (0, "imported 2, skipped 0, failed 0"), "{run:?}");
        assert_eq!(app.get("/v1/image/large", &key).await.bytes().await.unwrap(), large);
    } else {
        assert_eq!((run.status, run.summary()), (1, "imported 1, skipped 0, failed 1"), "{run:?}");
        let failure = run.failures();
        assert_eq!(failure.len(), 1, "{run:?}");
        assert!(failure[0].starts_with("failed: large.jpg: the file (632699 bytes) is over the server's upload limit"));
        assert!(failure[0].contains("direct_upload_unavailable"), "{run:?}");
        assert_eq!(assets(&app, &key).await.into_keys().collect::<Vec<_>>(), ["small"]);
    }
}

#[tokio::test]
async fn a_file_over_the_servers_own_upload_limit_fails() {
    let app = spawn_app_with(&[("IMGCLOUD_MAX_UPLOAD_BYTES", "300000")]).await;
    let (_, secret) = account(&app, "ann@example.com").await;
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "large.jpg", &corpus("photo_1920x1080.jpg"));
    let run = imgcloud(&app, &secret, &["import", tree.path().to_str().unwrap()]).await;
    assert_eq!((run.status, run.summary()), (1, "imported 0, skipped 0, failed 1"), "{run:?}");
    // Direct uploads share the server's limit: the aws backend says so when one is asked for.
    let expected = if aws_backend() {
        "failed: large.jpg: the file (632699 bytes) is larger than the server's upload limit (300000 bytes)"
    } else {
        "failed: large.jpg: the file (632699 bytes) is over the server's upload limit (413 file_too_large)"
    };
    assert!(run.failures()[0].starts_with(expected), "{run:?}");
}

#[tokio::test]
async fn usage_and_connection_errors_exit_2() {
    let app = spawn_app().await;
    let (_, secret) = account(&app, "ann@example.com").await;
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "a.png", &tiny_png(1));
    let dir = tree.path().to_str().unwrap();

    let mut no_key = Command::new(imgcloud_bin());
    no_key.args(["import", dir, "--url", &app.base]).env_remove("IMGCLOUD_KEY").env_remove("IMGCLOUD_URL");
    let run = run(no_key).await;
    assert_eq!(run.status, 2, "{run:?}");
    assert!(run.stderr.contains("--key"), "{run:?}");

    let refused = imgcloud(&app, "ck_nobody:cs_nothing", &["import", dir]).await;
    assert_eq!(refused.status, 2, "{refused:?}");
    assert!(refused.stderr.contains("the server refused the key: 401"), "{refused:?}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let unreachable = imgcloud(&app, &secret, &["export", dir, "--url", &closed]).await;
    assert_eq!(unreachable.status, 2, "{unreachable:?}");
    assert!(unreachable.stderr.contains(&format!("imgcloud: cannot reach {closed}")), "{unreachable:?}");

    let missing = imgcloud(&app, &secret, &["import", &format!("{dir}/nothing-here")]).await;
    assert_eq!(missing.status, 2, "{missing:?}");
    let bad_folder = imgcloud(&app, &secret, &["import", dir, "--folder", "../up"]).await;
    assert_eq!(bad_folder.status, 2, "{bad_folder:?}");
    assert!(bad_folder.stderr.contains("--folder"), "{bad_folder:?}");
}

/// Makes `app`'s storage counters drift behind the store's back, as a bug or a hand edit would:
/// five assets more than there are, and no original bytes.
async fn drift_storage_counters(app: &TestApp) {
    match app.aws_settings() {
        None => {
            let db = rusqlite::Connection::open(app.dir.path().join("imgcloud.sqlite3")).unwrap();
            db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            db.execute("UPDATE storage_usage SET asset_count = asset_count + 5, original_bytes = 0", []).unwrap();
        }
        Some(settings) => {
            use aws_sdk_dynamodb::types::AttributeValue;
            let dynamo = aws_emulator::raw_dynamodb(&settings).await;
            let shards = dynamo
                .query()
                .table_name(&settings.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S("STORAGE".into()))
                .send()
                .await
                .unwrap();
            for (i, shard) in shards.items().iter().enumerate() {
                let key = [("PK", shard["PK"].clone()), ("SK", shard["SK"].clone())];
                let extra = if i == 0 { 5 } else { 0 };
                dynamo
                    .update_item()
                    .table_name(&settings.table)
                    .set_key(Some(key.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
                    .update_expression("ADD asset_count :extra SET original_bytes = :zero")
                    .expression_attribute_values(":extra", AttributeValue::N(extra.to_string()))
                    .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// `imgcloud usage-recount`: counters kept in the same write as every asset change need no
/// repair; made to drift, they are reported owner by owner and set back to what the asset records
/// sum to, as the usage summary then shows.
#[tokio::test]
async fn usage_recount_reports_and_repairs_drifted_counters() {
    let app = spawn_app().await;
    let (key, _) = account(&app, "ann@example.com").await;
    for id in ["kept-1", "kept-2"] {
        app.upload_photo(&key, &[("public_id", id)]).await;
    }
    let storage = || async {
        let usage: Value = app.get("/v1/usage/summary", &key).await.json().await.unwrap();
        (usage["asset_count"].clone(), usage["storage_bytes"].clone(), usage["variant_bytes"].clone())
    };
    let right = storage().await;
    assert_eq!(right.0, json!(2));
    let recount = || {
        let mut command = Command::new(imgcloud_bin());
        command.arg("usage-recount").envs(app.server_vars());
        run(command)
    };

    let clean = recount().await;
    assert_eq!(clean.status, 0, "{clean:?}");
    assert!(clean.stdout.contains("no drift"), "{clean:?}");

    drift_storage_counters(&app).await;
    assert_eq!(storage().await.0, json!(7), "the counters drifted");
    let repaired = recount().await;
    assert_eq!(repaired.status, 0, "{repaired:?}");
    assert!(repaired.stdout.contains("assets 7 -> 2"), "the owner's drift is reported: {repaired:?}");
    assert!(repaired.stdout.contains("1 owner(s) had drifted"), "{repaired:?}");
    assert_eq!(storage().await, right, "recounted from the asset records");
    assert!(recount().await.stdout.contains("no drift"), "and kept right");
}
