"""A real varnishd running infra/varnish/imgcloud.vcl in front of a backend on 127.0.0.1, for the
scripts beside this one (scripts/test-varnish, scripts/bench-varnish)."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from imgcloud_server import ROOT, request

VCL = ROOT / "infra" / "varnish" / "imgcloud.vcl"


class Varnish:
    """varnishd in the foreground on `port`, with the VCL's backend moved to `backend_port`."""

    def __init__(self, port, backend_port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="imgcloud-varnish-")
        os.chmod(self.dir, 0o755)
        vcl = VCL.read_text()
        assert '.port = "8080";' in vcl, "the VCL's backend is written for a test to rewrite"
        vcl_path = Path(self.dir) / "imgcloud.vcl"
        vcl_path.write_text(vcl.replace('.port = "8080";', f'.port = "{backend_port}";'))
        self.process = subprocess.Popen(
            ["varnishd", "-F", "-a", f"127.0.0.1:{port}", "-f", str(vcl_path), "-n", str(Path(self.dir) / "n"),
             "-s", "malloc,64m", "-p", "vsl_space=1m"],
            stdout=subprocess.DEVNULL, stderr=open(Path(self.dir) / "varnishd.log", "w"))
        for _ in range(300):
            try:
                request(port, "GET", "/healthz", timeout=5)
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("varnishd did not start: " + (Path(self.dir) / "varnishd.log").read_text())

    def stop(self):
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
