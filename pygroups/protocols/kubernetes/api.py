"""The values of a Kubernetes pods API call (jgroups-kubernetes 3.0.0 ``Client``): what to ask (`KubeConfig`)
and what came back (`KubeResult`, or a classified `KubeError`).

Plain data, no I/O: KUBE_PING puts a `KubeConfig` into its `ListPods` request and reads the `KubeResult` of
the `PodsListed` answer; the client that makes the call lives at the edge (`pygroups.aio.kubernetes`), and
fakes in tests build results with `KubeResult.from_body` / `KubeResult.failure`.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from pygroups.protocols.kubernetes.pods import ParsedPods, PodListError, parse_pods

__all__ = ["MAX_BODY_BYTES", "ErrorKind", "KubeConfig", "KubeError", "KubeResult"]

#: Largest pod-list answer accepted: ~1,000 pods of typical size fit; a runaway answer does not.
MAX_BODY_BYTES = 8 * 1024 * 1024


class ErrorKind(enum.StrEnum):
    """What went wrong with an API call; values are stable for logs and ``doctor``."""

    UNAUTHORIZED = "unauthorized"  # 401: token missing, expired or not accepted
    FORBIDDEN = "forbidden"  # 403: RBAC does not allow list pods
    NOT_FOUND = "not_found"  # 404: wrong apiVersion/path
    HTTP = "http"  # another 4xx
    SERVER_ERROR = "server_error"  # 5xx
    TIMEOUT = "timeout"  # connect or read timeout
    CONNECTION = "connection"  # refused, unreachable, unknown host, dropped
    TLS = "tls"  # handshake, certificate not trusted, unusable CA/cert file
    TOO_LARGE = "too_large"  # answer above max_body_bytes
    BAD_CONTENT_TYPE = "bad_content_type"  # 200 but not JSON
    MALFORMED = "malformed"  # JSON, but an item of the list is not what a pod looks like
    CONFIG = "config"  # nothing sensible to send (negative timeouts, no attempts)


@dataclass(frozen=True, slots=True)
class KubeError:
    """One classified failure. ``message`` is safe to log (never contains the token)."""

    kind: ErrorKind
    message: str
    status: int | None = None
    reason: str | None = None  # the API server's Status.reason ("Forbidden", ...)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True, slots=True)
class KubeResult:
    """The outcome of one pods API call (what KUBE_PING gets back in `PodsListed`).

    On success ``body`` is the raw answer and ``pods``/``parse_error`` its parsed form (a parse error is
    not an API failure: Java logs it at ERROR and discovers nobody). On failure ``error`` says why.
    ``service_account`` (``namespace:name``) comes from the token's claims or a 403 answer, when known.
    """

    url: str
    body: str | None = None
    error: KubeError | None = None
    attempts: int = 1
    pods: ParsedPods | None = None
    parse_error: PodListError | None = None
    service_account: str | None = None
    insecure: bool = False  # the CA file was missing: TLS without verification
    token_sent: bool | None = None  # an Authorization header went out (None: client-certificate mode)
    content_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_body(cls, url: str, body: str | bytes, **kwargs: Any) -> KubeResult:
        """A successful answer, parsed like Java's ``parseJsonResult`` (for fakes too)."""
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        try:
            return cls(url, text, pods=parse_pods(text), **kwargs)
        except PodListError as e:
            return cls(url, text, parse_error=e, **kwargs)

    @classmethod
    def failure(cls, url: str, error: KubeError, **kwargs: Any) -> KubeResult:
        return cls(url, error=error, **kwargs)


def _bracket(host: str | None) -> str:
    """An IPv6 literal host in brackets (Java does not, and builds a malformed URL)."""
    if host is None:
        return "null"  # Java's String.format of a null host; the request then fails to resolve it
    if ":" in host and not host.startswith("["):
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return host
        return f"[{host}]"
    return host


@dataclass(frozen=True, slots=True)
class KubeConfig:
    """The KUBE_PING attributes the client needs (Java names in the comments)."""

    master_protocol: str | None = "https"  # masterProtocol
    master_host: str | None = None  # masterHost
    master_port: int = 0  # masterPort
    api_version: str = "v1"  # apiVersion
    namespace: str = "default"  # namespace ("" = all namespaces)
    labels: str | None = None  # labels (a label selector)
    connect_timeout_ms: int = 5000  # connectTimeout
    read_timeout_ms: int = 30000  # readTimeout
    operation_attempts: int = 3  # operationAttempts
    operation_sleep_ms: int = 1000  # operationSleep
    client_cert_file: str | None = None  # clientCertFile
    client_key_file: str | None = None  # clientKeyFile
    client_key_password: str | None = field(default=None, repr=False)  # clientKeyPassword
    client_key_algo: str = "RSA"  # clientKeyAlgo (informational: the key is read by OpenSSL)
    ca_cert_file: str | None = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"  # caCertFile
    sa_token_file: str | None = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # saTokenFile
    dump_requests: bool = False  # dump_requests
    max_body_bytes: int = MAX_BODY_BYTES

    @property
    def cert_mode(self) -> bool:
        return self.client_cert_file is not None

    @property
    def scheme(self) -> str:
        if self.master_protocol is None:
            return "http" if self.cert_mode else "null"
        return self.master_protocol

    @property
    def host_url(self) -> str:
        return f"{self.scheme}://{_bracket(self.master_host)}:{self.master_port}"

    @property
    def base_url(self) -> str:
        """Java's ``masterUrl``."""
        return f"{self.host_url}/api/{self.api_version}"

    @property
    def path(self) -> str:
        ns = f"/namespaces/{quote_plus(self.namespace)}" if self.namespace else ""
        return f"/api/{self.api_version}{ns}/pods"

    @property
    def url(self) -> str:
        """The request URL as Java prints it (form-encoded selector)."""
        query = f"?labelSelector={quote_plus(self.labels)}" if self.labels else ""
        return f"{self.host_url}{self.path}{query}"

    def info(self) -> str:
        """Java's ``Client.info()`` (no token: Java 3.0 prints ``headers={}``)."""
        provider = "CertificateStreamProvider" if self.cert_mode else "TokenStreamProvider"
        return (f"Client[masterUrl={self.base_url}, headers={{}}, connectTimeout={self.connect_timeout_ms}, "
                f"readTimeout={self.read_timeout_ms}, operationAttempts={self.operation_attempts}, "
                f"operationSleep={self.operation_sleep_ms}, streamProvider={provider}]")
