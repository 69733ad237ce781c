//! The steps after resizing: rotate (any angle; the canvas grows), grayscale, Gaussian blur, and
//! flattening alpha onto a background for formats without it.

use image::{DynamicImage, ImageBuffer, Luma, LumaA, Pixel, Rgb, Rgba, RgbaImage};

use crate::transform::geometry::rotated_size;

/// Rotates clockwise. Right angles are exact; other angles grow the canvas to hold the whole
/// image and fill the corners with `fill`.
pub fn rotate(image: DynamicImage, degrees: i32, fill: [u8; 4]) -> DynamicImage {
    match degrees.rem_euclid(360) {
        0 => image,
        90 => image.rotate90(),
        180 => image.rotate180(),
        270 => image.rotate270(),
        d => rotate_any(&image, d, fill, image.color().has_alpha()),
    }
}

fn rotate_any(image: &DynamicImage, degrees: i32, fill: [u8; 4], had_alpha: bool) -> DynamicImage {
    let radians = f64::from(degrees).to_radians();
    let src = image.to_rgba8();
    let (w, h) = (f64::from(src.width()), f64::from(src.height()));
    let (sin, cos) = radians.sin_cos();
    let (out_w, out_h) = rotated_size(src.width(), src.height(), degrees);
    let (cx, cy, ocx, ocy) = (w / 2.0, h / 2.0, f64::from(out_w) / 2.0, f64::from(out_h) / 2.0);
    let mut out = RgbaImage::from_pixel(out_w, out_h, Rgba(fill));
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        // Inverse mapping: where in the source this output pixel's centre comes from.
        let (dx, dy) = (f64::from(x) + 0.5 - ocx, f64::from(y) + 0.5 - ocy);
        let sx = dx * cos + dy * sin + cx - 0.5;
        let sy = -dx * sin + dy * cos + cy - 0.5;
        if sx < -0.5 || sy < -0.5 || sx > w - 0.5 || sy > h - 0.5 {
            continue;
        }
        *pixel = bilinear(&src, sx, sy, fill);
    }
    if fill[3] == 255 && !had_alpha {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(out).to_rgb8())
    } else {
        DynamicImage::ImageRgba8(out)
    }
}

fn bilinear(src: &RgbaImage, x: f64, y: f64, fill: [u8; 4]) -> Rgba<u8> {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f64, yi: f64| -> [f64; 4] {
        if xi < 0.0 || yi < 0.0 || xi >= f64::from(src.width()) || yi >= f64::from(src.height()) {
            fill.map(f64::from)
        } else {
            src.get_pixel(xi as u32, yi as u32).0.map(f64::from)
        }
    };
    let (a, b, c, d) = (at(x0, y0), at(x0 + 1.0, y0), at(x0, y0 + 1.0), at(x0 + 1.0, y0 + 1.0));
    let mut px = [0u8; 4];
    for i in 0..4 {
        let top = a[i] * (1.0 - fx) + b[i] * fx;
        let bottom = c[i] * (1.0 - fx) + d[i] * fx;
        px[i] = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
    }
    Rgba(px)
}

/// Rec. 709 luma on every pixel; alpha is kept. One channel from here on: the steps after it
/// (blur, flatten) and a JPEG or PNG encoder then work on a third of the samples, as libvips does.
pub fn grayscale(image: DynamicImage) -> DynamicImage {
    let luma =
        |r: u8, g: u8, b: u8| ((2126 * u32::from(r) + 7152 * u32::from(g) + 722 * u32::from(b) + 5000) / 10000) as u8;
    match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_) => image,
        DynamicImage::ImageRgb8(buf) => DynamicImage::ImageLuma8(map_pixels(&buf, |p| Luma([luma(p[0], p[1], p[2])]))),
        DynamicImage::ImageRgba8(buf) => {
            DynamicImage::ImageLumaA8(map_pixels(&buf, |p| LumaA([luma(p[0], p[1], p[2]), p[3]])))
        }
        other if other.color().has_alpha() => grayscale(DynamicImage::ImageRgba8(other.to_rgba8())),
        other => grayscale(DynamicImage::ImageRgb8(other.to_rgb8())),
    }
}

/// Gaussian blur of standard deviation `sigma` (a fast box approximation).
pub fn blur(image: DynamicImage, sigma: f32) -> DynamicImage {
    use image::imageops::fast_blur;
    match image {
        DynamicImage::ImageLuma8(buf) => DynamicImage::ImageLuma8(fast_blur(&buf, sigma)),
        DynamicImage::ImageLumaA8(buf) => DynamicImage::ImageLumaA8(fast_blur(&buf, sigma)),
        DynamicImage::ImageRgb8(buf) => DynamicImage::ImageRgb8(fast_blur(&buf, sigma)),
        DynamicImage::ImageRgba8(buf) => DynamicImage::ImageRgba8(fast_blur(&buf, sigma)),
        other => DynamicImage::ImageRgb8(fast_blur(&other.to_rgb8(), sigma)),
    }
}

/// Composites RGBA (or gray with alpha) onto `background`, for encoders without alpha.
pub fn flatten(image: DynamicImage, background: [u8; 3]) -> DynamicImage {
    let mix = |c: u8, bg: u8, a: u8| {
        let a = u32::from(a);
        ((u32::from(c) * a + u32::from(bg) * (255 - a) + 127) / 255) as u8
    };
    match image {
        DynamicImage::ImageRgba8(buf) => {
            DynamicImage::ImageRgb8(map_pixels(&buf, |p| Rgb([0, 1, 2].map(|c| mix(p[c], background[c], p[3])))))
        }
        // A gray image stays gray on a gray background, and takes on a coloured one's colour.
        DynamicImage::ImageLumaA8(buf) if background.iter().all(|&c| c == background[0]) => {
            DynamicImage::ImageLuma8(map_pixels(&buf, |p| Luma([mix(p[0], background[0], p[1])])))
        }
        DynamicImage::ImageLumaA8(buf) => {
            DynamicImage::ImageRgb8(map_pixels(&buf, |p| Rgb(background.map(|bg| mix(p[0], bg, p[1])))))
        }
        other => other,
    }
}

/// A new image of `buf`'s size, each pixel `f` of the one under it.
fn map_pixels<P: Pixel, Q: Pixel>(
    buf: &ImageBuffer<P, Vec<P::Subpixel>>,
    f: impl Fn(&P) -> Q,
) -> ImageBuffer<Q, Vec<Q::Subpixel>> {
    ImageBuffer::from_fn(buf.width(), buf.height(), |x, y| f(buf.get_pixel(x, y)))
}

#[cfg(test)]
mod tests {
    use image::RgbImage;

    use super::*;

    #[test]
    fn right_angles_swap_sides_and_other_angles_grow_the_canvas() {
        let image = DynamicImage::ImageRgb8(RgbImage::new(40, 20));
        let r90 = rotate(image.clone(), 90, [255; 4]);
        assert_eq!((r90.width(), r90.height()), (20, 40));
        assert_eq!(rotate(image.clone(), -270, [255; 4]).width(), 20);
        let r45 = rotate(image.clone(), 45, [255, 255, 255, 255]);
        assert_eq!((r45.width(), r45.height()), (42, 42));
        assert_eq!(r45.to_rgb8().get_pixel(0, 0), &Rgb([255, 255, 255]), "corners are filled");
        assert!(!r45.color().has_alpha());
        assert!(rotate(image, 30, [0, 0, 0, 0]).color().has_alpha(), "a transparent fill needs alpha");
    }

    #[test]
    fn grayscale_equalises_channels_and_flatten_composites_on_the_background() {
        let gray = grayscale(DynamicImage::ImageRgb8(RgbImage::from_pixel(2, 2, Rgb([255, 0, 0]))));
        assert_eq!(gray.to_rgb8().get_pixel(0, 0), &Rgb([54, 54, 54]));
        assert_eq!(gray.color(), image::ColorType::L8, "one channel");
        let half = DynamicImage::ImageRgba8(RgbaImage::from_pixel(1, 1, Rgba([0, 0, 0, 128])));
        assert_eq!(flatten(half, [255, 255, 255]).to_rgb8().get_pixel(0, 0), &Rgb([127, 127, 127]));
        let gray_half = grayscale(DynamicImage::ImageRgba8(RgbaImage::from_pixel(1, 1, Rgba([255, 0, 0, 128]))));
        assert_eq!(gray_half.color(), image::ColorType::La8, "alpha is kept");
        let on_white = flatten(gray_half.clone(), [255, 255, 255]);
        assert_eq!((on_white.color(), on_white.to_luma8().get_pixel(0, 0).0), (image::ColorType::L8, [154]));
        let on_red = flatten(gray_half, [255, 0, 0]);
        assert_eq!(on_red.to_rgb8().get_pixel(0, 0), &Rgb([154, 27, 27]), "a coloured background stays coloured");
    }
}
