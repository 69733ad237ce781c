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
