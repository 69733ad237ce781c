//! What an upload finds in its image, once, so that no delivery looks again (SPEC §14): the faces
//! that `g_face`/`g_auto` crop around, and the placeholders a page shows while the image loads.

pub mod faces;
pub mod placeholder;

use image::DynamicImage;

use crate::{domain::Analysis, render::reduced};

/// Faces, ThumbHash and dominant colour of an oriented image.
pub fn analyse(image: &DynamicImage) -> Analysis {
    let (thumbhash, dominant_color) = placeholder::placeholders(image);
    Analysis { faces: faces::detect(&reduced(image, faces::SIDE)), thumbhash, dominant_color }
}
