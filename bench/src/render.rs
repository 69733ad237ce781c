//! The image engine against sharp (libvips) on the same operations in the same run, and
//! deliveries over HTTP, uncached and cached.

use std::time::Instant;

use imgcloud_core::{
    media::{inspect, Format, Formats, InspectLimits},
    render::{master, render, RenderLimits, Source},
    transform::Transform,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::{corpus, load::run, server::TestServer};

/// (label as sharp's script names it, corpus file, transform)
const OPERATIONS: [(&str, &str, &str); 5] = [
    ("w_400,h_400,c_fill,f_webp,q_80", "photo_12mp_4000x3000.jpg", "w_400,h_400,c_fill,f_webp,q_80"),
    ("w_800,f_jpg,q_80", "photo_12mp_4000x3000.jpg", "w_800,f_jpg,q_80"),
    ("w_1200,h_1200,c_fit,f_avif", "photo_12mp_4000x3000.jpg", "w_1200,h_1200,c_fit,f_avif"),
    ("png: w_256,h_256,c_contain,f_png", "alpha_1024x1024.png", "w_256,h_256,c_contain,f_png"),
    ("w_400,h_400,c_fill,gr_1,bl_4,f_jpg", "photo_12mp_4000x3000.jpg", "w_400,h_400,c_fill,gr_1,bl_4,f_jpg"),
];

const LIMITS: RenderLimits = RenderLimits::DEFAULT;

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The process's peak resident memory (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs `<program> <script> <corpus dir> <args…>` (a peer's benchmark) and parses the JSON it
/// prints; `None`, saying how to install it, without `installed`.
fn peer(program: &str, script: &str, installed: &str, install: &str, args: &[&std::ffi::OsStr]) -> Option<Value> {
    if !std::path::Path::new(installed).exists() {
        println!("({installed} is missing: {install})");
        return None;
    }
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");
    let out = std::process::Command::new(program).arg(script).arg(corpus).args(args).output().ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Runs `bench/sharp/<script> <corpus dir> <args…>` in node (sharp in process).
pub fn sharp_script(script: &str, args: &[&std::ffi::OsStr]) -> Option<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sharp");
    let installed = format!("{dir}/node_modules/sharp");
    peer("node", &format!("{dir}/{script}"), &installed, "run `npm ci` in bench/sharp to compare", args)
}

fn sharp(iterations: usize) -> Option<Value> {
    sharp_script("bench.mjs", &[iterations.to_string().as_ref()])
}

/// First renders over HTTP, as the peers' tables compare them: (label, transform, Accept).
const FIRST_RENDERS: [(&str, &str, &str); 4] = [
    ("w_400,h_400,c_fill,f_webp,q_80", "w_400,h_400,c_fill,f_webp,q_80", "*/*"),
    ("w_800,f_jpg,q_80", "w_800,f_jpg,q_80", "*/*"),
    ("w_400,h_400,c_fill,gr_1,bl_4,f_jpg", "w_400,h_400,c_fill,gr_1,bl_4,f_jpg", "*/*"),
    ("w_800,f_auto (AVIF)", "w_800,f_auto", "image/avif,image/webp,*/*"),
];

/// Medians of first renders over HTTP (the in-process server, loopback), then the same operations
/// by sharp in process and by thumbor over HTTP, in one run.
pub async fn peers(iterations: usize) {
    let ours = first_renders(iterations).await;
    let sharp = sharp(iterations);
    let thumbor = thumbor(iterations);
    println!("\n| first render of the 12 MP JPEG | imgcloud HTTP ms | sharp ms | imgcloud / sharp | thumbor HTTP ms | imgcloud / thumbor |");
    println!("|---|---:|---:|---:|---:|---:|");
    let cell = |peer: &Option<Value>, label: &str, ms: f64| match peer.as_ref().and_then(|p| p[label].as_f64()) {
        Some(theirs) => (format!("{theirs:.1}"), format!("{:.2}", ms / theirs)),
        None => ("–".into(), "–".into()),
    };
    for (label, ms) in ours {
        let ((s, sr), (t, tr)) = (cell(&sharp, label, ms), cell(&thumbor, label, ms));
        println!("| `{label}` | {ms:.1} | {s} | {sr} | {t} | {tr} |");
    }
    if let Some(version) = thumbor.as_ref().and_then(|t| t["version"].as_str()) {
        println!("\nthumbor {version}");
    }
}

/// Each measured request names a variant nobody rendered before (every iteration has an upload
/// of its own of the same photo), so each is a whole miss: the record, the master's read, the
/// render and the variant's store, as a client meets it.
async fn first_renders(iterations: usize) -> Vec<(&'static str, f64)> {
    let server = TestServer::start().await;
    let photo = corpus("photo_12mp_4000x3000.jpg");
    for i in 0..=iterations {
        server.upload(&photo, &[("public_id", &format!("p{i}"))]).await.expect("upload");
    }
    let mut medians = Vec::new();
    for (label, transform, accept) in FIRST_RENDERS {
        let mut times = Vec::new();
        for i in 0..=iterations {
            let url = format!("{}/v1/image/{transform}/p{i}", server.base);
            let start = Instant::now();
            let response = server.client.get(&url).header("accept", accept).send().await.expect("a response");
            let fresh = response.status() == StatusCode::OK && response.headers()["x-cache"] == "MISS";
            let bytes = response.bytes().await.expect("a body");
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            assert!(fresh && !bytes.is_empty(), "{url}: not a first render");
            // The first is a warm-up.
            if i > 0 {
                times.push(ms);
            }
        }
        medians.push((label, median(times)));
    }
    server.stop().await;
    medians
}

/// thumbor over HTTP (`bench/thumbor/bench.py` in the venv `target/venv-thumbor`).
fn thumbor(iterations: usize) -> Option<Value> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let python = format!("{root}/target/venv-thumbor/bin/python");
    let install = "install bench/thumbor/requirements.txt into the venv target/venv-thumbor to compare";
    peer(&python, &format!("{root}/bench/thumbor/bench.py"), &python, install, &[iterations.to_string().as_ref()])
}

pub async fn bench(iterations: usize) {
    let mut ours = Vec::new();
    let mut master_ms = Vec::new();
    for (label, file, transform) in OPERATIONS {
        let bytes = corpus(file);
        let info = inspect(
            &bytes,
            &InspectLimits {
                max_pixels: LIMITS.max_pixels,
                max_frames: LIMITS.max_frames,
                formats: Formats::ALL,
                max_memory: LIMITS.max_memory,
            },
        )
        .unwrap();
        let size = (info.width, info.height);
        let t = Transform::parse(transform).unwrap();
        let output = t.format.and_then(|f| f.concrete()).unwrap_or(info.format);
        // What the upload stores beside the original, and what delivery then renders from.
        let started = Instant::now();
        let masters = master::make(&bytes, info.format, info.has_alpha, &LIMITS).unwrap();
        if !masters.is_empty() && info.format == Format::Jpeg {
            master_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let chosen = master::choose(size, info.has_alpha, &t, LIMITS.max_output_side)
            .and_then(|level| masters.iter().find(|(l, _)| *l == level));
        let (input, source, plan_on) = match chosen {
            Some((_, m)) => (m.as_slice(), Source::Master, Some(size)),
            None => (bytes.as_slice(), Source::Original(info.format), None),
        };
        render(input, source, plan_on, &t, output, &LIMITS, &Default::default()).expect("renders");
        let times = (0..iterations)
            .map(|_| {
                let start = Instant::now();
                render(input, source, plan_on, &t, output, &LIMITS, &Default::default()).expect("renders");
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ours.push((label, median(times)));
    }
    let our_peak = peak_rss_mb();
    let theirs = sharp(iterations);

    println!("\n| operation (12 MP JPEG unless noted) | imgcloud median ms | sharp median ms | imgcloud / sharp |");
    println!("|---|---:|---:|---:|");
    for (label, ms) in &ours {
        match theirs.as_ref().and_then(|s| s[*label].as_f64()) {
            Some(s) => println!("| `{label}` | {ms:.1} | {s:.1} | {:.2} |", ms / s),
            None => println!("| `{label}` | {ms:.1} | – | – |"),
        }
    }
    println!("\nmasters of the 12 MP JPEG (2048 and 1024 px), made once at upload: {:.0} ms", median(master_ms));
    colour_cost(iterations);
    println!(
        "peak RSS: imgcloud process {our_peak:.0} MB; sharp process {:.0} MB",
        theirs.as_ref().and_then(|s| s["peak_rss_mb"].as_f64()).unwrap_or(0.0)
    );
    http(iterations).await;
}

/// The 12 MP JPEG with a Display P3 profile spliced in (an APP2 segment; same pixels) against the
/// same JPEG untagged: the conversion to sRGB costs where it runs, when the masters are made at
/// upload and in a render from the original; renders from masters (already sRGB) pay nothing.
fn colour_cost(iterations: usize) {
    let untagged = corpus("photo_12mp_4000x3000.jpg");
    let icc = moxcms::ColorProfile::new_display_p3().encode().expect("an ICC profile");
    let mut segment = b"ICC_PROFILE\0\x01\x01".to_vec();
    segment.extend_from_slice(&icc);
    let length = u16::try_from(segment.len() + 2).expect("one APP2 segment");
    let p3 = [&untagged[..2], &[0xFF, 0xE2], &length.to_be_bytes(), &segment, &untagged[2..]].concat();
    let from_original = Transform::parse("w_3000,f_jpg,q_80").unwrap();
    let time = |f: &dyn Fn()| {
        f();
        median(
            (0..iterations)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed().as_secs_f64() * 1000.0
                })
                .collect(),
        )
    };
    println!("\n| 12 MP JPEG | untagged ms | Display P3 ms | P3 / untagged |");
    println!("|---|---:|---:|---:|");
    type Row<'a> = (&'a str, &'a dyn Fn(&[u8]));
    let rows: [Row; 2] = [
        ("masters at upload (decode, convert, 2048 + 1024 JPEGs)", &|b| {
            master::make(b, Format::Jpeg, false, &LIMITS).unwrap();
        }),
        ("`w_3000,f_jpg,q_80` from the original", &|b| {
            render(b, Source::Original(Format::Jpeg), None, &from_original, Format::Jpeg, &LIMITS, &Default::default())
                .unwrap();
        }),
    ];
    for (label, run) in rows {
        let (plain, wide) = (time(&|| run(&untagged)), time(&|| run(&p3)));
        println!("| {label} | {plain:.0} | {wide:.0} | {:.2} |", wide / plain);
    }
}

async fn http(iterations: usize) {
    let server = TestServer::start().await;
    server.upload(&corpus("photo_12mp_4000x3000.jpg"), &[("public_id", "p")]).await.expect("upload");
    let seconds = (iterations as u64).clamp(3, 10);
    let (client, base) = (server.client.clone(), server.base.clone());
    let uncached = run(2, seconds, move |n| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let url = format!("{base}/v1/image/w_{},h_200,c_fill,f_webp/p", 200 + n % 3000);
            client.get(url).send().await.is_ok_and(|r| r.status() == StatusCode::OK && r.headers()["x-cache"] == "MISS")
        }
    })
    .await;
    uncached.print("HTTP uncached renders (12 MP JPEG → w_N,h_200,c_fill,f_webp), 2 clients", None);
    let url = format!("{}/v1/image/w_400,h_400,c_fill,f_webp/p", server.base);
    server.client.get(&url).send().await.unwrap();
    let client = server.client.clone();
    let cached = run(64, seconds, move |_| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            match client.get(&url).send().await {
                Ok(r) => r.status() == StatusCode::OK && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    cached.print("HTTP cached deliveries (w_400,h_400,c_fill,f_webp), 64 clients", None);
    server.stop().await;
}
