//! `imgcloud-bench`: measured, never timed in tests. Client and server run in one process on
//! loopback, so they share this machine's cores.
//!
//! - `imgcloud-bench api [seconds]`: authenticated metadata reads/s and 1 MB JPEG uploads/s.
//! - `imgcloud-bench render [iterations]`: the image engine against sharp (libvips) on the same
//!   operations, plus uncached and cached deliveries/s over HTTP.
//! - `imgcloud-bench peers [iterations]`: first renders over HTTP against sharp in process and
//!   thumbor over HTTP, in one run.
//! - `imgcloud-bench avif [iterations]`: `w_800` AVIF renders at several qualities against sharp's
//!   at several efforts and qualities: time, size and SSIMULACRA2 side by side.
//! - `imgcloud-bench load [seconds]`: 64 clients mixing uploads, signed and public deliveries;
//!   fails unless there was no 5xx and no upload was lost.
//! - `imgcloud-bench decode [iterations]`: 12 MP HEIC, AVIF and JPEG XL decodes against
//!   pillow-heif and Pillow (libheif, libavif) in the same run.
//! - `imgcloud-bench smart [iterations]`: the upload's analysis (faces, placeholders) against the
//!   rest of a 12 MP upload's work, and `g_auto` crops against centred ones.
//! - `imgcloud-bench scale [assets]`: listings (every filter, combinations, deep cursors) and the
//!   usage summary over a library seeded through the store ports; on the aws backend with each
//!   page's DynamoDB requests and read capacity.
//! - `imgcloud-bench timing [samples]`: failed logins (wrong password, unknown email) against a
//!   good one, and signature checks failing at the first or the last byte.

mod api;
mod avif;
mod decode;
mod load;
mod mixed;
mod render;
mod scale;
mod server;
mod smart;
mod timing;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let number = args.next().and_then(|s| s.parse().ok());
    println!(
        "imgcloud-bench {command}: {} cores, {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::process::Command::new("date")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    );
    match command.as_str() {
        "api" => api::bench(number.unwrap_or(10)).await,
        "render" => render::bench(number.unwrap_or(10) as usize).await,
        "avif" => avif::bench(number.unwrap_or(5) as usize),
        "peers" => render::peers(number.unwrap_or(10) as usize).await,
        "load" => mixed::bench(number.unwrap_or(60)).await,
        "timing" => timing::bench(number.unwrap_or(200) as usize).await,
        "decode" => decode::bench(number.unwrap_or(5) as usize),
        "smart" => smart::bench(number.unwrap_or(10) as usize),
        "scale" => scale::bench(number.unwrap_or(10_000) as usize).await,
        _ => {
            eprintln!("usage: imgcloud-bench api [seconds] | render [iterations] | peers [iterations] | avif [iterations] | load [seconds] | timing [samples] | decode [iterations] | smart [iterations] | scale [assets]");
            std::process::exit(2);
        }
    }
}

/// The test photographs, beside the project.
pub fn corpus(name: &str) -> Vec<u8> {
    let path = format!("{}/../../shared/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
