#!/usr/bin/env python3
"""Writes the HEIC and JPEG XL fixtures of the decoder tests into a directory.

    make-fixtures.py OUT_DIR [--handbook DIR]

The sources are the handbook's corpus (`../shared` beside the repository by default). Needs a venv
with `pillow`, `pillow-heif` (x265 and libheif inside its wheel) and Debian's `libjxl-tools`
(`cjxl`, which reads the ICC profile of a PNG and the EXIF orientation of a PNG or JPEG).

HEIC: a 12 MP photo in 512x512 tiles of a `grid` item with a thumbnail (as phones write it), a
10-bit one, one with an alpha plane, one with a Display P3 profile, one rotated by `irot`.
Phone photos, for the HTTP colour tests: a HEIC (pillow-heif) and an AVIF (avifenc, 4:2:0), each
two flat Display P3 patches side by side, stored landscape and turned to portrait by `irot`.
JPEG XL: a lossy 12 MP photo, a lossless one with alpha, a JPEG transcoded losslessly, one with
an orientation, a lossy and a lossless one with a Display P3 profile. Beside them: their sources,
the P3 profile, and the peer corpus's `hopper.heif` and CMYK `cmyk_layers.jxl`.
"""

import argparse
import shutil
from array import array
import subprocess
import sys
from pathlib import Path

import pillow_heif
from PIL import Image

EXIF_ORIENTATION = 0x0112
# EXIF orientation 6: the stored pixels are shown turned 90 degrees clockwise.
ROTATE_90_CW = 6


def main() -> None:
    args = parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    corpus = Path(args.handbook) / "corpus"
    photo_12mp = Image.open(corpus / "photo_12mp_4000x3000.jpg").convert("RGB")
    photo = Image.open(corpus / "photo_1000x667.jpg").convert("RGB")
    alpha = Image.open(corpus / "alpha_1024x1024.png").convert("RGBA")
    p3_profile = Image.open(Path(args.handbook) / "peer-corpus/sharp/p3.png").info["icc_profile"]

    write_heic(out, photo_12mp, photo, alpha, p3_profile)
    write_jxl(out, corpus, photo_12mp, photo, alpha, p3_profile)
    write_phone_photos(out, p3_profile)
    # What the tests compare the decodes with, and the peer corpus's files they decode.
    for source in ["photo_12mp_4000x3000.jpg", "photo_1000x667.jpg", "alpha_1024x1024.png"]:
        shutil.copy(corpus / source, out / source)
    (out / "display_p3.icc").write_bytes(p3_profile)
    peer_corpus = Path(args.handbook) / "peer-corpus"
    shutil.copy(peer_corpus / "pillow/hopper.heif", out / "hopper.heif")
    shutil.copy(peer_corpus / "jxl-oxide/cmyk_layers.jxl", out / "cmyk_layers.jxl")
    print(f"fixtures written to {out}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    default_handbook = Path(__file__).resolve().parents[2] / "shared"
    parser.add_argument("--handbook", default=str(default_handbook), help="the handbook (its corpus/)")
    return parser.parse_args()


def write_heic(out: Path, photo_12mp, photo, alpha, p3_profile: bytes) -> None:
    # iPhone photos: 512x512 HEVC tiles of a `grid`, a small thumbnail item beside the primary.
    save_heic(photo_12mp, out / "photo_12mp_grid.heic", tile_size=512, thumbnails=[320])
    assert_has_box(out / "photo_12mp_grid.heic", b"grid")
    save_heic(photo, out / "photo_8bit.heic")
    save_heic_10bit(photo, out / "photo_10bit.heic")
    save_heic(alpha, out / "alpha.heic")
    save_heic(photo, out / "photo_p3.heic", icc_profile=p3_profile)
    # pillow-heif turns an EXIF orientation into `irot`/`imir` (and resets the EXIF tag to 1).
    save_heic(photo, out / "photo_irot.heic", exif=orientation_exif(ROTATE_90_CW))
    assert_has_box(out / "photo_irot.heic", b"irot")


# The phone photos' two patches, in Display P3 (left, right as stored; top, bottom as shown).
PHONE_PATCHES = ((60, 160, 90), (200, 40, 120))


def write_phone_photos(out: Path, p3_profile: bytes) -> None:
    stored = Image.new("RGB", (1200, 900), PHONE_PATCHES[1])
    stored.paste(Image.new("RGB", (600, 900), PHONE_PATCHES[0]), (0, 0))
    save_heic(stored, out / "phone_p3_portrait.heic", icc_profile=p3_profile, exif=orientation_exif(ROTATE_90_CW))
    assert_has_box(out / "phone_p3_portrait.heic", b"irot")
    source = out / "phone_p3_portrait.png"
    stored.save(source, icc_profile=p3_profile)
    # irot 3: 270 degrees anti-clockwise, the same turn as EXIF orientation 6.
    subprocess.run(
        ["avifenc", "-y", "420", "--min", "8", "--max", "16", "--irot", "3", str(source), str(out / "phone_p3_portrait.avif")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    source.unlink()


def save_heic(image, path: Path, **options) -> None:
    heif = pillow_heif.from_pillow(image)
    heif.save(path, quality=85, **options)


def save_heic_10bit(image, path: Path) -> None:
    """16-bit RGB samples: pillow-heif encodes them at 10 bits."""
    rgb16 = array("H", (sample * 257 for sample in image.tobytes()))
    if sys.byteorder != "little":
        rgb16.byteswap()
    heif = pillow_heif.from_bytes("RGB;16", image.size, rgb16.tobytes())
    heif.save(path, quality=85)
    if pillow_heif.open_heif(path, convert_hdr_to_8bit=False).info["bit_depth"] != 10:
        sys.exit(f"{path}: not coded at 10 bits")


def write_jxl(out: Path, corpus: Path, photo_12mp, photo, alpha, p3_profile: bytes) -> None:
    tmp = out / "jxl-sources"
    tmp.mkdir(exist_ok=True)
    photo_12mp.save(tmp / "photo_12mp.png")
    cjxl(tmp / "photo_12mp.png", out / "photo_12mp_lossy.jxl", "-d", "1")
    alpha.save(tmp / "alpha.png")
    cjxl(tmp / "alpha.png", out / "alpha_lossless.jxl", "-d", "0")
    cjxl(corpus / "photo_1000x667.jpg", out / "photo_from_jpeg.jxl", "--lossless_jpeg=1")
    photo.save(tmp / "photo_orientation6.png", exif=orientation_exif(ROTATE_90_CW))
    cjxl(tmp / "photo_orientation6.png", out / "photo_orientation6.jxl", "-d", "1")
    # Lossy: XYB, which the decoder renders to sRGB itself; lossless keeps the samples in P3.
    photo.save(tmp / "photo_p3.png", icc_profile=p3_profile)
    cjxl(tmp / "photo_p3.png", out / "photo_p3.jxl", "-d", "1")
    cjxl(tmp / "photo_p3.png", out / "photo_p3_lossless.jxl", "-d", "0")
    for source in tmp.iterdir():
        source.unlink()
    tmp.rmdir()


def cjxl(source: Path, target: Path, *options: str) -> None:
    subprocess.run(["cjxl", str(source), str(target), "--quiet", *options], check=True)


def orientation_exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return exif.tobytes()


def assert_has_box(path: Path, box_type: bytes) -> None:
    """A cheap check that the encoder wrote what the test means to exercise."""
    if box_type not in path.read_bytes()[:64 * 1024]:
        sys.exit(f"{path}: no `{box_type.decode()}` box")


if __name__ == "__main__":
    main()
