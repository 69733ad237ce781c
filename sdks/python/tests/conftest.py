"""What every test needs: the servers that scripts/test-sdks started, an admin session, a fresh
user with an API key (so that these tests see only their own assets), and the test photo."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from cloudimg import Cloudimg

#: tests/transform-cases.json at the repository root: the transform cases the server's parser is
#: tested with too (shared/src/transform/mod.rs).
TRANSFORM_CASES: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[3] / "tests" / "transform-cases.json").read_text(encoding="utf-8")
)


def _need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the SDK tests with scripts/test-sdks, which starts the servers")
    return value


@dataclass(frozen=True)
class Env:
    base: str
    #: A second server with IMGCLOUD_RATE_API_PER_MINUTE=60, for 429s.
    limited: str
    admin_email: str
    admin_password: str
    #: The servers' IMGCLOUD_SIGNING_SECRET, for offline signing (sign_url).
    signing_secret: str
    corpus: Path


@dataclass(frozen=True)
class User:
    email: str
    user_id: str
    key_id: str
    key_secret: str


@pytest.fixture(scope="session")
def env() -> Env:
    default_corpus = Path(__file__).resolve().parents[4] / "shared" / "corpus"
    return Env(
        base=_need("CLOUDIMG_TEST_BASE_URL"),
        limited=_need("CLOUDIMG_TEST_LIMITED_URL"),
        admin_email=_need("CLOUDIMG_TEST_ADMIN_EMAIL"),
        admin_password=_need("CLOUDIMG_TEST_ADMIN_PASSWORD"),
        signing_secret=_need("CLOUDIMG_TEST_SIGNING_SECRET"),
        corpus=Path(os.environ.get("CLOUDIMG_TEST_CORPUS") or default_corpus),
    )


@contextmanager
def login(base: str, email: str, password: str) -> Iterator[httpx.Client]:
    """A session (cookie) client for the endpoints an API key may not use."""
    with httpx.Client(base_url=base) as session:
        response = session.post("/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        yield session


def mint_key(session: httpx.Client) -> tuple[str, str]:
    response = session.post("/v1/api-keys", json={"name": "sdk-tests"})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["key_id"], body["key_secret"]


def new_user(env: Env, base: str, label: str = "python") -> User:
    email = f"{label}-{secrets.token_hex(6)}@example.com"
    password = f"pw-{secrets.token_hex(12)}"
    with login(base, env.admin_email, env.admin_password) as admin:
        response = admin.post("/v1/users", json={"email": email, "password": password, "role": "user"})
        assert response.status_code == 201, response.text
        user_id = response.json()["user"]["id"]
    with login(base, email, password) as session:
        key_id, key_secret = mint_key(session)
    return User(email=email, user_id=user_id, key_id=key_id, key_secret=key_secret)


def admin_key(env: Env, base: str) -> tuple[str, str]:
    with login(base, env.admin_email, env.admin_password) as admin:
        return mint_key(admin)


@pytest.fixture(scope="session")
def user(env: Env) -> User:
    return new_user(env, env.base)


@pytest.fixture
def cli(env: Env, user: User) -> Iterator[Cloudimg]:
    with Cloudimg(base_url=env.base, key_id=user.key_id, key_secret=user.key_secret) as client:
        yield client


@pytest.fixture(scope="session")
def photo_path(env: Env) -> Path:
    return env.corpus / "photo_1000x667.jpg"


@pytest.fixture(scope="session")
def photo(photo_path: Path) -> bytes:
    return photo_path.read_bytes()


@pytest.fixture
def photo_dir(tmp_path: Path, photo_path: Path) -> Path:
    """A temp dir holding photo.jpg and hero.jpg (the files the seed uploads)."""
    for name in ("photo.jpg", "hero.jpg"):
        shutil.copyfile(photo_path, tmp_path / name)
    return tmp_path
