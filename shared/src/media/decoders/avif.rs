//! AVIF (AV1 in HEIF): the container read by `zenavif-parse` (MPL-2.0) plus a small box walk of
//! our own for what it does not expose (each item's `ispe`, the grid's tiles), the AV1 payload
//! decoded by `rav1d` (a Rust port of dav1d, built without its assembly), YUV → RGB by `yuv`.
//!
//! The glue between rav1d's dav1d-style API and the YUV planes follows kornelski's `avif-decode`
//! 3.0 (BSD-3-Clause, Copyright (c) Kornel Lesiński), which needs a newer rustc than ours: the
//! send/get-picture loop keeping the last layer of a layered item, the plane geometry and the
//! alpha expansion are adapted from its `rav1d.rs` and `image.rs`.
//!
//! What the caller gets, as displayed: the primary item (or an `avis` sequence's first frame),
//! its `clap` crop, `irot` rotation and `imir` mirror applied in that order (the order MIAF
//! mandates and libavif/browsers use; EXIF orientation is not applied on top: HEIF makes
//! irot/imir authoritative), grids assembled, 10/12-bit scaled to 8 bits, RGB or RGBA (straight
//! alpha; `prem` un-premultiplied). Colours are not converted: `Header::colour` says what they are.
//!
//! Panics: zenavif-parse, yuv and this module run inside `catch_unwind` (see `guarded`). rav1d
//! is called through `extern "C"` functions, through which a panic cannot unwind: a panic inside
//! rav1d aborts the process. One such panic is known and avoided (any decode error with a single
//! frame context, see `Rav1d::new`); none was seen after that in the truncation/byte-flip loops.

use super::{Colour, Failure, Header, Pixels};
use image::{DynamicImage, RgbImage, RgbaImage};
use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use zenavif_parse as zp;

/// The container's description, without any pixel buffer.
pub fn header(bytes: &[u8]) -> Result<Header, Failure> {
    guarded(|| Ok(Container::parse(bytes)?.header))
}

/// The primary item's pixels, as displayed: exactly `header`'s size, Rgba8 iff `header.has_alpha`.
pub fn decode(bytes: &[u8], header: &Header) -> Result<Pixels, Failure> {
    guarded(|| {
        let container = Container::parse(bytes)?;
        if container.header.width != header.width || container.header.height != header.height {
            return Err(corrupt("the header passed in is not this file's"));
        }
        let image = container.decode()?;
        if image.width() != header.width || image.height() != header.height {
            return Err(corrupt("decoded size differs from the header"));
        }
        Ok(image)
    })
}

/// zenavif-parse, yuv and the code below are not proven panic-free on hostile input (an index
/// or an arithmetic overflow on a crafted box would panic): a panic there must be a 400 for this
/// file, not a dead worker. (rav1d's panics cannot be caught here: see the module's doc.)
fn guarded<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(corrupt("the AVIF decoder failed on this file")))
}

fn corrupt(message: impl std::fmt::Display) -> Failure {
    Failure::Corrupt(format!("AVIF: {message}"))
}

fn parse_error(e: zp::Error) -> Failure {
    corrupt(e)
}

// ---------------------------------------------------------------------------------------------
// The container

/// `clap`, `irot`, `imir` of the primary item, checked.
#[derive(Debug, Clone, Copy, Default)]
struct Transforms {
    /// x, y, width, height within the coded image.
    crop: Option<(u32, u32, u32, u32)>,
    /// Anti-clockwise, in quarter turns.
    quarter_turns: u8,
    /// imir's mode: 0 exchanges top and bottom, 1 left and right (ISO/IEC 23008-12:2022 6.5.12,
    /// as libavif and libheif read it).
    mirror: Option<u8>,
}

struct Container<'a> {
    parser: zp::AvifParser<'a>,
    boxes: Boxes,
    header: Header,
    /// The coded (decoded) size, before the transforms.
    coded: (u32, u32),
    transforms: Transforms,
    /// A pure `avis` sequence (no primary item): decode its first frame.
    sequence_only: bool,
}

impl<'a> Container<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, Failure> {
        let boxes = Boxes::walk(bytes)?;
        // zenavif-parse wants `avif`/`avis` as the major brand; files with `mif1` as the major
        // brand and `avif` among the compatible ones are AVIF too (browsers and Pillow show
        // them), so give the parser a copy with the major brand named `avif`.
        let data: Cow<'a, [u8]> = if &boxes.major_brand != b"avif" && &boxes.major_brand != b"avis" {
            let mut copy = bytes.to_vec();
            copy[8..12].copy_from_slice(if boxes.brands.contains(b"avif") { b"avif" } else { b"avis" });
            Cow::Owned(copy)
        } else {
            Cow::Borrowed(bytes)
        };
        // The caller caps pixels after `header`: no megapixel limit here (it would make a 400 of
        // what should be the caller's 413); the frame, tile and memory limits stay.
        let config = zp::DecodeConfig { total_megapixels_limit: None, ..zp::DecodeConfig::default() };
        let parser = match data {
            Cow::Borrowed(b) => zp::AvifParser::from_bytes_with_config(b, &config, &zp::Unstoppable),
            Cow::Owned(v) => zp::AvifParser::from_owned_with_config(v, &config, &zp::Unstoppable),
        }
        .map_err(parse_error)?;

        let animation = parser.animation_info();
        let sequence_only = boxes.primary.is_none();
        if sequence_only && animation.is_none_or(|a| a.frame_count == 0) {
            return Err(corrupt("no primary item and no frames"));
        }
        let frames = animation.map_or(1, |a| a.frame_count.clamp(1, u32::MAX as usize) as u32);

        // The first AV1 payload: its sequence header gives the size when `ispe` is missing (a
        // sequence has none) and the colour when no `colr` says it.
        let first: Cow<'_, [u8]> = if sequence_only {
            parser.frame(0).map_err(parse_error)?.data
        } else if parser.grid_config().is_some() {
            parser.tile_data(0).map_err(parse_error)?
        } else {
            parser.primary_data().map_err(parse_error)?
        };
        if first.is_empty() {
            return Err(corrupt("the image item has no data"));
        }
        let seq = sequence_header(&first);

        let coded = if let Some(grid) = parser.grid_config() {
            let (w, h) = (grid.output_width, grid.output_height);
            if w != 0 && h != 0 {
                (w, h)
            } else {
                boxes.primary.and_then(|id| boxes.ispe(id)).ok_or_else(|| corrupt("grid without a size"))?
            }
        } else if let Some(size) = boxes.primary.and_then(|id| boxes.ispe(id)) {
            size
        } else {
            // No `ispe` (mandatory for an item; absent in a pure sequence): the AV1 sequence
            // header's maximum frame size, which is the frame size of a still.
            let meta = zp::AV1Metadata::parse_av1_bitstream(&first).map_err(parse_error)?;
            (meta.max_frame_width.get(), meta.max_frame_height.get())
        };
        if coded.0 == 0 || coded.1 == 0 {
            return Err(corrupt("zero width or height"));
        }

        let transforms = if sequence_only {
            Transforms::default()
        } else {
            Transforms {
                crop: parser.clean_aperture().and_then(|clap| clean_aperture(clap, coded)),
                quarter_turns: parser.rotation().map_or(0, |r| ((r.angle / 90) % 4) as u8),
                mirror: parser.mirror().map(|m| m.axis & 1),
            }
        };
        let (mut width, mut height) = transforms.crop.map_or(coded, |(_, _, w, h)| (w, h));
        if transforms.quarter_turns % 2 == 1 {
            std::mem::swap(&mut width, &mut height);
        }

        let has_alpha =
            if sequence_only { animation.is_some_and(|a| a.has_alpha) } else { parser.alpha_data().is_some() };
        let colour = match parser.color_info() {
            Some(zp::ColorInformation::IccProfile(icc)) if !icc.is_empty() => Colour::Icc(icc.clone()),
            Some(zp::ColorInformation::Nclx { color_primaries, transfer_characteristics, .. }) => {
                cicp(*color_primaries as u32, *transfer_characteristics as u32)
            }
            _ => seq.map_or(Colour::Srgb, |s| cicp(s.primaries, s.transfer)),
        };
        drop(first);
        Ok(Container {
            header: Header { width, height, has_alpha, frames, colour },
            parser,
            boxes,
            coded,
            transforms,
            sequence_only,
        })
    }

    fn decode(&self) -> Result<Pixels, Failure> {
        let (w, h) = self.coded;
        let has_alpha = self.header.has_alpha;
        let channels = if has_alpha { 4 } else { 3 };
        let mut canvas = try_buffer(w as usize * h as usize * channels)?;
        let nclx = match self.parser.color_info() {
            Some(zp::ColorInformation::Nclx { matrix_coefficients, .. }) => Some(*matrix_coefficients as u32),
            _ => None,
        };
        let mut decoder = Rav1d::new(w as u64 * h as u64)?;

        if self.sequence_only {
            let frame = self.parser.frame(0).map_err(parse_error)?;
            let picture = decoder.decode(&frame.data)?;
            picture.convert(nclx, (w, h), has_alpha, &mut canvas, (0, 0), (w, h))?;
            drop(picture);
            if let Some(alpha) = &frame.alpha_data {
                let picture = decoder.decode(alpha)?;
                picture.write_alpha(&mut canvas, (w, h), false)?;
            } else if has_alpha {
                return Err(corrupt("the alpha track has no frame"));
            }
        } else if let Some(grid) = self.parser.grid_config() {
            if has_alpha {
                // The alpha of a grid is a grid of its own, which zenavif-parse does not expose
                return Err(corrupt("grid images with alpha are not supported"));
            }
            let (rows, columns) = (grid.rows as u32, grid.columns as u32);
            let count = self.parser.grid_tile_count();
            if rows == 0 || columns == 0 || count != (rows * columns) as usize || self.boxes.tiles.len() != count {
                return Err(corrupt("the grid's tile count does not match its rows and columns"));
            }
            // All tiles are the same size (HEIF 6.6.2.3.1); they cover the output, which crops
            // the right and bottom ones
            let tile = self.boxes.ispe(self.boxes.tiles[0]).ok_or_else(|| corrupt("a grid tile without a size"))?;
            let (tw, th, cols, rs) = (tile.0 as u64, tile.1 as u64, columns as u64, rows as u64);
            if tw * cols < w as u64 || th * rs < h as u64 || tw * (cols - 1) >= w as u64 || th * (rs - 1) >= h as u64 {
                return Err(corrupt("the grid's tiles do not cover its size"));
            }
            decoder = Rav1d::new(tile.0 as u64 * tile.1 as u64)?;
            for index in 0..count {
                if self.boxes.ispe(self.boxes.tiles[index]) != Some(tile) {
                    return Err(corrupt("grid tiles of different sizes"));
                }
                let data = self.parser.tile_data(index).map_err(parse_error)?;
                let picture = decoder.decode(&data)?;
                let (x, y) = ((index as u32 % columns) * tile.0, (index as u32 / columns) * tile.1);
                picture.convert(nclx, tile, false, &mut canvas, (x, y), (w, h))?;
            }
        } else {
            let data = self.parser.primary_data().map_err(parse_error)?;
            let picture = decoder.decode(&data)?;
            picture.convert(nclx, (w, h), has_alpha, &mut canvas, (0, 0), (w, h))?;
            drop(picture);
            if let Some(alpha) = self.parser.alpha_data() {
                let alpha = alpha.map_err(parse_error)?;
                let picture = decoder.decode(&alpha)?;
                picture.write_alpha(&mut canvas, (w, h), self.parser.premultiplied_alpha())?;
            }
        }
        drop(decoder);

        let mut image = if has_alpha {
            DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, canvas).ok_or_else(|| corrupt("buffer size"))?)
        } else {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, canvas).ok_or_else(|| corrupt("buffer size"))?)
        };
        let t = self.transforms;
        if let Some((x, y, cw, ch)) = t.crop {
            image = image.crop_imm(x, y, cw, ch);
        }
        image = match t.quarter_turns {
            1 => image.rotate270(), // 90° anti-clockwise
            2 => image.rotate180(),
            3 => image.rotate90(),
            _ => image,
        };
        match t.mirror {
            Some(0) => image = image.flipv(),
            Some(_) => image = image.fliph(),
            None => {}
        }
        Ok(image)
    }
}

fn try_buffer(len: usize) -> Result<Vec<u8>, Failure> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| corrupt("out of memory for the pixels"))?;
    v.resize(len, 0);
    Ok(v)
}

fn cicp(primaries: u32, transfer: u32) -> Colour {
    match (u8::try_from(primaries), u8::try_from(transfer)) {
        // 2/2: unspecified, read as sRGB like everything unsaid
        (Ok(2), Ok(2)) => Colour::Srgb,
        (Ok(primaries), Ok(transfer)) => Colour::Cicp { primaries, transfer },
        _ => Colour::Srgb,
    }
}

/// The crop of a valid `clap` (ISO/IEC 23000-22 7.3.6.7, as libavif computes it), or None for
/// one that is not a whole-pixel rectangle inside the image (ignored, as browsers do).
fn clean_aperture(c: &zp::CleanAperture, (w, h): (u32, u32)) -> Option<(u32, u32, u32, u32)> {
    fn side(n: u32, d: u32) -> Option<i128> {
        (d != 0 && n.is_multiple_of(d)).then(|| (n / d) as i128)
    }
    // leftmost = off + (W - clapW) / 2, an integer in [0, W - clapW]
    fn start(off_n: i32, off_d: u32, full: u32, clap: i128) -> Option<u32> {
        let (n, d) = (2 * off_n as i128 + (full as i128 - clap) * off_d as i128, 2 * off_d as i128);
        if d == 0 || n % d != 0 {
            return None;
        }
        let x = n / d;
        (x >= 0 && x + clap <= full as i128).then_some(x as u32)
    }
    let cw = side(c.width_n, c.width_d)?;
    let ch = side(c.height_n, c.height_d)?;
    if cw == 0 || ch == 0 {
        return None;
    }
    let x = start(c.horiz_off_n, c.horiz_off_d, w, cw)?;
    let y = start(c.vert_off_n, c.vert_off_d, h, ch)?;
    Some((x, y, cw as u32, ch as u32))
}

// ---------------------------------------------------------------------------------------------
// The boxes zenavif-parse reads but does not expose: the items' `ispe`, the primary item and its
// grid tiles (`dimg`, in order). Lenient: what cannot be read is left out, and zenavif-parse
// (which validates) decides whether the file is corrupt.

#[derive(Debug, Default)]
struct Boxes {
    major_brand: [u8; 4],
    brands: Vec<[u8; 4]>,
    primary: Option<u32>,
    /// (item, width, height)
    ispe: Vec<(u32, u32, u32)>,
    /// The primary item's `dimg` references, in order.
    tiles: Vec<u32>,
}

impl Boxes {
    fn ispe(&self, item: u32) -> Option<(u32, u32)> {
        self.ispe.iter().find(|e| e.0 == item).map(|e| (e.1, e.2))
    }

    /// NotThisFormat unless an `ftyp` box comes first and names `avif` or `avis` as its major or
    /// a compatible brand (as `media::sniff` does).
    fn walk(bytes: &[u8]) -> Result<Self, Failure> {
        let not_avif = || Failure::NotThisFormat("not an AVIF file (no ftyp box naming avif or avis)".into());
        let mut top = BoxIter(bytes);
        let (kind, ftyp) = top.next().ok_or_else(not_avif)?;
        if &kind != b"ftyp" || ftyp.len() < 8 {
            return Err(not_avif());
        }
        let mut b = Boxes { major_brand: ftyp[0..4].try_into().unwrap(), ..Boxes::default() };
        b.brands = ftyp[8..].chunks_exact(4).map(|c| c.try_into().unwrap()).collect();
        let avif = |x: &[u8; 4]| x == b"avif" || x == b"avis";
        if !avif(&b.major_brand) && !b.brands.iter().any(avif) {
            return Err(not_avif());
        }
        if let Some((_, meta)) = top.find(|(k, _)| k == b"meta") {
            if meta.len() >= 4 {
                b.meta(&meta[4..]);
            }
        }
        Ok(b)
    }

    fn meta(&mut self, meta: &[u8]) {
        let mut properties: Vec<([u8; 4], &[u8])> = Vec::new();
        let mut associations: Vec<(u32, u16)> = Vec::new();
        let mut references: Vec<([u8; 4], u32, Vec<u32>)> = Vec::new();
        for (kind, body) in BoxIter(meta) {
            let mut r = Reader(body);
            match &kind {
                b"pitm" => {
                    let Some(version) = r.u8() else { continue };
                    r.skip(3);
                    self.primary = if version == 0 { r.u16().map(u32::from) } else { r.u32() };
                }
                b"iref" => {
                    let Some(version) = r.u8() else { continue };
                    r.skip(3);
                    for (kind, body) in BoxIter(r.0) {
                        let mut r = Reader(body);
                        let id = |r: &mut Reader| if version == 0 { r.u16().map(u32::from) } else { r.u32() };
                        let Some(from) = id(&mut r) else { continue };
                        let Some(count) = r.u16() else { continue };
                        let to: Vec<u32> = (0..count).map_while(|_| id(&mut r)).collect();
                        references.push((kind, from, to));
                    }
                }
                b"iprp" => {
                    for (kind, body) in BoxIter(body) {
                        if &kind == b"ipco" {
                            properties.extend(BoxIter(body));
                        } else if &kind == b"ipma" {
                            let mut r = Reader(body);
                            let (Some(version), Some(_), Some(_), Some(flags)) = (r.u8(), r.u8(), r.u8(), r.u8())
                            else {
                                continue;
                            };
                            let Some(entries) = r.u32() else { continue };
                            'entries: for _ in 0..entries {
                                let item = if version < 1 { r.u16().map(u32::from) } else { r.u32() };
                                let (Some(item), Some(count)) = (item, r.u8()) else { break };
                                for _ in 0..count {
                                    let index = if flags & 1 != 0 {
                                        r.u16().map(|v| v & 0x7fff)
                                    } else {
                                        r.u8().map(|v| u16::from(v & 0x7f))
                                    };
                                    let Some(index) = index else { break 'entries };
                                    associations.push((item, index));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for (item, index) in associations {
            // ipco indices count from 1; 0 means no property
            let Some((kind, body)) = (index as usize).checked_sub(1).and_then(|i| properties.get(i)) else { continue };
            if kind == b"ispe" && self.ispe(item).is_none() {
                let mut r = Reader(body);
                r.skip(4);
                if let (Some(w), Some(h)) = (r.u32(), r.u32()) {
                    self.ispe.push((item, w, h));
                }
            }
        }
        if let Some(primary) = self.primary {
            if let Some((_, _, to)) = references.into_iter().find(|(k, from, _)| k == b"dimg" && *from == primary) {
                self.tiles = to;
            }
        }
    }
}

/// The boxes of one level: (type, payload). Stops at the first box that does not fit.
struct BoxIter<'a>(&'a [u8]);

impl<'a> Iterator for BoxIter<'a> {
    type Item = ([u8; 4], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let data = self.0;
        let mut r = Reader(data);
        let size = r.u32()? as u64;
        let kind: [u8; 4] = r.take(4)?.try_into().ok()?;
        let (size, header) = match size {
            0 => (data.len() as u64, 8),
            1 => (r.u64()?, 16),
            s => (s, 8),
        };
        if size < header || size > data.len() as u64 {
            self.0 = &[];
            return None;
        }
        let (this, rest) = data.split_at(size as usize);
        self.0 = rest;
        Some((kind, &this[header as usize..]))
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            self.0 = &[];
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn skip(&mut self, n: usize) {
        let _ = self.take(n);
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_be_bytes(b.try_into().unwrap()))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_be_bytes(b.try_into().unwrap()))
    }
}

// ---------------------------------------------------------------------------------------------
// rav1d: the only unsafe code of the module.

use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dLogger, Dav1dSettings};
use rav1d::include::dav1d::headers::{
    Dav1dSequenceHeader, DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420, DAV1D_PIXEL_LAYOUT_I422,
    DAV1D_PIXEL_LAYOUT_I444,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture, dav1d_open,
    dav1d_parse_sequence_header, dav1d_picture_unref, dav1d_send_data,
};
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// CICP of an AV1 sequence header (the first OBUs of an item).
#[derive(Debug, Clone, Copy)]
struct SequenceColour {
    primaries: u32,
    transfer: u32,
}

fn sequence_header(av1: &[u8]) -> Option<SequenceColour> {
    if av1.is_empty() {
        return None;
    }
    let mut out = MaybeUninit::<Dav1dSequenceHeader>::uninit();
    // SAFETY: `av1` is a live slice of `av1.len()` bytes, and `out` is writable; rav1d writes a
    // whole header into `out` exactly when it returns 0, and only then is it read.
    unsafe {
        let res = dav1d_parse_sequence_header(
            Some(NonNull::from(&mut out).cast()),
            Some(NonNull::from(av1).cast::<u8>()),
            av1.len(),
        );
        if res.0 != 0 {
            return None;
        }
        let seq = out.assume_init_ref();
        Some(SequenceColour { primaries: seq.pri, transfer: seq.trc })
    }
}

/// One rav1d context, single-threaded, for the items of one file.
struct Rav1d {
    ctx: Option<Dav1dContext>,
}

impl Rav1d {
    /// `frame_size_limit`: the pixels the container declared, so that a lying AV1 header cannot
    /// make rav1d allocate more.
    fn new(max_pixels: u64) -> Result<Self, Failure> {
        let mut settings = MaybeUninit::<Dav1dSettings>::uninit();
        let mut ctx = None;
        // SAFETY: dav1d_default_settings initialises the whole struct it is given, dav1d_open
        // reads the settings and writes the context (or None) into `ctx`; a logger without a
        // callback is never called.
        let res = unsafe {
            dav1d_default_settings(NonNull::from(&mut settings).cast());
            let settings = settings.assume_init_mut();
            // Two frame contexts, not one: with a single one (max_frame_delay 1, or one thread)
            // any AV1 decode error makes rav1d 1.1.0 unwrap a frame header it has already freed
            // (decode.rs:4997, memorysafety/rav1d#1497, fixes #1496/#1503 unreleased), a panic
            // through `extern "C"` that aborts the process: one flipped byte in an upload was
            // enough. With two, errors take the frame-threaded path, which returns them. For a
            // still there is one frame, so the second context stays idle; the two tile threads
            // may use both cores during a decode.
            settings.n_threads = 2;
            settings.max_frame_delay = 2;
            settings.apply_grain = 1; // film grain is part of the image (libavif applies it)
            settings.frame_size_limit = max_pixels.clamp(1, u32::MAX as u64) as u32;
            // no logging to stderr of what hostile input makes rav1d say (errors come back)
            settings.logger = Dav1dLogger::new(None, None);
            dav1d_open(Some(NonNull::from(&mut ctx)), Some(NonNull::from(settings)))
        };
        if res.0 != 0 || ctx.is_none() {
            return Err(corrupt(format!("rav1d could not start (error {})", res.0)));
        }
        Ok(Rav1d { ctx })
    }

    /// Decodes one item (one temporal unit). For a layered item the last layer is the image.
    fn decode(&mut self, av1: &[u8]) -> Result<Picture<'_>, Failure> {
        let ctx = self.ctx.ok_or_else(|| corrupt("rav1d closed"))?;
        if av1.is_empty() {
            return Err(corrupt("empty AV1 item"));
        }
        let failed = |what: &str, code: i32| corrupt(format!("AV1 data {what} (rav1d error {code})"));
        // SAFETY: `ctx` is an open context; `data` is created by rav1d with `av1.len()` bytes
        // that we fill, and unref'd once (a no-op if rav1d took it); every picture rav1d fills
        // is either unref'd here or moved into the returned `Picture`, which unrefs it on drop.
        // SAFETY (of the closure): `ctx` is open; a picture rav1d did not fill is unref'd (a
        // no-op), a filled one is returned to the caller, which owns it.
        let get = |ctx: Dav1dContext| -> Result<Dav1dPicture, i32> {
            // With frame threads the first call after sending data only starts the drain and
            // answers EAGAIN; the second waits for the frame
            let mut code = 0;
            for _ in 0..2 {
                let mut picture = Dav1dPicture::default();
                let res = unsafe { dav1d_get_picture(Some(ctx), Some(NonNull::from(&mut picture))) };
                if res.0 == 0 {
                    return Ok(picture);
                }
                unsafe { release(&mut picture) };
                code = res.0;
                if code != EAGAIN {
                    break;
                }
            }
            Err(code)
        };
        // SAFETY: `ctx` is an open context; `data` is created by rav1d with `av1.len()` bytes
        // that we fill, and unref'd once (a no-op if rav1d took it); every picture rav1d fills
        // is either unref'd here or moved into the returned `Picture`, which unrefs it on drop.
        unsafe {
            let mut data = Dav1dData::default();
            let buf = dav1d_data_create(Some(NonNull::from(&mut data)), av1.len());
            if buf.is_null() {
                return Err(corrupt("out of memory for the AV1 data"));
            }
            std::ptr::copy_nonoverlapping(av1.as_ptr(), buf, av1.len());
            let mut last: Option<Dav1dPicture> = None;
            let mut error = None;
            loop {
                let res = dav1d_send_data(Some(ctx), Some(NonNull::from(&mut data)));
                if res.0 == 0 {
                    break;
                }
                // EAGAIN: a picture is waiting; take it out so that the data can go in
                match (res.0, get(ctx)) {
                    (EAGAIN, Ok(pending)) => {
                        if let Some(mut previous) = last.replace(pending) {
                            release(&mut previous);
                        }
                    }
                    (code, _) => {
                        error = Some(failed("rejected", code));
                        break;
                    }
                }
            }
            dav1d_data_unref(Some(NonNull::from(&mut data)));
            while error.is_none() {
                match get(ctx) {
                    Ok(picture) => {
                        if let Some(mut previous) = last.replace(picture) {
                            release(&mut previous);
                        }
                    }
                    // no more pictures: the last one is the image
                    Err(code) => {
                        if last.is_none() || code != EAGAIN {
                            error = Some(failed("undecodable", code));
                        }
                        break;
                    }
                }
            }
            match (error, last) {
                (None, Some(picture)) => Ok(Picture { picture, _decoder: std::marker::PhantomData }),
                (error, picture) => {
                    if let Some(mut picture) = picture {
                        release(&mut picture);
                    }
                    Err(error.unwrap_or_else(|| failed("undecodable", 0)))
                }
            }
        }
    }
}

/// Unrefs `picture`. rav1d 1.1's `dav1d_picture_unref` writes a cleared picture back that holds a
/// newly allocated default `itut_t35` `Arc` (48 B), which nothing would free: every AVIF decode
/// leaked a few of them (found by the `decode_avif` fuzz target under LeakSanitizer). It is taken
/// back here and dropped.
///
/// # Safety
///
/// `picture` is zeroed (`Default`) or was filled by rav1d, and is not used again but to be filled
/// or released.
unsafe fn release(picture: &mut Dav1dPicture) {
    // SAFETY: as `dav1d_picture_unref` requires: `picture` is valid to read and write.
    unsafe { dav1d_picture_unref(Some(NonNull::from(&mut *picture))) };
    if let Some(raw) = picture.itut_t35_ref.take() {
        // SAFETY: rav1d made `raw` with `RawArc::from_arc` when it wrote the cleared picture, and
        // taking it out of the picture leaves no other owner.
        drop(unsafe { raw.into_arc() });
    }
    picture.itut_t35 = None;
    picture.n_itut_t35 = 0;
}

/// rav1d's "try again" (a negated errno, as all its errors).
const EAGAIN: i32 = -11;

impl Drop for Rav1d {
    fn drop(&mut self) {
        // SAFETY: `ctx` came from dav1d_open; dav1d_close sets it to None.
        unsafe { dav1d_close(Some(NonNull::from(&mut self.ctx))) };
    }
}

/// A decoded picture, borrowed from the decoder that made it.
struct Picture<'a> {
    picture: Dav1dPicture,
    _decoder: std::marker::PhantomData<&'a mut Rav1d>,
}

impl Drop for Picture<'_> {
    fn drop(&mut self) {
        // SAFETY: the picture was filled by dav1d_get_picture and is unref'd once.
        unsafe { release(&mut self.picture) };
    }
}

/// One plane of samples (u8 for 8-bit, u16 above), `stride` samples apart.
struct Plane<'a, T> {
    samples: &'a [T],
    stride: usize,
    width: usize,
    height: usize,
}

impl Picture<'_> {
    fn size(&self) -> (u32, u32) {
        (self.picture.p.w.max(0) as u32, self.picture.p.h.max(0) as u32)
    }
    fn depth(&self) -> u32 {
        self.picture.p.bpc.max(0) as u32
    }
    /// (horizontal, vertical) chroma subsampling shifts; None for monochrome.
    fn subsampling(&self) -> Result<Option<(u8, u8)>, Failure> {
        Ok(match self.picture.p.layout {
            DAV1D_PIXEL_LAYOUT_I400 => None,
            DAV1D_PIXEL_LAYOUT_I420 => Some((1, 1)),
            DAV1D_PIXEL_LAYOUT_I422 => Some((1, 0)),
            DAV1D_PIXEL_LAYOUT_I444 => Some((0, 0)),
            _ => return Err(corrupt("unknown chroma layout")),
        })
    }
    fn seq(&self) -> Option<&Dav1dSequenceHeader> {
        // SAFETY: the sequence header lives as long as the picture holds its reference.
        self.picture.seq_hdr.map(|p| unsafe { p.as_ref() })
    }
    fn full_range(&self) -> bool {
        self.seq().is_some_and(|s| s.color_range != 0)
    }
    fn matrix(&self) -> u32 {
        self.seq().map_or(2, |s| s.mtrx)
    }

    /// Plane 0 (Y), 1 (U) or 2 (V), of T = u8 (8-bit) or u16 (10/12-bit).
    fn plane<T: Copy>(&self, n: usize) -> Result<Plane<'_, T>, Failure> {
        let bytes = if self.depth() <= 8 { 1 } else { 2 };
        if bytes != std::mem::size_of::<T>() {
            return Err(corrupt("sample size"));
        }
        let (ss_x, ss_y) = if n == 0 { (0, 0) } else { self.subsampling()?.ok_or_else(|| corrupt("no chroma"))? };
        let (w, h) = self.size();
        let (width, height) = (((w as usize) + ss_x as usize) >> ss_x, ((h as usize) + ss_y as usize) >> ss_y);
        let data = self.picture.data[n].ok_or_else(|| corrupt("missing plane"))?;
        let stride_bytes = self.picture.stride[usize::from(n != 0)];
        if width == 0 || height == 0 || stride_bytes <= 0 || !(stride_bytes as usize).is_multiple_of(bytes) {
            return Err(corrupt("plane geometry"));
        }
        let stride = stride_bytes as usize / bytes;
        if stride < width || !(data.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return Err(corrupt("plane geometry"));
        }
        // SAFETY: rav1d allocates whole rows of `stride` samples for each of the plane's `height`
        // rows (as avif-decode relies on too), aligned for its sample type (checked above), and
        // the buffer lives while the picture does, which the returned borrow is tied to.
        let samples = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<T>(), stride * (height - 1) + width) };
        Ok(Plane { samples, stride, width, height })
    }

    /// Converts the picture (which must be `expected` in size) to RGB(A) into `canvas` (an RGB
    /// or RGBA buffer of `canvas_size`) at `at`, cropping what falls outside.
    fn convert(
        &self,
        nclx_matrix: Option<u32>,
        expected: (u32, u32),
        has_alpha: bool,
        canvas: &mut [u8],
        at: (u32, u32),
        canvas_size: (u32, u32),
    ) -> Result<(), Failure> {
        if self.size() != expected {
            return Err(corrupt(format!(
                "the AV1 frame is {}x{}, the container says {}x{}",
                self.size().0,
                self.size().1,
                expected.0,
                expected.1
            )));
        }
        let channels = if has_alpha { 4 } else { 3 };
        let depth = self.depth();
        if !matches!(depth, 8 | 10 | 12) {
            return Err(corrupt(format!("{depth}-bit samples are not supported")));
        }
        let (w, h) = expected;
        let visible = (w.min(canvas_size.0 - at.0) as usize, h.min(canvas_size.1 - at.1) as usize);
        let canvas_stride = canvas_size.0 as usize * channels;
        let offset = at.1 as usize * canvas_stride + at.0 as usize * channels;
        let whole = visible == (w as usize, h as usize) && at == (0, 0) && canvas_size == expected;
        let range = if self.full_range() { yuv::YuvRange::Full } else { yuv::YuvRange::Limited };
        // The container's nclx is authoritative (as in libavif); else the AV1 sequence header;
        // unspecified (2) is read as BT.601, as libavif does
        let matrix = nclx_matrix.filter(|&m| m != 2).unwrap_or_else(|| self.matrix());
        let subsampling = self.subsampling()?;

        // 8-bit converts in one call, straight into the canvas, or for a grid tile (which may
        // overhang the canvas) into a tile buffer then copied. 10/12-bit converts at full precision in strips of rows
        // into a small buffer, then scaled to 8 bits.
        const STRIP: usize = 32; // even, so that 4:2:0 chroma rows line up
        let rows_per_call = if depth == 8 { h as usize } else { STRIP };
        let mut row = 0;
        let mut strip8: Vec<u8> = Vec::new();
        let mut strip16: Vec<u16> = Vec::new();
        while row < visible.1 {
            let n = rows_per_call.min(h as usize - row);
            let out_rows = n.min(visible.1 - row);
            let target: &mut [u8] = if whole && depth == 8 {
                &mut canvas[row * canvas_stride..(row + n) * canvas_stride]
            } else {
                strip8.resize(n * w as usize * channels, 0);
                &mut strip8
            };
            match subsampling {
                None => {
                    // monochrome: Y expanded to its range, as grey
                    if depth == 8 {
                        let y = self.plane::<u8>(0)?;
                        grey_rows(&y, row, n, w as usize, depth, self.full_range(), channels, target, |v| v as u32);
                    } else {
                        let y = self.plane::<u16>(0)?;
                        grey_rows(&y, row, n, w as usize, depth, self.full_range(), channels, target, |v| v as u32);
                    }
                }
                Some((ss_x, ss_y)) => {
                    if depth == 8 {
                        let (y, u, v) = (self.plane::<u8>(0)?, self.plane::<u8>(1)?, self.plane::<u8>(2)?);
                        let planar = strip_planes(&y, &u, &v, row, n, ss_y);
                        convert8(
                            &planar,
                            target,
                            (w as usize * channels) as u32,
                            (ss_x, ss_y),
                            matrix,
                            range,
                            has_alpha,
                        )?;
                    } else {
                        let (y, u, v) = (self.plane::<u16>(0)?, self.plane::<u16>(1)?, self.plane::<u16>(2)?);
                        let planar = strip_planes(&y, &u, &v, row, n, ss_y);
                        strip16.resize(n * w as usize * channels, 0);
                        convert16(
                            &planar,
                            &mut strip16,
                            (w as usize * channels) as u32,
                            (ss_x, ss_y),
                            depth,
                            matrix,
                            range,
                            has_alpha,
                        )?;
                        let max = (1u32 << depth) - 1;
                        for (o, &s) in target.iter_mut().zip(strip16.iter()) {
                            *o = ((s.min(max as u16) as u32 * 255 + max / 2) / max) as u8;
                        }
                    }
                }
            }
            if !(whole && depth == 8) {
                let line = visible.0 * channels;
                for r in 0..out_rows {
                    let src = &strip8[r * w as usize * channels..][..line];
                    let start = offset + (row + r) * canvas_stride;
                    canvas[start..start + line].copy_from_slice(src);
                }
            }
            row += n;
        }
        Ok(())
    }

    /// Writes the alpha item's Y into the A of `canvas` (RGBA of `size`), un-premultiplying.
    fn write_alpha(&self, canvas: &mut [u8], size: (u32, u32), premultiplied: bool) -> Result<(), Failure> {
        if self.size() != size {
            return Err(corrupt("the alpha item's size differs from the image's"));
        }
        let depth = self.depth();
        if !matches!(depth, 8 | 10 | 12) {
            return Err(corrupt(format!("{depth}-bit alpha is not supported")));
        }
        let full = self.full_range();
        let w = size.0 as usize;
        if depth == 8 {
            let y = self.plane::<u8>(0)?;
            alpha_rows(&y, w, depth, full, premultiplied, canvas, |v| v as u32);
        } else {
            let y = self.plane::<u16>(0)?;
            alpha_rows(&y, w, depth, full, premultiplied, canvas, |v| v as u32);
        }
        Ok(())
    }
}

/// A sample of `depth` bits in full or limited (16..235 scaled) range, as 0..=255.
#[inline]
fn expand(v: u32, depth: u32, full: bool) -> u8 {
    let (min, span) = if full { (0, (1 << depth) - 1) } else { (16 << (depth - 8), 219 << (depth - 8)) };
    let v = v.saturating_sub(min).min(span);
    ((v * 255 + span / 2) / span) as u8
}

#[allow(clippy::too_many_arguments)]
fn grey_rows<T: Copy>(
    y: &Plane<'_, T>,
    row: usize,
    n: usize,
    w: usize,
    depth: u32,
    full: bool,
    channels: usize,
    out: &mut [u8],
    get: impl Fn(T) -> u32,
) {
    for r in 0..n.min(y.height.saturating_sub(row)) {
        let line = &y.samples[(row + r) * y.stride..][..w.min(y.width)];
        for (x, &s) in line.iter().enumerate() {
            let g = expand(get(s), depth, full);
            let px = &mut out[(r * w + x) * channels..][..channels];
            px[..3].fill(g);
            if channels == 4 {
                px[3] = 255;
            }
        }
    }
}

fn alpha_rows<T: Copy>(
    y: &Plane<'_, T>,
    w: usize,
    depth: u32,
    full: bool,
    premultiplied: bool,
    canvas: &mut [u8],
    get: impl Fn(T) -> u32,
) {
    for (r, out) in canvas.chunks_exact_mut(w * 4).enumerate().take(y.height) {
        let line = &y.samples[r * y.stride..][..w.min(y.width)];
        for (px, &s) in out.chunks_exact_mut(4).zip(line) {
            let a = expand(get(s), depth, full);
            px[3] = a;
            if premultiplied && a != 255 {
                for c in &mut px[..3] {
                    *c = if a == 0 { 0 } else { ((*c as u32 * 255 + a as u32 / 2) / a as u32).min(255) as u8 };
                }
            }
        }
    }
}

/// The planes of rows `row..row + n` (chroma rows shifted by `ss_y`).
fn strip_planes<'a, T: Copy + std::fmt::Debug>(
    y: &Plane<'a, T>,
    u: &Plane<'a, T>,
    v: &Plane<'a, T>,
    row: usize,
    n: usize,
    ss_y: u8,
) -> yuv::YuvPlanarImage<'a, T> {
    let c0 = row >> ss_y;
    let cn = ((row + n + ss_y as usize) >> ss_y) - c0;
    let sub = |p: &Plane<'a, T>, r0: usize, rn: usize| -> &'a [T] {
        let end = (p.stride * (r0 + rn - 1) + p.width).min(p.samples.len());
        &p.samples[(p.stride * r0).min(end)..end]
    };
    yuv::YuvPlanarImage {
        y_plane: sub(y, row, n),
        y_stride: y.stride as u32,
        u_plane: sub(u, c0, cn),
        u_stride: u.stride as u32,
        v_plane: sub(v, c0, cn),
        v_stride: v.stride as u32,
        width: y.width as u32,
        height: n as u32,
    }
}

/// The YCbCr matrix of H.273's matrix_coefficients, or identity (GBR) for 0.
fn yuv_matrix(mc: u32) -> Result<Option<yuv::YuvStandardMatrix>, Failure> {
    use yuv::YuvStandardMatrix as M;
    Ok(Some(match mc {
        0 => return Ok(None),
        1 => M::Bt709,
        4 => M::Fcc,
        // 2 (unspecified) like libavif; 5 (BT.470 B/G) has BT.601's matrix (H.273 table 4)
        2 | 5 | 6 => M::Bt601,
        7 => M::Smpte240,
        9 | 10 => M::Bt2020,
        _ => return Err(corrupt(format!("matrix coefficients {mc} are not supported"))),
    }))
}

fn yuv_failed(e: yuv::YuvError) -> Failure {
    corrupt(format!("YUV conversion: {e}"))
}

fn convert8(
    p: &yuv::YuvPlanarImage<u8>,
    dst: &mut [u8],
    stride: u32,
    subsampling: (u8, u8),
    mc: u32,
    range: yuv::YuvRange,
    rgba: bool,
) -> Result<(), Failure> {
    let res = match (yuv_matrix(mc)?, subsampling, rgba) {
        (None, (0, 0), false) => yuv::gbr_to_rgb(p, dst, stride, range),
        (None, (0, 0), true) => yuv::gbr_to_rgba(p, dst, stride, range),
        (None, _, _) => return Err(corrupt("identity matrix with subsampled chroma")),
        (Some(m), (0, 0), false) => yuv::yuv444_to_rgb(p, dst, stride, range, m),
        (Some(m), (0, 0), true) => yuv::yuv444_to_rgba(p, dst, stride, range, m),
        // nearest-neighbour chroma upsampling: what Pillow's libavif (libyuv) gives, within
        // 1.5/255 on average of it on the fixtures (the yuv crate's bilinear was 1.6-2.1 away)
        (Some(m), (1, 0), false) => yuv::yuv422_to_rgb(p, dst, stride, range, m),
        (Some(m), (1, 0), true) => yuv::yuv422_to_rgba(p, dst, stride, range, m),
        (Some(m), _, false) => yuv::yuv420_to_rgb(p, dst, stride, range, m),
        (Some(m), _, true) => yuv::yuv420_to_rgba(p, dst, stride, range, m),
    };
    res.map_err(yuv_failed)
}

#[allow(clippy::too_many_arguments)]
fn convert16(
    p: &yuv::YuvPlanarImage<u16>,
    dst: &mut [u16],
    stride: u32,
    subsampling: (u8, u8),
    depth: u32,
    mc: u32,
    range: yuv::YuvRange,
    rgba: bool,
) -> Result<(), Failure> {
    let ten = depth == 10;
    let res = match (yuv_matrix(mc)?, subsampling, rgba) {
        (None, (0, 0), false) if ten => yuv::gb10_to_rgb10(p, dst, stride, range),
        (None, (0, 0), true) if ten => yuv::gb10_to_rgba10(p, dst, stride, range),
        (None, (0, 0), false) => yuv::gb12_to_rgb12(p, dst, stride, range),
        (None, (0, 0), true) => yuv::gb12_to_rgba12(p, dst, stride, range),
        (None, _, _) => return Err(corrupt("identity matrix with subsampled chroma")),
        (Some(m), (0, 0), false) if ten => yuv::i410_to_rgb10(p, dst, stride, range, m),
        (Some(m), (0, 0), true) if ten => yuv::i410_to_rgba10(p, dst, stride, range, m),
        (Some(m), (0, 0), false) => yuv::i412_to_rgb12(p, dst, stride, range, m),
        (Some(m), (0, 0), true) => yuv::i412_to_rgba12(p, dst, stride, range, m),
        (Some(m), (1, 0), false) if ten => yuv::i210_to_rgb10(p, dst, stride, range, m),
        (Some(m), (1, 0), true) if ten => yuv::i210_to_rgba10(p, dst, stride, range, m),
        (Some(m), (1, 0), false) => yuv::i212_to_rgb12(p, dst, stride, range, m),
        (Some(m), (1, 0), true) => yuv::i212_to_rgba12(p, dst, stride, range, m),
        (Some(m), _, false) if ten => yuv::i010_to_rgb10(p, dst, stride, range, m),
        (Some(m), _, true) if ten => yuv::i010_to_rgba10(p, dst, stride, range, m),
        (Some(m), _, false) => yuv::i012_to_rgb12(p, dst, stride, range, m),
        (Some(m), _, true) => yuv::i012_to_rgba12(p, dst, stride, range, m),
    };
    res.map_err(yuv_failed)
}

#[cfg(test)]
mod tests {
    //! Fixtures: `IMGCLOUD_FIXTURES` is the output directory of scripts/make-avif-fixtures.py
    //! (`python3 scripts/make-avif-fixtures.py DIR`, with Pillow >= 11.3 and avifenc); the peer
    //! corpus is read from the handbook beside the repository (or `IMGCLOUD_PEER_CORPUS`).
    use super::*;
    use std::path::PathBuf;

    fn peer(name: &str) -> Vec<u8> {
        let dir = std::env::var_os("IMGCLOUD_PEER_CORPUS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/peer-corpus")));
        let path = dir.join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    use crate::media::{decoders::test_support::fixture, Format};

    fn decode_all(bytes: &[u8]) -> (Header, Pixels) {
        crate::media::decoders::test_support::decoded(&super::super::of(Format::Avif).unwrap(), bytes, "avif")
    }

    /// (mean absolute difference per sample, share of samples more than 32 apart)
    fn difference(ours: &DynamicImage, reference: &DynamicImage) -> (f64, f64) {
        assert_eq!((ours.width(), ours.height()), (reference.width(), reference.height()), "size");
        let (a, b) = if ours.color().has_alpha() {
            (ours.to_rgba8().into_raw(), reference.to_rgba8().into_raw())
        } else {
            (ours.to_rgb8().into_raw(), reference.to_rgb8().into_raw())
        };
        let mut sum = 0u64;
        let mut far = 0usize;
        for (x, y) in a.iter().zip(&b) {
            let d = (*x as i32 - *y as i32).unsigned_abs();
            sum += d as u64;
            far += (d > 32) as usize;
        }
        (sum as f64 / a.len() as f64, far as f64 / a.len() as f64)
    }

    fn reference(name: &str) -> DynamicImage {
        image::load_from_memory(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn assert_like(ours: &DynamicImage, reference_png: &str, max_mean: f64) {
        let (mean, far) = difference(ours, &reference(reference_png));
        assert!(mean <= max_mean && far < 0.002, "{reference_png}: mean difference {mean:.2}, {far:.4} far");
    }

    #[test]
    fn peer_stills_match_pillow() {
        for (file, reference_png, alpha) in [
            ("pillow/hopper.avif", "peer_hopper.ref.png", false),
            ("pillow/transparency.avif", "peer_transparency.ref.png", true),
            ("sharp/pitm.avif", "peer_pitm.ref.png", false),
            (
                "sharp/sdr_cosmos12920_cicp1-13-6_yuv444_full_qp10.avif",
                "peer_sdr_cosmos12920_cicp1-13-6_yuv444_full_qp10.ref.png",
                false,
            ),
        ] {
            let (h, p) = decode_all(&peer(file));
            assert_eq!(h.has_alpha, alpha, "{file}");
            assert_eq!(h.frames, 1);
            assert_like(&p, reference_png, 1.5);
        }
        let h = header(&peer("sharp/sdr_cosmos12920_cicp1-13-6_yuv444_full_qp10.avif")).unwrap();
        assert_eq!(h.colour, Colour::Cicp { primaries: 1, transfer: 13 });
    }

    #[test]
    fn orientation_is_applied() {
        // avif-orientation-6 (libvips) and rot1mir0 (Pillow: irot 1 + imir 0): compared with
        // Pillow's decoding with its irot/imir applied, and not like the unrotated pixels
        for (file, reference_png) in [
            ("libvips/avif-orientation-6.avif", "peer_avif-orientation-6.ref.png"),
            ("pillow/rot1mir0.avif", "peer_rot1mir0.ref.png"),
        ] {
            let bytes = peer(file);
            let (h, p) = decode_all(&bytes);
            let reference = reference(reference_png);
            assert_eq!((h.width, h.height), (reference.width(), reference.height()), "{file}");
            assert_like(&p, reference_png, 1.5);
            // the other orientations of the same pixels are far from the reference
            for wrong in [p.fliph(), p.flipv()] {
                assert!(difference(&wrong, &reference).0 > 5.0, "{file}: a mirrored decode also matches");
            }
        }
        assert_eq!(header(&peer("libvips/avif-orientation-6.avif")).unwrap().width, 3024);
        for (file, size) in [
            ("orient6.avif", (424, 640)),
            ("orient5.avif", (424, 640)),
            ("orient3.avif", (640, 424)),
            ("irot1_imir0.avif", (424, 640)),
            ("irot3.avif", (424, 640)),
            ("imir1.avif", (640, 424)),
        ] {
            let (h, p) = decode_all(&fixture(file));
            assert_eq!((h.width, h.height), size, "{file}");
            assert_like(&p, &file.replace(".avif", ".ref.png"), 1.5);
        }
    }

    #[test]
    fn depths_layouts_ranges_and_matrices() {
        for file in [
            "10bit_420.avif",
            "10bit_444_limited.avif",
            "12bit_422.avif",
            "8bit_422_limited_bt601.avif",
            "8bit_444_identity.avif",
            "mono_8bit.avif",
            "mono_10bit.avif",
            "grid_2x2.avif",
        ] {
            let (h, p) = decode_all(&fixture(file));
            assert_eq!((h.width, h.height, h.has_alpha), (640, 424, false), "{file}");
            assert_like(&p, &file.replace(".avif", ".ref.png"), 1.5);
        }
        // a 10-bit source is not read as 8-bit: its pixels span the whole 8-bit range
        let (_, p) = decode_all(&fixture("10bit_420.avif"));
        let max = p.to_rgb8().into_raw().into_iter().max().unwrap();
        assert!(max > 200, "10-bit scaled wrongly (max {max})");
    }

    #[test]
    fn alpha() {
        for file in ["alpha.avif", "alpha_premultiplied.avif", "10bit_alpha.avif"] {
            let (h, p) = decode_all(&fixture(file));
            assert!(h.has_alpha, "{file}");
            let a: Vec<u8> = p.to_rgba8().pixels().map(|px| px[3]).collect();
            assert!(a.contains(&0) && a.contains(&255), "{file}: alpha is not read");
            // compare colours only where opaque enough to matter
            let reference = reference(&file.replace(".avif", ".ref.png")).to_rgba8();
            let (mut sum, mut n) = (0u64, 0u64);
            for (o, r) in p.to_rgba8().pixels().zip(reference.pixels()) {
                sum += (o[3] as i32 - r[3] as i32).unsigned_abs() as u64;
                if r[3] > 64 {
                    sum += (0..3).map(|c| (o[c] as i32 - r[c] as i32).unsigned_abs() as u64).sum::<u64>();
                }
                n += 1;
            }
            let mean = sum as f64 / n as f64 / 4.0;
            assert!(mean < 1.5, "{file}: mean difference {mean:.2}");
        }
    }

    #[test]
    fn icc_and_brands() {
        let bytes = fixture("p3_icc.avif");
        let icc = fixture("avif_display_p3.icc");
        let (h, p) = decode_all(&bytes);
        assert_eq!(h.colour, Colour::Icc(icc));
        assert_like(&p, "p3_icc.ref.png", 1.5);
        // `mif1` as the major brand, `avif` compatible: the same image
        let (h2, p2) = decode_all(&fixture("major_mif1.avif"));
        assert_eq!(h2, h);
        assert_eq!(p2.as_bytes(), p.as_bytes());
        // libavif writes nclx 1/13 for sRGB: reported as CICP, the caller maps it
        assert_eq!(header(&fixture("10bit_420.avif")).unwrap().colour, Colour::Cicp { primaries: 1, transfer: 13 });
    }

    #[test]
    fn clean_aperture() {
        // clap 400x300 centred (+20, +10) off the 640x424 centre: x 140, y 72
        let (h, p) = decode_all(&fixture("clap.avif"));
        assert_eq!((h.width, h.height), (400, 300));
        let reference = reference("clap.ref.png").crop_imm(140, 72, 400, 300);
        let (mean, _) = difference(&p, &reference);
        assert!(mean < 1.5, "clap crop misplaced: {mean:.2}");
    }

    #[test]
    fn sequence_and_bomb() {
        let bytes = peer("pillow/star.avifs");
        let (h, _) = decode_all(&bytes);
        assert!(h.frames > 1, "frames {}", h.frames);
        // the 17000x17000 bomb: the header tells its size without decoding anything
        let h = header(&peer("libvips/17000x17000.avif")).unwrap();
        assert_eq!((h.width, h.height), (17000, 17000));
    }

    #[test]
    fn not_avif_and_junk() {
        assert!(matches!(header(b""), Err(Failure::NotThisFormat(_))));
        assert!(matches!(header(b"GIF89a\x01\0\x01\0\0\0\0;"), Err(Failure::NotThisFormat(_))));
        assert!(matches!(header(b"\0\0\0\x14ftypisom\0\0\0\0mp41\0\0\0\0"), Err(Failure::NotThisFormat(_))));
        // An ftyp naming avif, then junk: the sniffer calls it AVIF, so it is a broken AVIF (400)
        let mut junk = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf".to_vec();
        junk.extend((0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
        assert!(matches!(header(&junk), Err(Failure::Corrupt(_))), "{:?}", header(&junk));
        let fake = Header { width: 1, height: 1, has_alpha: false, frames: 1, colour: Colour::Srgb };
        assert!(matches!(decode(&junk, &fake), Err(Failure::Corrupt(_))));
    }

    /// Every truncation (at many offsets) and some byte flips: Err or Ok, never a panic; and a
    /// file cut inside its image data is an Err.
    #[test]
    fn truncations_and_flips_do_not_panic() {
        let mut files: Vec<(String, Vec<u8>)> = vec![
            ("hopper".into(), peer("pillow/hopper.avif")),
            ("transparency".into(), peer("pillow/transparency.avif")),
            ("rot1mir0".into(), peer("pillow/rot1mir0.avif")),
            ("star".into(), peer("pillow/star.avifs")),
            ("bomb".into(), peer("libvips/17000x17000.avif")),
        ];
        for f in ["grid_2x2.avif", "10bit_alpha.avif", "clap.avif", "mono_10bit.avif", "p3_icc.avif"] {
            files.push((f.into(), fixture(f)));
        }
        let try_one = |bytes: &[u8]| -> Result<(), Failure> {
            let h = header(bytes)?;
            if h.width as u64 * h.height as u64 <= 4_000_000 {
                decode(bytes, &h)?;
            }
            Ok(())
        };
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (name, bytes) in &files {
            let step = (bytes.len() / 300).max(1);
            for cut in (0..bytes.len()).step_by(step) {
                let r = try_one(&bytes[..cut]);
                if cut < bytes.len() * 9 / 10 && name != "bomb" {
                    assert!(r.is_err(), "{name} cut at {cut} decoded");
                }
            }
            for _ in 0..300 {
                let mut copy = bytes.clone();
                for _ in 0..1 + rand() % 4 {
                    let i = (rand() % copy.len() as u64) as usize;
                    copy[i] ^= 1 << (rand() % 8);
                }
                let _ = try_one(&copy);
            }
        }
    }
}
