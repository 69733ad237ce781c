//! An in-process `imgcloud` on a free port with a temp data dir, an API key, and upload.

use imgcloud_core::Config;
use reqwest::{multipart, Client, StatusCode};
use serde_json::{json, Value};

pub const ADMIN: (&str, &str) = ("bench@example.com", "bench-password-123");

pub struct TestServer {
    pub base: String,
    pub key: String,
    pub client: Client,
    server: imgcloud_local::Server,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let data_dir = dir.path().display().to_string();
        let config = Config::from_lookup(|k| match k {
            "IMGCLOUD_ADDR" => Some(addr.to_string()),
            "IMGCLOUD_DATA_DIR" => Some(data_dir.clone()),
            "IMGCLOUD_ADMIN_EMAIL" => Some(ADMIN.0.into()),
            "IMGCLOUD_ADMIN_PASSWORD" => Some(ADMIN.1.into()),
            // One client making thousands of requests is the point here: no rate limits.
            "IMGCLOUD_RATE_API_PER_MINUTE"
            | "IMGCLOUD_RATE_UPLOADS_PER_MINUTE"
            | "IMGCLOUD_RATE_RENDERS_PER_MINUTE"
            | "IMGCLOUD_RATE_LOGIN_FAILURES" => Some("0".into()),
            // Anything else as set: IMGCLOUD_BACKEND=aws (with its bucket, table and endpoint)
            // benchmarks the aws backend.
            _ => std::env::var(k).ok(),
        })
        .unwrap();
        let server = imgcloud_local::serve(config, listener).await.unwrap();
        let base = format!("http://{addr}");
        let client = Client::builder().pool_max_idle_per_host(256).build().unwrap();
        let key = api_key(&client, &base, ADMIN.0, ADMIN.1).await;
        Self { base, key, client, server, _dir: dir }
    }

    /// Where the server keeps its data (the embedded store's database and files).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// A new user `email` (made by the admin) and an API key of theirs: their id and the
    /// `Authorization` value.
    pub async fn user(&self, email: &str) -> (String, String) {
        let password = "scale-password-123";
        let created: Value = self
            .client
            .post(format!("{}/v1/users", self.base))
            .header("authorization", &self.key)
            .json(&json!({"email": email, "password": password, "role": "user"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["user"]["id"].as_str().unwrap_or_else(|| panic!("user not created: {created}")).to_owned();
        (id, api_key(&self.client, &self.base, email, password).await)
    }

    /// Uploads `bytes` with the form `fields`; returns the asset, or `None` on any failure.
    pub async fn upload(&self, bytes: &[u8], fields: &[(&str, &str)]) -> Option<Value> {
        let mut form =
            multipart::Form::new().part("file", multipart::Part::bytes(bytes.to_vec()).file_name("bench.jpg"));
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let response = self
            .client
            .post(format!("{}/v1/upload", self.base))
            .header("authorization", &self.key)
            .multipart(form)
            .send()
            .await
            .ok()?;
        if response.status() != StatusCode::CREATED {
            return None;
        }
        response.json::<Value>().await.ok().map(|v| v["asset"].clone())
    }

    pub async fn stop(self) {
        self.server.stop().await.unwrap();
    }
}

/// Signs in as `email` and mints an API key: its `Authorization` value.
async fn api_key(client: &Client, base: &str, email: &str, password: &str) -> String {
    let login = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let minted: Value = client
        .post(format!("{base}/v1/api-keys"))
        .header("cookie", cookie)
        .json(&json!({"name": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    format!("ApiKey {}:{}", minted["key_id"].as_str().unwrap(), minted["key_secret"].as_str().unwrap())
}
