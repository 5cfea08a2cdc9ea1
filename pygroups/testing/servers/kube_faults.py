"""What the Kubernetes API stand-in can do wrong on purpose (`Fault`), the ``Status`` bodies of its errors,
and what it records of every request (`ApiRequest`, `TlsFailure`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

__all__ = ["REASONS", "ApiRequest", "Armed", "Fault", "TlsFailure", "forbidden_message", "status_body"]

def status_body(code: int, message: str, reason: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A ``Status`` failure document as the API server sends with every error answer."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = dict(details)
    body["code"] = code
    return body


REASONS = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    401: ("Unauthorized", "Unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("NotFound", "the server could not find the requested resource"),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
    409: ("Conflict", "the server reported a conflict"),
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected fault"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing"),
}


def forbidden_message(user: str, namespace: str | None, verb: str = "list") -> str:
    where = "at the cluster scope" if namespace is None else f'in the namespace "{namespace}"'
    return f'pods is forbidden: User "{user}" cannot {verb} resource "pods" in API group "" {where}'


# --- faults ------------------------------------------------------------------------------------------

FaultKind = Literal["status", "delay", "garbage", "truncated", "cut", "raw", "huge", "drop", "reset", "handshake"]


@dataclass(frozen=True)
class Fault:
    """Something the server does wrong, built with the class methods:

    * ``Fault.status(code, message=None, reason=None, retry_after=None)`` — answer ``code`` with a Status body
      (401 Unauthorized, 403 with the RBAC message for the requested namespace, 500, 503, 429, ...).
    * ``Fault.delay(seconds)`` — wait, then answer normally (slow API; test read timeouts with a short
      client timeout). The wait ends early when the server stops.
    * ``Fault.garbage()`` — 200 ``application/json`` with a body that is not JSON.
    * ``Fault.truncated()`` — 200 with the first half of the real answer (Content-Length matches, so the
      client reads a complete but invalid JSON document).
    * ``Fault.cut()`` — the real answer's headers, half its body, then the connection closes.
    * ``Fault.html(status=200)`` — a ``text/html`` page (a proxy or login page) instead of JSON.
    * ``Fault.raw(status, content_type, body)`` — any answer.
    * ``Fault.huge(mb=10)`` — a valid PodList padded to about ``mb`` MiB.
    * ``Fault.drop()`` — read the request, close the connection without answering.
    * ``Fault.reset()`` — read the request, reset the connection (TCP RST).

      Java's ``HttpURLConnection`` silently sends a GET again once when the connection ends before an
      answer, so one failed KUBE_PING attempt takes ``inject(Fault.drop(), times=2)``.
    * ``Fault.handshake()`` — close the connection during the TLS handshake (before any HTTP; counted in
      ``connection_faults``, not in ``requests``). On plain HTTP: close right after accepting.
    """

    kind: FaultKind
    code: int = 200
    seconds: float = 0.0
    body: bytes = b""
    content_type: str = "application/json"
    message: str | None = None
    reason: str | None = None
    retry_after: int | None = None
    size: int = 0

    @classmethod
    def status(
        cls, code: int, message: str | None = None, *, reason: str | None = None, retry_after: int | None = None
    ) -> Fault:
        return cls("status", code=code, message=message, reason=reason, retry_after=retry_after)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls("delay", seconds=seconds)

    @classmethod
    def garbage(cls, body: bytes = b'{"kind":"PodList","items":[{"metadata":\x00\xff garbage }}}') -> Fault:
        return cls("garbage", body=body)

    @classmethod
    def truncated(cls) -> Fault:
        return cls("truncated")

    @classmethod
    def cut(cls) -> Fault:
        return cls("cut")

    @classmethod
    def html(cls, status: int = 200) -> Fault:
        page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Proxy login</h1></body></html>"
        return cls("raw", code=status, body=page, content_type="text/html; charset=utf-8")

    @classmethod
    def raw(cls, status: int, content_type: str, body: bytes) -> Fault:
        return cls("raw", code=status, body=body, content_type=content_type)

    @classmethod
    def huge(cls, mb: float = 10) -> Fault:
        return cls("huge", size=int(mb * 1024 * 1024))

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def handshake(cls) -> Fault:
        return cls("handshake")

    def describe(self) -> str:
        if self.kind == "status":
            return f"status {self.code}"
        if self.kind == "delay":
            return f"delay {self.seconds}s"
        if self.kind == "raw":
            return f"raw {self.code} {self.content_type}"
        if self.kind == "huge":
            return f"huge {self.size} bytes"
        return self.kind


@dataclass
class Armed:
    fault: Fault
    remaining: int | None  # None: forever


# --- records -----------------------------------------------------------------------------------------


@dataclass
class ApiRequest:
    """One HTTP request as the server saw it (no token text, ever)."""

    seq: int
    method: str
    path: str
    query: str
    has_authorization: bool
    client_cert_cn: str | None = None
    user: str | None = None
    status: int | None = None
    fault: str | None = None

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    @property
    def label_selector(self) -> str | None:
        vals = self.params.get("labelSelector")
        return vals[0] if vals else None

    @property
    def namespace(self) -> str | None:
        parts = self.path.strip("/").split("/")
        if len(parts) >= 4 and parts[:3] == ["api", "v1", "namespaces"]:
            return parts[3]
        return None


@dataclass(frozen=True)
class TlsFailure:
    """A connection whose TLS handshake failed (e.g. the client refused our certificate)."""

    client: str
    error: str
