from __future__ import annotations

from typing import Optional


class CloudimgError(Exception):
    """The one error class of the SDK.

    An HTTP error carries the server's ``status``, ``code`` and sentence (``message``); an error
    the SDK finds before sending (a bad transform or public_id) carries the status and code the
    server would have answered; a request that got no answer has ``status`` 0 and ``code``
    ``network_error`` or ``timeout``. Never carries a credential.
    """

    status: int
    code: str
    message: str
    retry_after: Optional[float]
    method: Optional[str]
    path: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        retry_after: Optional[float] = None,
        method: Optional[str] = None,
        path: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return f"{self.message} ({self.status} {self.code})"

    def __repr__(self) -> str:
        return f"CloudimgError(status={self.status!r}, code={self.code!r}, message={self.message!r})"
