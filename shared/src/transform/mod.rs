//! The transform grammar of SPEC §6: `key_value` pairs joined by `,`. [`Transform::parse`] refuses
//! every bad pair with a message naming it; [`Transform::canonical`] is the one spelling used for
//! cache keys, ETags and the SDKs (order `t,w,h,c,g,q,f,dpr,gr,bl,r,bg`). `t_<name>` names a preset
//! (SPEC §14), which a delivery expands ([`Transform::with_preset`]) before anything is keyed.

pub(crate) mod geometry;

pub use geometry::{plan, Placement, Plan};

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

/// The `g_` values (SPEC §14): where a cropping mode keeps its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gravity {
    /// The focal point if the asset has one, else its faces, else the most salient region.
    Auto,
    /// Centred on the largest face.
    Face,
    /// Centred on the box around all faces.
    Faces,
    /// A fixed anchor: horizontal and vertical position as 0 (left/top), 1 (centre) or 2.
    Anchor(u8, u8),
}

impl Gravity {
    pub const CENTER: Gravity = Gravity::Anchor(1, 1);
    const ALL: [(Gravity, &'static str); 12] = [
        (Gravity::Auto, "auto"),
        (Gravity::Face, "face"),
        (Gravity::Faces, "faces"),
        (Gravity::CENTER, "center"),
        (Gravity::Anchor(1, 0), "north"),
        (Gravity::Anchor(1, 2), "south"),
        (Gravity::Anchor(2, 1), "east"),
        (Gravity::Anchor(0, 1), "west"),
        (Gravity::Anchor(2, 0), "north_east"),
        (Gravity::Anchor(0, 0), "north_west"),
        (Gravity::Anchor(2, 2), "south_east"),
        (Gravity::Anchor(0, 2), "south_west"),
    ];
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(g, _)| *g == self).map_or("center", |(_, n)| n)
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
    /// `t_<name>`: a preset, with at most `f` and `dpr` beside it.
    pub preset: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub crop: Option<Crop>,
    pub gravity: Option<Gravity>,
    pub quality: Option<u8>,
    pub format: Option<OutputFormat>,
    pub dpr: Option<Hundredths>,
    pub grayscale: bool,
    pub blur: Option<Hundredths>,
    pub rotate: Option<i32>,
    pub background: Option<[u8; 3]>,
}

/// One key of the grammar: its name, what a good value is, how a value is read into a
/// [`Transform`] and how that field is printed back. [`KEYS`] lists them in canonical order.
struct Key {
    name: &'static str,
    /// Told after `<name> must be ` when `parse` refuses a value.
    must_be: &'static str,
    /// Sets the key's field from `value`; `None` if the value is bad.
    parse: fn(&mut Transform, &str) -> Option<()>,
    /// The key's value in canonical form; `None` when the field is unset.
    print: fn(&Transform) -> Option<String>,
}

const KEYS: [Key; 12] = [
    Key {
        name: "t",
        must_be: "a preset name: 1 to 64 of a-z, 0-9, _ and -",
        parse: |t, v| is_preset_name(v).then(|| t.preset = Some(v.to_owned())),
        print: |t| t.preset.clone(),
    },
    Key {
        name: "w",
        must_be: "a whole number from 1 to 4000",
        parse: |t, v| integer(v, 1, MAX_SIDE as i64).map(|n| t.width = Some(n as u32)),
        print: |t| t.width.map(|w| w.to_string()),
    },
    Key {
        name: "h",
        must_be: "a whole number from 1 to 4000",
        parse: |t, v| integer(v, 1, MAX_SIDE as i64).map(|n| t.height = Some(n as u32)),
        print: |t| t.height.map(|h| h.to_string()),
    },
    Key {
        name: "c",
        must_be: "one of fit, fill, cover, contain, inside, outside, thumb",
        parse: |t, v| named(&Crop::ALL, v).map(|c| t.crop = Some(c)),
        print: |t| t.crop.map(|c| c.name().to_owned()),
    },
    Key {
        name: "g",
        must_be: "one of auto, face, faces, center, north, south, east, west, north_east, north_west, south_east, \
                  south_west",
        parse: |t, v| named(&Gravity::ALL, v).map(|g| t.gravity = Some(g)),
        print: |t| t.gravity.map(|g| g.name().to_owned()),
    },
    Key {
        name: "q",
        must_be: "a whole number from 1 to 100",
        parse: |t, v| integer(v, 1, 100).map(|n| t.quality = Some(n as u8)),
        print: |t| t.quality.map(|q| q.to_string()),
    },
    Key {
        name: "f",
        must_be: "one of auto, jpg, png, webp, avif, gif",
        parse: |t, v| named(&OutputFormat::ALL, v).map(|f| t.format = Some(f)),
        print: |t| t.format.map(|f| f.name().to_owned()),
    },
    Key {
        name: "dpr",
        must_be: "from 1 to 3, with at most two decimals",
        parse: |t, v| decimal(v, 100, 300).map(|n| t.dpr = Some(n)),
        print: |t| t.dpr.map(hundredths),
    },
    Key {
        name: "gr",
        must_be: "1",
        parse: |t, v| (v == "1").then(|| t.grayscale = true),
        print: |t| t.grayscale.then(|| "1".to_owned()),
    },
    Key {
        name: "bl",
        must_be: "from 0.3 to 25, with at most two decimals",
        parse: |t, v| decimal(v, 30, 2500).map(|n| t.blur = Some(n)),
        print: |t| t.blur.map(hundredths),
    },
    Key {
        name: "r",
        must_be: "a whole number from -360 to 360",
        parse: |t, v| signed_integer(v, -360, 360).map(|n| t.rotate = Some(n as i32)),
        print: |t| t.rotate.map(|r| r.to_string()),
    },
    Key {
        name: "bg",
        must_be: "6 hex digits, like ffffff",
        parse: |t, v| hex_colour(v).map(|rgb| t.background = Some(rgb)),
        print: |t| t.background.map(|[r, g, b]| format!("{r:02x}{g:02x}{b:02x}")),
    },
];

impl Transform {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() > MAX_LEN {
            return Err(format!("a transform is at most {MAX_LEN} characters"));
        }
        let mut t = Transform::default();
        let mut seen = [false; KEYS.len()];
        for pair in s.split(',') {
            let bad = |why: &str| format!("invalid transform pair {pair:?}: {why}");
            let (name, value) = pair.split_once('_').ok_or_else(|| bad("expected key_value"))?;
            let index = KEYS.iter().position(|k| k.name == name).ok_or_else(|| bad("unknown key"))?;
            if std::mem::replace(&mut seen[index], true) {
                return Err(bad("the key is given twice"));
            }
            let key = &KEYS[index];
            (key.parse)(&mut t, value).ok_or_else(|| bad(&format!("{name} must be {}", key.must_be)))?;
        }
        let beside_preset = Transform { preset: t.preset.clone(), format: t.format, dpr: t.dpr, ..Default::default() };
        if t.preset.is_some() && t != beside_preset {
            return Err("a preset (t_) may be combined with f and dpr only".to_owned());
        }
        if t.gravity.is_some() && !matches!(t.crop, Some(Crop::Fill | Crop::Cover | Crop::Thumb)) {
            return Err("gravity (g) applies to c_fill, c_cover and c_thumb only".to_owned());
        }
        Ok(t)
    }

    /// Where a cropping mode keeps its window: `c_thumb` means `g_auto` unless told otherwise.
    pub fn gravity(&self) -> Gravity {
        match (self.gravity, self.crop) {
            (Some(g), _) => g,
            (None, Some(Crop::Thumb)) => Gravity::Auto,
            (None, _) => Gravity::CENTER,
        }
    }

    /// This `t_` transform with its preset's transform in its place; the URL's `f` and `dpr`
    /// override the preset's.
    pub fn with_preset(&self, preset: &Transform) -> Transform {
        Transform {
            preset: None,
            format: self.format.or(preset.format),
            dpr: self.dpr.or(preset.dpr),
            ..preset.clone()
        }
    }

    /// The one spelling: keys in canonical order, numbers without leading zeros or trailing
    /// decimal zeros, colours in lowercase.
    pub fn canonical(&self) -> String {
        // In one string: every delivery names its variant by it.
        let mut out = String::with_capacity(48);
        for (key, value) in KEYS.iter().filter_map(|key| Some((key.name, (key.print)(self)?))) {
            if !out.is_empty() {
                out.push(',');
            }
            out.extend([key, "_", &value]);
        }
        out
    }
}

/// A preset's name (SPEC §14): 1 to 64 of `a-z`, `0-9`, `_` and `-`.
pub fn is_preset_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The value of `all` named `name`.
fn named<T: Copy>(all: &[(T, &str)], name: &str) -> Option<T> {
    all.iter().find(|(_, n)| *n == name).map(|(value, _)| *value)
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

    /// The cases the SDKs' tests read too (sdks/node/test, sdks/python/tests).
    const CASES: &str = include_str!("../../../tests/transform-cases.json");

    #[derive(serde::Deserialize)]
    struct Cases {
        valid: Vec<Valid>,
        invalid: Vec<Invalid>,
    }

    #[derive(serde::Deserialize)]
    struct Valid {
        input: String,
        canonical: String,
    }

    #[derive(serde::Deserialize)]
    struct Invalid {
        input: String,
        error: String,
    }

    fn cases() -> Cases {
        serde_json::from_str(CASES).expect("tests/transform-cases.json")
    }

    #[test]
    fn every_valid_case_prints_its_canonical_spelling_which_reads_back_the_same() {
        for Valid { input, canonical } in cases().valid {
            let t = Transform::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(t.canonical(), canonical, "{input}");
            assert_eq!(Transform::parse(&canonical), Ok(t), "{input}");
        }
    }

    #[test]
    fn every_invalid_case_is_refused_with_its_message() {
        for Invalid { input, error } in cases().invalid {
            assert_eq!(Transform::parse(&input), Err(error), "{input}");
        }
    }

    #[test]
    fn decimals_are_kept_as_hundredths_and_signs_on_r() {
        assert_eq!(Transform::parse("dpr_1.25").unwrap().dpr, Some(125));
        assert_eq!(Transform::parse("bl_0.3").unwrap().blur, Some(30));
        assert_eq!(Transform::parse("r_360").unwrap().rotate, Some(360));
        assert_eq!(Transform::parse("r_-360").unwrap().rotate, Some(-360));
    }

    /// Not in the shared cases: the SDKs and the sign endpoint take an empty transform for none, and
    /// delivery never reads an empty segment as a transform.
    #[test]
    fn an_empty_transform_is_one_empty_pair() {
        assert_eq!(Transform::parse(""), Err(r#"invalid transform pair "": expected key_value"#.to_owned()));
    }

    #[test]
    fn a_preset_goes_with_f_and_dpr_only_and_expands_under_them() {
        let t = Transform::parse("f_webp,t_card_2x,dpr_2").unwrap();
        assert_eq!(t.canonical(), "t_card_2x,f_webp,dpr_2");
        let preset = Transform::parse("w_400,h_300,c_fill,f_jpg,q_70").unwrap();
        assert_eq!(t.with_preset(&preset).canonical(), "w_400,h_300,c_fill,q_70,f_webp,dpr_2");
        assert_eq!(Transform::parse("t_card").unwrap().with_preset(&preset), preset);
        assert_eq!(Transform::parse("t_card,w_100"), Err("a preset (t_) may be combined with f and dpr only".into()));
        assert!(Transform::parse("t_Card").is_err() && Transform::parse(&format!("t_{}", "a".repeat(65))).is_err());
    }

    #[test]
    fn the_keys_are_the_ones_public_ids_must_not_start_with() {
        assert_eq!(KEYS.map(|k| k.name), crate::domain::TRANSFORM_KEYS);
    }
}
