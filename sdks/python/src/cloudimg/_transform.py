"""The transform grammar (SPEC §6) and the public_id rules (SPEC §3), checked exactly as the server
checks them (shared/src/transform/mod.rs, shared/src/domain/public_id.rs), with the same codes and
messages, so a bad URL fails here rather than as a 400 later."""

from __future__ import annotations

import json
import re
from typing import Dict, Mapping, Optional, Union

from ._errors import CloudimgError

#: Keys in canonical order.
KEYS = ("t", "w", "h", "c", "g", "q", "f", "dpr", "gr", "bl", "r", "bg")
#: What may stand beside a preset (``t_<name>``).
BESIDE_PRESET = ("t", "f", "dpr")
CROPS = ("fit", "fill", "cover", "contain", "inside", "outside", "thumb")
GRAVITIES = (
    "auto", "face", "faces", "center", "north", "south", "east", "west",
    "north_east", "north_west", "south_east", "south_west",
)
#: The crop modes a gravity (``g_…``) applies to (SPEC §14).
CROPS_WITH_GRAVITY = ("fill", "cover", "thumb")
FORMATS = ("auto", "jpg", "png", "webp", "avif", "gif")
MAX_LEN = 256
MAX_SIDE = 4000
MAX_ID_LEN = 255

TransformValue = Union[str, int, float, bool]
#: A mapping like ``{"w": 400, "c": "fill"}`` or a string like ``"w_400,c_fill"``.
Transform = Union[Mapping[str, Optional[TransformValue]], str]

_DIGITS = re.compile(r"[0-9]+\Z")
_HEX6 = re.compile(r"[0-9A-Fa-f]{6}\Z")
_PRESET_NAME = re.compile(r"[a-z0-9_-]{1,64}\Z")
_ID_CHAR = re.compile(r"[A-Za-z0-9_.\-/]\Z")


def _invalid(code: str, message: str) -> CloudimgError:
    return CloudimgError(message, status=400, code=code)


def _quoted(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _integer(s: str, low: int, high: int) -> Optional[int]:
    """A whole number of at most 6 ASCII digits within [low, high]."""
    if not s or len(s.encode()) > 6 or not _DIGITS.match(s):
        return None
    n = int(s)
    return n if low <= n <= high else None


def _signed_integer(s: str, low: int, high: int) -> Optional[int]:
    if s.startswith("-"):
        m = _integer(s[1:], 0, -low)
        n = None if m is None else -m
    else:
        n = _integer(s, 0, high)
    return n if n is not None and low <= n <= high else None


def _decimal(s: str, low: int, high: int) -> Optional[int]:
    """``1``, ``1.5``, ``1.25`` as hundredths within [low, high]."""
    whole, dot, fraction = s.partition(".")
    if s.endswith(".") or len(fraction) > 2 or (fraction and not _DIGITS.match(fraction)):
        return None
    w = _integer(whole, 0, 1000)
    if w is None:
        return None
    n = w * 100 + int(fraction.ljust(2, "0"))
    return n if low <= n <= high else None


def _hundredths(n: int) -> str:
    whole, f = divmod(n, 100)
    if f == 0:
        return str(whole)
    if f % 10 == 0:
        return f"{whole}.{f // 10}"
    return f"{whole}.{f:02d}"


def canonical_string(s: str) -> str:
    """Parses a transform string as the server does and returns its canonical spelling
    (``t,w,h,c,g,q,f,dpr,gr,bl,r,bg``, numbers without leading zeros or trailing decimal zeros,
    colours in lowercase).

    Raises CloudimgError 400 ``invalid_transform`` naming the bad pair.
    """
    if len(s.encode()) > MAX_LEN:
        raise _invalid("invalid_transform", f"a transform is at most {MAX_LEN} characters")
    values: Dict[str, str] = {}
    for pair in s.split(","):

        def bad(why: str, pair: str = pair) -> CloudimgError:
            return _invalid("invalid_transform", f"invalid transform pair {_quoted(pair)}: {why}")

        key, sep, value = pair.partition("_")
        if not sep:
            raise bad("expected key_value")
        if key not in KEYS:
            raise bad("unknown key")
        if key in values:
            raise bad("the key is given twice")
        if key == "t":
            if not _PRESET_NAME.match(value):
                raise bad("t must be a preset name: 1 to 64 of a-z, 0-9, _ and -")
            out = value
        elif key in ("w", "h"):
            n = _integer(value, 1, MAX_SIDE)
            if n is None:
                raise bad(f"{key} must be a whole number from 1 to 4000")
            out = str(n)
        elif key == "q":
            n = _integer(value, 1, 100)
            if n is None:
                raise bad("q must be a whole number from 1 to 100")
            out = str(n)
        elif key == "r":
            n = _signed_integer(value, -360, 360)
            if n is None:
                raise bad("r must be a whole number from -360 to 360")
            out = str(n)
        elif key == "c":
            if value not in CROPS:
                raise bad("c must be one of fit, fill, cover, contain, inside, outside, thumb")
            out = value
        elif key == "g":
            if value not in GRAVITIES:
                raise bad(f"g must be one of {', '.join(GRAVITIES)}")
            out = value
        elif key == "f":
            if value not in FORMATS:
                raise bad("f must be one of auto, jpg, png, webp, avif, gif")
            out = value
        elif key == "dpr":
            n = _decimal(value, 100, 300)
            if n is None:
                raise bad("dpr must be from 1 to 3, with at most two decimals")
            out = _hundredths(n)
        elif key == "bl":
            n = _decimal(value, 30, 2500)
            if n is None:
                raise bad("bl must be from 0.3 to 25, with at most two decimals")
            out = _hundredths(n)
        elif key == "gr":
            if value != "1":
                raise bad("gr must be 1")
            out = "1"
        else:  # bg
            if not _HEX6.match(value):
                raise bad("bg must be 6 hex digits, like ffffff")
            out = value.lower()
        values[key] = out
    if "t" in values and any(k not in BESIDE_PRESET for k in values):
        raise _invalid("invalid_transform", "a preset (t_) may be combined with f and dpr only")
    if "g" in values and values.get("c") not in CROPS_WITH_GRAVITY:
        raise _invalid("invalid_transform", "gravity (g) applies to c_fill, c_cover and c_thumb only")
    return ",".join(f"{k}_{values[k]}" for k in KEYS if k in values)


def _value_text(key: str, value: object) -> str:
    """One value of a mapping transform, spelled as the sign endpoint spells JSON values."""
    if value is True:
        return "1"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    try:
        shown = json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError):
        shown = type(value).__name__
    raise _invalid("invalid_transform", f"transform value of {key} must be a string or a number, not {shown}")


def canonical_transform(transform: Optional[Transform] = None) -> str:
    """The canonical spelling of a transform given as a mapping (``{"w": 400, "c": "fill"}``), a
    string (``"c_fill,w_400"``) or nothing; ``None`` values are left out."""
    if transform is None or transform == "":
        return ""
    if isinstance(transform, str):
        return canonical_string(transform)
    if not isinstance(transform, Mapping):
        raise TypeError('a transform is a mapping like {"w": 400, "c": "fill"} or a string like "w_400,c_fill"')
    pairs = [f"{k}_{_value_text(k, v)}" for k, v in transform.items() if v is not None]
    return canonical_string(",".join(pairs)) if pairs else ""


def is_transform_shaped(segment: str) -> bool:
    key, sep, _ = segment.partition("_")
    return bool(sep) and key in KEYS


def check_preset_name(name: str) -> str:
    """Raises CloudimgError 400 ``invalid_preset`` unless ``name`` is a preset's name (SPEC §14)."""
    if not isinstance(name, str) or not _PRESET_NAME.match(name):
        raise _invalid("invalid_preset", "a preset name is 1 to 64 of a-z, 0-9, _ and -")
    return name


#: Keys added to the grammar after public_ids could start with them (SPEC §14's ``t`` and ``g``): a
#: new public_id may not start with one, one stored before keeps working
#: (:func:`check_existing_public_id`).
ADDED_KEYS = ("t", "g")


def starts_with_added_key(segment: str) -> bool:
    """Whether ``segment`` starts with a key added after public_ids could (``t_…``, ``g_…``)."""
    key, sep, _ = segment.partition("_")
    return bool(sep) and key in ADDED_KEYS


def _check_path_rules(public_id: str, existing: bool) -> str:
    """The rules; ``existing`` lets a first segment start with an added key (``starts_with_added_key``)."""
    what = "public_id"
    if not isinstance(public_id, str):
        raise TypeError("a public_id is a str")
    if not public_id or len(public_id.encode()) > MAX_ID_LEN:
        raise _invalid("invalid_public_id", f"{what} must be 1 to {MAX_ID_LEN} bytes long")
    for c in public_id:
        if not _ID_CHAR.match(c):
            shown = "'" + json.dumps(c, ensure_ascii=False)[1:-1] + "'"
            raise _invalid("invalid_public_id", f"{what} may only contain A-Z, a-z, 0-9, _ . - and /, not {shown}")
    if public_id.startswith("/") or public_id.endswith("/"):
        raise _invalid("invalid_public_id", f"{what} must not start or end with /")
    for segment in public_id.split("/"):
        if not segment:
            raise _invalid("invalid_public_id", f"{what} must not contain an empty segment (//)")
        if segment.startswith("."):
            raise _invalid("invalid_public_id", f"{what} segments must not start with . (no ., .. or hidden names)")
    first = public_id.split("/")[0]
    if is_transform_shaped(first) and not (existing and starts_with_added_key(first)):
        raise _invalid(
            "invalid_public_id", f"{what} must not start with a transform-shaped segment like {_quoted(first)}"
        )
    return public_id


def check_public_id(public_id: str) -> str:
    """Raises CloudimgError 400 ``invalid_public_id`` unless the id follows SPEC §3's rules for a new
    public_id (the server's ``PublicId::parse``): no transform-shaped first segment at all."""
    return _check_path_rules(public_id, False)


def check_existing_public_id(public_id: str) -> str:
    """The same for the public_id of an asset that may have been stored before ``t`` and ``g`` joined
    the grammar (the server's ``PublicId::existing``): its first segment may start with ``t_`` or
    ``g_`` (``t_old/photo``), never with another key (``w_400/x``). For finding, changing, deleting
    and delivering an asset, never for making one."""
    return _check_path_rules(public_id, True)
