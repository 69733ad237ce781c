//! `imgcloud-bench scale N`: a library of N assets seeded through the store ports (tags, folders,
//! private ones, four owners), then every listing filter, combinations, deep cursors and the usage
//! summary over HTTP, as p50/p99 of sequential requests. On the aws backend (`IMGCLOUD_BACKEND=aws`,
//! e.g. DynamoDB Local) each query is also run once through the store to report the requests and
//! the read capacity (`ReturnConsumedCapacity`) one page costs.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use imgcloud_core::{
    config::{AwsSettings, Backend},
    domain::{Analysis, Visibility},
    media::Format,
    store::{aws::AwsStores, sqlite::SqliteMetaStore, AssetCursor, AssetQuery, AssetRecord, MetaStore},
    Config,
};
use serde_json::{json, Value};

use crate::server::TestServer;

const REQUESTS: usize = 200;
const WARMUP: usize = 20;
const PAGE: usize = 50;
/// The owner the user-scoped queries run as; three others share the rest.
const OWNERS: usize = 4;

/// Asset `i` of the library, newest last. Each attribute comes from its own digits of a mix of
/// `i`, so that they are independent: owner one of four; folder `f00`–`f99`; tag `t000`–`t999`
/// on each, `common` on half, `rare` on one in 100 000; private one in ten; public_id
/// `p00/`–`p99/` + `img-<i>`.
fn seeded(i: usize, owners: &[String]) -> AssetRecord {
    let mix = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
    let digits = |from: u32, modulo: u64| ((mix >> from) % modulo) as usize;
    let mut tags = vec![format!("t{:03}", digits(0, 1000))];
    if digits(10, 2) == 0 {
        tags.push("common".into());
    }
    if i % 100_000 == 7 {
        tags.push("rare".into());
    }
    AssetRecord {
        public_id: format!("p{:02}/img-{i:07}", digits(11, 100)),
        owner_id: owners[digits(18, OWNERS as u64)].clone(),
        folder: format!("f{:02}", digits(21, 100)),
        tags,
        visibility: if digits(28, 10) == 3 { Visibility::Private } else { Visibility::Public },
        format: Format::Jpeg,
        width: 4000,
        height: 3000,
        has_alpha: false,
        has_master: true,
        derived_bytes: 120_000,
        variants: 0,
        bytes: 2_400_000,
        original_filename: Some(format!("IMG_{i:07}.jpg")),
        created_at: 1_700_000_000_000 + i as i64,
        updated_at: 1_700_000_000_000 + i as i64,
        version: 1,
        blob_id: format!("scale-{i}"),
        focal_point: None,
        analysis: Some(Analysis {
            faces: Vec::new(),
            thumbhash: "3OcRJYB4d3h/iIeHeEh3eIhw+j3A".into(),
            dominant_color: "#7a6a5a".into(),
        }),
    }
}

/// The cursor the API returns for a position (its format is the API's: base64url of
/// `[created_at, public_id]`).
fn cursor(position: &AssetCursor) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!([position.created_at, position.public_id]).to_string())
}

struct Query {
    name: &'static str,
    as_user: bool,
    path: String,
    store: AssetQuery,
}

pub async fn bench(n: usize) {
    let aws = match Config::from_env().map(|c| c.backend) {
        Ok(Backend::Aws(settings)) => Some(fresh_table(settings).await),
        _ => None,
    };
    let server = TestServer::start().await;
    let (user_id, user_key) = server.user("scale-user@example.com").await;
    let owners: Vec<String> =
        std::iter::once(user_id.clone()).chain((1..OWNERS).map(|o| format!("owner-{o}"))).collect();
    // The same store seeds and, on DynamoDB, counts what each page reads.
    let dynamo = match &aws {
        Some(settings) => Some(Arc::new(AwsStores::connect(settings).await.meta)),
        None => None,
    };
    let meta: Arc<dyn MetaStore> = match &dynamo {
        Some(store) => store.clone(),
        None => Arc::new(SqliteMetaStore::open(&server.data_dir().join("imgcloud.sqlite3")).unwrap()),
    };

    let started = Instant::now();
    let batch = if aws.is_some() { 1_000 } else { 10_000 };
    for start in (0..n).step_by(batch) {
        let assets: Vec<AssetRecord> = (start..(start + batch).min(n)).map(|i| seeded(i, &owners)).collect();
        meta.create_assets(&assets).await.unwrap();
        if (start / batch) % 10 == 9 {
            eprintln!("seeded {} of {n} ({:.0} s)", start + assets.len(), started.elapsed().as_secs_f64());
        }
    }
    let seeding = started.elapsed();
    println!(
        "library: {n} assets seeded in {:.1} s on the {} backend",
        seeding.as_secs_f64(),
        if aws.is_some() { "aws (DynamoDB)" } else { "embedded (SQLite)" }
    );

    let middle = seeded(n / 2, &owners);
    let deep = cursor(&middle.cursor());
    let user = Some(user_id.clone());
    let q = |f: fn(&mut AssetQuery)| {
        let mut q = AssetQuery { limit: PAGE, ..Default::default() };
        f(&mut q);
        q
    };
    let mine = |f: fn(&mut AssetQuery)| AssetQuery { owner_id: user.clone(), ..q(f) };
    let after = |query: AssetQuery| AssetQuery { after: Some(middle.cursor()), ..query };
    let queries = vec![
        Query { name: "all (admin)", as_user: false, path: String::new(), store: q(|_| {}) },
        Query {
            name: "tag=common (50 %)",
            as_user: false,
            path: "tag=common".into(),
            store: q(|q| q.tag = Some("common".into())),
        },
        Query {
            name: "tag=t123 (0.1 %)",
            as_user: false,
            path: "tag=t123".into(),
            store: q(|q| q.tag = Some("t123".into())),
        },
        Query {
            name: "tag=rare (0.001 %)",
            as_user: false,
            path: "tag=rare".into(),
            store: q(|q| q.tag = Some("rare".into())),
        },
        Query {
            name: "folder=f42 (1 %)",
            as_user: false,
            path: "folder=f42".into(),
            store: q(|q| q.folder = Some("f42".into())),
        },
        Query {
            name: "visibility=private (10 %)",
            as_user: false,
            path: "visibility=private".into(),
            store: q(|q| q.visibility = Some(Visibility::Private)),
        },
        Query {
            name: "q=p42/ (1 %)",
            as_user: false,
            path: "q=p42/".into(),
            store: q(|q| q.prefix = Some("p42/".into())),
        },
        Query {
            name: "q=p42/img-000 (narrow)",
            as_user: false,
            path: "q=p42/img-000".into(),
            store: q(|q| q.prefix = Some("p42/img-000".into())),
        },
        Query { name: "mine (user, 25 %)", as_user: true, path: String::new(), store: mine(|_| {}) },
        Query {
            name: "mine, tag=t123",
            as_user: true,
            path: "tag=t123".into(),
            store: mine(|q| q.tag = Some("t123".into())),
        },
        Query {
            name: "mine, folder=f42",
            as_user: true,
            path: "folder=f42".into(),
            store: mine(|q| q.folder = Some("f42".into())),
        },
        Query {
            name: "tag=common & visibility=private",
            as_user: false,
            path: "tag=common&visibility=private".into(),
            store: q(|q| {
                q.tag = Some("common".into());
                q.visibility = Some(Visibility::Private)
            }),
        },
        Query {
            name: "folder=f42 & tag=common",
            as_user: false,
            path: "folder=f42&tag=common".into(),
            store: q(|q| {
                q.folder = Some("f42".into());
                q.tag = Some("common".into())
            }),
        },
        Query {
            name: "mine, folder=f40 & visibility=private",
            as_user: true,
            path: "folder=f40&visibility=private".into(),
            store: mine(|q| {
                q.folder = Some("f40".into());
                q.visibility = Some(Visibility::Private)
            }),
        },
        Query {
            name: "all, deep cursor (middle)",
            as_user: false,
            path: format!("cursor={deep}"),
            store: after(q(|_| {})),
        },
        Query {
            name: "mine, tag=common, deep cursor",
            as_user: true,
            path: format!("tag=common&cursor={deep}"),
            store: after(mine(|q| q.tag = Some("common".into()))),
        },
    ];

    let dynamo_meta = dynamo.as_deref();
    println!();
    match dynamo_meta {
        Some(_) => {
            println!("| query | p50 ms | p99 ms | assets/page | queries | batch gets | read units | units/asset |");
            println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        }
        None => {
            println!("| query | p50 ms | p99 ms | assets/page |");
            println!("|---|---:|---:|---:|");
        }
    }
    for query in &queries {
        let key = if query.as_user { &user_key } else { &server.key };
        let path = format!("/v1/assets?limit={PAGE}{}{}", if query.path.is_empty() { "" } else { "&" }, query.path);
        let (p50, p99, body) = measure(&server, key, &path).await;
        let returned = body["assets"].as_array().map_or(0, Vec::len);
        match dynamo_meta {
            Some(store) => {
                let before = store.listing_cost();
                let page = imgcloud_core::store::AssetStore::list_assets(store, &query.store).await.unwrap();
                let after = store.listing_cost();
                let units = after.read_units - before.read_units;
                assert_eq!(page.assets.len(), returned, "{}: the store answers as the API", query.name);
                println!(
                    "| {} | {p50:.2} | {p99:.2} | {returned} | {} | {} | {units:.1} | {:.2} |",
                    query.name,
                    after.queries - before.queries,
                    after.batch_gets - before.batch_gets,
                    units / returned.max(1) as f64
                );
            }
            None => println!("| {} | {p50:.2} | {p99:.2} | {returned} |", query.name),
        }
    }
    for (name, key, path) in [
        ("usage summary (user)", &user_key, "/v1/usage/summary"),
        ("usage summary (admin, all=true)", &server.key, "/v1/usage/summary?all=true"),
    ] {
        let (p50, p99, body) = measure(&server, key, path).await;
        let count = &body["asset_count"];
        let extra = match dynamo_meta {
            Some(store) => {
                let before = store.listing_cost();
                let owner = (!path.contains("all")).then_some(user_id.as_str());
                imgcloud_core::store::UsageStore::storage(store, owner).await.unwrap();
                let after = store.listing_cost();
                format!(" | {} | 0 | {:.1} | – |", after.queries - before.queries, after.read_units - before.read_units)
            }
            None => " |".to_owned(),
        };
        println!("| {name} | {p50:.2} | {p99:.2} | {count} assets{extra}");
    }
    server.stop().await;
}

/// p50 and p99 (ms) of `REQUESTS` sequential GETs of `path` after a warm-up, and the last body.
async fn measure(server: &TestServer, key: &str, path: &str) -> (f64, f64, Value) {
    let url = format!("{}{path}", server.base);
    let mut times = Vec::with_capacity(REQUESTS);
    let mut body = Value::Null;
    for i in 0..WARMUP + REQUESTS {
        let started = Instant::now();
        let response = server.client.get(&url).header("authorization", key).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        body = response.json().await.unwrap();
        if i >= WARMUP {
            times.push(started.elapsed());
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(times[times.len() / 2]), ms(times[(times.len() * 99).div_ceil(100) - 1]), body)
}

/// A table of its own for this run, created with the bucket (named by `IMGCLOUD_TABLE` and
/// `IMGCLOUD_BUCKET` plus a suffix, which the server then uses too).
async fn fresh_table(settings: AwsSettings) -> AwsSettings {
    let suffix = imgcloud_core::secrets::random_hex(6);
    let settings = AwsSettings {
        table: format!("{}-{suffix}", settings.table),
        bucket: format!("{}-{suffix}", settings.bucket),
        ..settings
    };
    std::env::set_var("IMGCLOUD_TABLE", &settings.table);
    std::env::set_var("IMGCLOUD_BUCKET", &settings.bucket);
    AwsStores::connect(&settings).await.init().await.unwrap();
    settings
}
