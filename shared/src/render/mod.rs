//! The render pipeline of SPEC §6: decode → EXIF auto-orient → resize/crop → rotate → grayscale →
//! blur → flatten → encode, with metadata stripped (encoders write none). Each step is a small
//! function of one file; [`render`] runs them in order on every frame that the output keeps.

mod decode;
mod effects;
mod encode;
pub mod master;
mod resize;
mod salient;

use image::DynamicImage;

pub use decode::Limits;

use crate::{
    media::Format,
    transform::{plan, Transform},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// The original cannot be read (stored bytes that no longer decode, or an unsupported format).
    Decode(String),
    /// Over a pixel, frame or size cap.
    TooLarge(String),
    /// An encoder refused our pixels.
    Encode(String),
    /// Past the render's time budget.
    TooSlow(String),
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
/// alpha: `q` where the format ignores it or says its default, `bg` where nothing is filled. Stored
/// variants are named by this, so that spellings of one output share one variant.
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
    t
}

/// Renders `bytes` with `t` into `output`. The geometry is planned on `plan_on` when given (the
/// original's size, when `bytes` is its master), so that a render from the master has exactly the
/// size a render from the original would have.
pub fn render(
    bytes: &[u8],
    source: Source,
    plan_on: Option<(u32, u32)>,
    t: &Transform,
    output: Format,
    limits: &Limits,
) -> Result<Rendered, RenderError> {
    // Animation survives into the formats that can carry it (SPEC §6).
    let keep_animation = matches!(output, Format::Gif | Format::WebP);
    let frames = match source {
        Source::Original(format) => decode::decode(bytes, format, limits, keep_animation)?,
        Source::Master => master::decode(bytes, limits)?,
    };
    let background = t.background;
    // The canvas is transparent where the output can carry alpha and no colour was asked for.
    let fill = match background {
        Some([r, g, b]) => [r, g, b, 255],
        None if encode::has_alpha(output) => [0, 0, 0, 0],
        None => [255, 255, 255, 255],
    };
    let mut out = Vec::with_capacity(frames.len());
    for frame in frames {
        let plan = plan(plan_on.unwrap_or((frame.image.width(), frame.image.height())), t, limits.max_output_side);
        limits.check_time()?;
        let mut image = resize::resize(frame.image, &plan, fill)?;
        if let Some(degrees) = t.rotate {
            limits.check_time()?;
            image = effects::rotate(image, degrees, fill);
        }
        if t.grayscale {
            image = effects::grayscale(image);
        }
        if let Some(sigma) = t.blur {
            limits.check_time()?;
            image = effects::blur(image, sigma as f32 / 100.0);
        }
        if !encode::has_alpha(output) {
            image = effects::flatten(image, background.unwrap_or([255, 255, 255]));
        }
        out.push(Frame { image, delay_ms: frame.delay_ms });
    }
    let (width, height) = out.first().map_or((0, 0), |f| (f.image.width(), f.image.height()));
    limits.check_time()?;
    let bytes = encode::encode(&out, output, t.quality)?;
    Ok(Rendered { bytes, format: output, width, height })
}
