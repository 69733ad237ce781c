"""ThumbHash placeholders (SPEC §14: an asset's ``thumbhash``, standard base64) decoded offline into
pixels and a PNG data URL, with the standard library only. The decoder is Evan Wallace's reference
``thumbHashToRGBA`` (https://github.com/evanw/thumbhash, MIT), kept operation for operation so that
its output is the reference's (tests/thumbhash-vectors.json holds the reference's own)."""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
import zlib
from dataclasses import dataclass
from typing import List, Tuple

_BASE64 = re.compile(r"[A-Za-z0-9+/]*\Z")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ThumbHashImage:
    """The placeholder image of a ThumbHash: at most 32×32, ``rgba`` row by row, not premultiplied."""

    width: int
    height: int
    rgba: bytes


def _decode_base64(text: str) -> bytes:
    """The bytes of a standard base64 string, with or without its ``=`` padding; ValueError otherwise."""
    body = text[:-2] if text.endswith("==") else text[:-1] if text.endswith("=") else text
    padded = len(body) != len(text)
    if not _BASE64.match(body) or len(body) % 4 == 1 or (padded and len(text) % 4 != 0):
        raise ValueError("thumbhash must be standard base64 (A-Z, a-z, 0-9, + and /, = padding optional)")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error:  # pragma: no cover - the pattern above lets none through
        raise ValueError("thumbhash must be standard base64") from None


def _ac_count(nx: int, ny: int) -> int:
    """How many 4-bit AC factors a channel of nx × ny has (the DC term is stored apart)."""
    n = 0
    for cy in range(ny):
        cx = 0 if cy else 1
        while cx * ny < nx * (ny - cy):
            n += 1
            cx += 1
    return n


def thumbhash_to_rgba(thumbhash: str) -> ThumbHashImage:
    """Decodes a ThumbHash (the asset's ``thumbhash``: standard base64, padding optional) into its
    placeholder image.

    Raises TypeError unless given a ``str``, ValueError when it is not base64 or not a whole
    ThumbHash.
    """
    if not isinstance(thumbhash, str):
        raise TypeError('thumbhash_to_rgba: thumbhash is the asset\'s "thumbhash", a base64 str')
    h = _decode_base64(thumbhash)
    if len(h) < 5:
        raise ValueError(f"thumbhash is too short: {len(h)} bytes, a ThumbHash has at least 5")
    pi, cos = math.pi, math.cos

    # The header.
    header24 = h[0] | (h[1] << 8) | (h[2] << 16)
    header16 = h[3] | (h[4] << 8)
    has_alpha = header24 >> 23
    is_landscape = header16 >> 15
    # The unclamped counts give the aspect ratio (the reference's thumbHashToApproximateAspectRatio).
    raw_x = (5 if has_alpha else 7) if is_landscape else header16 & 7
    raw_y = header16 & 7 if is_landscape else (5 if has_alpha else 7)
    if raw_x == 0 or raw_y == 0:
        raise ValueError("thumbhash is not a ThumbHash: its header gives a side of 0")
    lx = max(3, raw_x)
    ly = max(3, raw_y)
    ac_start = 6 if has_alpha else 5
    factors = _ac_count(lx, ly) + 2 * _ac_count(3, 3) + (_ac_count(5, 5) if has_alpha else 0)
    needed = ac_start + (factors + 1) // 2
    if len(h) < needed:
        raise ValueError(f"thumbhash is too short: {len(h)} bytes, its header asks for {needed}")

    # The constants.
    l_dc = (header24 & 63) / 63
    p_dc = ((header24 >> 6) & 63) / 31.5 - 1
    q_dc = ((header24 >> 12) & 63) / 31.5 - 1
    l_scale = ((header24 >> 18) & 31) / 31
    p_scale = ((header16 >> 3) & 63) / 63
    q_scale = ((header16 >> 9) & 63) / 63
    a_dc = (h[5] & 15) / 15 if has_alpha else 1.0
    a_scale = (h[5] >> 4) / 15 if has_alpha else 0.0

    # The varying factors (saturation boosted by 1.25 to make up for the quantisation), each with
    # the frequencies (cx, cy) it multiplies.
    ac_index = 0

    def decode_channel(nx: int, ny: int, scale: float) -> List[Tuple[int, int, float]]:
        nonlocal ac_index
        ac: List[Tuple[int, int, float]] = []
        for cy in range(ny):
            cx = 0 if cy else 1
            while cx * ny < nx * (ny - cy):
                nibble = (h[ac_start + (ac_index >> 1)] >> ((ac_index & 1) << 2)) & 15
                ac.append((cx, cy, (nibble / 7.5 - 1) * scale))
                ac_index += 1
                cx += 1
        return ac

    l_ac = decode_channel(lx, ly, l_scale)
    p_ac = decode_channel(3, 3, p_scale * 1.25)
    q_ac = decode_channel(3, 3, q_scale * 1.25)
    a_ac = decode_channel(5, 5, a_scale) if has_alpha else []

    # The inverse DCT, into RGB.
    ratio = raw_x / raw_y
    width = _round(32 if ratio > 1 else 32 * ratio)
    height = _round(32 / ratio if ratio > 1 else 32)
    rgba = bytearray(width * height * 4)
    nfx = max(lx, 5 if has_alpha else 3)
    nfy = max(ly, 5 if has_alpha else 3)
    i = 0
    for y in range(height):
        fy = [cos(pi / height * (y + 0.5) * cy) for cy in range(nfy)]
        for x in range(width):
            fx = [cos(pi / width * (x + 0.5) * cx) for cx in range(nfx)]
            lum, p, q, a = l_dc, p_dc, q_dc, a_dc
            for cx, cy, factor in l_ac:
                lum += factor * fx[cx] * (fy[cy] * 2)
            for (cx, cy, p_factor), (_, _, q_factor) in zip(p_ac, q_ac):
                f = fx[cx] * (fy[cy] * 2)
                p += p_factor * f
                q += q_factor * f
            for cx, cy, factor in a_ac:
                a += factor * fx[cx] * (fy[cy] * 2)
            b = lum - 2 / 3 * p
            r = (3 * lum - b + q) / 2
            g = r - q
            # Truncated, as the reference's Uint8Array does.
            rgba[i] = int(max(0.0, 255 * min(1.0, r)))
            rgba[i + 1] = int(max(0.0, 255 * min(1.0, g)))
            rgba[i + 2] = int(max(0.0, 255 * min(1.0, b)))
            rgba[i + 3] = int(max(0.0, 255 * min(1.0, a)))
            i += 4
    return ThumbHashImage(width=width, height=height, rgba=bytes(rgba))


def _round(value: float) -> int:
    """JavaScript's Math.round: halves go up (Python's round() goes to even)."""
    return math.floor(value + 0.5)


def _chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, type, data, crc32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _rgba_to_png(width: int, height: int, rgba: bytes) -> bytes:
    """An 8-bit RGBA PNG of ``rgba`` (row by row, not premultiplied)."""
    row = width * 4
    # Each row: filter type 0 (none), then its pixels.
    raw = b"".join(b"\x00" + rgba[y * row : (y + 1) * row] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA, no interlace
    return _PNG_SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def thumbhash_to_data_url(thumbhash: str) -> str:
    """The placeholder of a ThumbHash (the asset's ``thumbhash``) as a ``data:image/png;base64,…``
    URL, for an ``<img src>`` or a CSS background while the image loads. Raises as
    ``thumbhash_to_rgba`` does."""
    image = thumbhash_to_rgba(thumbhash)
    png = _rgba_to_png(image.width, image.height, image.rgba)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


__all__ = ["ThumbHashImage", "thumbhash_to_data_url", "thumbhash_to_rgba"]
