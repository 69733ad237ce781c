//! Where an image's subject is, and how it looks from afar (SPEC §14): the focal point a person
//! sets, and the faces and placeholders the upload finds. Positions are fractions of the displayed
//! (oriented) width and height, kept as given (a focal point reads back as it was set).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ErrorCode, Invalid};

/// A fraction from 0 to 1 (never NaN, so it is `Eq`); JSON shows it as a number (`0.25`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Fraction(f64);

impl Eq for Fraction {}

impl Fraction {
    /// `value` when it is a number from 0 to 1.
    pub fn new(value: f64) -> Option<Self> {
        // `+ 0.0` turns -0 into 0: one spelling per value.
        (0.0..=1.0).contains(&value).then_some(Self(value + 0.0))
    }

    /// `value` held to 0..=1.
    pub fn clamped(value: f64) -> Self {
        Self::new(if value.is_nan() { 0.0 } else { value.clamp(0.0, 1.0) }).unwrap_or_default()
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl Serialize for Fraction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.get())
    }
}

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(d)?;
        Self::new(value).ok_or_else(|| serde::de::Error::custom(format!("{value} is not from 0 to 1")))
    }
}

/// A point of the image: `g_auto` centres its crop on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub x: Fraction,
    pub y: Fraction,
}

impl Point {
    /// A focal point as `PATCH /v1/assets/:id` takes it: `{"x": 0..1, "y": 0..1}`.
    pub fn parse(value: &serde_json::Value) -> Result<Self, Invalid> {
        let invalid =
            || Invalid::new(ErrorCode::InvalidFocalPoint, r#"focal_point must be null or {"x": 0..1, "y": 0..1}"#);
        // A derived struct reads `[x, y]` too: only the object is the API's.
        if !value.is_object() {
            return Err(invalid());
        }
        serde_json::from_value(value.clone()).map_err(|_| invalid())
    }
}

/// A rectangle of the image: its left, top, width and height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub x: Fraction,
    pub y: Fraction,
    pub w: Fraction,
    pub h: Fraction,
}

impl Region {
    pub fn centre(&self) -> (f64, f64) {
        (self.x.get() + self.w.get() / 2.0, self.y.get() + self.h.get() / 2.0)
    }

    pub fn area(&self) -> f64 {
        self.w.0 * self.h.0
    }

    /// The smallest region holding all of `regions`.
    pub fn around(regions: &[Region]) -> Option<Region> {
        let first = regions.first()?;
        let (mut left, mut top) = (first.x.get(), first.y.get());
        let (mut right, mut bottom) = (left + first.w.get(), top + first.h.get());
        for r in regions {
            left = left.min(r.x.get());
            top = top.min(r.y.get());
            right = right.max(r.x.get() + r.w.get());
            bottom = bottom.max(r.y.get() + r.h.get());
        }
        Some(Region {
            x: Fraction::clamped(left),
            y: Fraction::clamped(top),
            w: Fraction::clamped(right - left),
            h: Fraction::clamped(bottom - top),
        })
    }
}

/// What the upload found in the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    /// Largest first.
    pub faces: Vec<Region>,
    /// Standard base64 of the image's ThumbHash.
    pub thumbhash: String,
    /// `#rrggbb`.
    pub dominant_color: String,
}

/// What a crop with gravity needs to know of its asset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    pub focal_point: Option<Point>,
    pub faces: Vec<Region>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_from_0_to_1_and_read_back_exactly() {
        assert_eq!(Fraction::new(0.25).map(Fraction::get), Some(0.25));
        assert_eq!(Fraction::new(1.0 / 3.0).map(Fraction::get), Some(1.0 / 3.0), "as given");
        assert_eq!(Fraction::new(-0.0), Fraction::new(0.0));
        assert!(Fraction::new(-0.01).is_none() && Fraction::new(1.01).is_none() && Fraction::new(f64::NAN).is_none());
        assert_eq!(Fraction::clamped(7.0).get(), 1.0);
        let point = Point::parse(&serde_json::json!({"x": 0.25, "y": 0.4})).unwrap();
        assert_eq!(serde_json::to_value(point).unwrap(), serde_json::json!({"x": 0.25, "y": 0.4}));
        for bad in [
            serde_json::json!({"x": 2, "y": 0}),
            serde_json::json!({"x": 0.5}),
            serde_json::json!("0.5,0.5"),
            serde_json::json!([0.5, 0.5]),
        ] {
            assert_eq!(Point::parse(&bad).unwrap_err().code, ErrorCode::InvalidFocalPoint, "{bad}");
        }
        assert!(Point::parse(&serde_json::json!({"x": 0.5, "y": 0.5, "z": 1})).is_err());
    }

    #[test]
    fn the_region_around_faces_holds_them_all() {
        let r = |x, y, w, h| Region {
            x: Fraction::clamped(x),
            y: Fraction::clamped(y),
            w: Fraction::clamped(w),
            h: Fraction::clamped(h),
        };
        let around = Region::around(&[r(0.1, 0.2, 0.1, 0.1), r(0.6, 0.5, 0.2, 0.3)]).unwrap();
        let got = [around.x, around.y, around.w, around.h].map(Fraction::get);
        assert!(got.iter().zip([0.1, 0.2, 0.7, 0.6]).all(|(g, want)| (g - want).abs() < 1e-9), "{got:?}");
        let (x, y) = around.centre();
        assert!((x - 0.45).abs() < 1e-9 && (y - 0.5).abs() < 1e-9, "{x} {y}");
        assert!(Region::around(&[]).is_none());
    }
}
