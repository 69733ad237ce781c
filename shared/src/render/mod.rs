//! The render pipeline of SPEC §6: decode → EXIF auto-orient → sRGB (§12) → resize/crop → rotate → grayscale →
//! blur → flatten → encode, with metadata stripped (encoders write none). Each step is a small
//! function of one file; [`render`] runs them in order on every frame that the output keeps.

mod decode;
mod effects;
mod encode;
mod gravity;
pub mod master;
mod resize;
mod salient;
mod webp_animation;

use image::DynamicImage;

pub use decode::RenderLimits;
pub use resize::reduced;

use crate::{
    domain::Subject,
    media::Format,
    transform::{plan, Crop, Gravity, Plan, Transform},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// The original cannot be read (stored bytes that no longer decode, or an unsupported format).
    Decode(String),
    /// Over a pixel, frame or size cap.
    TooLarge(String),
    /// An encoder refused our pixels.
    Encode(String),
    /// Past the render's time or memory budget, or no longer wanted.
    OverBudget(String),
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// One frame on its way through the pipeline: 8-bit RGB or RGBA only.
pub struct Frame {
    pub image: DynamicImage,
    pub delay_ms: u32,
}

/// What the bytes to render are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An uploaded original in this format.
    Original(Format),
    /// A master made by [`master::make`].
    Master,
}

/// `t` without the keys that cannot change a render into `output` of a source with or without
/// alpha: `q` where the format ignores it or says its default, `bg` where nothing is filled, `g`
/// where it says the default. Stored variants are named by this, so that spellings of one output
/// share one variant.
pub fn effective_transform(t: &Transform, output: Format, source_has_alpha: bool) -> Transform {
    let mut t = t.clone();
    if t.quality == encode::default_quality(output) || encode::default_quality(output).is_none() {
        t.quality = None;
    }
    let fills = t.crop == Some(crate::transform::Crop::Contain)
        || t.rotate.is_some_and(|r| r.rem_euclid(90) != 0)
        || (source_has_alpha && !encode::has_alpha(output));
    if !fills {
        t.background = None;
    }
    // `c_thumb` is `c_fill,g_auto`, and `g_center` what a crop does without `g`.
    if t.crop == Some(Crop::Thumb) {
        (t.crop, t.gravity) = (Some(Crop::Fill), Some(t.gravity()));
    }
    if t.gravity == Some(Gravity::CENTER) {
        t.gravity = None;
    }
    t
}

/// Renders `bytes` with `t` into `output`. The geometry is planned on `plan_on` when given (the
/// original's size, when `bytes` is its master), so that a render from the master has exactly the
/// size a render from the original would have; a crop's gravity looks at `subject`.
///
/// Frames go through one at a time, from the decoder to the encoder (SPEC §12), and the pixels of
/// the output frames count against `max_animation_pixels`: a long animation rendered large is
/// refused once it passes the budget, having held one frame at a time.
pub fn render(
    bytes: &[u8],
    source: Source,
    plan_on: Option<(u32, u32)>,
    t: &Transform,
    output: Format,
    limits: &RenderLimits,
    subject: &Subject,
) -> Result<Rendered, RenderError> {
    // Animation survives into the formats that can carry it (SPEC §6).
    let keep_animation = matches!(output, Format::Gif | Format::WebP);
    let frames = match source {
        Source::Original(format) => decode::decode(bytes, format, limits, keep_animation)?,
        Source::Master => master::decode(bytes, limits)?,
    };
    let mut encoder = encode::Encoder::new(output, t.quality);
    let mut output_pixels = 0u64;
    for frame in frames {
        limits.check_budget()?;
        let frame = frame?;
        let source = (frame.image.width(), frame.image.height());
        let plan = plan(plan_on.unwrap_or(source), t, limits.max_output_side);
        let alpha = frame.image.color().has_alpha() && encode::has_alpha(output);
        check_memory(working_memory(source, &plan, t, (output, alpha), keep_animation), limits)?;
        let image = pipeline(frame.image, (&plan, subject), t, output, limits)?;
        output_pixels += u64::from(image.width()) * u64::from(image.height());
        if output_pixels > limits.max_animation_pixels {
            return Err(RenderError::TooLarge(format!(
                "the animation's output frames add up to more than {} pixels; ask for a smaller size or a still \
                 format",
                limits.max_animation_pixels
            )));
        }
        encoder.add(Frame { image, delay_ms: frame.delay_ms })?;
    }
    let (width, height) = encoder.size().ok_or_else(|| RenderError::Decode("the image has no frames".into()))?;
    limits.check_budget()?;
    let bytes = encoder.finish()?;
    Ok(Rendered { bytes, format: output, width, height })
}

/// The first frame of an original, decoded and oriented as a render would (none: no frames).
pub fn first_frame(bytes: &[u8], format: Format, limits: &RenderLimits) -> Result<Option<DynamicImage>, RenderError> {
    decode::decode(bytes, format, limits, false)?.next().transpose().map(|frame| frame.map(|f| f.image))
}

/// What decoding holds per pixel of the canvas: the pixels, and the decoder's own planes.
pub(crate) const DECODING_BYTES_PER_PIXEL: u64 = 8;

/// `Err` when `bytes` of working memory are over the render's budget.
pub(crate) fn check_memory(bytes: u64, limits: &RenderLimits) -> Result<(), RenderError> {
    if bytes > limits.max_memory {
        return Err(RenderError::OverBudget(format!(
            "this render would need about {} MiB; the limit is {} MiB",
            bytes >> 20,
            limits.max_memory >> 20
        )));
    }
    Ok(())
}

/// The working memory of one frame's steps after decoding, estimated from the sizes alone (the
/// constants were measured: docs/BENCHMARKS.md, "Render memory"). The decoded frame is held
/// while it is resized; then the output and each step's copy of it, and the encoder's state; an
/// animation's encoder keeps a few canvases besides.
fn working_memory(
    source: (u32, u32),
    plan: &Plan,
    t: &Transform,
    (output, alpha): (Format, bool),
    animated: bool,
) -> u64 {
    let pixels = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
    let rotated = crate::transform::geometry::rotated_size(plan.canvas.0, plan.canvas.1, t.rotate.unwrap_or(0));
    let steps = pixels(source) * 4 + (pixels(plan.scaled) + pixels(plan.canvas)) * 4;
    let output_pixels = pixels(rotated).max(pixels(plan.canvas));
    let encoder =
        output_pixels * (8 + encode::bytes_per_pixel(output, alpha)) + if animated { output_pixels * 12 } else { 0 };
    steps.max(encoder)
}

/// One frame through every step after decoding.
fn pipeline(
    image: DynamicImage,
    (plan, subject): (&Plan, &Subject),
    t: &Transform,
    output: Format,
    limits: &RenderLimits,
) -> Result<DynamicImage, RenderError> {
    // The canvas is transparent where the output can carry alpha and no colour was asked for.
    let fill = match t.background {
        Some([r, g, b]) => [r, g, b, 255],
        None if encode::has_alpha(output) => [0, 0, 0, 0],
        None => [255, 255, 255, 255],
    };
    let mut image = resize::resize(image, plan, fill, subject)?;
    if let Some(degrees) = t.rotate {
        limits.check_budget()?;
        image = effects::rotate(image, degrees, fill);
    }
    if t.grayscale {
        image = effects::grayscale(image);
    }
    if let Some(sigma) = t.blur {
        limits.check_budget()?;
        image = effects::blur(image, sigma as f32 / 100.0);
    }
    if !encode::has_alpha(output) {
        image = effects::flatten(image, t.background.unwrap_or([255, 255, 255]));
    }
    Ok(image)
}
