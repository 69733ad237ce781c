from __future__ import annotations

import email.utils
import enum
import logging
import os
import random
import re
import time
from dataclasses import dataclass
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Final,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
)
from urllib.parse import urlencode, urlsplit

import httpx

from ._errors import CloudimgError
from ._transform import (
    KEYS,
    Transform,
    TransformValue,
    canonical_string,
    canonical_transform,
    check_existing_public_id,
    check_preset_name,
)
from ._types import Asset, AssetPage, FocalPoint, Preset, SignedUrl, UsageSummary

__version__ = "0.1.0"

logger = logging.getLogger("cloudimg")

#: A file path, bytes, or a binary file object.
UploadSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

_BACKOFF_BASE = 0.2
_BACKOFF_MAX = 5.0
_CREDENTIAL = re.compile(r"[\x21-\x7e]+\Z")


class _Unset(enum.Enum):
    """The type of ``_UNSET``."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "<not given>"


#: The default of an argument for which ``None`` means something of its own (``focal_point=None``
#: clears the focal point): the argument was not given, and nothing is sent for it.
_UNSET: Final = _Unset.UNSET

_FOCAL_POINT_ERROR = 'focal_point must be null or {"x": 0..1, "y": 0..1}'


def _is_fraction(value: object) -> bool:
    """A finite number from 0 to 1 (``bool`` is no number here, as JSON has it)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _focal_point_body(point: object) -> Optional[Dict[str, Any]]:
    """The JSON of a focal point: ``None`` (it clears it), or exactly ``{"x", "y"}``, each 0–1.

    Raises CloudimgError 400 ``invalid_focal_point`` otherwise, as the server does (SPEC §14).
    """
    if point is None:
        return None
    if isinstance(point, Mapping) and set(point) == {"x", "y"} and _is_fraction(point["x"]) and _is_fraction(point["y"]):
        return {"x": point["x"], "y": point["y"]}
    raise CloudimgError(_FOCAL_POINT_ERROR, status=400, code="invalid_focal_point")


class _Secret:
    """Holds a credential; prints as ``<secret>`` in any repr, vars() or log."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a cloudimg credential is not pickled")


@dataclass(frozen=True)
class RetryInfo:
    """Passed to ``on_retry`` before each retry."""

    attempt: int
    delay: float
    error: CloudimgError


def _parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, float(when.timestamp()) - time.time())


def _backoff(attempt: int) -> float:
    """Exponential backoff with "equal jitter": half the step fixed, half random."""
    step = min(_BACKOFF_MAX, _BACKOFF_BASE * 2.0**attempt)
    return step / 2 + random.random() * step / 2


def _error_from_response(response: httpx.Response, method: str, path: str) -> CloudimgError:
    message = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    code = "http_error"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            message = body["error"]
        if isinstance(body.get("code"), str):
            code = body["code"]
    return CloudimgError(
        message,
        status=response.status_code,
        code=code,
        retry_after=_parse_retry_after(response.headers.get("retry-after")),
        method=method,
        path=path,
    )


def _check_credential(value: object, name: str) -> str:
    # Printable ASCII without spaces: anything else would end up in a header-validation error text.
    if not isinstance(value, str) or not _CREDENTIAL.match(value):
        raise TypeError(f"{name} must be a non-empty string of printable ASCII characters")
    return value


def _read_source(source: UploadSource) -> Tuple[bytes, Optional[str]]:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        with open(path, "rb") as f:
            return f.read(), os.path.basename(path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("upload reads binary files: open them with 'rb'")
        name = getattr(source, "name", None)
        return bytes(data), os.path.basename(name) if isinstance(name, str) else None
    raise TypeError("upload takes a file path, bytes, or a binary file object")


def _tags_text(tags: Union[str, Sequence[str]]) -> str:
    if isinstance(tags, str):
        return tags
    items = list(tags)
    if not all(isinstance(t, str) for t in items):
        raise TypeError('tags is a list of str or a "a,b" string')
    for tag in items:
        if "," in tag:
            raise CloudimgError(
                f'tag "{tag}" may only contain A-Z, a-z, 0-9, _ - . and :', status=400, code="invalid_tags"
            )
    return ",".join(items)


def _transform_dict(transform: Optional[Transform], params: Mapping[str, Optional[TransformValue]]) -> Dict[str, Any]:
    """One mapping from a positional transform (mapping or string) and keyword pairs."""
    if isinstance(transform, str):
        if params:
            raise TypeError("give the transform as a string or as keywords, not both")
        canonical = canonical_string(transform) if transform else ""
        return dict(pair.split("_", 1) for pair in canonical.split(",")) if canonical else {}
    merged: Dict[str, Any] = dict(transform or {})
    merged.update(params)
    return {k: v for k, v in merged.items() if v is not None}


class Cloudimg:
    """A client for one img-cloud server and one API key.

    ``timeout`` (seconds) bounds each attempt; ``max_retries`` retries follow the first attempt:
    on 429 always (after ``Retry-After``, unless it is longer than ``max_retry_delay``), and on
    502/503/504, timeouts and lost connections for idempotent calls only (not uploads).
    """

    def __init__(
        self,
        base_url: str,
        key_id: Optional[str] = None,
        key_secret: Optional[str] = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_delay: float = 60.0,
        on_retry: Optional[Callable[[RetryInfo], None]] = None,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        if not isinstance(base_url, str):
            raise TypeError("base_url is required, like https://img.example.com")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TypeError("base_url must start with http:// or https://")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise TypeError("base_url takes no query, fragment or credentials")
        if (key_id is None) != (key_secret is None):
            raise TypeError("give both key_id and key_secret, or neither")
        if timeout <= 0 or max_retries < 0 or max_retry_delay < 0:
            raise TypeError("timeout must be > 0, max_retries and max_retry_delay ≥ 0")
        #: The server's base URL, without a trailing slash.
        self.base_url = base_url.rstrip("/")
        #: The API key's id (not a secret).
        self.key_id = None if key_id is None else _check_credential(key_id, "key_id")
        self.__authorization = (
            None if key_id is None else _Secret(f"ApiKey {key_id}:{_check_credential(key_secret, 'key_secret')}")
        )
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.max_retry_delay = float(max_retry_delay)
        self.on_retry = on_retry
        self._http = httpx.Client(
            timeout=self.timeout,
            transport=transport,
            follow_redirects=False,
            headers={"user-agent": f"cloudimg-python/{__version__}", "accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"Cloudimg(base_url={self.base_url!r}, key_id={self.key_id!r})"

    def close(self) -> None:
        """Closes the connection pool."""
        self._http.close()

    def __enter__(self) -> Cloudimg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one call, with timeouts and retries -------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        json: Optional[Mapping[str, Any]] = None,
        data: Optional[Mapping[str, str]] = None,
        files: Optional[Mapping[str, Tuple[Optional[str], bytes, str]]] = None,
    ) -> Any:
        headers = {} if self.__authorization is None else {"authorization": self.__authorization.reveal()}
        lost_answer = False
        attempt = 0
        while True:
            last = attempt >= self.max_retries
            cause: Optional[Exception] = None
            try:
                response = self._http.request(
                    method, self.base_url + path, headers=headers, json=json, data=data, files=files
                )
            except httpx.TimeoutException as exc:
                error = CloudimgError(
                    f"no answer from the server within {self.timeout:g} s ({method} {path})",
                    status=0,
                    code="timeout",
                    method=method,
                    path=path,
                )
                cause = exc
            except httpx.TransportError as exc:
                error = CloudimgError(
                    f"could not reach the server ({method} {path}): {type(exc).__name__}: {exc}",
                    status=0,
                    code="network_error",
                    method=method,
                    path=path,
                )
                cause = exc
            if cause is not None:
                if not idempotent or last:
                    raise error from cause
                lost_answer = True
                delay = _backoff(attempt)
            else:
                if response.is_success:
                    if response.status_code == 204 or not response.content:
                        return None
                    try:
                        return response.json()
                    except ValueError:
                        raise CloudimgError(
                            f"the server answered {response.status_code} with a body that is not JSON",
                            status=response.status_code,
                            code="invalid_response",
                            method=method,
                            path=path,
                        ) from None
                error = _error_from_response(response, method, path)
                # A DELETE whose earlier answer was lost may have worked: its 404 now means "deleted".
                if method == "DELETE" and lost_answer and error.status == 404:
                    return None
                retryable = error.status == 429 or (idempotent and error.status in (502, 503, 504))
                if not retryable or last:
                    raise error
                delay = _backoff(attempt)
                if error.retry_after is not None:
                    if error.retry_after > self.max_retry_delay:
                        raise error
                    delay = error.retry_after
            attempt += 1
            logger.info("retrying %s %s in %.2f s after %s (retry %d)", method, path, delay, error.code, attempt)
            if self.on_retry is not None:
                self.on_retry(RetryInfo(attempt=attempt, delay=delay, error=error))
            time.sleep(delay)

    # -- the verbs ---------------------------------------------------------------------------

    def upload(
        self,
        file: UploadSource,
        *,
        public_id: Optional[str] = None,
        folder: Optional[str] = None,
        tags: Union[str, Sequence[str], None] = None,
        visibility: Optional[str] = None,
        overwrite: Optional[bool] = None,
        filename: Optional[str] = None,
    ) -> Asset:
        """Uploads an original and returns the asset.

        ``file``: a path (``str`` or ``PathLike``), ``bytes``, or a binary file object. ``tags``:
        a list or ``"a,b"``. ``overwrite=True`` replaces an existing public_id. ``filename`` names
        bytes (a path or a named file sends its own). Retried on 429 only: a lost answer is not
        retried, since the upload may have been stored.
        """
        content, name = _read_source(file)
        fields: Dict[str, str] = {}
        for key, value in (("public_id", public_id), ("folder", folder), ("visibility", visibility)):
            if value is not None:
                if not isinstance(value, str):
                    raise TypeError(f"{key} must be a str")
                fields[key] = value
        if tags is not None:
            fields["tags"] = _tags_text(tags)
        if overwrite is not None:
            if not isinstance(overwrite, bool):
                raise TypeError("overwrite must be True or False")
            fields["overwrite"] = "true" if overwrite else "false"
        if filename is not None:
            name = filename
        result = self._request(
            "POST",
            "/v1/upload",
            idempotent=False,
            data=fields,
            files={"file": (name, content, "application/octet-stream")},
        )
        return cast(Asset, result["asset"])

    def url_for(
        self, public_id: str, transform: Optional[Transform] = None, /, **params: Optional[TransformValue]
    ) -> str:
        """The delivery URL of ``public_id``, with the transform in canonical order.

        ``cli.url_for(pid, w=400, c="fill")``, ``cli.url_for(pid, {"w": 400})`` or
        ``cli.url_for(pid, "c_fill,w_400")``. Makes no request. Raises CloudimgError (400
        ``invalid_transform`` / ``invalid_public_id``) on bad input. A public_id stored before ``t``
        and ``g`` were transform keys (``t_old/photo``) is accepted, as the server accepts it;
        without a transform, ``/v1/image/t_old/photo`` is a preset ``old`` if one exists.
        """
        check_existing_public_id(public_id)
        if isinstance(transform, str) and params:
            raise TypeError("give the transform as a string or as keywords, not both")
        canonical = canonical_transform(transform if isinstance(transform, str) else _transform_dict(transform, params))
        return f"{self.base_url}/v1/image/{canonical + '/' if canonical else ''}{public_id}"

    def srcset(
        self,
        public_id: str,
        widths: Iterable[int],
        transform: Optional[Transform] = None,
        /,
        **params: Optional[TransformValue],
    ) -> str:
        """A ``srcset`` value: one URL per width (``url 400w, url 800w``), smallest first.

        When the transform has both ``w`` and ``h``, ``h`` follows each width at the same aspect
        ratio.
        """
        base = _transform_dict(transform, params)
        canonical_transform(base)  # Checks it.
        sizes = sorted(set(widths))
        if not sizes:
            raise TypeError("srcset: widths is a non-empty list")
        if "h" in base and "w" not in base:
            raise TypeError("srcset: give w with h, so that h can follow each width at the same aspect ratio")
        candidates = []
        for width in sizes:
            t = dict(base, w=width)
            if "h" in base:
                t["h"] = max(1, round(float(base["h"]) * width / float(base["w"])))
            candidates.append(f"{self.url_for(public_id, t)} {width}w")
        return ", ".join(candidates)

    def sign(
        self, public_id: str, transform: Optional[Transform] = None, ttl_seconds: Optional[int] = None
    ) -> SignedUrl:
        """Signs a delivery URL (``POST /v1/image/sign``); returns ``{"url", "expires"}``."""
        check_existing_public_id(public_id)
        body: Dict[str, Any] = {"public_id": public_id}
        canonical = canonical_transform(transform)
        if canonical:
            body["transform"] = canonical
        if ttl_seconds is not None:
            body["ttl_seconds"] = ttl_seconds
        # Signing changes nothing on the server: safe to retry.
        return cast(SignedUrl, self._request("POST", "/v1/image/sign", idempotent=True, json=body))

    def signed_url(
        self, public_id: str, transform: Optional[Transform] = None, ttl_seconds: Optional[int] = None
    ) -> str:
        """A signed delivery URL for ``public_id`` (private assets)."""
        return self.sign(public_id, transform, ttl_seconds)["url"]

    def get_asset(self, public_id: str) -> Asset:
        """The asset's metadata."""
        check_existing_public_id(public_id)
        return cast(Asset, self._request("GET", f"/v1/assets/{public_id}", idempotent=True)["asset"])

    def update_asset(
        self,
        public_id: str,
        *,
        tags: Union[str, Sequence[str], None] = None,
        folder: Optional[str] = None,
        visibility: Optional[str] = None,
        focal_point: Union[FocalPoint, Mapping[str, float], None, _Unset] = _UNSET,
    ) -> Asset:
        """Changes tags (list or ``"a,b"``), folder, visibility or the focal point; returns the asset.

        ``tags``, ``folder`` and ``visibility`` left at ``None`` are not changed. ``focal_point``
        is ``{"x": 0..1, "y": 0..1}`` (fractions of the displayed width and height) to set it, or
        ``None`` to clear it; left out, it is not changed. A bad one raises CloudimgError 400
        ``invalid_focal_point`` before any request.
        """
        check_existing_public_id(public_id)
        body: Dict[str, Any] = {}
        if tags is not None:
            body["tags"] = tags if isinstance(tags, str) else list(tags)
        if folder is not None:
            body["folder"] = folder
        if visibility is not None:
            body["visibility"] = visibility
        if focal_point is not _UNSET:
            body["focal_point"] = _focal_point_body(focal_point)
        # The patch sets values, so sending it twice leaves the same asset.
        result = self._request("PATCH", f"/v1/assets/{public_id}", idempotent=True, json=body)
        return cast(Asset, result["asset"])

    def delete_asset(self, public_id: str) -> None:
        """Deletes the asset and its stored bytes."""
        check_existing_public_id(public_id)
        self._request("DELETE", f"/v1/assets/{public_id}", idempotent=True)

    def list_assets(
        self,
        *,
        folder: Optional[str] = None,
        tag: Optional[str] = None,
        visibility: Optional[str] = None,
        q: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> AssetPage:
        """One page of assets, newest first: ``{"assets": [...], "next_cursor": ...}``.

        ``q`` is a public_id prefix; ``limit`` 1–100 (default 50); ``cursor`` a previous page's
        ``next_cursor``.
        """
        params = {"folder": folder, "tag": tag, "visibility": visibility, "q": q, "limit": limit, "cursor": cursor}
        query = urlencode({k: str(v) for k, v in params.items() if v is not None})
        return cast(AssetPage, self._request("GET", "/v1/assets" + ("?" + query if query else ""), idempotent=True))

    def iter_assets(
        self,
        *,
        folder: Optional[str] = None,
        tag: Optional[str] = None,
        visibility: Optional[str] = None,
        q: Optional[str] = None,
        limit: int = 100,
    ) -> Iterator[Asset]:
        """Every asset matching the filters, across all pages, newest first."""
        cursor: Optional[str] = None
        while True:
            page = self.list_assets(folder=folder, tag=tag, visibility=visibility, q=q, limit=limit, cursor=cursor)
            yield from page["assets"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    def usage(self, *, all: bool = False) -> UsageSummary:
        """Storage and traffic this month; ``all=True`` (admins) adds every user."""
        path = "/v1/usage/summary" + ("?all=true" if all else "")
        return cast(UsageSummary, self._request("GET", path, idempotent=True))

    def list_presets(self) -> List[Preset]:
        """Every preset (``t_<name>`` in a delivery URL), by name."""
        return cast(List[Preset], self._request("GET", "/v1/presets", idempotent=True)["presets"])

    def put_preset(self, name: str, transform: Transform) -> Preset:
        """Creates or replaces the preset ``name`` (admins); returns it, its transform canonical."""
        canonical = canonical_transform(transform)  # Checks it, as the server does.
        path = f"/v1/presets/{check_preset_name(name)}"
        return cast(Preset, self._request("PUT", path, idempotent=True, json={"transform": canonical})["preset"])

    def delete_preset(self, name: str) -> None:
        """Deletes the preset ``name`` (admins)."""
        self._request("DELETE", f"/v1/presets/{check_preset_name(name)}", idempotent=True)


__all__: List[str] = ["Cloudimg", "RetryInfo", "UploadSource", "KEYS"]
