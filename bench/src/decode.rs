//! `imgcloud-bench decode [iterations]`: our memory-safe decoders of 12 MP phone-sized files (a
//! HEIC `grid` as iPhones write it, an AVIF, a JPEG XL) against the C decoders Python users have
//! (pillow-heif's libheif + libde265, Pillow's libavif) on the same files in the same run. The
//! files are `scripts/make-fixtures.py`'s, in `$IMGCLOUD_FIXTURES` (default `target/fixtures`).

use std::{path::PathBuf, time::Instant};

use imgcloud_core::media::{decoders, Format};
use serde_json::Value;

use crate::render::median;

const FILES: [(&str, Format); 3] =
    [("photo_12mp_grid.heic", Format::Heic), ("photo_12mp.avif", Format::Avif), ("photo_12mp_lossy.jxl", Format::Jxl)];

fn fixtures() -> PathBuf {
    std::env::var_os("IMGCLOUD_FIXTURES")
        .map_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/fixtures")), PathBuf::from)
}

/// pillow-heif and Pillow, from `$IMGCLOUD_BENCH_PYTHON` or the venv `scripts/test` makes.
fn pillow(iterations: usize, paths: &[PathBuf]) -> Option<Value> {
    let python = std::env::var_os("IMGCLOUD_BENCH_PYTHON").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/venv-fixtures/bin/python")),
        PathBuf::from,
    );
    if !python.exists() {
        println!("({} is missing: run scripts/test once, or set IMGCLOUD_BENCH_PYTHON, to compare)", python.display());
        return None;
    }
    let out = std::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/pillow/decode.py"))
        .arg(iterations.to_string())
        .args(paths)
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

pub fn bench(iterations: usize) {
    let paths: Vec<PathBuf> = FILES.iter().map(|(name, _)| fixtures().join(name)).collect();
    let mut ours = Vec::new();
    for ((name, format), path) in FILES.iter().zip(&paths) {
        let bytes = std::fs::read(path)
            .unwrap_or_else(|e| panic!("{}: {e} (make it with scripts/make-fixtures.py)", path.display()));
        let decoder = decoders::of(*format).expect("a container format");
        let decode = || {
            let header = (decoder.header)(&bytes).expect("header");
            (decoder.decode)(&bytes, &header).expect("decode")
        };
        let pixels = decode();
        let times: Vec<f64> = (0..iterations)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(decode());
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ours.push((*name, pixels.width(), pixels.height(), median(times)));
    }
    let theirs = pillow(iterations, &paths);
    println!("| file | size | imgcloud median ms | C decoder | its median ms | imgcloud / C |");
    println!("|---|---|---:|---|---:|---:|");
    for ((name, w, h, ms), path) in ours.iter().zip(&paths) {
        let other = theirs.as_ref().and_then(|t| t.get(path.to_str()?));
        let (decoder, their_ms) = match other {
            Some(o) => (o["decoder"].as_str().unwrap_or("?").to_owned(), o["median_ms"].as_f64()),
            None => ("—".to_owned(), None),
        };
        let (their_text, ratio) = match their_ms {
            Some(t) => (format!("{t:.0}"), format!("{:.2}", ms / t)),
            None => ("—".to_owned(), "—".to_owned()),
        };
        println!("| `{name}` | {w}×{h} | {ms:.0} | {decoder} | {their_text} | {ratio} |");
    }
}
