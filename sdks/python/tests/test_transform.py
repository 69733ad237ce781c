"""url_for and the transform grammar without a server (the server's own verdicts are compared in
test_client.py)."""

from __future__ import annotations

import pytest

from cloudimg import Cloudimg, CloudimgError, canonical_transform

cli = Cloudimg(base_url="https://img-cloud.org", key_id="ck_test", key_secret="cs_test")


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


CANONICAL = [
    (
        "bg_FFAA00,r_-90,bl_4.50,gr_1,dpr_2.0,f_webp,q_080,c_fill,h_300,w_400",
        "w_400,h_300,c_fill,q_80,f_webp,dpr_2,gr_1,bl_4.5,r_-90,bg_ffaa00",
    ),
    ("h_400,w_400", "w_400,h_400"),
    ("q_80,w_1200", "w_1200,q_80"),
    ("dpr_1.25", "dpr_1.25"),
    ("dpr_1.50", "dpr_1.5"),
    ("dpr_3.00", "dpr_3"),
    ("bl_0.3", "bl_0.3"),
    ("bl_25", "bl_25"),
    ("r_360", "r_360"),
    ("r_-360", "r_-360"),
    ("r_-0", "r_0"),
    ("w_004000", "w_4000"),
    ("c_thumb,f_auto", "c_thumb,f_auto"),
    ("bg_000000", "bg_000000"),
]


@pytest.mark.parametrize(("spelling", "canonical"), CANONICAL)
def test_strings_are_canonicalised_as_the_server_does(spelling: str, canonical: str) -> None:
    assert canonical_transform(spelling) == canonical


def test_mappings_are_canonicalised_like_the_sign_endpoint_reads_them() -> None:
    assert (
        canonical_transform(
            {"bg": "FFAA00", "r": -90, "bl": 4.5, "gr": True, "dpr": 2.0, "f": "webp", "q": 80, "c": "fill", "h": 300, "w": 400}
        )
        == "w_400,h_300,c_fill,q_80,f_webp,dpr_2,gr_1,bl_4.5,r_-90,bg_ffaa00"
    )
    assert canonical_transform({"gr": 1, "dpr": "1.50"}) == "dpr_1.5,gr_1"


# Every pair shared/src/transform/mod.rs refuses, with its message where it is fixed.
REFUSED = [
    ("w_0", 'invalid transform pair "w_0": w must be a whole number from 1 to 4000'),
    ("w_-1", None), ("w_abc", None), ("w_1.5", None), ("w_", None), ("w_99999999999999999999", None),
    ("w_+10", None), ("w_0x10", None), ("w_１００", None), ("w_4001", None), ("w_0004000", None),
    ("q_0", 'invalid transform pair "q_0": q must be a whole number from 1 to 100'),
    ("q_101", None), ("q_NaN", None), ("h_0", None),
    ("c_crop", 'invalid transform pair "c_crop": c must be one of fit, fill, cover, contain, inside, outside, thumb'),
    ("f_bmp", 'invalid transform pair "f_bmp": f must be one of auto, jpg, png, webp, avif, gif'),
    ("f_jpeg", None),
    ("dpr_0.99", 'invalid transform pair "dpr_0.99": dpr must be from 1 to 3, with at most two decimals'),
    ("dpr_3.01", None), ("dpr_1.234", None), ("dpr_2.", None), ("dpr_.5", None), ("dpr_1e0", None),
    ("bl_0.29", 'invalid transform pair "bl_0.29": bl must be from 0.3 to 25, with at most two decimals'),
    ("bl_25.01", None),
    ("r_361", 'invalid transform pair "r_361": r must be a whole number from -360 to 360'),
    ("r_-361", None), ("r_+90", None), ("r_--1", None),
    ("gr_0", 'invalid transform pair "gr_0": gr must be 1'),
    ("gr_true", None),
    ("bg_fff", 'invalid transform pair "bg_fff": bg must be 6 hex digits, like ffffff'),
    ("bg_gggggg", None), ("bg_#ffffff", None),
    ("x_1", 'invalid transform pair "x_1": unknown key'),
    ("w400", 'invalid transform pair "w400": expected key_value'),
    ("w_400,", 'invalid transform pair "": expected key_value'),
    (",w_400", None), ("w_400,,h_1", None),
    ("w_400,w_500", 'invalid transform pair "w_500": the key is given twice'),
    ("w_400%2Ch_300", None), ("w_ 400", None),
    ("w_1," + "q_1," * 70, "a transform is at most 256 characters"),
    ("w_400,h_x", 'invalid transform pair "h_x": h must be a whole number from 1 to 4000'),
]


@pytest.mark.parametrize(("spelling", "message"), REFUSED)
def test_every_pair_the_server_refuses_is_refused_with_its_code_and_message(spelling: str, message: str | None) -> None:
    with pytest.raises(CloudimgError) as caught:
        cli.url_for("photo", spelling)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_transform"
    if message is not None:
        assert caught.value.message == message
    else:
        assert "transform" in caught.value.message


@pytest.mark.parametrize(
    "params",
    [
        {"w": 0}, {"w": 4001}, {"w": 1.5}, {"w": 400.0}, {"q": 101}, {"dpr": 1.234}, {"bl": 0.2}, {"r": 400},
        {"c": "crop"}, {"f": "jpeg"}, {"gr": False}, {"gr": 0}, {"bg": "#ffffff"}, {"bg": "fff"}, {"x": 1},
        {"w": float("nan")}, {"w": [400]}, {"w": 1e21},
    ],
)
def test_keyword_values_out_of_range_unknown_or_of_the_wrong_type_are_refused(params: dict[str, object]) -> None:
    with pytest.raises(CloudimgError) as caught:
        cli.url_for("photo", **params)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_transform"


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
