"""sign_url (offline signing, docs/SIGNED-URLS.md scheme v2) without a server: the documented worked
example, canonicalisation, and argument checks. test_client.py checks the URLs against the server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import pytest

import cloudimg
from cloudimg import CloudimgError, sign_url

# The worked example of docs/SIGNED-URLS.md.
SECRET = "an-example-signing-secret-of-32b"
REVISION = "0123456789abcdef0123456789abcdef"
EXPIRES = 1800000000
PATH = "/v1/image/w_1200,q_80/private/contract-001"
SIGNED_STRING = f"{PATH}?expires={EXPIRES}&v={REVISION}"
SIG = "BXDl-rixgHNAOEAFxAz8l01DrRYRXvj58UDtMwfiRxw"
URL = f"https://img-cloud.org{SIGNED_STRING}&sig={SIG}"
LEGACY_SIG = "viiq07a1fAa85ZjoREvHDnoYqV_xGhogR3k4myE0Ykw"


def _hmac(message: str, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def example(**changes: Any) -> str:
    args: dict[str, Any] = {
        "base_url": "https://img-cloud.org",
        "secret": SECRET,
        "public_id": "private/contract-001",
        "revision": REVISION,
        "transform": {"w": 1200, "q": 80},
        "expires": EXPIRES,
    }
    args.update(changes)
    return sign_url(**args)


def test_the_documented_worked_example_its_signed_string_sig_and_url() -> None:
    assert _hmac(SIGNED_STRING) == SIG
    assert example() == URL
    assert cloudimg.sign_url is sign_url and "sign_url" in cloudimg.__all__


def test_positional_arguments_as_documented() -> None:
    assert sign_url("https://img-cloud.org", SECRET, "private/contract-001", REVISION,
                    transform="w_1200,q_80", expires=EXPIRES) == URL


def test_the_v2_signature_is_not_the_legacy_one_the_revision_is_signed() -> None:
    assert _hmac(f"{PATH}?expires={EXPIRES}") == LEGACY_SIG != SIG
    other = example(revision="0123456789abcdef0123456789abcdee")
    assert other.split("&sig=")[1] != SIG


@pytest.mark.parametrize(
    "transform", ["q_80,w_1200", "w_1200,q_080", {"q": 80, "w": 1200}, {"q": "80", "w": "1200", "h": None}]
)
def test_the_transform_is_canonicalised(transform: cloudimg.Transform) -> None:
    assert example(transform=transform) == URL


@pytest.mark.parametrize("transform", [None, "", {}])
def test_without_a_transform_the_path_is_the_original(transform: Any) -> None:
    signed = f"/v1/image/private/contract-001?expires={EXPIRES}&v={REVISION}"
    assert example(transform=transform) == f"https://img-cloud.org{signed}&sig={_hmac(signed)}"


def test_the_shape_expires_v_and_sig() -> None:
    shape = r"https://img-cloud\.org/v1/image/w_1200,q_80/private/contract-001"
    assert re.fullmatch(shape + r"\?expires=\d+&v=[0-9a-f]{32}&sig=[A-Za-z0-9_-]{43}", example())


def test_a_bytes_secret_signs_as_its_str_the_base_url_keeps_a_prefix() -> None:
    assert example(secret=SECRET.encode()) == URL
    assert example(secret=bytearray(SECRET.encode())) == URL
    assert example(base_url="https://img-cloud.org/") == URL
    # The prefix is not signed: the server receives the path without it (a proxy strips it).
    assert example(base_url="https://cdn.example.com/img") == f"https://cdn.example.com/img{SIGNED_STRING}&sig={SIG}"


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"base_url": None}, TypeError),
        ({"base_url": "img-cloud.org"}, TypeError),
        ({"base_url": "ftp://img-cloud.org"}, TypeError),
        ({"base_url": "https://img-cloud.org/?a=1"}, TypeError),
        ({"base_url": "https://u:p@img-cloud.org"}, TypeError),
        ({"secret": None}, TypeError),
        ({"secret": 42}, TypeError),
        ({"secret": ["a"]}, TypeError),
        ({"secret": ""}, ValueError),
        ({"secret": b""}, ValueError),
        ({"revision": None}, TypeError),
        ({"revision": 12345}, TypeError),
        ({"revision": REVISION.encode()}, TypeError),
        ({"revision": ""}, ValueError),
        ({"revision": REVISION.upper()}, ValueError),
        ({"revision": REVISION[1:]}, ValueError),
        ({"revision": REVISION + "0"}, ValueError),
        ({"revision": REVISION[1:] + "g"}, ValueError),
        ({"revision": REVISION + "\n"}, ValueError),
        ({"expires": None}, TypeError),
        ({"expires": "1800000000"}, TypeError),
        ({"expires": 1800000000.0}, TypeError),
        ({"expires": True}, TypeError),
        ({"expires": -1}, ValueError),
        ({"expires": 2**63}, ValueError),
        ({"public_id": None}, TypeError),
    ],
)
def test_bad_arguments_raise_type_error_or_value_error(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        example(**changes)


def test_expires_is_required_and_keyword_only() -> None:
    untyped: Any = sign_url
    with pytest.raises(TypeError):
        untyped("https://img-cloud.org", SECRET, "private/contract-001", REVISION)
    with pytest.raises(TypeError):
        untyped("https://img-cloud.org", SECRET, "private/contract-001", REVISION, None, EXPIRES)


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"transform": "w_0"}, "invalid_transform"),
        ({"transform": {"c": "crop"}}, "invalid_transform"),
        ({"public_id": "../x"}, "invalid_public_id"),
        ({"public_id": "w_400/x"}, "invalid_public_id"),
    ],
)
def test_a_bad_transform_or_public_id_raises_the_cloudimg_error_url_for_raises(
    changes: dict[str, Any], code: str
) -> None:
    with pytest.raises(CloudimgError) as caught:
        example(**changes)
    assert (caught.value.status, caught.value.code) == (400, code)


@pytest.mark.parametrize("public_id", ["t_old/photo", "g_old/photo"])
def test_a_public_id_stored_before_t_and_g_were_keys_is_signed(public_id: str) -> None:
    signed = f"/v1/image/w_1200,q_80/{public_id}?expires={EXPIRES}&v={REVISION}"
    assert example(public_id=public_id) == f"https://img-cloud.org{signed}&sig={_hmac(signed)}"


def test_w_1_photo_is_not_signed_nor_a_t_id_that_breaks_another_rule() -> None:
    with pytest.raises(CloudimgError) as caught:
        example(public_id="w_1/photo")
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "invalid_public_id",
        'public_id must not start with a transform-shaped segment like "w_1"',
    )
    with pytest.raises(CloudimgError, match="empty segment"):
        example(public_id="g_old//photo")
