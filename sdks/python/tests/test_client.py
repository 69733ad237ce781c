"""Every verb against the real server that scripts/test-sdks started, as one fresh user."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import struct
import time
from pathlib import Path
from typing import Callable

import httpx
import pytest

from cloudimg import Cloudimg, CloudimgError, canonical_transform, sign_url, thumbhash_to_data_url, thumbhash_to_rgba

from cloudimg._transform import check_public_id

from .conftest import TRANSFORM_CASES, Env, User, admin_key, new_user

HEX12 = "[0-9a-f]{12}"
#: What a signed URL ends with (docs/SIGNED-URLS.md, v2).
SIGNED_QUERY = r"\?expires=\d+&v=[0-9a-f]{32}&sig=[A-Za-z0-9_-]{43}"


def raises(status: int, code: str) -> Callable[[Callable[[], object]], CloudimgError]:
    def check(call: Callable[[], object]) -> CloudimgError:
        with pytest.raises(CloudimgError) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (status, code), caught.value
        return caught.value

    return check


@pytest.mark.parametrize(
    ("file", "fmt", "content_type", "size"),
    [
        ("libvips/avif-orientation-6.avif", "avif", "image/avif", (3024, 4032)),
        ("pillow/hopper.heif", "heic", "image/heic", (128, 128)),
        ("jxl-oxide/cmyk_layers.jxl", "jxl", "image/jxl", (512, 512)),
    ],
)
def test_avif_heic_and_jpeg_xl_originals_upload_with_their_format_and_render(
    cli: Cloudimg, env: Env, file: str, fmt: str, content_type: str, size: tuple
) -> None:
    asset = cli.upload(env.corpus.parent / "peer-corpus" / file, folder="formats")
    assert (asset["format"], asset["content_type"], asset["width"], asset["height"]) == (fmt, content_type, *size)
    response = httpx.get(cli.url_for(asset["public_id"], w=64, f="webp"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"


def test_seed_quickstart_upload_a_path_and_print_the_seed_url_shapes(cli: Cloudimg, env: Env, photo_dir: Path) -> None:
    asset = cli.upload(str(photo_dir / "photo.jpg"))
    assert re.fullmatch(rf"{re.escape(env.base)}/v1/image/photo-{HEX12}", asset["url"])
    assert asset["original_filename"] == "photo.jpg"
    url = cli.url_for(asset["public_id"], w=400, h=400, c="fill", f="webp")
    assert url == f"{env.base}/v1/image/w_400,h_400,c_fill,f_webp/{asset['public_id']}"
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"


def test_seed_python_block_upload_url_for_signed_url_update_delete(cli: Cloudimg, env: Env, photo_dir: Path) -> None:
    asset = cli.upload(photo_dir / "photo.jpg", folder="gallery", tags=["hero"])
    assert re.fullmatch(rf"gallery/photo-{HEX12}", asset["public_id"])
    assert asset["tags"] == ["hero"]
    assert asset["folder"] == "gallery"
    assert (
        cli.url_for(asset["public_id"], w=400, h=400, c="fill", f="webp", q=80)
        == f"{env.base}/v1/image/w_400,h_400,c_fill,q_80,f_webp/{asset['public_id']}"
    )
    signed = cli.signed_url(asset["public_id"], transform={"w": 200}, ttl_seconds=3600)
    assert re.fullmatch(
        rf"{re.escape(env.base)}/v1/image/w_200/{re.escape(asset['public_id'])}{SIGNED_QUERY}",
        signed,
    )
    assert f"&v={asset['revision']}&" in signed
    assert httpx.get(signed).status_code == 200
    updated = cli.update_asset(asset["public_id"], tags="archived,old")
    assert updated["tags"] == ["archived", "old"]
    cli.delete_asset(asset["public_id"])
    raises(404, "not_found")(lambda: cli.get_asset(asset["public_id"]))


def test_upload_from_bytes_a_memoryview_a_file_object_and_a_path_object(
    cli: Cloudimg, photo: bytes, photo_path: Path
) -> None:
    from_bytes = cli.upload(photo, public_id="sources/bytes")
    assert (from_bytes["public_id"], from_bytes["folder"]) == ("sources/bytes", "sources")
    assert from_bytes["bytes"] == len(photo)
    assert from_bytes["original_filename"] is None

    unnamed = cli.upload(photo, folder="sources")
    assert re.fullmatch(rf"sources/image-{HEX12}", unnamed["public_id"])

    view = memoryview(b"padding" + photo)[7:]
    from_view = cli.upload(view, public_id="sources/view", filename="view.jpg")
    assert from_view["original_filename"] == "view.jpg"
    assert from_view["bytes"] == len(photo)

    with open(photo_path, "rb") as f:
        from_file = cli.upload(f, folder="sources", visibility="private", tags="a,b")
    assert re.fullmatch(rf"sources/photo-1000x667-{HEX12}", from_file["public_id"])
    assert (from_file["visibility"], from_file["tags"]) == ("private", ["a", "b"])

    from_buffer = cli.upload(io.BytesIO(photo), public_id="sources/bytesio")
    assert (from_buffer["width"], from_buffer["height"]) == (1000, 667)

    from_path = cli.upload(photo_path, public_id="sources/path")
    assert from_path["original_filename"] == "photo_1000x667.jpg"


def test_overwrite_409_without_it_version_2_with_it(cli: Cloudimg, photo: bytes) -> None:
    assert cli.upload(photo, public_id="overwrite/me")["version"] == 1
    raises(409, "already_exists")(lambda: cli.upload(photo, public_id="overwrite/me"))
    second = cli.upload(photo, public_id="overwrite/me", overwrite=True, tags=["v2"])
    assert (second["version"], second["tags"]) == (2, ["v2"])


def test_signed_url_of_a_private_asset_delivers_and_tampering_is_401(cli: Cloudimg, env: Env, photo: bytes) -> None:
    asset = cli.upload(photo, public_id="private/contract-001", visibility="private")
    assert httpx.get(cli.url_for(asset["public_id"])).status_code == 401

    signed = cli.sign(asset["public_id"], transform="q_80,w_300", ttl_seconds=60)
    url, expires = signed["url"], signed["expires"]
    now = int(time.time())
    assert now < expires <= now + 61
    assert re.fullmatch(r"[0-9a-f]{32}", asset["revision"])
    base_url = cli.url_for(asset["public_id"], w=300, q=80)
    assert url.startswith(f"{base_url}?expires={expires}&v={asset['revision']}&sig=")
    assert re.search(SIGNED_QUERY + r"\Z", url)
    ok = httpx.get(url)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "image/jpeg"
    assert re.fullmatch(r"public, max-age=(60|59|58)", ok.headers["cache-control"])

    sig = httpx.URL(url).params["sig"]
    flipped = ("B" if sig[0] == "A" else "A") + sig[1:]
    rev = asset["revision"]
    other_revision = rev[:-1] + ("1" if rev.endswith("0") else "0")
    for tampered in (
        url.replace(sig, flipped),
        url.replace(f"v={rev}", f"v={other_revision}"),
        url.replace(f"v={rev}", f"v={rev.upper()}"),
        url.replace(f"&v={rev}", ""),
        url.replace("w_300,q_80", "w_301,q_80"),
        url.replace("w_300,q_80", "q_80,w_300"),
        url.replace(f"expires={expires}", f"expires={expires + 1}"),
    ):
        assert httpx.get(tampered).status_code == 401, tampered

    original = cli.signed_url(asset["public_id"])
    assert re.fullmatch(rf"{re.escape(env.base)}/v1/image/private/contract-001{SIGNED_QUERY}", original)
    assert httpx.get(original).status_code == 200

    short = cli.signed_url(asset["public_id"], ttl_seconds=1)
    time.sleep(2.1)
    expired = httpx.get(short)
    assert (expired.status_code, expired.json()["code"]) == (401, "signature_expired")

    raises(400, "invalid_ttl")(lambda: cli.signed_url(asset["public_id"], ttl_seconds=0))
    raises(404, "not_found")(lambda: cli.signed_url("no/such-asset"))



def test_sign_url_offline_is_the_sign_endpoints_url_and_dies_with_its_asset(
    cli: Cloudimg, env: Env, photo: bytes
) -> None:
    public_id = "private/offline-signed"
    transform = {"w": 300, "q": 80}

    def offline(revision: str, expires: int) -> str:
        return sign_url(env.base, env.signing_secret, public_id, revision, transform=transform, expires=expires)

    first = cli.upload(photo, public_id=public_id, visibility="private")
    assert re.fullmatch(r"[0-9a-f]{32}", first["revision"])

    # Offline signing makes exactly the URL the sign endpoint makes.
    signed = cli.sign(public_id, "q_80,w_300", ttl_seconds=600)
    expires = signed["expires"]
    old_url = offline(first["revision"], expires)
    assert old_url == signed["url"]
    delivered = httpx.get(old_url)
    assert (delivered.status_code, delivered.headers["content-type"]) == (200, "image/jpeg")

    # A legacy URL (no v) for content changed within the last 7 days before its expiry is refused.
    legacy_path = httpx.URL(old_url).path
    mac = hmac.new(env.signing_secret.encode(), f"{legacy_path}?expires={expires}".encode(), hashlib.sha256)
    legacy_sig = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    legacy = httpx.get(f"{env.base}{legacy_path}?expires={expires}&sig={legacy_sig}")
    assert (legacy.status_code, legacy.json()["code"]) == (401, "invalid_signature")

    # Delete; another user takes the public_id (a new asset: a new revision, whatever its bytes).
    cli.delete_asset(public_id)
    other = new_user(env, env.base, "python-other")
    with Cloudimg(base_url=env.base, key_id=other.key_id, key_secret=other.key_secret) as theirs:
        second = theirs.upload(photo, public_id=public_id, visibility="private")
        assert second["owner_id"] == other.user_id
        assert re.fullmatch(r"[0-9a-f]{32}", second["revision"])
        assert second["revision"] != first["revision"]

        stale = httpx.get(old_url)
        assert (stale.status_code, stale.json()["code"]) == (401, "invalid_signature"), (
            "a URL signed for the deleted asset must not serve the new one"
        )
        fresh = httpx.get(offline(second["revision"], expires))
        assert (fresh.status_code, fresh.headers["content-type"]) == (200, "image/jpeg")

        # An overwrite is a new revision too: the URL of the one before stops working.
        third = theirs.upload(photo, public_id=public_id, visibility="private", overwrite=True)
        assert third["revision"] != second["revision"]
        assert httpx.get(offline(second["revision"], expires)).status_code == 401
        assert httpx.get(offline(third["revision"], expires)).status_code == 200
        theirs.delete_asset(public_id)

SPELLINGS = [
    "h_300,w_400",
    "f_webp,q_080,c_fill,h_300,w_400",
    "bg_FFAA00,c_contain,h_200,w_200",
    "r_-90,gr_1,w_120",
    "bl_4.50,dpr_2.0,w_150",
    "f_png,dpr_1.25,w_100,c_thumb,h_100",
    "q_50,c_outside,h_90,w_90",
    "c_inside,w_2000",
    "r_45,bg_00FF00,w_100",
    "f_auto,w_50",
    "g_auto,c_fill,h_100,w_100",
    "c_thumb,g_north_east,w_80,h_60",
    "w_120,h_90,c_cover,g_faces,f_webp",
    "g_face,c_fill,w_64,h_64",
    "c_fill,g_center,w_40,h_40",
]


def _raw_sign(env: Env, user: User, body: dict[str, object]) -> httpx.Response:
    """The sign endpoint called without the SDK (so without its canonicaliser)."""
    return httpx.post(
        f"{env.base}/v1/image/sign", json=body, headers={"authorization": f"ApiKey {user.key_id}:{user.key_secret}"}
    )


def test_url_for_spells_every_transform_as_the_server_canonicalises_it_and_each_delivers(
    cli: Cloudimg, env: Env, user: User, photo: bytes
) -> None:
    asset = cli.upload(photo, public_id="canonical/photo", overwrite=True)
    for spelling in SPELLINGS:
        server_url = _raw_sign(env, user, {"public_id": asset["public_id"], "transform": spelling}).json()["url"]
        server_path = server_url.split("?")[0]
        assert canonical_transform(spelling) == httpx.URL(server_url).path.split("/")[3], spelling
        assert cli.url_for(asset["public_id"], spelling) == server_path, spelling
        assert cli.sign(asset["public_id"], spelling)["url"].split("?")[0] == server_path, spelling
        delivered = httpx.get(server_path, headers={"accept": "image/webp"})
        assert delivered.status_code == 200, (spelling, delivered.text)


BAD_IDS = ["../x", "a//b", "/abs", "abs/", ".hidden", "a b", "é", "w_400/x", "a" * 256, "%2e%2e%2f"]


def test_the_sdk_refuses_what_the_server_refuses_with_the_same_code_and_message(
    cli: Cloudimg, env: Env, user: User, photo: bytes
) -> None:
    asset = cli.upload(photo, public_id="refusals/photo", overwrite=True)
    for case in TRANSFORM_CASES["invalid"]:
        spelling = case["input"]
        response = _raw_sign(env, user, {"public_id": asset["public_id"], "transform": spelling})
        assert response.status_code == 400, spelling
        with pytest.raises(CloudimgError) as caught:
            cli.url_for(asset["public_id"], spelling)
        assert caught.value.code == response.json()["code"], spelling
        # Marked cases: the SDK quotes the pair with JSON's escapes, the server with Rust's.
        if not case.get("sdks_only_refuse"):
            assert caught.value.message == response.json()["error"], spelling
    for public_id in BAD_IDS:
        response = _raw_sign(env, user, {"public_id": public_id})
        assert response.status_code == 400, public_id
        with pytest.raises(CloudimgError) as caught:
            cli.url_for(public_id)
        assert (caught.value.code, caught.value.message) == (response.json()["code"], response.json()["error"])
        raises(400, "invalid_public_id")(lambda: cli.get_asset(public_id))


@pytest.mark.parametrize("public_id", ["t_x/photo", "g_x/photo", "t_x", "g_x"])
def test_an_upload_under_a_t_or_g_first_segment_is_refused_as_a_new_public_id(
    cli: Cloudimg, photo: bytes, public_id: str
) -> None:
    message = f'public_id must not start with a transform-shaped segment like "{public_id.split("/")[0]}"'
    error = raises(400, "invalid_public_id")(lambda: cli.upload(photo, public_id=public_id))
    assert (error.message, error.path) == (message, "/v1/upload")
    with pytest.raises(CloudimgError, match=re.escape(message)):
        check_public_id(public_id)


@pytest.mark.parametrize("public_id", ["t_old/photo", "g_old/photo"])
def test_lookups_of_a_t_or_g_public_id_reach_the_server(cli: Cloudimg, public_id: str) -> None:
    """No asset can be stored under t_old/photo any more (only an earlier release could): the server
    looks each up and answers 404, where a client-side refusal would be a 400 without a path."""
    lookups: list[tuple[Callable[[], object], str]] = [
        (lambda: cli.get_asset(public_id), f"/v1/assets/{public_id}"),
        (lambda: cli.update_asset(public_id, tags="kept"), f"/v1/assets/{public_id}"),
        (lambda: cli.delete_asset(public_id), f"/v1/assets/{public_id}"),
        (lambda: cli.signed_url(public_id, {"w": 100}), "/v1/image/sign"),
    ]
    for call, path in lookups:
        error = raises(404, "not_found")(call)
        assert (error.message, error.path) == ("no such asset", path)
    # Behind a transform the id is unambiguous: delivery looks it up.
    delivered = httpx.get(cli.url_for(public_id, w=100))
    assert (delivered.status_code, delivered.json()["code"]) == (404, "not_found")
    # Alone, the first segment is read as a transform first (a preset t_old, g_old without a crop):
    # with no such asset, that reading's 400.
    delivered = httpx.get(cli.url_for(public_id))
    assert (delivered.status_code, delivered.json()["code"]) == (400, "invalid_transform")


def test_lookups_of_w_1_photo_are_refused_before_sending_as_the_server_refuses_them(
    cli: Cloudimg, env: Env, user: User
) -> None:
    message = 'public_id must not start with a transform-shaped segment like "w_1"'
    for call in [
        lambda: cli.get_asset("w_1/photo"),
        lambda: cli.update_asset("w_1/photo", tags="x"),
        lambda: cli.delete_asset("w_1/photo"),
        lambda: cli.signed_url("w_1/photo"),
        lambda: cli.url_for("w_1/photo"),
    ]:
        error = raises(400, "invalid_public_id")(call)
        assert (error.message, error.path) == (message, None)
    response = httpx.get(
        f"{env.base}/v1/assets/w_1/photo", headers={"authorization": f"ApiKey {user.key_id}:{user.key_secret}"}
    )
    assert (response.status_code, response.json()["error"]) == (400, message)


def test_a_new_asset_carries_focal_point_faces_thumbhash_and_dominant_color(cli: Cloudimg, photo: bytes) -> None:
    asset = cli.upload(photo, public_id="smart/fields", overwrite=True)
    assert asset["focal_point"] is None
    assert isinstance(asset["faces"], list)
    for face in asset["faces"]:
        assert sorted(face) == ["h", "w", "x", "y"]
        assert all(0 <= face[k] <= 1 for k in ("x", "y", "w", "h")), face
    assert re.fullmatch(r"#[0-9a-f]{6}", asset["dominant_color"] or ""), asset["dominant_color"]
    thumbhash = asset["thumbhash"]
    assert thumbhash is not None and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", thumbhash), thumbhash
    # The 1000×667 photo is landscape: so is its placeholder.
    image = thumbhash_to_rgba(thumbhash)
    assert image.width == 32 and 18 <= image.height <= 24, (image.width, image.height)
    assert len(image.rgba) == image.width * image.height * 4
    assert re.fullmatch(r"data:image/png;base64,[A-Za-z0-9+/]+={0,2}", thumbhash_to_data_url(thumbhash))
    got = cli.get_asset(asset["public_id"])
    assert (got["thumbhash"], got["dominant_color"], got["faces"], got["focal_point"]) == (
        asset["thumbhash"],
        asset["dominant_color"],
        asset["faces"],
        None,
    )


def _raw_patch(env: Env, user: User, public_id: str, body: dict[str, object]) -> httpx.Response:
    """PATCH /v1/assets/:id without the SDK (so without its checks)."""
    return httpx.patch(
        f"{env.base}/v1/assets/{public_id}",
        json=body,
        headers={"authorization": f"ApiKey {user.key_id}:{user.key_secret}"},
    )


def _refused_alike(cli: Cloudimg, env: Env, user: User, public_id: str, focal_point: object) -> None:
    """The server's 400 for ``focal_point`` (sent without the SDK) is the SDK's own refusal."""
    response = _raw_patch(env, user, public_id, {"focal_point": focal_point})
    assert (response.status_code, response.json().get("code")) == (400, "invalid_focal_point"), (focal_point, response.text)
    error = raises(400, "invalid_focal_point")(lambda: cli.update_asset(public_id, focal_point=focal_point))  # type: ignore[arg-type]
    assert error.message == response.json()["error"], focal_point


def test_a_focal_point_written_as_a_list_is_refused_by_the_server_as_by_the_sdk(
    cli: Cloudimg, env: Env, user: User, photo: bytes
) -> None:
    public_id = cli.upload(photo, public_id="smart/focal-array", overwrite=True)["public_id"]
    _refused_alike(cli, env, user, public_id, [0.5, 0.5])
    assert cli.get_asset(public_id)["focal_point"] is None


def test_focal_point_is_set_read_back_and_cleared_and_bad_ones_are_refused_as_the_server_refuses_them(
    cli: Cloudimg, env: Env, user: User, photo: bytes
) -> None:
    public_id = cli.upload(photo, public_id="smart/focal", overwrite=True)["public_id"]
    assert cli.update_asset(public_id, focal_point={"x": 0.25, "y": 0.4})["focal_point"] == {"x": 0.25, "y": 0.4}
    assert cli.get_asset(public_id)["focal_point"] == {"x": 0.25, "y": 0.4}
    for corner in ({"x": 0, "y": 0}, {"x": 1, "y": 1}):
        assert cli.update_asset(public_id, focal_point=corner)["focal_point"] == corner
    # Leaving it out leaves it; None clears it.
    assert cli.update_asset(public_id, tags="focused")["focal_point"] == {"x": 1, "y": 1}
    cleared = cli.update_asset(public_id, focal_point=None)
    assert (cleared["focal_point"], cleared["tags"]) == (None, ["focused"])
    assert cli.get_asset(public_id)["focal_point"] is None

    # g_auto delivers with a focal point as without one.
    cli.update_asset(public_id, focal_point={"x": 0.9, "y": 0.1})
    cropped = httpx.get(cli.url_for(public_id, w=100, h=100, c="fill", g="auto", f="png"))
    assert cropped.status_code == 200
    assert struct.unpack(">II", cropped.content[16:24]) == (100, 100)

    bad: list[object] = [
        {"x": 1.5, "y": 0}, {"x": -0.5, "y": 0}, {"x": 0.5}, {"x": 0.5, "y": 0.5, "z": 1}, {"x": "0.5", "y": 0.5},
        {"x": True, "y": 0}, {}, "middle", 0.5,
    ]
    for focal_point in bad:
        _refused_alike(cli, env, user, public_id, focal_point)
    assert cli.get_asset(public_id)["focal_point"] == {"x": 0.9, "y": 0.1}

    assert cli.upload(photo, public_id=public_id, overwrite=True)["focal_point"] is None
    raises(404, "not_found")(lambda: cli.update_asset("no/such-asset", focal_point={"x": 0.5, "y": 0.5}))


def test_get_update_list_pages_iterate_and_delete(cli: Cloudimg, photo: bytes) -> None:
    ids = [cli.upload(photo, public_id=f"paging/p{i}", tags=["odd" if i % 2 else "even"])["public_id"] for i in range(5)]
    got = cli.get_asset("paging/p3")
    assert (got["public_id"], got["tags"], got["width"]) == ("paging/p3", ["odd"], 1000)

    updated = cli.update_asset("paging/p3", tags=["odd", "picked"], visibility="private")
    assert (updated["tags"], updated["visibility"]) == (["odd", "picked"], "private")
    assert cli.update_asset("paging/p3", folder="paging")["folder"] == "paging"

    first = cli.list_assets(folder="paging", limit=2)
    assert [a["public_id"] for a in first["assets"]] == ["paging/p4", "paging/p3"]
    assert isinstance(first["next_cursor"], str)
    second = cli.list_assets(folder="paging", limit=2, cursor=first["next_cursor"])
    assert [a["public_id"] for a in second["assets"]] == ["paging/p2", "paging/p1"]

    assert [a["public_id"] for a in cli.iter_assets(folder="paging", limit=2)] == ids[::-1]
    assert [a["public_id"] for a in cli.iter_assets(q="paging/", tag="odd")] == ["paging/p3", "paging/p1"]
    assert [a["public_id"] for a in cli.list_assets(visibility="private", q="paging/")["assets"]] == ["paging/p3"]

    for public_id in ids:
        cli.delete_asset(public_id)
    assert cli.list_assets(folder="paging")["assets"] == []
    raises(400, "invalid_limit")(lambda: cli.list_assets(limit=1000))


def test_a_missing_asset_is_a_404_cloudimg_error_with_the_server_message(cli: Cloudimg) -> None:
    error = raises(404, "not_found")(lambda: cli.get_asset("no/such-asset"))
    assert error.message == "no such asset"
    assert str(error) == "no such asset (404 not_found)"
    assert (error.method, error.path) == ("GET", "/v1/assets/no/such-asset")
    raises(404, "not_found")(lambda: cli.delete_asset("no/such-asset"))
    raises(404, "not_found")(lambda: cli.update_asset("no/such-asset", tags="x"))


def test_server_side_refusals_surface_as_cloudimg_error(cli: Cloudimg, env: Env, photo: bytes) -> None:
    raises(400, "invalid_visibility")(lambda: cli.upload(photo, visibility="secret"))
    raises(415, "unsupported_media_type")(
        lambda: cli.upload(b'<svg xmlns="http://www.w3.org/2000/svg"/>', filename="x.svg")
    )
    raises(400, "empty_file")(lambda: cli.upload(b""))
    raises(400, "invalid_tags")(lambda: cli.upload(photo, tags=["a,b"]))
    with pytest.raises(TypeError):
        cli.upload(photo, overwrite="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cli.upload(42)  # type: ignore[arg-type]

    other = new_user(env, env.base, "other")
    with Cloudimg(env.base, other.key_id, other.key_secret) as theirs:
        asset = theirs.upload(photo, public_id=f"theirs-{other.user_id}")
    raises(403, "forbidden")(lambda: cli.get_asset(asset["public_id"]))
    raises(403, "forbidden")(lambda: cli.delete_asset(asset["public_id"]))
    raises(403, "forbidden")(lambda: cli.signed_url(asset["public_id"]))


def test_usage_is_the_callers_month_and_all_is_for_admins(cli: Cloudimg, env: Env, photo: bytes) -> None:
    summary = cli.usage()
    assert re.fullmatch(r"\d{4}-\d{2}", summary["period"])
    for field in ("storage_bytes", "original_bytes", "variant_bytes", "asset_count", "bandwidth_bytes", "requests"):
        assert isinstance(summary[field], int), field  # type: ignore[literal-required]
    assert summary["asset_count"] >= 1
    assert summary["original_bytes"] >= len(photo)
    raises(403, "forbidden")(lambda: cli.usage(all=True))
    key_id, key_secret = admin_key(env, env.base)
    with Cloudimg(env.base, key_id, key_secret) as admin:
        assert isinstance(admin.usage(all=True)["users"], list)


def test_presets_are_put_by_admins_delivered_by_url_for_and_listed(cli: Cloudimg, env: Env, photo: bytes) -> None:
    name = f"py-{time.time_ns()}"
    key_id, key_secret = admin_key(env, env.base)
    with Cloudimg(env.base, key_id, key_secret) as admin:
        preset = admin.put_preset(name, {"c": "fill", "w": 90, "h": 60})
        assert (preset["name"], preset["transform"]) == (name, "w_90,h_60,c_fill")
        assert any(p["name"] == name for p in cli.list_presets())
        raises(403, "forbidden")(lambda: cli.put_preset(name, "w_10"))
        asset = cli.upload(photo, public_id="presets/photo", overwrite=True)
        url = cli.url_for(asset["public_id"], t=name, f="webp")
        assert url == f"{env.base}/v1/image/t_{name},f_webp/presets/photo"
        response = httpx.get(url)
        assert (response.status_code, response.headers["content-type"]) == (200, "image/webp")
        refused = raises(400, "invalid_transform")(lambda: cli.url_for(asset["public_id"], t=name, w=10))
        assert refused.message == "a preset (t_) may be combined with f and dpr only"
        raises(400, "invalid_preset")(lambda: admin.put_preset("Bad Name", "w_10"))
        admin.delete_preset(name)
        assert not any(p["name"] == name for p in cli.list_presets())
        raises(404, "not_found")(lambda: admin.delete_preset(name))


def test_srcset_urls_deliver(cli: Cloudimg, env: Env, photo: bytes) -> None:
    asset = cli.upload(photo, public_id="srcset/photo", overwrite=True)
    srcset = cli.srcset(asset["public_id"], [200, 100], f="webp")
    assert srcset == (
        f"{env.base}/v1/image/w_100,f_webp/srcset/photo 100w, {env.base}/v1/image/w_200,f_webp/srcset/photo 200w"
    )
    for candidate in srcset.split(", "):
        url, width = candidate.split(" ")
        assert httpx.get(url).status_code == 200
        assert width.endswith("w")


def test_no_secret_in_errors_repr_logs_or_tracebacks(
    cli: Cloudimg, env: Env, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import traceback

    caplog.set_level(logging.DEBUG)
    with Cloudimg(env.base, user.key_id, user.key_secret + "x") as wrong:
        error = raises(401, "unauthorized")(lambda: wrong.get_asset("any/thing"))
        texts = [str(error), repr(error), repr(wrong), repr(vars(wrong)), str(vars(error))]
    with Cloudimg("http://127.0.0.1:9", user.key_id, user.key_secret, max_retries=1) as unreachable:
        with pytest.raises(CloudimgError) as caught:
            unreachable.usage()
    assert caught.value.code == "network_error"
    texts += [str(caught.value), "".join(traceback.format_exception(caught.value)), repr(cli), caplog.text]
    assert "retrying GET /v1/usage/summary" in caplog.text
    for text in texts:
        assert user.key_secret not in text, text
        assert user.key_secret[3:20] not in text, text
