//! What smart delivery costs (SPEC §14, issue 17): the upload's analysis (faces, ThumbHash,
//! dominant colour) against the rest of a 12 MP JPEG upload's work (decode, masters), and a
//! `g_auto` crop (saliency, or faces) against a centred `c_fill`, in the same run, in process.

use std::time::Instant;

use image::DynamicImage;

use imgcloud_core::{
    analysis,
    domain::Subject,
    media::{inspect_keeping_pixels, Format, Formats, InspectLimits},
    render::{master, reduced, render, RenderLimits, Source},
    transform::Transform,
};

use crate::{corpus, render::median};

const LIMITS: RenderLimits = RenderLimits::DEFAULT;

fn time_ms(f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64() * 1000.0
}

pub fn bench(iterations: usize) {
    let original = corpus("photo_12mp_4000x3000.jpg");
    let limits = InspectLimits { max_pixels: 100_000_000, max_frames: 1, formats: Formats::ALL, max_memory: 2 << 30 };
    let (mut upload_ms, mut analysis_ms) = (Vec::new(), Vec::new());
    let mut smallest = None;
    for _ in 0..iterations {
        let mut made = None;
        upload_ms.push(time_ms(|| {
            let (_, pixels) = inspect_keeping_pixels(&original, &limits).expect("inspects");
            let pixels = pixels.expect("a JPEG keeps its pixels");
            made = Some(master::from_image(pixels, 1, false, DynamicImage::clone).expect("masters"));
        }));
        let (_, image) = made.expect("made");
        analysis_ms.push(time_ms(|| {
            std::hint::black_box(analysis::analyse(&image));
        }));
        smallest = Some(image);
    }
    let (upload, analysed) = (median(upload_ms), median(analysis_ms));
    let image = smallest.expect("at least one iteration");
    let faces_ms = median(
        (0..iterations)
            .map(|_| time_ms(|| drop(analysis::faces::detect(&reduced(&image, analysis::faces::SIDE)))))
            .collect(),
    );
    let placeholders_ms =
        median((0..iterations).map(|_| time_ms(|| drop(analysis::placeholder::placeholders(&image)))).collect());
    println!("\n12 MP JPEG upload, medians of {iterations}:");
    println!("  decode + masters (today's upload work): {upload:.1} ms");
    println!(
        "  analysis of the 1024 px master: {analysed:.1} ms (+{:.1} %): faces {faces_ms:.1} ms, placeholders {placeholders_ms:.1} ms",
        analysed / upload * 100.0
    );

    // Interleaved, each crop against the centred one of the same round (this machine is shared:
    // a ratio of neighbours is steadier than one of two medians taken apart).
    let masters = master::make(&original, Format::Jpeg, false, &LIMITS).expect("masters");
    let crops =
        ["w_400,h_400,c_fill,f_webp", "w_400,h_400,c_fill,g_auto,f_webp", "w_400,h_400,c_fill,g_north_west,f_webp"];
    let transforms: Vec<Transform> = crops.iter().map(|t| Transform::parse(t).expect("transform")).collect();
    let level = master::choose((4000, 3000), false, &transforms[0], 4000).expect("a master serves it");
    let bytes = &masters.iter().find(|(l, _)| *l == level).expect("made").1;
    let mut times = vec![Vec::new(); crops.len()];
    for _ in 0..iterations {
        for (t, times) in transforms.iter().zip(&mut times) {
            times.push(time_ms(|| {
                let rendered =
                    render(bytes, Source::Master, Some((4000, 3000)), t, Format::WebP, &LIMITS, &Subject::default());
                std::hint::black_box(rendered.expect("renders"));
            }));
        }
    }
    println!(
        "\nrenders from the {} px master (no focal point, no faces: g_auto is saliency), {iterations} rounds:",
        level.name
    );
    for (t, ms) in crops.iter().zip(&times) {
        let ratios = ms.iter().zip(&times[0]).map(|(a, b)| a / b).collect();
        println!("  {t}: median {:.1} ms, median ratio to c_fill {:.3}", median(ms.clone()), median(ratios));
    }
}
