"""Credentials of the Kubernetes API stand-in: service-account tokens (JWT-shaped, with the account in
``sub``), the client certificate's CN, and the CA and server certificate shared by every stand-in of a process.

Imports ``cryptography`` (through `pygroups.testing.servers.tlsca`) only when TLS material is made."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # cryptography is optional: imported at run time only when TLS is on
    from pygroups.testing.servers.tlsca import CertificateAuthority, IssuedCert

__all__ = ["Token", "default_hosts", "make_jwt", "peer_cn", "shared_tls"]

@dataclass
class Token:
    user: str
    namespaces: frozenset[str] | None  # None: every namespace and the cluster scope
    expires_at: float | None = None  # wall-clock seconds; None: never
    valid: bool = True

    def usable(self) -> bool:
        return self.valid and (self.expires_at is None or time.time() < self.expires_at)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(namespace: str, service_account: str, lifetime: dt.timedelta) -> str:
    """A JWT-shaped token like a projected service-account token (the signature is random, not real)."""
    now = int(time.time())
    header = {"alg": "RS256", "kid": "pygroups-kubeapi"}
    claims = {
        "aud": ["https://kubernetes.default.svc"],
        "exp": now + int(lifetime.total_seconds()),
        "iat": now,
        "iss": "https://kubernetes.default.svc",
        "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": service_account}},
        "nbf": now,
        "sub": f"system:serviceaccount:{namespace}:{service_account}",
    }
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(64)]
    return ".".join(_b64url(p) for p in parts)


def peer_cn(sock: Any) -> str | None:
    if not isinstance(sock, ssl.SSLSocket):
        return None
    try:
        cert = sock.getpeercert()
    except (ValueError, ssl.SSLError):
        return None
    if not cert:
        return None
    subject: Any = cert.get("subject", ())
    for rdn in subject:
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


_SHARED_TLS: dict[tuple[str, ...], tuple[CertificateAuthority, IssuedCert]] = {}
_SHARED_TLS_LOCK = threading.Lock()


def shared_tls(hosts: tuple[str, ...]) -> tuple[CertificateAuthority, IssuedCert]:
    """One default CA and server certificate per process (and host list): RSA key generation is the slow
    part of starting a server, and test suites start many."""
    from pygroups.testing.servers.tlsca import CertificateAuthority

    with _SHARED_TLS_LOCK:
        if hosts not in _SHARED_TLS:
            shared_ca = (
                next(iter(_SHARED_TLS.values()))[0] if _SHARED_TLS else CertificateAuthority("pygroups kubeapi CA")
            )
            _SHARED_TLS[hosts] = (shared_ca, shared_ca.issue_server_cert(hosts))
        return _SHARED_TLS[hosts]


def default_hosts(host: str) -> tuple[str, ...]:
    hosts = ["127.0.0.1", "localhost", "::1"]
    if host not in hosts and host not in ("0.0.0.0", "::"):
        hosts.insert(0, host)
    return tuple(hosts)
