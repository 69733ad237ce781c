//! `spawn_app()`: the real server on a free port with a temp data dir, and the few helpers every
//! test uses to talk to it over HTTP.

use std::{collections::HashMap, path::PathBuf};

use imgcloud_core::{
    config::{AwsSettings, Backend},
    store::aws::AwsStores,
    Config,
};
use imgcloud_local::Server;
use reqwest::{multipart, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const USER_PASSWORD: &str = "user-password-for-tests";

/// A file of the handbook's `corpus` (photographs) or `peer-corpus` (other projects' test images).
fn handbook(dir: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared").join(dir).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn corpus(name: &str) -> Vec<u8> {
    handbook("corpus", name)
}

pub fn peer(name: &str) -> Vec<u8> {
    handbook("peer-corpus", name)
}

/// A file that `scripts/make-fixtures.py` made in `$IMGCLOUD_FIXTURES` (`scripts/test` makes them).
pub fn fixture(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("IMGCLOUD_FIXTURES")
        .expect("IMGCLOUD_FIXTURES names the fixtures that scripts/make-fixtures.py makes (scripts/test does)");
    let path = PathBuf::from(dir).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn photo() -> Vec<u8> {
    corpus("photo_1000x667.jpg")
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Cred {
    None,
    /// The session cookie's `name=value`.
    Cookie(String),
    /// The whole `Authorization` value.
    Key(String),
}

pub struct TestApp {
    pub server: Option<Server>,
    pub base: String,
    pub dir: TempDir,
    pub client: reqwest::Client,
    vars: HashMap<String, String>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut all = backend_vars().await;
    all.extend(
        [("IMGCLOUD_ADMIN_EMAIL", ADMIN_EMAIL), ("IMGCLOUD_ADMIN_PASSWORD", ADMIN_PASSWORD)]
            .iter()
            .chain(vars)
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    spawn_app_in(dir, all).await
}

/// Whether this run drives the aws backend (S3 + DynamoDB on moto): `IMGCLOUD_TEST_BACKEND=aws`,
/// which `scripts/test` sets for its second pass over this suite.
pub fn aws_backend() -> bool {
    std::env::var("IMGCLOUD_TEST_BACKEND").is_ok_and(|b| b == "aws")
}

/// The variables that select the backend under test: nothing for the embedded one (the data dir
/// is set per server); a fresh bucket and table on the emulator for the aws one.
pub async fn backend_vars() -> HashMap<String, String> {
    if !aws_backend() {
        return HashMap::new();
    }
    crate::aws_emulator::backend_vars(&crate::aws_emulator::fresh_settings().await).into_iter().collect()
}

/// The server on an existing data dir, configured by exactly `vars`.
pub async fn spawn_app_in(dir: TempDir, mut vars: HashMap<String, String>) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    vars.insert("IMGCLOUD_ADDR".into(), addr.to_string());
    vars.insert("IMGCLOUD_DATA_DIR".into(), dir.path().display().to_string());
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test configuration is valid");
    let base = config.public_url.base.clone();
    let server = imgcloud_local::serve(config, listener).await.expect("server starts");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { server: Some(server), base, dir, client, vars }
}

impl TestApp {
    /// Stops the server and starts a new one on the same data dir (and a new port).
    pub async fn restart(mut self) -> TestApp {
        self.server.take().unwrap().stop().await.unwrap();
        spawn_app_in(self.dir, self.vars).await
    }

    /// [`Self::restart`] with some variables changed (`None`: unset).
    pub async fn restart_with(mut self, changes: &[(&str, Option<&str>)]) -> TestApp {
        for (name, value) in changes {
            match value {
                Some(value) => self.vars.insert(name.to_string(), value.to_string()),
                None => self.vars.remove(*name),
            };
        }
        self.restart().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn req(&self, method: Method, path: &str, cred: &Cred) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match cred {
            Cred::None => builder,
            Cred::Cookie(c) => builder.header("cookie", c),
            Cred::Key(k) => builder.header("authorization", k),
        }
    }

    pub async fn send_json(&self, method: Method, path: &str, cred: &Cred, body: Value) -> Response {
        self.req(method, path, cred).json(&body).send().await.unwrap()
    }

    pub async fn get(&self, path: &str, cred: &Cred) -> Response {
        self.req(Method::GET, path, cred).send().await.unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Cred {
        let response = self
            .send_json(Method::POST, "/v1/auth/login", &Cred::None, json!({"email": email, "password": password}))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "login of {email}");
        Cred::Cookie(session_cookie(&response).expect("login sets the session cookie"))
    }

    pub async fn admin(&self) -> Cred {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a user (as the admin) and signs them in.
    pub async fn user(&self, email: &str) -> (Value, Cred) {
        let user = self.create_user(email, "user").await;
        (user, self.login(email, USER_PASSWORD).await)
    }

    /// Creates a user with `role` and [`USER_PASSWORD`], as the admin; returns the user.
    pub async fn create_user(&self, email: &str, role: &str) -> Value {
        let admin = self.admin().await;
        let body = json!({"email": email, "password": USER_PASSWORD, "role": role});
        let response = self.send_json(Method::POST, "/v1/users", &admin, body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<Value>().await.unwrap()["user"].clone()
    }

    /// Mints an API key from a session; returns the `Authorization` credential.
    pub async fn key(&self, session: &Cred) -> Cred {
        let response = self.send_json(Method::POST, "/v1/api-keys", session, json!({"name": "test"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        Cred::Key(format!("ApiKey {}:{}", body["key_id"].as_str().unwrap(), body["key_secret"].as_str().unwrap()))
    }

    pub async fn upload(&self, cred: &Cred, file: Option<(Vec<u8>, &str)>, fields: &[(&str, &str)]) -> Response {
        let mut form = multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        if let Some((bytes, name)) = file {
            form = form.part("file", multipart::Part::bytes(bytes).file_name(name.to_string()));
        }
        self.req(Method::POST, "/v1/upload", cred).multipart(form).send().await.unwrap()
    }

    /// Uploads the standard photo and returns the asset.
    pub async fn upload_photo(&self, cred: &Cred, fields: &[(&str, &str)]) -> Value {
        let response = self.upload(cred, Some((photo(), "photo.jpg")), fields).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "{status}: {body}");
        body["asset"].clone()
    }

    /// What configures this server, backend and data dir included.
    #[allow(dead_code)] // the transfer suite runs the binary with them
    pub fn server_vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    pub fn aws_settings(&self) -> Option<AwsSettings> {
        match Config::from_lookup(|k| self.vars.get(k).cloned()).unwrap().backend {
            Backend::Aws(settings) => Some(settings),
            Backend::Embedded => None,
        }
    }

    /// The server's metadata store, opened beside it: to write what the API no longer lets anyone
    /// write (an asset stored by an earlier release).
    pub async fn meta_store(&self) -> std::sync::Arc<dyn imgcloud_core::store::MetaStore> {
        match self.aws_settings() {
            Some(settings) => std::sync::Arc::new(AwsStores::connect(&settings).await.meta),
            None => std::sync::Arc::new(
                imgcloud_core::store::sqlite::SqliteMetaStore::open(&self.dir.path().join("imgcloud.sqlite3")).unwrap(),
            ),
        }
    }

    /// Every object in the blob store (temp files and staged uploads included).
    pub async fn stored_files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        if let Some(settings) = self.aws_settings() {
            return AwsStores::connect(&settings).await.blobs.keys_under("").await.unwrap();
        }
        let mut out = Vec::new();
        let root = self.dir.path().join("blobs");
        walk(&root, &mut out);
        out.iter().map(|p| p.strip_prefix(&root).unwrap().display().to_string()).collect()
    }

    /// The signing secret the server made for itself (none was configured).
    pub async fn generated_signing_secret(&self) -> Option<String> {
        match self.aws_settings() {
            Some(settings) => {
                let meta = AwsStores::connect(&settings).await.meta;
                meta.signing_secret().await.unwrap()
            }
            None => std::fs::read_to_string(self.dir.path().join("signing.key")).ok().map(|s| s.trim().to_owned()),
        }
    }
}

pub fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("imgcloud_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .filter(|c| c != "imgcloud_session=")
}

/// Asserts the status and the SPEC §8 error shape; returns the `code`.
pub async fn assert_error(response: Response, status: StatusCode) -> String {
    let actual = response.status();
    request_id(&response);
    assert_eq!(response.headers().get("content-type").unwrap(), "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(actual, status, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    let code = body["code"].as_str().expect("error has a code").to_owned();
    assert_eq!(documented_status(&code), Some(status.as_u16()), "{code} is not documented with {status}");
    code
}

/// The response's `X-Request-Id`, which every response carries: 1–128 of `[A-Za-z0-9._-]` (SPEC §15).
pub fn request_id(response: &Response) -> String {
    let id = response.headers().get("x-request-id").expect("every response carries X-Request-Id");
    let id = id.to_str().unwrap().to_owned();
    let valid = (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    assert!(valid, "not a valid request id: {id:?}");
    id
}

/// The status `openapi.yaml`'s error catalogue (`x-status`) gives a code.
fn documented_status(code: &str) -> Option<u16> {
    static CATALOGUE: std::sync::OnceLock<std::collections::HashMap<String, u16>> = std::sync::OnceLock::new();
    let catalogue = CATALOGUE.get_or_init(|| {
        let document = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
        let line = document.lines().find_map(|l| l.trim().strip_prefix("x-status: {")).expect("x-status");
        line.trim_end_matches('}')
            .split(", ")
            .map(|pair| {
                let (code, status) = pair.split_once(": ").unwrap();
                (code.to_owned(), status.parse().unwrap())
            })
            .collect()
    });
    catalogue.get(code).copied()
}
