//! What an upload finds in its image, once, so that no delivery looks again (SPEC §14): the faces
//! that `g_face`/`g_auto` crop around, and the placeholders a page shows while the image loads.

mod faces;
mod placeholder;

use image::DynamicImage;

use crate::domain::Analysis;

/// `image` reduced to fit `side`, never enlarged.
fn reduced(image: &DynamicImage, side: u32) -> std::borrow::Cow<'_, DynamicImage> {
    let (w, h) = (image.width(), image.height());
    if w.max(h) <= side {
        return std::borrow::Cow::Borrowed(image);
    }
    std::borrow::Cow::Owned(image.thumbnail(side, side))
}

/// Faces, ThumbHash and dominant colour of an oriented, 8-bit RGB or RGBA image.
pub fn analyse(image: &DynamicImage) -> Analysis {
    let small = reduced(image, placeholder::SIDE).to_rgba8();
    Analysis {
        faces: faces::detect(&reduced(image, faces::SIDE)),
        thumbhash: placeholder::thumbhash(&small),
        dominant_color: placeholder::dominant_color(&small),
    }
}
