"""Retries, timeouts and 429s: against the rate-limited server (IMGCLOUD_RATE_API_PER_MINUTE=60),
a closed port, a socket that never answers, and a small proxy in front of the real server that
answers 503 or drops an answer on purpose."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx
import pytest

from cloudimg import Cloudimg, CloudimgError, RetryInfo

from .conftest import Env, User, new_user


def exhaust(client: Cloudimg) -> CloudimgError:
    """Calls until the server says 429; returns that error."""
    for _ in range(200):
        try:
            client.usage()
        except CloudimgError as error:
            if error.status == 429:
                return error
            raise
    raise AssertionError("no 429 after 200 calls")


@pytest.fixture(scope="module")
def limited_user(env: Env) -> User:
    return new_user(env, env.limited, "limited")


@pytest.fixture
def no_retry(env: Env, limited_user: User) -> Iterator[Cloudimg]:
    with Cloudimg(env.limited, limited_user.key_id, limited_user.key_secret, max_retries=0) as client:
        yield client


def test_a_429_is_surfaced_as_cloudimg_error_with_retry_after_when_retries_are_off(no_retry: Cloudimg) -> None:
    error = exhaust(no_retry)
    assert (error.status, error.code) == (429, "rate_limited")
    assert error.message == "too many API calls; retry later"
    assert error.retry_after is not None and error.retry_after >= 1


def test_a_429_is_retried_after_the_retry_after_the_server_sent(
    env: Env, limited_user: User, no_retry: Cloudimg
) -> None:
    exhaust(no_retry)
    retries: list[RetryInfo] = []
    with Cloudimg(env.limited, limited_user.key_id, limited_user.key_secret, on_retry=retries.append) as client:
        started = time.monotonic()
        summary = client.usage()
    assert "period" in summary
    assert retries and retries[0].error.status == 429
    assert retries[0].delay == retries[0].error.retry_after
    assert time.monotonic() - started >= retries[0].delay - 0.05


def test_an_upload_refused_with_429_is_sent_again_and_stored_once(
    env: Env, limited_user: User, no_retry: Cloudimg, photo: bytes
) -> None:
    exhaust(no_retry)
    retries: list[RetryInfo] = []
    with Cloudimg(env.limited, limited_user.key_id, limited_user.key_secret, on_retry=retries.append) as client:
        asset = client.upload(photo, public_id="retried/upload")
    assert asset["version"] == 1
    assert retries and all(r.error.status == 429 for r in retries)


def test_a_retry_after_longer_than_max_retry_delay_is_not_waited_for(
    env: Env, limited_user: User, no_retry: Cloudimg
) -> None:
    exhaust(no_retry)
    retries: list[RetryInfo] = []
    with Cloudimg(
        env.limited, limited_user.key_id, limited_user.key_secret, max_retry_delay=0.01, on_retry=retries.append
    ) as client:
        started = time.monotonic()
        with pytest.raises(CloudimgError) as caught:
            client.usage()
    assert caught.value.status == 429
    assert time.monotonic() - started < 0.5
    assert retries == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_no_answer_idempotent_calls_are_retried_with_backoff_uploads_are_not(photo: bytes) -> None:
    retries: list[RetryInfo] = []
    with Cloudimg(
        f"http://127.0.0.1:{closed_port()}", "ck_x", "cs_secret-that-must-not-show", max_retries=2,
        on_retry=retries.append,
    ) as client:
        with pytest.raises(CloudimgError) as caught:
            client.get_asset("a/b")
        assert (caught.value.status, caught.value.code) == (0, "network_error")
        assert "ConnectError" in caught.value.message
        assert "must-not-show" not in str(caught.value)
        assert len(retries) == 2
        assert 0.1 <= retries[0].delay <= 0.2
        assert 0.2 <= retries[1].delay <= 0.4

        retries.clear()
        with pytest.raises(CloudimgError) as caught:
            client.upload(photo)
        assert caught.value.code == "network_error"
        assert retries == []


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for s in held:
        s.close()
    server.close()


def test_timeouts_bound_each_attempt_idempotent_calls_try_again_uploads_do_not(silent_port: int, photo: bytes) -> None:
    retries: list[RetryInfo] = []
    with Cloudimg(
        f"http://127.0.0.1:{silent_port}", "ck_x", "cs_y", timeout=0.3, max_retries=1, on_retry=retries.append
    ) as client:
        started = time.monotonic()
        with pytest.raises(CloudimgError) as caught:
            client.list_assets()
        assert (caught.value.status, caught.value.code) == (0, "timeout")
        assert caught.value.message == "no answer from the server within 0.3 s (GET /v1/assets)"
        assert time.monotonic() - started >= 0.6
        assert len(retries) == 1

        retries.clear()
        with pytest.raises(CloudimgError) as caught:
            client.upload(photo)
        assert caught.value.code == "timeout"
        assert retries == []


class FlakyProxy:
    """A proxy to the real server that, per request, follows the next step of ``plan``: 'forward',
    '503' (answers 503 itself) or 'lose' (forwards, then closes the connection without answering).
    ``seen`` lists ``METHOD path`` of every request."""

    def __init__(self, target: str) -> None:
        self.plan: list[str] = []
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.seen.append(f"{self.command} {self.path}")
                step = proxy.plan.pop(0) if proxy.plan else "forward"
                if step == "503":
                    payload = b'{"error":"too many renders are waiting; retry shortly","code":"busy"}'
                    self.send_response(503)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                upstream = httpx.request(self.command, target + self.path, headers=headers, content=body)
                if step == "lose":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(upstream.status_code)
                self.send_header("content-type", upstream.headers.get("content-type", "application/octet-stream"))
                self.send_header("content-length", str(len(upstream.content)))
                self.end_headers()
                self.wfile.write(upstream.content)

            do_GET = do_POST = do_PATCH = do_DELETE = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(env: Env) -> Iterator[FlakyProxy]:
    p = FlakyProxy(env.base)
    yield p
    p.close()


def test_503_and_lost_answers_through_a_proxy_to_the_real_server(
    env: Env, user: User, proxy: FlakyProxy, photo: bytes
) -> None:
    retries: list[RetryInfo] = []
    direct = Cloudimg(env.base, user.key_id, user.key_secret)
    client = Cloudimg(proxy.url, user.key_id, user.key_secret, on_retry=retries.append)
    direct.upload(photo, public_id="flaky/a", overwrite=True)

    # A GET answered 503 is retried.
    proxy.plan.append("503")
    assert client.get_asset("flaky/a")["public_id"] == "flaky/a"
    assert [(r.error.status, r.error.code) for r in retries] == [(503, "busy")]

    # An upload answered 503 is not.
    retries.clear()
    proxy.plan.append("503")
    with pytest.raises(CloudimgError) as caught:
        client.upload(photo, public_id="flaky/b")
    assert (caught.value.status, caught.value.code) == (503, "busy")
    assert retries == []

    # An upload whose answer was lost is not sent again: it was stored.
    proxy.plan.append("lose")
    proxy.seen.clear()
    with pytest.raises(CloudimgError) as caught:
        client.upload(photo, public_id="flaky/c")
    assert caught.value.code == "network_error"
    assert proxy.seen == ["POST /v1/upload"]
    assert direct.get_asset("flaky/c")["version"] == 1

    # A PATCH whose answer was lost is sent again.
    proxy.plan.append("lose")
    proxy.seen.clear()
    assert client.update_asset("flaky/a", tags=["again"])["tags"] == ["again"]
    assert proxy.seen == ["PATCH /v1/assets/flaky/a"] * 2

    # A DELETE whose answer was lost resolves when the retry finds the asset gone.
    proxy.plan.append("lose")
    proxy.seen.clear()
    client.delete_asset("flaky/a")
    assert proxy.seen == ["DELETE /v1/assets/flaky/a"] * 2
    with pytest.raises(CloudimgError) as caught:
        direct.get_asset("flaky/a")
    assert caught.value.status == 404
    # Without a lost answer, deleting a missing asset is still a 404.
    with pytest.raises(CloudimgError) as caught:
        client.delete_asset("flaky/a")
    assert caught.value.status == 404
    client.close()
    direct.close()
