"""The real `imgcloud` binary on a free port, and the few HTTP calls the scripts beside this one
make of it (standard library only)."""

import http.client
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEBUG_BIN = str(ROOT / "target" / "debug" / "imgcloud")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "scripted-admin-password"


def request(port, method, path, body=None, headers=None, timeout=600):
    """(status, headers, body) of one request on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def free_port():
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid, field):
    """A byte figure of /proc/<pid>/status (VmRSS, VmHWM), 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Server:
    """`bin` serving a fresh data dir (or `data`), with `env` on top of unlimited rates; `wrapper`
    runs before it (e.g. `prlimit --as=N`, which execs the server under the same pid)."""

    def __init__(self, bin=DEBUG_BIN, env=None, data=None, wrapper=()):
        self.port = free_port()
        self.data = data or tempfile.mkdtemp(prefix="imgcloud-")
        full_env = dict(os.environ, IMGCLOUD_ADDR=f"127.0.0.1:{self.port}", IMGCLOUD_DATA_DIR=self.data,
                        IMGCLOUD_ADMIN_EMAIL=ADMIN_EMAIL, IMGCLOUD_ADMIN_PASSWORD=ADMIN_PASSWORD,
                        IMGCLOUD_RATE_UPLOADS_PER_MINUTE="0", IMGCLOUD_RATE_RENDERS_PER_MINUTE="0",
                        IMGCLOUD_RATE_API_PER_MINUTE="0", RUST_LOG="warn", **(env or {}))
        self.process = subprocess.Popen([*wrapper, bin], env=full_env, stdout=subprocess.DEVNULL)
        for _ in range(600):
            try:
                if request(self.port, "GET", "/healthz", timeout=5)[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{bin} did not start on port {self.port}")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()

    def stop(self):
        self.process.terminate()
        self.process.wait()

    def alive(self):
        try:
            return self.process.poll() is None and self.get("/healthz", timeout=10)[0] == 200
        except OSError:
            return False

    def get(self, path, timeout=600):
        return request(self.port, "GET", path, timeout=timeout)

    def status(self, field):
        return proc_status(self.process.pid, field)

    def api_key(self):
        return api_key(self.port)

    def upload(self, auth, data, public_id):
        return upload(self.port, auth, data, public_id)


def api_key(port):
    """An Authorization header of a new API key of the admin, through `port`."""
    _, headers, _ = request(port, "POST", "/v1/auth/login",
                            json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
                            {"Content-Type": "application/json"})
    cookie = headers["set-cookie"].split(";")[0]
    _, _, body = request(port, "POST", "/v1/api-keys", json.dumps({"name": "scripted"}),
                         {"Content-Type": "application/json", "Cookie": cookie})
    key = json.loads(body)
    return {"Authorization": f"ApiKey {key['key_id']}:{key['key_secret']}"}


def upload(port, auth, data, public_id, path="/v1/upload", **fields):
    """(status, headers, body) of a multipart upload of `data` as `public_id` to `path`, with the
    form's other `fields` (overwrite, visibility, ...)."""
    boundary = uuid.uuid4().hex
    parts = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                    for name, value in {"public_id": public_id, **fields}.items())
    payload = (parts + f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
               "Content-Type: application/octet-stream\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    return request(port, "POST", path, payload,
                   {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"})
