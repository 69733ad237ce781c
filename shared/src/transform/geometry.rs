//! Output geometry: from the source size and a transform to the size to resize to and the canvas
//! (SPEC §6's crop-mode table), with `dpr` and the output-side cap applied.

use super::{Crop, Gravity, Transform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The resized image is the canvas.
    Whole,
    /// The resized image covers the canvas; crop the window that the gravity keeps.
    Crop(Gravity),
    /// The resized image lies inside the canvas, centred on the background.
    Pad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The size the (oriented) source is resized to.
    pub scaled: (u32, u32),
    /// The output size before rotation.
    pub canvas: (u32, u32),
    pub placement: Placement,
}

fn side(x: f64) -> u32 {
    (x.round() as u32).max(1)
}

/// Scales `(w, h)` down, keeping its aspect, so that no side exceeds `max_side`.
fn capped(w: f64, h: f64, max_side: u32) -> (f64, f64) {
    let longest = w.max(h);
    if longest > f64::from(max_side) {
        let f = f64::from(max_side) / longest;
        (w * f, h * f)
    } else {
        (w, h)
    }
}

/// The canvas that holds `(w, h)` rotated by `degrees` (what `r` outputs).
pub fn rotated_size(w: u32, h: u32, degrees: i32) -> (u32, u32) {
    match degrees.rem_euclid(360) {
        0 | 180 => (w, h),
        90 | 270 => (h, w),
        d => {
            let (sin, cos) = f64::from(d).to_radians().sin_cos();
            let (w, h) = (f64::from(w), f64::from(h));
            let out = |x: f64| x.round().max(1.0) as u32;
            (out(w * cos.abs() + h * sin.abs()), out(w * sin.abs() + h * cos.abs()))
        }
    }
}

/// The plan of [`unrotated`], scaled down when its rotation would grow the output past `max_side`
/// (SPEC §12: the output-side cap holds after rotation).
pub fn plan(source: (u32, u32), t: &Transform, max_side: u32) -> Plan {
    let plan = unrotated(source, t, max_side);
    let (w, h) = plan.canvas;
    let (rw, rh) = rotated_size(w, h, t.rotate.unwrap_or(0));
    let longest = rw.max(rh);
    if longest <= max_side {
        return plan;
    }
    // Flooring each side keeps the rotated extent at or under the cap.
    let f = f64::from(max_side) / f64::from(longest);
    let down = |x: u32| ((f64::from(x) * f).floor() as u32).max(1);
    let canvas = (down(w), down(h));
    let scaled = (down(plan.scaled.0), down(plan.scaled.1));
    let scaled = match plan.placement {
        Placement::Whole => canvas,
        Placement::Crop(_) => (scaled.0.max(canvas.0), scaled.1.max(canvas.1)),
        Placement::Pad => (scaled.0.min(canvas.0), scaled.1.min(canvas.1)),
    };
    Plan { scaled, canvas, placement: plan.placement }
}

fn unrotated(source: (u32, u32), t: &Transform, max_side: u32) -> Plan {
    let (sw, sh) = (f64::from(source.0.max(1)), f64::from(source.1.max(1)));
    let dpr = f64::from(t.dpr.unwrap_or(100)) / 100.0;
    let (bw, bh) = match (t.width, t.height) {
        (None, None) => {
            let (w, h) = capped(sw, sh, max_side);
            let size = (side(w), side(h));
            return Plan { scaled: size, canvas: size, placement: Placement::Whole };
        }
        (Some(w), Some(h)) => (f64::from(w), f64::from(h)),
        (Some(w), None) => (f64::from(w), f64::from(w) * sh / sw),
        (None, Some(h)) => (f64::from(h) * sw / sh, f64::from(h)),
    };
    let (bw, bh) = capped(bw * dpr, bh * dpr, max_side);
    let (fit, cover) = ((bw / sw).min(bh / sh), (bw / sw).max(bh / sh));
    let whole = |scale: f64| {
        let (w, h) = capped(sw * scale, sh * scale, max_side);
        let size = (side(w), side(h));
        Plan { scaled: size, canvas: size, placement: Placement::Whole }
    };
    let canvas = (side(bw), side(bh));
    match t.crop.unwrap_or_default() {
        Crop::Fit => whole(fit),
        Crop::Inside => whole(fit.min(1.0)),
        Crop::Outside => whole(cover),
        Crop::Fill | Crop::Cover | Crop::Thumb => Plan {
            scaled: (side(sw * cover).max(canvas.0), side(sh * cover).max(canvas.1)),
            canvas,
            placement: Placement::Crop(t.gravity()),
        },
        Crop::Contain => Plan {
            scaled: (side(sw * fit).min(canvas.0), side(sh * fit).min(canvas.1)),
            canvas,
            placement: Placement::Pad,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(source: (u32, u32), transform: &str) -> (u32, u32) {
        plan(source, &Transform::parse(transform).unwrap(), 4000).canvas
    }

    #[test]
    fn follows_the_spec_table_for_a_1000x500_source() {
        for (c, size) in [
            ("fit", (400, 200)),
            ("inside", (400, 200)),
            ("outside", (800, 400)),
            ("fill", (400, 400)),
            ("cover", (400, 400)),
            ("thumb", (400, 400)),
            ("contain", (400, 400)),
        ] {
            assert_eq!(out((1000, 500), &format!("w_400,h_400,c_{c}")), size, "{c}");
        }
    }

    #[test]
    fn the_output_side_cap_holds_after_rotation() {
        for (source, transform) in [
            ((4000, 3000), "w_4000,h_4000,c_fill,r_45"),
            ((4000, 3000), "w_4000,dpr_3,r_30"),
            ((4000, 3000), "w_4000,h_4000,c_contain,r_-10"),
            ((1000, 500), "w_4000,r_89"),
        ] {
            let t = Transform::parse(transform).unwrap();
            let p = plan(source, &t, 4000);
            let (w, h) = rotated_size(p.canvas.0, p.canvas.1, t.rotate.unwrap());
            assert!(w <= 4000 && h <= 4000 && w.max(h) >= 3990, "{transform}: {w}x{h}");
        }
        assert_eq!(out((4000, 3000), "w_4000,r_90"), (4000, 3000), "right angles need no shrinking");
    }

    #[test]
    fn enlarges_a_smaller_source_except_inside() {
        assert_eq!(out((200, 100), "w_400,h_400,c_fit"), (400, 200));
        assert_eq!(out((200, 100), "w_400,h_400,c_inside"), (200, 100));
        assert_eq!(out((200, 100), "w_400,h_400,c_fill"), (400, 400));
        assert_eq!(out((200, 100), "w_400,h_400,c_outside"), (800, 400));
    }

    #[test]
    fn one_side_follows_the_aspect_ratio() {
        assert_eq!(out((1000, 500), "w_400"), (400, 200));
        assert_eq!(out((1000, 500), "h_100"), (200, 100));
        assert_eq!(out((4000, 3000), "w_800"), (800, 600));
    }

    #[test]
    fn dpr_multiplies_and_the_cap_scales_both_sides_down() {
        assert_eq!(out((1000, 500), "w_400,h_400,c_fill,dpr_2"), (800, 800));
        assert_eq!(out((8000, 4000), "w_3000,h_1000,c_fill,dpr_2"), (4000, 1333));
        assert_eq!(out((1000, 500), "w_3000,h_3000,c_outside"), (4000, 2000));
        assert_eq!(plan((6000, 4000), &Transform::default(), 4000).canvas, (4000, 2667));
        assert_eq!(plan((600, 400), &Transform::default(), 4000).canvas, (600, 400));
    }

    #[test]
    fn fill_scales_to_cover_and_contain_to_fit_inside_the_canvas() {
        let p = plan((1000, 500), &Transform::parse("w_400,h_400,c_fill").unwrap(), 4000);
        assert_eq!((p.scaled, p.placement), ((800, 400), Placement::Crop(Gravity::CENTER)));
        let p = plan((1000, 500), &Transform::parse("w_400,h_400,c_thumb").unwrap(), 4000);
        assert_eq!(p.placement, Placement::Crop(Gravity::Auto), "c_thumb is c_fill,g_auto");
        let p = plan((1000, 500), &Transform::parse("w_400,h_400,c_contain").unwrap(), 4000);
        assert_eq!((p.scaled, p.placement), ((400, 200), Placement::Pad));
    }
}
