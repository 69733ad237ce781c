"""The C decoders' side of `imgcloud-bench decode`: pillow-heif (libheif + libde265) for HEIC and
Pillow's AVIF plugin (libavif) for AVIF, each file decoded to RGB `iterations` times after one
warm-up. Prints {file: {"decoder": ..., "median_ms": ...}} as JSON.

    python decode.py ITERATIONS FILE...
"""

import json
import statistics
import sys
import time

import pillow_heif
from PIL import Image, features


def decode_heic(path):
    # `.data` decodes the primary image.
    pillow_heif.open_heif(path, convert_hdr_to_8bit=True).data


def decode_avif(path):
    with Image.open(path) as image:
        image.load()


DECODERS = {
    ".heic": (decode_heic, f"pillow-heif {pillow_heif.__version__} (libheif {pillow_heif.libheif_version()})"),
    ".avif": (decode_avif, f"Pillow {Image.__version__} (libavif {features.version('avif')})"),
}


def main():
    iterations = int(sys.argv[1])
    results = {}
    for path in sys.argv[2:]:
        entry = next((d for suffix, d in DECODERS.items() if path.endswith(suffix)), None)
        if entry is None:
            continue
        decode, name = entry
        decode(path)
        times = []
        for _ in range(iterations):
            started = time.perf_counter()
            decode(path)
            times.append((time.perf_counter() - started) * 1000)
        results[path] = {"decoder": name, "median_ms": statistics.median(times)}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
