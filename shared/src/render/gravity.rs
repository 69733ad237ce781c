//! Where a crop keeps its window (SPEC §14's `g`): an anchor, the asset's focal point, its faces
//! (found at upload, never here), or the most salient region.

use image::DynamicImage;

use super::salient;
use crate::{
    domain::{Region, Subject},
    transform::Gravity,
};

/// Top-left corner, in source pixels, of the `crop` (width, height) window of `image` to keep.
pub fn window(image: &DynamicImage, crop: (f64, f64), gravity: Gravity, subject: &Subject) -> (f64, f64) {
    let size = (f64::from(image.width()), f64::from(image.height()));
    let free = ((size.0 - crop.0).max(0.0), (size.1 - crop.1).max(0.0));
    if free == (0.0, 0.0) {
        return (0.0, 0.0);
    }
    // The window centred on a point given as fractions of the image, held inside it.
    let centred_on = |(x, y): (f64, f64)| {
        ((x * size.0 - crop.0 / 2.0).clamp(0.0, free.0), (y * size.1 - crop.1 / 2.0).clamp(0.0, free.1))
    };
    let auto = || match (subject.focal_point, Region::around(&subject.faces)) {
        (Some(point), _) => centred_on((point.x.get(), point.y.get())),
        (None, Some(faces)) => centred_on(faces.centre()),
        (None, None) => salient::window(image, crop),
    };
    match gravity {
        Gravity::Anchor(h, v) => (free.0 * f64::from(h) / 2.0, free.1 * f64::from(v) / 2.0),
        // Largest first.
        Gravity::Face => subject.faces.first().map_or_else(auto, |face| centred_on(face.centre())),
        Gravity::Faces => Region::around(&subject.faces).map_or_else(auto, |faces| centred_on(faces.centre())),
        Gravity::Auto => auto(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Fraction, Point};

    fn region(x: f64, y: f64, w: f64, h: f64) -> Region {
        let f = Fraction::clamped;
        Region { x: f(x), y: f(y), w: f(w), h: f(h) }
    }

    #[test]
    fn anchors_focal_points_and_faces_place_the_window() {
        let image = DynamicImage::new_rgb8(1000, 500);
        let crop = (500.0, 500.0);
        let none = Subject::default();
        assert_eq!(window(&image, crop, Gravity::CENTER, &none), (250.0, 0.0));
        assert_eq!(window(&image, crop, Gravity::Anchor(0, 0), &none), (0.0, 0.0));
        assert_eq!(window(&image, crop, Gravity::Anchor(2, 2), &none), (500.0, 0.0));
        let focal = Subject {
            focal_point: Some(Point { x: Fraction::clamped(0.9), y: Fraction::clamped(0.1) }),
            faces: vec![],
        };
        assert_eq!(window(&image, crop, Gravity::Auto, &focal), (500.0, 0.0), "held inside the image");
        let faces =
            Subject { focal_point: None, faces: vec![region(0.3, 0.2, 0.1, 0.2), region(0.05, 0.1, 0.05, 0.1)] };
        assert_eq!(window(&image, crop, Gravity::Face, &faces), (100.0, 0.0), "centred on the largest face");
        assert_eq!(window(&image, crop, Gravity::Faces, &faces), (0.0, 0.0), "centred on all of them");
        let both = Subject { focal_point: focal.focal_point, faces: faces.faces.clone() };
        assert_eq!(window(&image, crop, Gravity::Auto, &both), (500.0, 0.0), "the focal point wins");
        assert_eq!(window(&image, crop, Gravity::Face, &both), (100.0, 0.0), "g_face wants the face");
        assert_eq!(window(&image, crop, Gravity::Face, &focal), (500.0, 0.0), "no face: as g_auto");
    }
}
