"""Offline signing of delivery URLs (docs/SIGNED-URLS.md, scheme v2), for holders of the server's
signing secret: the same URL ``POST /v1/image/sign`` would make, without a request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Optional, Union
from urllib.parse import urlsplit

from ._transform import Transform, canonical_transform, check_existing_public_id

_REVISION = re.compile(r"[0-9a-f]{32}\Z")
#: The server reads ``expires`` as a signed 64-bit integer.
_MAX_EXPIRES = 2**63 - 1


def _check_base_url(base_url: object) -> str:
    if not isinstance(base_url, str):
        raise TypeError("sign_url: base_url is required, like https://img.example.com")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TypeError("sign_url: base_url must start with http:// or https://")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise TypeError("sign_url: base_url takes no query, fragment or credentials")
    return base_url.rstrip("/")


def _check_secret(secret: object) -> bytes:
    if isinstance(secret, str):
        key = secret.encode()
    elif isinstance(secret, (bytes, bytearray)):
        key = bytes(secret)
    else:
        raise TypeError("sign_url: secret is the server's signing secret, a str or bytes")
    if not key:
        raise ValueError("sign_url: secret must not be empty")
    return key


def _check_revision(revision: object) -> str:
    if not isinstance(revision, str):
        raise TypeError("sign_url: revision is the asset's revision, a str")
    if not _REVISION.match(revision):
        raise ValueError(f"sign_url: revision must be 32 lowercase hex digits (the asset's revision), not {revision!r}")
    return revision


def _check_expires(expires: object) -> int:
    if isinstance(expires, bool) or not isinstance(expires, int):
        raise TypeError("sign_url: expires is required, a unix time in seconds (an int)")
    if not 0 <= expires <= _MAX_EXPIRES:
        raise ValueError(f"sign_url: expires must be a non-negative number of unix seconds, not {expires}")
    return expires


def sign_url(
    base_url: str,
    secret: Union[str, bytes],
    public_id: str,
    revision: str,
    *,
    transform: Optional[Transform] = None,
    expires: int,
) -> str:
    """A signed delivery URL made offline with the server's signing secret.

    ``<base_url><path>?expires=<expires>&v=<revision>&sig=<sig>``, where ``sig`` is the unpadded
    base64url HMAC-SHA256 of ``<path>?expires=<expires>&v=<revision>`` and ``path`` is
    ``/v1/image/<canonical transform>/<public_id>`` (or ``/v1/image/<public_id>``). ``revision`` is
    the asset's ``"revision"``: the URL delivers that content only, never a later upload under the
    same public_id. ``expires`` is a unix time in seconds. Raises TypeError / ValueError on bad
    arguments, and CloudimgError (400 ``invalid_transform`` / ``invalid_public_id``) as ``url_for``
    does.
    """
    base = _check_base_url(base_url)
    key = _check_secret(secret)
    check_existing_public_id(public_id)
    rev = _check_revision(revision)
    when = _check_expires(expires)
    canonical = canonical_transform(transform)
    path = f"/v1/image/{canonical + '/' if canonical else ''}{public_id}"
    signed = f"{path}?expires={when}&v={rev}"
    digest = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return f"{base}{signed}&sig={sig}"


__all__ = ["sign_url"]
