"""cloudimg: the Python SDK of img-cloud.

>>> from cloudimg import Cloudimg
>>> cli = Cloudimg(base_url="https://img-cloud.org", key_id="ck_…", key_secret="cs_…")
>>> cli.url_for("photo-3a7f9c81b2e4", w=400, h=400, c="fill", f="webp")
'https://img-cloud.org/v1/image/w_400,h_400,c_fill,f_webp/photo-3a7f9c81b2e4'
"""

from ._client import Cloudimg, RetryInfo, UploadSource, __version__
from ._errors import CloudimgError
from ._sign import sign_url
from ._thumbhash import ThumbHashImage, thumbhash_to_data_url, thumbhash_to_rgba
from ._transform import Transform, TransformValue, canonical_transform
from ._types import Asset, AssetPage, ErrorCode, Face, FocalPoint, Gravity, Preset, SignedUrl, UsageSummary

__all__ = [
    "Asset",
    "AssetPage",
    "Cloudimg",
    "CloudimgError",
    "ErrorCode",
    "Face",
    "FocalPoint",
    "Gravity",
    "Preset",
    "RetryInfo",
    "SignedUrl",
    "ThumbHashImage",
    "Transform",
    "TransformValue",
    "UploadSource",
    "UsageSummary",
    "__version__",
    "canonical_transform",
    "sign_url",
    "thumbhash_to_data_url",
    "thumbhash_to_rgba",
]
