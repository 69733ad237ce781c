//! AVIF like for like: our `w_800,f_avif` render at several qualities against sharp's AVIF
//! (libaom) at several efforts and qualities, each with its time, size and SSIMULACRA2 score
//! against its own lossless render of the same resize, so that equal size and quality can be
//! read off one table.

use std::time::Instant;

use image::DynamicImage;
use imgcloud_core::{
    media::Format,
    render::{first_frame, master, render, RenderLimits, Source},
    transform::Transform,
};
use serde_json::Value;

use crate::{
    corpus,
    render::{median, sharp_script},
};

const LIMITS: RenderLimits = RenderLimits::DEFAULT;
const OUR_QUALITIES: [u8; 4] = [50, 60, 70, 80];
const SHARP_EFFORTS: &str = "0,1,2,4";
const SHARP_QUALITIES: &str = "40,50,60";

fn decoded(bytes: &[u8], format: Format) -> DynamicImage {
    first_frame(bytes, format, &LIMITS).expect("decodes").expect("a frame")
}

/// SSIMULACRA2 of `distorted` against `reference` (100: identical; 90: visually lossless at a
/// normal distance; 70: high quality; 50: medium).
fn ssimulacra2(reference: &DynamicImage, distorted: &DynamicImage) -> f64 {
    let plane = |image: &DynamicImage| {
        let rgb = image.to_rgb8();
        let pixels = rgb.pixels().map(|p| p.0.map(|c| f32::from(c) / 255.0)).collect();
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        ssimulacra2::Rgb::new(
            pixels,
            w,
            h,
            ssimulacra2::TransferCharacteristic::SRGB,
            ssimulacra2::ColorPrimaries::BT709,
        )
        .expect("an sRGB image")
    };
    ssimulacra2::compute_frame_ssimulacra2(plane(reference), plane(distorted)).expect("same sizes")
}

pub fn bench(iterations: usize) {
    let photo = corpus("photo_12mp_4000x3000.jpg");
    let size = (4000, 3000);
    let masters = master::make(&photo, Format::Jpeg, false, &LIMITS).expect("masters");
    let render_as = |transform: &str, output: Format| {
        let t = Transform::parse(transform).expect("a transform");
        // The master a delivery would render from.
        let level = master::choose(size, false, &t, LIMITS.max_output_side).expect("a master serves w_800");
        let input = &masters.iter().find(|(l, _)| *l == level).expect("made").1;
        render(input, Source::Master, Some(size), &t, output, &LIMITS, &Default::default()).expect("renders").bytes
    };
    let reference = decoded(&render_as("w_800,f_png", Format::Png), Format::Png);
    println!("\n| encoder | setting | median ms | bytes | SSIMULACRA2 |");
    println!("|---|---|---:|---:|---:|");
    for q in OUR_QUALITIES {
        let transform = format!("w_800,f_avif,q_{q}");
        let mut bytes = render_as(&transform, Format::Avif);
        let times = (0..iterations)
            .map(|_| {
                let start = Instant::now();
                bytes = render_as(&transform, Format::Avif);
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        let score = ssimulacra2(&reference, &decoded(&bytes, Format::Avif));
        println!("| imgcloud (rav1e) | `q_{q}` | {:.0} | {} | {score:.1} |", median(times), bytes.len());
    }
    let out = tempfile::tempdir().expect("a temp dir");
    let Some(sharp) = sharp(iterations, out.path()) else { return };
    let reference = decoded(&std::fs::read(sharp["reference"].as_str().unwrap()).unwrap(), Format::Png);
    for result in sharp["results"].as_array().into_iter().flatten() {
        let bytes = std::fs::read(result["file"].as_str().unwrap()).unwrap();
        let score = ssimulacra2(&reference, &decoded(&bytes, Format::Avif));
        println!(
            "| sharp (libaom) | effort {}, quality {} | {:.0} | {} | {score:.1} |",
            result["effort"],
            result["quality"],
            result["ms"].as_f64().unwrap_or_default(),
            bytes.len()
        );
    }
}

/// sharp's outputs, written to `out` (`bench/sharp/avif.mjs`).
fn sharp(iterations: usize, out: &std::path::Path) -> Option<Value> {
    let iterations = iterations.to_string();
    sharp_script("avif.mjs", &[iterations.as_ref(), out.as_os_str(), SHARP_EFFORTS.as_ref(), SHARP_QUALITIES.as_ref()])
}
