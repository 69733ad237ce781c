//! Any bytes as an upload: inspection never panics, and what it accepts renders (or fails with an
//! error) without panicking, under small caps so that the fuzzer stays fast.
#![no_main]

use imgcloud_core::{
    media::{inspect, Formats, InspectLimits},
    render::{render, RenderLimits, Source},
    transform::Transform,
};
use libfuzzer_sys::fuzz_target;

const TRANSFORMS: [&str; 6] = ["w_16", "w_20,h_20,c_fill,f_png", "w_8,h_30,c_contain,bg_ff0000,f_jpg", "w_12,r_33,gr_1,f_webp", "w_10,bl_2,f_gif", "c_thumb,w_9,h_9"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let Ok(info) = inspect(bytes, &InspectLimits { max_pixels: 1 << 20, max_frames: 16, formats: Formats::ALL, max_memory: 256 << 20 }) else { return };
    let t = Transform::parse(TRANSFORMS[usize::from(selector) % TRANSFORMS.len()]).unwrap();
    let output = t.format.and_then(|f| f.concrete()).unwrap_or(info.format.rendered_as(info.has_alpha));
    let limits = RenderLimits { max_pixels: 1 << 20, max_frames: 16, max_output_side: 64, max_animation_pixels: 1 << 22, ..RenderLimits::DEFAULT };
    let _ = render(bytes, Source::Original(info.format), None, &t, output, &limits, &Default::default());
});
