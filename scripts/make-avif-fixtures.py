#!/usr/bin/env python3
"""Make the AVIF test fixtures of the AVIF decoder (shared/src/media/decoders/avif.rs).

Usage: make_avif_fixtures.py OUT_DIR [CORPUS_DIR]

Needs Pillow >= 11.3 (AVIF built into the wheels: `pip install pillow`), and for the 10/12-bit,
4:2:2/4:4:4/monochrome, limited-range, grid and clap fixtures libavif's `avifenc`
(Debian: `apt-get install libavif-bin`); those are skipped with a note when it is missing.

Every fixture X.avif gets X.ref.png beside it when Pillow can decode it: Pillow's decoding
(libavif), with irot/imir applied (Pillow reports them as EXIF orientation, which
ImageOps.exif_transpose applies). The Rust tests compare their decode with it.
CORPUS_DIR defaults to ../shared/corpus relative to this script's repo (or /work/shared/corpus).
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from PIL import Image, ImageOps, features


def s15f16(v):
    return struct.pack(">i", int(round(v * 65536)))


def display_p3_icc():
    """A Display P3 ICC v4 profile (matrix/TRC, sRGB curve), built by hand: same colorants and
    chromatic adaptation as Apple's "Display P3" profile."""
    def xyz(x, y, z):
        return b"XYZ " + b"\0" * 4 + s15f16(x) + s15f16(y) + s15f16(z)

    def mluc(text):
        t = text.encode("utf-16-be")
        return b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(t), 28) + t

    # parametric curve type 3: the sRGB transfer function
    para = b"para" + b"\0" * 4 + struct.pack(">HH", 3, 0) + b"".join(
        s15f16(v) for v in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
    chad = b"sf32" + b"\0" * 4 + b"".join(s15f16(v) for v in (
        1.047882, 0.022919, -0.050201, 0.029587, 0.990479, -0.017059, -0.009232, 0.015076, 0.751678))
    tags = [
        (b"desc", mluc("Display P3")),
        (b"cprt", mluc("No copyright, use freely")),
        (b"wtpt", xyz(0.964203, 1.0, 0.824905)),
        (b"rXYZ", xyz(0.515121, 0.241196, -0.001053)),
        (b"gXYZ", xyz(0.291977, 0.692245, 0.041885)),
        (b"bXYZ", xyz(0.157104, 0.066574, 0.784073)),
        (b"rTRC", para), (b"gTRC", para), (b"bTRC", para),
        (b"chad", chad),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    table = struct.pack(">I", len(tags))
    data = b""
    shared = {}
    for sig, body in tags:
        if body in shared:  # the three TRCs share one curve
            table += sig + struct.pack(">II", *shared[body])
            continue
        while (offset + len(data)) % 4:
            data += b"\0"
        where = (offset + len(data), len(body))
        shared[body] = where
        table += sig + struct.pack(">II", *where)
        data += body
    size = 128 + table_len + len(data)
    header = struct.pack(">I", size) + b"\0\0\0\0" + struct.pack(">I", 0x04300000)
    header += b"mntrRGB XYZ " + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 4
    header += b"\0" * 4 + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + struct.pack(">I", 0)
    header += s15f16(0.964203) + s15f16(1.0) + s15f16(0.824905) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28
    assert len(header) == 128
    return header + table + data


def ref_png(avif_path):
    """Pillow's decoding of avif_path, as displayed, saved beside it as .ref.png."""
    try:
        with Image.open(avif_path) as im:
            im = ImageOps.exif_transpose(im)
            out = avif_path[: -len(".avif")] + ".ref.png"
            im.save(out)
    except Exception as e:  # a file Pillow cannot read: no reference
        print(f"  (no reference for {os.path.basename(avif_path)}: {e})")


def avifenc(args, src, dst):
    exe = shutil.which("avifenc")
    if not exe:
        print(f"  skipped {os.path.basename(dst)}: avifenc not found (apt-get install libavif-bin)")
        return False
    subprocess.run([exe, "-s", "8", "-j", "2", *args, src, dst], check=True, stdout=subprocess.DEVNULL)
    return True


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = sys.argv[2] if len(sys.argv) > 2 else next(
        (p for p in (os.path.join(here, "..", "..", "shared", "corpus"),
                     os.path.join(here, "..", "shared", "corpus"), "/work/shared/corpus")
         if os.path.isdir(p)), None)
    if not corpus:
        sys.exit("corpus directory not found: pass it as the second argument")
    if not features.check("avif"):
        sys.exit("this Pillow has no AVIF support: pip install 'pillow>=11.3'")
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    photo12 = Image.open(os.path.join(corpus, "photo_12mp_4000x3000.jpg")).convert("RGB")
    small = Image.open(os.path.join(corpus, "photo_1000x667.jpg")).convert("RGB")
    small = small.crop((0, 0, 640, 424))  # even cells (320x212) for the 2x2 grid
    alpha = Image.open(os.path.join(corpus, "alpha_1024x1024.png")).convert("RGBA")

    print("photo_12mp.avif (8-bit 4:2:0)")
    photo12.save(p("photo_12mp.avif"), quality=75, speed=8, subsampling="4:2:0")
    ref_png(p("photo_12mp.avif"))

    print("alpha.avif, alpha_premultiplied.avif")
    alpha.save(p("alpha.avif"), quality=80, speed=8)
    ref_png(p("alpha.avif"))
    alpha.save(p("alpha_premultiplied.avif"), quality=80, speed=8, alpha_premultiplied=True)
    ref_png(p("alpha_premultiplied.avif"))

    print("p3_icc.avif (Display P3 ICC) and avif_display_p3.icc")
    icc = display_p3_icc()
    with open(p("avif_display_p3.icc"), "wb") as f:
        f.write(icc)
    small.save(p("p3_icc.avif"), quality=80, speed=8, icc_profile=icc)
    ref_png(p("p3_icc.avif"))

    # EXIF orientation 6 (rotate 90° clockwise to display) and 5 (transpose): Pillow writes
    # them as irot (and imir), not as EXIF
    for o in (6, 5, 3):
        name = f"orient{o}.avif"
        print(f"{name} (EXIF orientation {o} written as irot/imir)")
        exif = Image.Exif()
        exif[0x0112] = o
        small.save(p(name), quality=80, speed=8, exif=exif)
        ref_png(p(name))

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "small.png")
        small.save(src)
        src_alpha = os.path.join(tmp, "alpha.png")
        alpha.resize((256, 256)).save(src_alpha)
        jobs = [
            ("10bit_420.avif", ["-d", "10", "-y", "420"], src),
            ("10bit_444_limited.avif", ["-d", "10", "-y", "444", "-r", "limited"], src),
            ("12bit_422.avif", ["-d", "12", "-y", "422"], src),
            ("8bit_422_limited_bt601.avif", ["-y", "422", "-r", "limited", "--cicp", "1/13/6"], src),
            ("8bit_444_identity.avif", ["-y", "444", "--cicp", "1/13/0"], src),
            ("mono_8bit.avif", ["-y", "400"], src),
            ("mono_10bit.avif", ["-d", "10", "-y", "400"], src),
            ("10bit_alpha.avif", ["-d", "10"], src_alpha),
            ("grid_2x2.avif", ["-g", "2x2"], src),
            ("irot1_imir0.avif", ["--irot", "1", "--imir", "0"], src),
            ("irot3.avif", ["--irot", "3"], src),
            ("imir1.avif", ["--imir", "1"], src),
            # a 400x300 crop centred 20 px right of and 10 px below the centre
            ("clap.avif", ["--clap", "400,1,300,1,20,1,10,1"], src),
        ]
        for name, args, source in jobs:
            print(f"{name} (avifenc {' '.join(args)})")
            if avifenc(args, source, p(name)):
                ref_png(p(name))

    # The same photo with `mif1` as ftyp's major brand (avif only among the compatible brands),
    # as some writers do: browsers and Pillow display it
    with open(p("p3_icc.avif"), "rb") as f:
        data = bytearray(f.read())
    assert data[4:12] == b"ftypavif", data[:16]
    data[8:12] = b"mif1"
    with open(p("major_mif1.avif"), "wb") as f:
        f.write(data)
    print("major_mif1.avif")
    # References for the AVIF files of the peer corpus (beside the corpus), as peer_NAME.ref.png
    peer = os.path.join(corpus, "..", "peer-corpus")
    for sub, name in (("libvips", "avif-orientation-6.avif"), ("pillow", "hopper.avif"),
                      ("pillow", "rot1mir0.avif"), ("pillow", "transparency.avif"),
                      ("sharp", "pitm.avif"),
                      ("sharp", "sdr_cosmos12920_cicp1-13-6_yuv444_full_qp10.avif")):
        src = os.path.join(peer, sub, name)
        if os.path.exists(src):
            dst = p("peer_" + name)
            shutil.copyfile(src, dst)
            ref_png(dst)
            os.remove(dst)
            print(f"peer_{name[:-5]}.ref.png")
    print(f"done: {out}")


if __name__ == "__main__":
    main()
