//! The transform grammar of SPEC §6: `key_value` pairs joined by `,`. [`Transform::parse`] refuses
//! every bad pair with a message naming it; [`Transform::canonical`] is the one spelling used for
//! cache keys, ETags and the SDKs (order `w,h,c,q,f,dpr,gr,bl,r,bg`).

pub(crate) mod geometry;

pub use geometry::{plan, Placement, Plan};

use std::fmt::Write;

use crate::media::Format;

pub const MAX_SIDE: u32 = 4000;
const MAX_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Crop {
    #[default]
    Fit,
    Fill,
    Cover,
    Contain,
    Inside,
    Outside,
    Thumb,
}

impl Crop {
    const ALL: [(Crop, &'static str); 7] = [
        (Crop::Fit, "fit"),
        (Crop::Fill, "fill"),
        (Crop::Cover, "cover"),
        (Crop::Contain, "contain"),
        (Crop::Inside, "inside"),
        (Crop::Outside, "outside"),
        (Crop::Thumb, "thumb"),
    ];
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map_or("fit", |(_, n)| n)
    }
}

/// The `f_` values; `Auto` is resolved against `Accept` before rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Auto,
    Jpg,
    Png,
    Webp,
    Avif,
    Gif,
}

impl OutputFormat {
    const ALL: [(OutputFormat, &'static str); 6] = [
        (OutputFormat::Auto, "auto"),
        (OutputFormat::Jpg, "jpg"),
        (OutputFormat::Png, "png"),
        (OutputFormat::Webp, "webp"),
        (OutputFormat::Avif, "avif"),
        (OutputFormat::Gif, "gif"),
    ];
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(f, _)| *f == self).map_or("auto", |(_, n)| n)
    }

    /// The concrete format; `None` for `auto`, which depends on the request.
    pub fn concrete(self) -> Option<Format> {
        match self {
            OutputFormat::Auto => None,
            OutputFormat::Jpg => Some(Format::Jpeg),
            OutputFormat::Png => Some(Format::Png),
            OutputFormat::Webp => Some(Format::WebP),
            OutputFormat::Avif => Some(Format::Avif),
            OutputFormat::Gif => Some(Format::Gif),
        }
    }
}

/// A number with up to two decimals, kept exactly as hundredths (`dpr_1.5` is 150).
pub type Hundredths = u32;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transform {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub crop: Option<Crop>,
    pub quality: Option<u8>,
    pub format: Option<OutputFormat>,
    pub dpr: Option<Hundredths>,
    pub grayscale: bool,
    pub blur: Option<Hundredths>,
    pub rotate: Option<i32>,
    pub background: Option<[u8; 3]>,
}

/// Keys in canonical order.
const KEYS: [&str; 10] = ["w", "h", "c", "q", "f", "dpr", "gr", "bl", "r", "bg"];

impl Transform {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() > MAX_LEN {
            return Err(format!("a transform is at most {MAX_LEN} characters"));
        }
        let mut t = Transform::default();
        let mut seen = [false; KEYS.len()];
        for pair in s.split(',') {
            let bad = |why: &str| format!("invalid transform pair {pair:?}: {why}");
            let (key, value) = pair.split_once('_').ok_or_else(|| bad("expected key_value"))?;
            let index = KEYS.iter().position(|k| *k == key).ok_or_else(|| bad("unknown key"))?;
            if std::mem::replace(&mut seen[index], true) {
                return Err(bad("the key is given twice"));
            }
            match key {
                "w" => {
                    t.width = Some(
                        integer(value, 1, MAX_SIDE as i64)
                            .ok_or_else(|| bad("w must be a whole number from 1 to 4000"))?
                            as u32,
                    )
                }
                "h" => {
                    t.height = Some(
                        integer(value, 1, MAX_SIDE as i64)
                            .ok_or_else(|| bad("h must be a whole number from 1 to 4000"))?
                            as u32,
                    )
                }
                "q" => {
                    t.quality =
                        Some(integer(value, 1, 100).ok_or_else(|| bad("q must be a whole number from 1 to 100"))? as u8)
                }
                "r" => {
                    t.rotate = Some(
                        signed_integer(value, -360, 360)
                            .ok_or_else(|| bad("r must be a whole number from -360 to 360"))?
                            as i32,
                    )
                }
                "c" => {
                    t.crop =
                        Some(
                            Crop::ALL.iter().find(|(_, n)| *n == value).map(|(c, _)| *c).ok_or_else(|| {
                                bad("c must be one of fit, fill, cover, contain, inside, outside, thumb")
                            })?,
                        )
                }
                "f" => {
                    t.format = Some(
                        OutputFormat::ALL
                            .iter()
                            .find(|(_, n)| *n == value)
                            .map(|(f, _)| *f)
                            .ok_or_else(|| bad("f must be one of auto, jpg, png, webp, avif, gif"))?,
                    )
                }
                "dpr" => {
                    t.dpr = Some(
                        decimal(value, 100, 300)
                            .ok_or_else(|| bad("dpr must be from 1 to 3, with at most two decimals"))?,
                    )
                }
                "bl" => {
                    t.blur = Some(
                        decimal(value, 30, 2500)
                            .ok_or_else(|| bad("bl must be from 0.3 to 25, with at most two decimals"))?,
                    )
                }
                "gr" if value == "1" => t.grayscale = true,
                "gr" => return Err(bad("gr must be 1")),
                "bg" => {
                    t.background = Some(hex_colour(value).ok_or_else(|| bad("bg must be 6 hex digits, like ffffff"))?)
                }
                _ => unreachable!("every key in KEYS is handled"),
            }
        }
        Ok(t)
    }

    /// The one spelling: keys in canonical order, numbers without leading zeros or trailing
    /// decimal zeros, colours in lowercase.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        let mut push = |pair: std::fmt::Arguments| {
            if !out.is_empty() {
                out.push(',');
            }
            let _ = out.write_fmt(pair);
        };
        if let Some(w) = self.width {
            push(format_args!("w_{w}"));
        }
        if let Some(h) = self.height {
            push(format_args!("h_{h}"));
        }
        if let Some(c) = self.crop {
            push(format_args!("c_{}", c.name()));
        }
        if let Some(q) = self.quality {
            push(format_args!("q_{q}"));
        }
        if let Some(f) = self.format {
            push(format_args!("f_{}", f.name()));
        }
        if let Some(dpr) = self.dpr {
            push(format_args!("dpr_{}", hundredths(dpr)));
        }
        if self.grayscale {
            push(format_args!("gr_1"));
        }
        if let Some(bl) = self.blur {
            push(format_args!("bl_{}", hundredths(bl)));
        }
        if let Some(r) = self.rotate {
            push(format_args!("r_{r}"));
        }
        if let Some([r, g, b]) = self.background {
            push(format_args!("bg_{r:02x}{g:02x}{b:02x}"));
        }
        out
    }
}

fn integer(s: &str, min: i64, max: i64) -> Option<i64> {
    if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| (min..=max).contains(n))
}

fn signed_integer(s: &str, min: i64, max: i64) -> Option<i64> {
    match s.strip_prefix('-') {
        Some(rest) => integer(rest, 0, -min).map(|n| -n),
        None => integer(s, 0, max),
    }
    .filter(|n| (min..=max).contains(n))
}

/// `1`, `1.5`, `1.25` as hundredths, within `[min, max]`.
fn decimal(s: &str, min: u32, max: u32) -> Option<Hundredths> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    if s.ends_with('.') || fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = integer(whole, 0, 1000)? as u32;
    let fraction: u32 = format!("{fraction:0<2}").parse().ok()?;
    Some(whole * 100 + fraction).filter(|n| (min..=max).contains(n))
}

fn hundredths(n: Hundredths) -> String {
    match n % 100 {
        0 => format!("{}", n / 100),
        f if f % 10 == 0 => format!("{}.{}", n / 100, f / 10),
        f => format!("{}.{f:02}", n / 100),
    }
}

fn hex_colour(s: &str) -> Option<[u8; 3]> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&s[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key_and_prints_the_canonical_order() {
        let t = Transform::parse("bg_FFAA00,r_-90,bl_4.50,gr_1,dpr_2.0,f_webp,q_080,c_fill,h_300,w_400").unwrap();
        assert_eq!(t.canonical(), "w_400,h_300,c_fill,q_80,f_webp,dpr_2,gr_1,bl_4.5,r_-90,bg_ffaa00");
        assert_eq!(Transform::parse(&t.canonical()).unwrap(), t);
        assert_eq!(Transform::parse("h_400,w_400").unwrap(), Transform::parse("w_400,h_400").unwrap());
        assert_eq!(Transform::parse("dpr_1.25").unwrap().dpr, Some(125));
        assert_eq!(Transform::parse("bl_0.3").unwrap().blur, Some(30));
        assert_eq!(Transform::parse("r_360").unwrap().rotate, Some(360));
        assert_eq!(Transform::parse("r_-360").unwrap().rotate, Some(-360));
    }

    #[test]
    fn accepts_each_boundary() {
        for ok in [
            "w_1",
            "w_4000",
            "h_1",
            "h_4000",
            "q_1",
            "q_100",
            "dpr_1",
            "dpr_3",
            "dpr_3.00",
            "bl_0.3",
            "bl_25",
            "r_0",
            "bg_000000",
        ] {
            assert!(Transform::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_every_bad_pair_naming_it() {
        let too_long = format!("w_1,{}", "q_1,".repeat(70));
        for bad in [
            "w_0",
            "w_-1",
            "w_abc",
            "w_1.5",
            "w_",
            "w_99999999999999999999",
            "w_+10",
            "w_0x10",
            "w_１００",
            "w_4001",
            "q_0",
            "q_101",
            "q_NaN",
            "h_0",
            "c_crop",
            "f_bmp",
            "f_jpeg",
            "dpr_0.99",
            "dpr_3.01",
            "dpr_1.234",
            "dpr_2.",
            "dpr_.5",
            "dpr_1e0",
            "bl_0.29",
            "bl_25.01",
            "r_361",
            "r_-361",
            "r_+90",
            "r_--1",
            "gr_0",
            "gr_true",
            "bg_fff",
            "bg_gggggg",
            "bg_#ffffff",
            "x_1",
            "w400",
            "",
            "w_400,",
            ",w_400",
            "w_400,,h_1",
            "w_400,w_500",
            "w_400%2Ch_300",
            "w_ 400",
            too_long.as_str(),
        ] {
            let err = Transform::parse(bad).expect_err(bad);
            assert!(err.contains("transform"), "{bad}: {err}");
        }
        assert!(Transform::parse("w_400,h_x").unwrap_err().contains("\"h_x\""));
    }
}
