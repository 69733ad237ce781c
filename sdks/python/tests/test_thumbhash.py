"""thumbhash_to_rgba and thumbhash_to_data_url without a server, against vectors of the reference
implementation (thumbhash-vectors.json, written by sdks/node/test/make-thumbhash-vectors.mjs with
the npm package ``thumbhash``). test_client.py decodes the server's hashes."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any, List

import pytest

from cloudimg import ThumbHashImage, thumbhash_to_data_url, thumbhash_to_rgba

VECTORS: List[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "thumbhash-vectors.json").read_text(encoding="utf-8")
)["vectors"]


def vector(name: str) -> dict[str, Any]:
    return next(v for v in VECTORS if v["name"] == name)


def average_color(rgba: bytes) -> List[float]:
    """The mean of each channel, 0–255; r, g and b weighted by alpha (as the vectors' ``average``)."""
    r = g = b = a = 0.0
    for i in range(0, len(rgba), 4):
        alpha = rgba[i + 3] / 255
        r += rgba[i] * alpha
        g += rgba[i + 1] * alpha
        b += rgba[i + 2] * alpha
        a += alpha
    n = len(rgba) // 4
    return [0.0, 0.0, 0.0, 0.0] if a == 0 else [r / a, g / a, b / a, 255 * a / n]


def parse_png_data_url(url: str) -> ThumbHashImage:
    """Parses a PNG data URL made by thumbhash_to_data_url, every CRC and the zlib stream checked."""
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix), url[:40]
    png = base64.b64decode(url[len(prefix) :], validate=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks = []
    at = 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        chunks.append((kind, data))
        at += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, compression, filtering, interlace) == (8, 6, 0, 0, 0), "8-bit RGBA, no interlace"
    raw = zlib.decompress(chunks[1][1])  # checks the adler32 too
    row = width * 4
    assert len(raw) == height * (row + 1)
    rgba = bytearray()
    for y in range(height):
        assert raw[y * (row + 1)] == 0, "filter type none"
        rgba += raw[y * (row + 1) + 1 : (y + 1) * (row + 1)]
    return ThumbHashImage(width=width, height=height, rgba=bytes(rgba))


@pytest.mark.parametrize("case", VECTORS, ids=lambda v: v["name"])
def test_the_decoder_gives_the_reference_decoders_pixels_to_the_byte(case: dict[str, Any]) -> None:
    padded = case["thumbhash"]
    for text in (padded, padded.rstrip("=")):
        image = thumbhash_to_rgba(text)
        assert (image.width, image.height) == (case["width"], case["height"])
        assert isinstance(image.rgba, bytes)
        assert image.rgba == base64.b64decode(case["rgba"])


@pytest.mark.parametrize("case", VECTORS, ids=lambda v: v["name"])
def test_the_data_url_is_a_png_of_exactly_the_decoded_pixels(case: dict[str, Any]) -> None:
    url = thumbhash_to_data_url(case["thumbhash"])
    assert parse_png_data_url(url) == thumbhash_to_rgba(case["thumbhash"])
    assert thumbhash_to_data_url(case["thumbhash"].rstrip("=")) == url


@pytest.mark.parametrize("case", VECTORS, ids=lambda v: v["name"])
def test_a_decoded_placeholder_has_about_the_source_images_average_colour(case: dict[str, Any]) -> None:
    got = average_color(thumbhash_to_rgba(case["thumbhash"]).rgba)
    for channel, (have, want) in enumerate(zip(got, case["source"]["average"])):
        assert abs(have - want) <= 12, (channel, have, want)


def test_a_solid_colour_comes_back_everywhere_and_the_aspect_ratio_is_kept() -> None:
    rgba = thumbhash_to_rgba(vector("solid")["thumbhash"]).rgba
    for i in range(0, len(rgba), 4):
        assert all(abs(rgba[i + c] - v) <= 4 for c, v in enumerate((51, 102, 204, 255))), i // 4
    landscape = thumbhash_to_rgba(vector("gradient-landscape")["thumbhash"])
    portrait = thumbhash_to_rgba(vector("gradient-portrait")["thumbhash"])
    assert (landscape.width, landscape.height) == (32, 18)  # 100×50
    assert (portrait.width, portrait.height) == (14, 32)  # 40×90


@pytest.mark.parametrize("not_text", [None, 42, b"HZQBBwB4", bytearray(25), {"thumbhash": "x"}])
def test_anything_but_a_str_is_a_type_error(not_text: object) -> None:
    with pytest.raises(TypeError):
        thumbhash_to_rgba(not_text)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        thumbhash_to_data_url(not_text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    ["not base64!", "HZQB BwB4", "HZQB\nBwB4", "HZQ-BwB_", "HZQBB", "HZQBBw=", "HZQBBwB4=", "====", "=HZQ", "é"],
)
def test_what_is_not_standard_base64_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="must be standard base64"):
        thumbhash_to_data_url(text)


def _too_short() -> List[str]:
    good = vector("alpha-disc")["thumbhash"]
    five = base64.b64encode(base64.b64decode(good)[:5]).decode()
    return ["", "HZQB", "HZQBBw", good[:-8], five]


@pytest.mark.parametrize("text", _too_short())
def test_a_hash_shorter_than_its_header_asks_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="^thumbhash is too short"):
        thumbhash_to_rgba(text)


def test_a_header_with_a_side_of_0_is_a_value_error() -> None:
    hash_ = bytearray(base64.b64decode(vector("gradient-portrait")["thumbhash"]))
    hash_[3] &= ~7 & 255  # no luminance factors across: a 0-pixel-wide portrait
    with pytest.raises(ValueError, match="side of 0"):
        thumbhash_to_data_url(base64.b64encode(bytes(hash_)).decode())
