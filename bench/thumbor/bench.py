"""thumbor (PIL engine) over HTTP on the operations imgcloud-bench renders.

Prints one JSON line {"<op>": median_ms, ..., "version": "<thumbor version>"}; all else goes to stderr.
Usage: <venv>/bin/python bench.py <corpus dir> <iterations>

Setup (no Debian -dev packages needed: thumbor 7.8.0 has a cp311 wheel and pycurl is
only in thumbor[all], which we don't install):
    python3 -m venv target/venv-thumbor
    target/venv-thumbor/bin/pip install -r bench/thumbor/requirements.txt
"""
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import thumbor
from PIL import Image

PHOTO = "photo_12mp_4000x3000.jpg"
# label (same as bench/sharp/bench.mjs) -> (unsafe URL path, format, expected pixel size)
OPS = {
    "w_400,h_400,c_fill,f_webp,q_80": (f"/unsafe/400x400/filters:format(webp):quality(80)/{PHOTO}", "webp", (400, 400)),
    "w_800,f_jpg,q_80": (f"/unsafe/800x0/filters:format(jpeg):quality(80)/{PHOTO}", "jpeg", (800, 600)),
    # thumbor's blur(radius, sigma): radius is the kernel's half-width, sigma defaults to radius, so
    # blur(4) would be sigma 4 cut off at 4 px. sharp's blur(4) is sigma 4 with libvips' mask cut
    # where the Gaussian falls below 0.2 of its peak (min_ampl 0.2), i.e. about 7 px out: blur(7,4).
    "w_400,h_400,c_fill,gr_1,bl_4,f_jpg": (
        f"/unsafe/400x400/filters:grayscale():blur(7,4):format(jpeg):quality(80)/{PHOTO}", "jpeg", (400, 400)),
}
CONF = """
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = {root!r}
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ENGINE = 'thumbor.engines.pil'
ALLOW_UNSAFE_URL = True
AUTO_WEBP = False
QUALITY = 80
# tornado accepts in a loop until EWOULDBLOCK, so the inherited listening socket must be non-blocking.
NON_BLOCKING_SOCKETS = True
"""


def check(label, body, ctype, fmt, size):
    """Fail loudly unless the response really is a `fmt` image of `size` pixels."""
    magic_ok = body[:3] == b"\xff\xd8\xff" if fmt == "jpeg" else body[:4] == b"RIFF" and body[8:12] == b"WEBP"
    if ctype != f"image/{fmt}" or not magic_ok:
        raise SystemExit(f"{label}: expected {fmt}, got Content-Type {ctype!r}, first bytes {body[:12]!r}")
    with Image.open(io.BytesIO(body)) as img:
        if img.size != size:
            raise SystemExit(f"{label}: expected {size[0]}x{size[1]}, got {img.size[0]}x{img.size[1]}")


def get(base, path, timeout=60):
    # urlopen raises HTTPError for anything but 2xx; thumbor only sends 200 for a rendered image.
    with urllib.request.urlopen(base + path, timeout=timeout) as resp:
        if resp.status != 200:
            raise SystemExit(f"GET {path}: HTTP {resp.status}")
        return resp.headers.get("Content-Type"), resp.read()


def main():
    corpus, iterations = os.path.abspath(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.TemporaryDirectory(prefix="thumbor-bench-") as tmp:
        conf = os.path.join(tmp, "thumbor.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(root=corpus))
        # Bind port 0 ourselves and hand thumbor the listening socket (--fd): a random free port
        # with no race between picking it and thumbor binding it.
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # The thumbor entry point of this venv; its output goes to stderr so stdout stays one JSON line.
        exe = os.path.join(os.path.dirname(sys.executable), "thumbor")
        server = subprocess.Popen([exe, "--conf", conf, "--fd", str(sock.fileno())],
                                  pass_fds=[sock.fileno()], stdout=sys.stderr, stderr=sys.stderr)
        sock.close()  # thumbor holds its own copy
        try:
            deadline = time.monotonic() + 60
            while True:  # wait until it answers
                if server.poll() is not None:
                    raise SystemExit(f"thumbor exited with {server.returncode} before answering")
                try:
                    get(base, "/healthcheck", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("thumbor did not answer /healthcheck within 60 s")
                    time.sleep(0.2)
            results = {}
            for label, (path, fmt, size) in OPS.items():
                ctype, body = get(base, path)  # warm-up (and first check)
                check(label, body, ctype, fmt, size)
                times = []
                for _ in range(iterations):
                    start = time.perf_counter()
                    ctype, body = get(base, path)  # whole request: connect, render, read body
                    times.append((time.perf_counter() - start) * 1000)
                    check(label, body, ctype, fmt, size)  # outside the timed part
                # Same median as the sharp script: the upper middle value for an even count.
                results[label] = sorted(times)[len(times) // 2]
            results["version"] = thumbor.__version__
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
