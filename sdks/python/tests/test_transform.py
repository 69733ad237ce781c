"""url_for, the transform grammar and the other checks made before any request, without a server
(the server's own verdicts are compared in test_client.py)."""

from __future__ import annotations

import json
from typing import Any, Callable

import httpx
import pytest

from cloudimg import Cloudimg, CloudimgError, canonical_transform
from cloudimg._transform import check_existing_public_id, check_public_id

from .conftest import TRANSFORM_CASES

cli = Cloudimg(base_url="https://img-cloud.org", key_id="ck_test", key_secret="cs_test")


def case_id(case: dict[str, Any]) -> str:
    """The input, shortened: some are 257 characters long."""
    text: str = case["input"]
    return text if len(text) <= 40 else f"{text[:37]}..."


def test_url_for_prints_the_seed_quickstart_url_exactly() -> None:
    assert (
        cli.url_for("photo-3a7f9c81b2e4", w=400, h=400, c="fill", f="webp")
        == "https://img-cloud.org/v1/image/w_400,h_400,c_fill,f_webp/photo-3a7f9c81b2e4"
    )


def test_url_for_puts_q_in_its_canonical_place_as_the_seed_delivery_url() -> None:
    assert (
        cli.url_for("photo-3a7f9c81b2e4", f="webp", q=80, c="fill", h=400, w=400)
        == "https://img-cloud.org/v1/image/w_400,h_400,c_fill,q_80,f_webp/photo-3a7f9c81b2e4"
    )


def test_url_for_takes_a_mapping_or_a_string_too() -> None:
    expected = "https://img-cloud.org/v1/image/w_400,c_fill/a"
    assert cli.url_for("a", {"c": "fill", "w": 400}) == expected
    assert cli.url_for("a", "c_fill,w_400") == expected
    assert cli.url_for("a", {"c": "fill"}, w=400) == expected
    with pytest.raises(TypeError):
        cli.url_for("a", "c_fill", w=400)


def test_url_for_without_a_transform_is_the_original() -> None:
    for url in (cli.url_for("marketing/hero"), cli.url_for("marketing/hero", {}), cli.url_for("marketing/hero", "")):
        assert url == "https://img-cloud.org/v1/image/marketing/hero"
    assert cli.url_for("marketing/hero", w=None) == "https://img-cloud.org/v1/image/marketing/hero"


def test_a_trailing_slash_or_a_path_prefix_of_base_url_is_kept_right() -> None:
    prefixed = Cloudimg("https://cdn.example.com/img/", "ck_a", "cs_b")
    assert prefixed.url_for("a", w=1) == "https://cdn.example.com/img/v1/image/w_1/a"


@pytest.mark.parametrize("case", TRANSFORM_CASES["valid"], ids=case_id)
def test_strings_are_canonicalised_as_the_server_does(case: dict[str, str]) -> None:
    assert canonical_transform(case["input"]) == case["canonical"]


def test_mappings_are_canonicalised_like_the_sign_endpoint_reads_them() -> None:
    assert (
        canonical_transform(
            {"bg": "FFAA00", "r": -90, "bl": 4.5, "gr": True, "dpr": 2.0, "f": "webp", "q": 80, "c": "fill", "h": 300, "w": 400}
        )
        == "w_400,h_300,c_fill,q_80,f_webp,dpr_2,gr_1,bl_4.5,r_-90,bg_ffaa00"
    )
    assert canonical_transform({"gr": 1, "dpr": "1.50"}) == "dpr_1.5,gr_1"


@pytest.mark.parametrize("case", TRANSFORM_CASES["invalid"], ids=case_id)
def test_every_pair_the_server_refuses_is_refused_with_its_code_and_message(case: dict[str, Any]) -> None:
    with pytest.raises(CloudimgError) as caught:
        cli.url_for("photo", case["input"])
    assert caught.value.status == 400
    assert caught.value.code == "invalid_transform"
    # Marked cases: the SDK quotes the pair with JSON's escapes, the server with Rust's.
    if not case.get("sdks_only_refuse"):
        assert caught.value.message == case["error"]


@pytest.mark.parametrize(
    "params",
    [
        {"w": 0}, {"w": 4001}, {"w": 1.5}, {"w": 400.0}, {"q": 101}, {"dpr": 1.234}, {"bl": 0.2}, {"r": 400},
        {"c": "crop"}, {"f": "jpeg"}, {"g": "Auto"}, {"c": "fill", "g": "up"}, {"w": 10, "g": "auto"}, {"gr": False}, {"gr": 0}, {"bg": "#ffffff"}, {"bg": "fff"}, {"x": 1},
        {"w": float("nan")}, {"w": [400]}, {"w": 1e21},
    ],
)
def test_keyword_values_out_of_range_unknown_or_of_the_wrong_type_are_refused(params: dict[str, object]) -> None:
    with pytest.raises(CloudimgError) as caught:
        cli.url_for("photo", **params)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_transform"


GRAVITIES = ["auto", "face", "faces", "center", "north", "south", "east", "west", "north_east", "north_west",
             "south_east", "south_west"]


def test_gravity_goes_with_c_fill_c_cover_and_c_thumb_in_its_canonical_place_after_c() -> None:
    assert (
        cli.url_for("photo", g="face", c="fill", h=400, w=400, f="webp")
        == "https://img-cloud.org/v1/image/w_400,h_400,c_fill,g_face,f_webp/photo"
    )
    assert canonical_transform({"c": "thumb", "g": "north_east", "w": 200, "q": 70}) == "w_200,c_thumb,g_north_east,q_70"
    assert canonical_transform({"c": "cover", "g": "center", "w": 10, "h": 10}) == "w_10,h_10,c_cover,g_center"
    for g in GRAVITIES:
        assert canonical_transform({"w": 100, "h": 100, "c": "fill", "g": g}) == f"w_100,h_100,c_fill,g_{g}"
    assert cli.srcset("photo", [200, 400], w=200, h=100, c="fill", g="auto") == (
        "https://img-cloud.org/v1/image/w_200,h_100,c_fill,g_auto/photo 200w, "
        "https://img-cloud.org/v1/image/w_400,h_200,c_fill,g_auto/photo 400w"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        *[({"w": 100, "h": 100, "c": c, "g": "auto"}, "gravity (g) applies to c_fill, c_cover and c_thumb only")
          for c in (None, "fit", "contain", "inside", "outside")],
        ({"t": "card", "g": "auto"}, "a preset (t_) may be combined with f and dpr only"),
        ({"w": 100, "c": "fill", "g": "top"},
         'invalid transform pair "g_top": g must be one of ' + ", ".join(GRAVITIES)),
        ("g_auto,w_0", 'invalid transform pair "w_0": w must be a whole number from 1 to 4000'),
    ],
)
def test_gravity_elsewhere_is_refused_after_the_pairs_and_the_preset_rule(params: Any, message: str) -> None:
    with pytest.raises(CloudimgError) as caught:
        cli.url_for("photo", params)
    assert (caught.value.code, caught.value.message) == ("invalid_transform", message)


def test_a_new_public_id_may_not_start_with_g_now_a_transform_key() -> None:
    with pytest.raises(CloudimgError, match='like "g_auto"'):
        check_public_id("g_auto/x")
    assert cli.url_for("gx_1/x") == "https://img-cloud.org/v1/image/gx_1/x"
    assert cli.url_for("g/x") == "https://img-cloud.org/v1/image/g/x"


@pytest.mark.parametrize("public_id", ["t_old/photo", "g_old/photo", "t_card", "g_face/x", "t_/x", "g_old/w_1/x"])
def test_a_public_id_stored_before_t_and_g_were_keys_is_still_found_but_never_made(public_id: str) -> None:
    """The server's ``PublicId::existing`` and ``PublicId::parse``."""
    assert check_existing_public_id(public_id) == public_id
    assert_refused_as_transform_shaped(check_public_id, public_id)


@pytest.mark.parametrize("public_id", ["w_1/photo", "w_400/x", "c_fill", "dpr_2/x", "bg_fff", "q_80/x"])
def test_other_keys_were_always_keys_so_no_existing_public_id_starts_with_them(public_id: str) -> None:
    assert_refused_as_transform_shaped(check_existing_public_id, public_id)


def assert_refused_as_transform_shaped(check: Callable[[str], str], public_id: str) -> None:
    """`check` refuses `public_id` as the server does: 400 naming its first segment."""
    with pytest.raises(CloudimgError) as caught:
        check(public_id)
    first = public_id.split("/")[0]
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "invalid_public_id",
        f'public_id must not start with a transform-shaped segment like "{first}"',
    )


@pytest.mark.parametrize(
    ("public_id", "message"),
    [
        ("t_old//x", "public_id must not contain an empty segment (//)"),
        ("g_old/.x", "public_id segments must not start with . (no ., .. or hidden names)"),
        ("t_old/a b", "public_id may only contain A-Z, a-z, 0-9, _ . - and /, not ' '"),
        ("t_old/", "public_id must not start or end with /"),
        ("t_" + "a" * 254, "public_id must be 1 to 255 bytes long"),
    ],
)
def test_the_other_rules_stand_for_existing_public_ids(public_id: str, message: str) -> None:
    with pytest.raises(CloudimgError) as caught:
        check_existing_public_id(public_id)
    assert (caught.value.code, caught.value.message) == ("invalid_public_id", message)


def test_url_for_and_srcset_build_urls_for_t_and_g_public_ids_the_transform_first_as_always() -> None:
    assert cli.url_for("t_old/photo") == "https://img-cloud.org/v1/image/t_old/photo"
    assert cli.url_for("g_old/photo") == "https://img-cloud.org/v1/image/g_old/photo"
    assert cli.url_for("t_old/photo", w=100) == "https://img-cloud.org/v1/image/w_100/t_old/photo"
    assert cli.url_for("g_old/photo", "f_webp,t_card") == "https://img-cloud.org/v1/image/t_card,f_webp/g_old/photo"
    assert cli.srcset("g_old/photo", [100]) == "https://img-cloud.org/v1/image/w_100/g_old/photo 100w"
    for transform in [None, {"w": 100}]:
        with pytest.raises(CloudimgError) as caught:
            cli.url_for("w_1/photo", transform)
        assert (caught.value.code, caught.value.message) == (
            "invalid_public_id",
            'public_id must not start with a transform-shaped segment like "w_1"',
        )


def test_lookups_send_t_and_g_public_ids_and_refuse_w_1_before_any_request() -> None:
    sent: list[tuple[str, str, object]] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, str(request.url), json.loads(request.content) if request.content else None))
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json={"asset": {"public_id": "x"}, "url": "u", "expires": 1})

    with Cloudimg("https://img-cloud.org", "ck_test", "cs_test", transport=httpx.MockTransport(record)) as recording:
        for public_id in ["t_old/photo", "g_old/photo"]:
            sent.clear()
            recording.get_asset(public_id)
            recording.update_asset(public_id, tags="kept")
            recording.delete_asset(public_id)
            recording.signed_url(public_id, {"w": 100})
            assert sent == [
                ("GET", f"https://img-cloud.org/v1/assets/{public_id}", None),
                ("PATCH", f"https://img-cloud.org/v1/assets/{public_id}", {"tags": "kept"}),
                ("DELETE", f"https://img-cloud.org/v1/assets/{public_id}", None),
                ("POST", "https://img-cloud.org/v1/image/sign", {"public_id": public_id, "transform": "w_100"}),
            ]
        sent.clear()
        calls: list[Callable[[], object]] = [
            lambda: recording.get_asset("w_1/photo"),
            lambda: recording.update_asset("w_1/photo", tags="x"),
            lambda: recording.delete_asset("w_1/photo"),
            lambda: recording.signed_url("w_1/photo"),
        ]
        for call in calls:
            with pytest.raises(CloudimgError) as caught:
                call()
            assert (caught.value.status, caught.value.code, caught.value.message, caught.value.path) == (
                400,
                "invalid_public_id",
                'public_id must not start with a transform-shaped segment like "w_1"',
                None,
            )
        with pytest.raises(CloudimgError, match=r"empty segment"):
            recording.get_asset("t_old//photo")
    assert sent == []


def _no_request(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request may be sent: {request.method} {request.url}")


@pytest.mark.parametrize(
    "focal_point",
    [
        {}, {"x": 0.5}, {"y": 0.5}, {"x": 0.5, "y": 0.5, "z": 0}, {"x": -0.01, "y": 0.5}, {"x": 0.5, "y": 1.01},
        {"x": "0.5", "y": 0.5}, {"x": 0.5, "y": float("nan")}, {"x": float("inf"), "y": 0}, {"x": True, "y": 0},
        {"x": None, "y": 0}, [0.5, 0.5], (0.5, 0.5), "0.5,0.5", 0.5, False, {"x": 0.5, "y": {"value": 0.5}},
        {"x": 10**400, "y": 0},
    ],
)
def test_update_asset_refuses_a_bad_focal_point_before_any_request(focal_point: object) -> None:
    with Cloudimg("https://img-cloud.org", "ck_test", "cs_test", transport=httpx.MockTransport(_no_request)) as offline:
        with pytest.raises(CloudimgError) as caught:
            offline.update_asset("photo", focal_point=focal_point)  # type: ignore[arg-type]
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "invalid_focal_point",
        'focal_point must be null or {"x": 0..1, "y": 0..1}',
    )


def test_gr_false_is_refused_as_the_sign_endpoint_refuses_it() -> None:
    with pytest.raises(CloudimgError, match="transform value of gr must be a string or a number, not false"):
        cli.url_for("photo", gr=False)


BAD_IDS = ["", "../x", "x/..", "./x", "a//b", "/abs", "abs/", ".hidden", "a/.b", "a\\b", "a\0b", "a b", "é",
           "w_400/x", "c_fill", "dpr_2/x", "bg_fff", "a" * 256, "%2e%2e%2f", "a\nb"]


@pytest.mark.parametrize("public_id", BAD_IDS)
def test_bad_public_ids_are_refused_as_the_server_refuses_them(public_id: str) -> None:
    with pytest.raises(CloudimgError) as caught:
        cli.url_for(public_id)
    assert (caught.value.status, caught.value.code) == (400, "invalid_public_id")


@pytest.mark.parametrize("public_id", [*BAD_IDS, "g_face/x", "t_card"])
def test_bad_new_public_ids_are_refused_as_the_server_refuses_them(public_id: str) -> None:
    """New ones only: an asset stored before t and g were keys keeps its id (the tests above)."""
    with pytest.raises(CloudimgError) as caught:
        check_public_id(public_id)
    assert (caught.value.status, caught.value.code) == (400, "invalid_public_id")


def test_good_public_ids_pass_unchanged() -> None:
    for public_id in ["photo-3a7f9c81b2e4", "marketing/hero", "private/contract-001", "my_photo/x", "foo_1/x", "a.b",
                      "wx_1", "a" * 255]:
        assert cli.url_for(public_id) == f"https://img-cloud.org/v1/image/{public_id}"
    with pytest.raises(CloudimgError, match='like "w_400"'):
        cli.url_for("w_400/x")


def test_srcset_lists_one_url_per_width_smallest_first_keeping_the_aspect_ratio() -> None:
    assert cli.srcset("photo", [800, 400, 800], w=400, h=300, c="fill", f="webp") == (
        "https://img-cloud.org/v1/image/w_400,h_300,c_fill,f_webp/photo 400w, "
        "https://img-cloud.org/v1/image/w_800,h_600,c_fill,f_webp/photo 800w"
    )
    assert cli.srcset("photo", [400, 1200], "q_70") == (
        "https://img-cloud.org/v1/image/w_400,q_70/photo 400w, https://img-cloud.org/v1/image/w_1200,q_70/photo 1200w"
    )
    assert cli.srcset("photo", (640,)) == "https://img-cloud.org/v1/image/w_640/photo 640w"
    with pytest.raises(TypeError):
        cli.srcset("photo", [])
    with pytest.raises(TypeError):
        cli.srcset("photo", [400], h=300)
    for widths in ([0, 400], [5000]):
        with pytest.raises(CloudimgError) as caught:
            cli.srcset("photo", widths)
        assert caught.value.code == "invalid_transform"


def test_the_constructor_checks_its_arguments_without_echoing_the_secret() -> None:
    with pytest.raises(TypeError):
        Cloudimg("ftp://x", "ck_a", "cs_b")
    with pytest.raises(TypeError):
        Cloudimg("http://x", "ck_a")
    with pytest.raises(TypeError) as caught:
        Cloudimg("http://x", "ck_a", "cs_hunter2\r\nInjected: 1")
    assert "hunter2" not in str(caught.value)
    # URL building needs no key.
    assert Cloudimg("http://x").url_for("a") == "http://x/v1/image/a"


def test_repr_shows_no_secret() -> None:
    client = Cloudimg("http://x", "ck_visible", "cs_hidden-secret")
    assert "cs_hidden" not in repr(client)
    assert "cs_hidden" not in str(client)
    assert "cs_hidden" not in repr(vars(client))
    assert "ck_visible" in repr(client)
