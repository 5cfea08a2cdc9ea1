"""How `pygroups.aio.kubernetes.KubeClient` words its failures: exceptions of the kubernetes client, urllib3 and
ssl classified as a `KubeError` (never with the token in it), the API server's ``Status`` bodies, and the
service account named by a token's claims or by a 403 answer."""

from __future__ import annotations

import base64
import binascii
import json
import ssl

from pygroups.protocols.kubernetes.api import ErrorKind, KubeConfig, KubeError

__all__ = ["classify", "service_account_of_token", "short", "status_message", "user_of_status"]

_MAX_ERROR_TEXT = 400


def service_account_of_token(token: str | None) -> str | None:
    """``namespace:name`` from a ServiceAccount JWT's claims (no signature check; never the token)."""
    if not token or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(claims, dict):
        return None
    sub = claims.get("sub")
    if isinstance(sub, str) and sub.startswith("system:serviceaccount:") and sub.count(":") == 3:
        _, _, ns, name = sub.split(":")
        return f"{ns}:{name}"
    return None


def user_of_status(message: str) -> str | None:
    """``ns:name`` from a 403 Status message: ``User "system:serviceaccount:ns:name" cannot list ...``."""
    marker = 'User "system:serviceaccount:'
    start = message.find(marker)
    if start < 0:
        return None
    rest = message[start + len(marker):]
    end = rest.find('"')
    parts = rest[:end].split(":") if end > 0 else []
    return f"{parts[0]}:{parts[1]}" if len(parts) == 2 else None


def classify(e: BaseException, config: KubeConfig) -> KubeError:
    """An exception of the kubernetes client / urllib3 / ssl as a KubeError (no token in it)."""
    import urllib3.exceptions as u3
    from kubernetes.client.exceptions import ApiException

    url = config.url
    if isinstance(e, ApiException):
        status = int(e.status or 0)
        if status == 0:  # the kubernetes client wraps urllib3's SSLError this way
            return KubeError(ErrorKind.TLS, f"TLS failure talking to {url}: {short(e.reason)}")
        message, reason = status_message(e.body)
        text = f"Server returned HTTP response code: {status} for URL: {url}"
        if message:
            text += f" ({message})"
        kind = {401: ErrorKind.UNAUTHORIZED, 403: ErrorKind.FORBIDDEN, 404: ErrorKind.NOT_FOUND}.get(status)
        if kind is None:
            kind = ErrorKind.SERVER_ERROR if status >= 500 else ErrorKind.HTTP
        return KubeError(kind, text, status, reason)
    if isinstance(e, u3.MaxRetryError) and e.reason is not None:
        return classify(e.reason, config)
    if isinstance(e, u3.SSLError | ssl.SSLError):
        return KubeError(ErrorKind.TLS, f"TLS failure talking to {url}: {short(e)}")
    # urllib3 2: NameResolutionError < NewConnectionError < ConnectTimeoutError, so the order matters
    if isinstance(e, u3.NameResolutionError):
        return KubeError(ErrorKind.CONNECTION, f"unknown host {config.master_host!r}: {url}")
    if isinstance(e, u3.NewConnectionError):
        return KubeError(ErrorKind.CONNECTION, f"cannot connect to {url}: {short(e)}")
    if isinstance(e, u3.ConnectTimeoutError):
        return KubeError(ErrorKind.TIMEOUT, f"connect timed out after {config.connect_timeout_ms} ms: {url}")
    if isinstance(e, u3.ReadTimeoutError | TimeoutError):
        return KubeError(ErrorKind.TIMEOUT, f"read timed out after {config.read_timeout_ms} ms: {url}")
    if isinstance(e, u3.ProtocolError | u3.HTTPError | OSError):
        return KubeError(ErrorKind.CONNECTION, f"cannot reach {url}: {short(e)}")
    if isinstance(e, ValueError):  # pydantic validation, malformed URL parts
        return KubeError(ErrorKind.CONFIG, f"bad request parameters for {url}: {short(e)}")
    return KubeError(ErrorKind.CONNECTION, f"{type(e).__name__} talking to {url}: {short(e)}")


def short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _MAX_ERROR_TEXT else text[:_MAX_ERROR_TEXT] + "..."


def status_message(body: object) -> tuple[str | None, str | None]:
    """(message, reason) of a Kubernetes ``Status`` error body, or a short text of anything else."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not isinstance(body, str) or not body.strip():
        return None, None
    try:
        status = json.loads(body)
    except ValueError:
        return short(body), None
    if isinstance(status, dict):
        msg, reason = status.get("message"), status.get("reason")
        return (short(msg) if isinstance(msg, str) else None), (reason if isinstance(reason, str) else None)
    return short(body), None
