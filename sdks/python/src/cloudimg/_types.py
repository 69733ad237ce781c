"""The JSON shapes the API returns (openapi.yaml), as TypedDicts: plain dicts at run time."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict

#: Every code the server answers with (sdks/README.md, openapi.yaml), and the SDK's own two.
ErrorCode = Literal[
    "invalid_body",
    "invalid_query",
    "invalid_cursor",
    "invalid_limit",
    "invalid_public_id",
    "invalid_folder",
    "invalid_visibility",
    "invalid_tags",
    "invalid_overwrite",
    "invalid_file_name",
    "invalid_multipart",
    "missing_file",
    "empty_file",
    "invalid_image",
    "invalid_transform",
    "invalid_ttl",
    "invalid_email",
    "invalid_password",
    "invalid_role",
    "invalid_name",
    "invalid_preset",
    "invalid_focal_point",
    "unauthorized",
    "invalid_credentials",
    "invalid_signature",
    "signature_expired",
    "forbidden",
    "csrf_rejected",
    "session_required",
    "transform_not_allowed",
    "not_found",
    "direct_upload_unavailable",
    "method_not_allowed",
    "request_timeout",
    "already_exists",
    "asset_changed",
    "email_taken",
    "last_admin",
    "body_too_large",
    "file_too_large",
    "image_too_large",
    "unsupported_media_type",
    "render_too_large",
    "image_unreadable",
    "rate_limited",
    "busy",
    "not_ready",
    "internal_error",
    "network_error",
    "timeout",
]


#: Where ``c_fill``, ``c_cover`` and ``c_thumb`` keep their window (``g_…``, SPEC §14).
Gravity = Literal[
    "auto",
    "face",
    "faces",
    "center",
    "north",
    "south",
    "east",
    "west",
    "north_east",
    "north_west",
    "south_east",
    "south_west",
]


class FocalPoint(TypedDict):
    """A point of the displayed image (after the EXIF orientation), as fractions of its width and
    height, 0–1."""

    x: float
    y: float


class Face(TypedDict):
    """A box of the displayed image: its top-left corner and size, as fractions of the width and
    height, 0–1."""

    x: float
    y: float
    w: float
    h: float


class Asset(TypedDict):
    public_id: str
    #: The delivery URL of the original.
    url: str
    #: ``""`` is the root.
    folder: str
    tags: List[str]
    visibility: str
    #: The original's: jpg, png, webp, gif, avif, heic or jxl (``heic`` and ``jxl`` are read, never
    #: written: ``f`` cannot ask for them).
    format: str
    #: As displayed (after the EXIF orientation).
    width: int
    height: int
    bytes: int
    content_type: str
    owner_id: str
    original_filename: Optional[str]
    created_at: str
    updated_at: str
    #: 1 at the first upload, +1 at every overwrite.
    version: int
    #: Names this version's content: 32 lowercase hex digits, new at every upload and overwrite,
    #: never reused. Signed URLs are bound to it (``sign_url``'s ``revision``).
    revision: str
    #: What ``g_auto`` keeps in the crop, set with ``update_asset(id, focal_point=...)``; ``None``
    #: when not set. An overwrite clears it.
    focal_point: Optional[FocalPoint]
    #: The faces detected at upload (again at an overwrite), largest first; ``[]`` when none.
    faces: List[Face]
    #: The image's ThumbHash, standard base64 (``thumbhash_to_data_url`` makes a placeholder of
    #: it); ``None`` for assets stored before the analysis existed.
    thumbhash: Optional[str]
    #: ``"#rrggbb"``; ``None`` for assets stored before the analysis existed.
    dominant_color: Optional[str]


class AssetPage(TypedDict):
    assets: List[Asset]
    #: Pass as ``cursor`` for the next page; ``None`` on the last one.
    next_cursor: Optional[str]


class _Usage(TypedDict):
    storage_bytes: int
    original_bytes: int
    variant_bytes: int
    asset_count: int
    bandwidth_bytes: int
    requests: int
    #: ``YYYY-MM``, UTC.
    period: str


class UsageSummary(_Usage, total=False):
    #: ``all=True`` only.
    users: List[Dict[str, Any]]


class Preset(TypedDict):
    """A named transform, delivered as ``t_<name>`` (openapi.yaml ``Preset``)."""

    name: str
    #: Canonical.
    transform: str
    created_at: str
    updated_at: str


class SignedUrl(TypedDict):
    url: str
    #: Unix seconds.
    expires: int
