"""A Kubernetes API server stand-in for discovery tests: pods, label selectors, tokens, RBAC, TLS, faults.

It serves the two calls pod discovery makes — ``GET /api/v1/namespaces/{ns}/pods`` and
``GET /api/v1/pods`` (all namespaces), each with an optional ``labelSelector`` — with the JSON shapes,
status codes and ``Status`` bodies of a real API server, over HTTPS signed by its own CA (or plain HTTP).
The official ``kubernetes`` Python client and Java's KUBE_PING (``HttpsURLConnection``) both read it.

    with KubeApiServer() as api:
        api.add_pod(make_pod("cache-0", "127.0.0.2", labels={"app": "cache"}))
        # point a client at api.url with api.ca_file and the token in api.token_file
        api.forbid("default")                     # list pods -> 403 with the real RBAC message
        api.inject(Fault.status(500), times=2)    # the next two requests fail
        assert api.request_count == ...

Authentication: a bearer token (JWT-shaped, with the service account in ``sub``) is written to
``token_file`` like the projected service-account token; ``rotate_token()`` writes a new one and can
expire the old one (-> 401). With ``client_certs="required"`` (mTLS) a verified client certificate
authenticates as its CN, as the API server does. Requests without credentials get 401 (or, with
``anonymous=True``, are ``system:anonymous`` and get 403 like a default cluster).

Faults (:class:`Fault`) apply to the next N requests (``times``) or to all (``times=None``), first
injected first: an HTTP status with a Status body, a delay before the normal answer, garbage or
truncated JSON, a non-JSON content type, a huge answer, a connection closed without an answer or in the
middle of the body, a TCP reset, and a connection closed during the TLS handshake.

Every HTTP request is recorded in :attr:`KubeApiServer.requests` (method, path, raw query, whether an
Authorization header was sent, the user, the status); token texts are never recorded or shown in a repr.
``wait_for(predicate)`` / ``wait_for_requests(n)`` let tests that drive a real event loop wait for the
server instead of sleeping. HTTP/1.1 with keep-alive and Content-Length (``chunked_threshold=2048`` for
Go's chunked answers), as Java's ``HttpsURLConnection`` and urllib3 expect.

Real I/O and threads: this module is a test server, not part of the sans-IO core.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import datetime as dt
import hashlib
import http.server
import itertools
import json
import logging
import secrets
import shutil
import socket
import socketserver
import ssl
import struct
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pygroups.testing.labels import LabelSelectorError, Selector, parse_selector

if TYPE_CHECKING:  # cryptography is optional: imported at run time only when TLS is on
    from pygroups.testing.tlsca import CertificateAuthority, IssuedCert

__all__ = [
    "ApiRequest",
    "Fault",
    "KubeApiServer",
    "TlsFailure",
    "make_pod",
    "pod_list",
    "status_body",
]

log = logging.getLogger(__name__)

ClientCertMode = Literal["none", "optional", "required"]

_BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_UID_NAMESPACE = uuid.UUID("6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b")


def _ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- pods --------------------------------------------------------------------------------------------


def make_pod(
    name: str,
    ip: str | None = None,
    *,
    namespace: str = "default",
    labels: Mapping[str, str] | None = None,
    phase: str = "Running",
    ready: bool | None = None,
    containers_ready: bool | Sequence[bool] | None = None,
    containers: Sequence[str] = ("app",),
    message: str | None = None,
    reason: str | None = None,
    deleting: bool | str = False,
    pod_ips: Sequence[str] | None = None,
    host_ip: str | None = "10.0.0.10",
    node_name: str | None = "node-1",
    pod_template_hash: str | None = None,
    controller_revision_hash: str | None = None,
    deployment: str | None = None,
    generate_name: str | None = None,
    annotations: Mapping[str, str] | None = None,
    ports: Sequence[int] = (7800,),
    image: str = "example/app:1.0",
    uid: str | None = None,
    creation_timestamp: str | None = None,
) -> dict[str, Any]:
    """A pod as the API server returns it in a ``PodList`` (``kind``/``apiVersion`` are list-level).

    ``ip`` is ``status.podIP`` (``None``: no IP yet, the key is absent). ``pod_ips`` sets ``status.podIPs``
    (default ``[ip]``). ``ready`` sets the ``Ready`` condition (default: ``phase == "Running"``);
    ``containers_ready`` the ``ContainersReady`` condition and each container status's ``ready`` (default
    ``ready``; a sequence gives one flag per container). ``message``/``reason`` go to ``status``
    (``reason="NodeLost"``, ``"Evicted"``...). ``deleting`` adds a ``deletionTimestamp`` (``True`` or the
    timestamp). The generation helpers add the labels KUBE_PING's rolling-update split reads:
    ``pod_template_hash`` (Deployment/ReplicaSet), ``controller_revision_hash`` (StatefulSet) and
    ``deployment`` (OpenShift DeploymentConfig); they also shape ``generateName`` and ``ownerReferences``.
    """
    is_ready = (phase == "Running") if ready is None else ready
    flags: list[bool]
    names = list(containers)
    if containers_ready is None or isinstance(containers_ready, bool):
        flags = [is_ready if containers_ready is None else containers_ready] * len(names)
    else:
        flags = list(containers_ready)
        if len(flags) != len(names):
            names = [names[0] if names else "app"] + [f"sidecar-{i}" for i in range(1, len(flags))]
    all_containers_ready = all(flags)

    created = creation_timestamp or _ts(_BASE_TIME)
    lab = dict(labels or {})
    owner: dict[str, Any] | None = None
    if pod_template_hash is not None:
        lab["pod-template-hash"] = pod_template_hash
        base = name.rsplit("-", 2)[0] if name.count("-") >= 2 else name
        rs = f"{base}-{pod_template_hash}"
        generate_name = generate_name or rs + "-"
        owner = {"kind": "ReplicaSet", "name": rs}
    if controller_revision_hash is not None:
        lab["controller-revision-hash"] = controller_revision_hash
        sts = name.rsplit("-", 1)[0] if "-" in name else name
        generate_name = generate_name or sts + "-"
        owner = {"kind": "StatefulSet", "name": sts}
    if deployment is not None:
        lab["deployment"] = deployment
        lab.setdefault("deploymentconfig", deployment.rsplit("-", 1)[0])
        owner = owner or {"kind": "ReplicationController", "name": deployment}

    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid or str(uuid.uuid5(_UID_NAMESPACE, f"{namespace}/{name}")),
        "resourceVersion": "1",
        "creationTimestamp": created,
    }
    if generate_name:
        metadata["generateName"] = generate_name
    if lab:
        metadata["labels"] = lab
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1" if owner["kind"] != "ReplicationController" else "v1",
                "kind": owner["kind"],
                "name": owner["name"],
                "uid": str(uuid.uuid5(_UID_NAMESPACE, f"{namespace}/{owner['kind']}/{owner['name']}")),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    if deleting:
        metadata["deletionTimestamp"] = (
            deleting if isinstance(deleting, str) else _ts(_BASE_TIME + dt.timedelta(hours=1))
        )
        metadata["deletionGracePeriodSeconds"] = 30

    spec: dict[str, Any] = {
        "containers": [
            {
                "name": c,
                "image": image,
                "ports": [{"name": "jgroups", "containerPort": p, "protocol": "TCP"} for p in ports] if i == 0 else [],
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
            }
            for i, c in enumerate(names)
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "schedulerName": "default-scheduler",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
    }
    if node_name:
        spec["nodeName"] = node_name

    started = _ts(_BASE_TIME + dt.timedelta(seconds=1))

    def cond(kind: str, ok: bool | str, why: str | None = None, text: str | None = None) -> dict[str, Any]:
        c: dict[str, Any] = {
            "type": kind,
            "status": ok if isinstance(ok, str) else ("True" if ok else "False"),
            "lastProbeTime": None,
            "lastTransitionTime": started,
        }
        if why:
            c["reason"] = why
        if text:
            c["message"] = text
        return c

    unready = [n for n, f in zip(names, flags, strict=True) if not f]
    not_ready_text = f"containers with unready status: [{' '.join(unready)}]" if unready else None
    ready_reason = {"Succeeded": "PodCompleted", "Failed": "PodFailed"}.get(phase, "ContainersNotReady")
    conditions = [
        cond("PodReadyToStartContainers", phase != "Pending"),
        cond("Initialized", True),
        cond("Ready", is_ready, None if is_ready else ready_reason, None if is_ready else not_ready_text),
        cond(
            "ContainersReady",
            all_containers_ready,
            None if all_containers_ready else ready_reason,
            None if all_containers_ready else not_ready_text,
        ),
        cond("PodScheduled", True),
    ]

    def container_status(i: int, cname: str, ok: bool) -> dict[str, Any]:
        state: dict[str, Any]
        if phase == "Pending":
            state = {"waiting": {"reason": "ContainerCreating"}}
        elif phase in ("Succeeded", "Failed"):
            code = 0 if phase == "Succeeded" else 1
            state = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": started,
                    "finishedAt": _ts(_BASE_TIME + dt.timedelta(minutes=5)),
                    "containerID": _container_id(namespace, name, cname),
                }
            }
        else:
            state = {"running": {"startedAt": started}}
        cs: dict[str, Any] = {
            "name": cname,
            "state": state,
            "lastState": {},
            "ready": ok,
            "restartCount": 0,
            "image": image,
            "imageID": "docker.io/" + image.split(":")[0] + "@sha256:" + hashlib.sha256(image.encode()).hexdigest(),
            "started": phase == "Running",
        }
        if phase != "Pending":
            cs["containerID"] = _container_id(namespace, name, cname)
        return cs

    status: dict[str, Any] = {"phase": phase, "conditions": conditions}
    if message is not None:
        status["message"] = message
    if reason is not None:
        status["reason"] = reason
    if host_ip:
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
    if ip is not None:
        status["podIP"] = ip
    ips = list(pod_ips) if pod_ips is not None else ([ip] if ip else [])
    if ips:
        status["podIPs"] = [{"ip": a} for a in ips]
    status["startTime"] = created
    status["containerStatuses"] = [container_status(i, c, f) for i, (c, f) in enumerate(zip(names, flags, strict=True))]
    status["qosClass"] = "BestEffort"
    return {"metadata": metadata, "spec": spec, "status": status}


def _container_id(namespace: str, pod: str, container: str) -> str:
    return "containerd://" + hashlib.sha256(f"{namespace}/{pod}/{container}".encode()).hexdigest()


def pod_list(pods: Iterable[Mapping[str, Any]], resource_version: str = "1") -> dict[str, Any]:
    """A ``PodList`` document around ``pods``."""
    return {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": resource_version},
        "items": [dict(p) for p in pods],
    }


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


_REASONS = {
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


def _forbidden_message(user: str, namespace: str | None, verb: str = "list") -> str:
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
class _Armed:
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


@dataclass
class _Token:
    user: str
    namespaces: frozenset[str] | None  # None: every namespace and the cluster scope
    expires_at: float | None = None  # wall-clock seconds; None: never
    valid: bool = True

    def usable(self) -> bool:
        return self.valid and (self.expires_at is None or time.time() < self.expires_at)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _make_jwt(namespace: str, service_account: str, lifetime: dt.timedelta) -> str:
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


# --- HTTP plumbing -----------------------------------------------------------------------------------


_CHUNK = 32 * 1024


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, owner: KubeApiServer, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn); skip that slow, useless lookup
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        return self.owner._accepted(sock), addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.owner._serve_connection(request, client_address, lambda: _Handler(request, client_address, self))

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("kubeapi: error while serving %s", client_address, exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pygroups-kubeapi"
    sys_version = ""
    timeout = 60  # idle keep-alive connections end after this
    server: _HttpServer
    record: ApiRequest | None = None

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("kubeapi %s: " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self.server.owner._handle(self)

    def _not_allowed(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.owner._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _not_allowed

    # helpers used by the server logic
    def send_body(
        self, code: int, body: bytes, content_type: str = "application/json", headers: Mapping[str, str] | None = None
    ) -> None:
        self.server.owner._answered(self.record, code)
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.UUID(bytes=secrets.token_bytes(16))))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        threshold = self.server.owner.chunked_threshold
        if threshold is not None and len(body) > threshold:
            # what Go's net/http (so the real API server) does with an answer larger than its buffer
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                for i in range(0, len(body), _CHUNK):
                    piece = body[i : i + _CHUNK]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, code: int, doc: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_body(code, json.dumps(doc, separators=(",", ":")).encode(), headers=headers)


def _hard_close(sock: socket.socket, reset: bool = False) -> None:
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's shutdown, never the TLS one
    except OSError:
        pass
    with contextlib.suppress(OSError):
        socket.socket.close(sock)


# --- the server --------------------------------------------------------------------------------------


class KubeApiServer:
    """An in-process Kubernetes API server for pod discovery tests (see the module docstring).

    TLS: unless ``ca`` or ``server_cert`` is given, every server of the process shares one default CA and
    server certificate (for 127.0.0.1, localhost, ::1 and ``host``), because generating RSA keys is slow;
    pass ``ca=CertificateAuthority()`` when a test needs a CA of its own. ``client_certs`` asks clients
    for a certificate signed by ``ca`` (``"optional"`` or ``"required"``, i.e. mTLS).

    Bodies carry a Content-Length; ``chunked_threshold=2048`` sends larger ones chunked instead, as the
    real API server (Go's net/http) does.

    Files (under ``workdir``, a temporary directory removed by ``close()``/``__exit__`` unless given):
    ``ca_file`` (the CA that signed the server certificate, like the service-account ``ca.crt``) and
    ``token_file`` (the current service-account token). ``start()``/``stop()`` may be repeated: a restart
    binds the same port, so clients see the API go down and come back.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = True,
        client_certs: ClientCertMode = "none",
        anonymous: bool = False,
        chunked_threshold: int | None = None,
        namespace: str = "default",
        service_account: str = "default",
        ca: CertificateAuthority | None = None,
        server_cert: IssuedCert | None = None,
        hosts: Sequence[str] | None = None,
        workdir: str | Path | None = None,
        pods: Iterable[Mapping[str, Any]] = (),
        token_lifetime: dt.timedelta = dt.timedelta(days=365),
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.client_certs: ClientCertMode = client_certs
        self.anonymous = anonymous
        self.chunked_threshold = chunked_threshold
        self.namespace = namespace
        self.service_account = service_account
        self.token_lifetime = token_lifetime
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="kubeapi-")) if workdir is None else Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._pods: dict[tuple[str, str], dict[str, Any]] = {}
        self._resource_version = itertools.count(100)
        self._rv = "100"
        self._tokens: dict[str, _Token] = {}
        self._current_token = ""
        self._forbidden: set[str] = set()
        self._forbid_all = False
        self._faults: list[_Armed] = []
        self._requests: list[ApiRequest] = []
        self._seq = itertools.count(1)
        self._tls_failures: list[TlsFailure] = []
        self._connection_faults = 0
        self._connections = 0
        self._open: set[socket.socket] = set()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._context: ssl.SSLContext | None = None

        self.ca_file = ""
        self.ca: CertificateAuthority | None = ca
        cert: IssuedCert
        if tls:
            server_hosts = tuple(hosts or _default_hosts(host))
            if ca is None and server_cert is None:
                self.ca, cert = _shared_tls(server_hosts)
            else:
                from pygroups.testing.tlsca import CertificateAuthority

                self.ca = ca if ca is not None else CertificateAuthority("pygroups kubeapi CA")
                cert = server_cert or self.ca.issue_server_cert(server_hosts)
            assert self.ca is not None
            self.ca_file = str(self.ca.write_ca(self.workdir / "ca.crt"))
            files = cert.write(self.workdir, "server")
            self._cert_files = (str(files.cert), str(files.key))
        self.token_file = str(self.workdir / "token")
        self._current_token = self.add_token()
        self._write_token_file(self._current_token)
        for p in pods:
            self.add_pod(p)

    # -- lifecycle --

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> KubeApiServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        if self.tls and self._context is None:
            self._context = self._make_context()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        httpd = _HttpServer(self, (self.host, self.port), family)
        self.port = httpd.server_port
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.name = f"kubeapi-{self.port}"
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (the port stays reserved for a restart)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns = list(self._open)
        for c in conns:
            _hard_close(c)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        """Stop and remove the temporary files."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KubeApiServer(url={self.url!r}, running={self.running})"

    def _make_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(*self._cert_files)
        if self.client_certs != "none":
            ctx.verify_mode = ssl.CERT_REQUIRED if self.client_certs == "required" else ssl.CERT_OPTIONAL
            assert self.ca is not None
            ctx.load_verify_locations(cadata=self.ca.cert_pem.decode("ascii"))
        return ctx

    # -- tokens and RBAC --

    @property
    def token(self) -> str:
        """The current valid service-account token (the content of ``token_file``)."""
        return self._current_token

    def add_token(
        self,
        token: str | None = None,
        *,
        service_account: str | None = None,
        namespace: str | None = None,
        namespaces: Iterable[str] | None = None,
        user: str | None = None,
        lifetime: dt.timedelta | None = None,
    ) -> str:
        """Register a valid token and return it.

        The identity is ``system:serviceaccount:<namespace>:<service_account>`` (defaults: the server's) or
        ``user``. ``namespaces`` limits where it may list pods (a Role per namespace); ``None`` grants
        every namespace and the cluster scope (a ClusterRole). A generated token is a JWT whose ``exp`` is
        ``lifetime`` (default: the server's ``token_lifetime``) from now; with an explicit ``lifetime`` the
        server also rejects it (401) once that has passed (a negative one makes an already expired token).
        """
        sa_ns = namespace or self.namespace
        sa = service_account or self.service_account
        text = token or _make_jwt(sa_ns, sa, lifetime or self.token_lifetime)
        who = user or f"system:serviceaccount:{sa_ns}:{sa}"
        expires = None if lifetime is None else time.time() + lifetime.total_seconds()
        with self._lock:
            self._tokens[text] = _Token(who, None if namespaces is None else frozenset(namespaces), expires)
        return text

    def revoke_token(self, token: str) -> None:
        """Make ``token`` invalid (expired): requests carrying it get 401."""
        with self._lock:
            t = self._tokens.get(token)
            if t is not None:
                t.valid = False

    def rotate_token(self, *, expire_old: bool = False) -> str:
        """Issue a new token for the same identity, write it to ``token_file``; optionally expire the old."""
        with self._lock:
            old = self._current_token
            info = self._tokens[old]
            new = _make_jwt(self.namespace, self.service_account, self.token_lifetime)
            self._tokens[new] = _Token(info.user, info.namespaces)
            self._current_token = new
            self._write_token_file(new)
            if expire_old:
                info.valid = False
        return new

    def _write_token_file(self, text: str) -> None:
        p = Path(self.token_file)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(text)  # no trailing newline, like the kubelet's projected token
        tmp.replace(p)  # atomic, as the kubelet's symlink swap is

    def forbid(self, namespace: str | None = None) -> None:
        """``list pods`` in ``namespace`` answers 403 for every user (``None``: every namespace and the
        cluster scope) — the RoleBinding is missing."""
        with self._lock:
            if namespace is None:
                self._forbid_all = True
            else:
                self._forbidden.add(namespace)

    def allow(self, namespace: str | None = None) -> None:
        """Undo ``forbid`` (``None``: undo all of them)."""
        with self._lock:
            if namespace is None:
                self._forbid_all = False
                self._forbidden.clear()
            else:
                self._forbidden.discard(namespace)

    def _permitted(self, user: str, token: _Token | None, namespace: str | None) -> bool:
        if user == "system:anonymous" or self._forbid_all:
            return False
        if namespace is not None and namespace in self._forbidden:
            return False
        if token is not None and token.namespaces is not None:
            return namespace is not None and namespace in token.namespaces
        return True

    # -- pods --

    def add_pod(self, pod: Mapping[str, Any]) -> None:
        """Add or replace a pod (a ``make_pod`` dict or any pod JSON with ``metadata.name``)."""
        doc = copy.deepcopy(dict(pod))
        meta = doc.setdefault("metadata", {})
        if not isinstance(meta.get("name"), str):
            raise ValueError("a pod needs metadata.name")
        ns = meta.setdefault("namespace", "default")
        with self._lock:
            self._rv = str(next(self._resource_version))
            meta["resourceVersion"] = self._rv
            self._pods[(ns, meta["name"])] = doc

    def add_pods(self, pods: Iterable[Mapping[str, Any]]) -> None:
        for p in pods:
            self.add_pod(p)

    def set_pods(self, namespace: str, pods: Iterable[Mapping[str, Any]]) -> None:
        """Replace every pod of ``namespace`` by ``pods`` (their namespace is set to ``namespace``)."""
        with self._lock:
            for key in [k for k in self._pods if k[0] == namespace]:
                del self._pods[key]
            for p in pods:
                doc = copy.deepcopy(dict(p))
                doc.setdefault("metadata", {})["namespace"] = namespace
                self.add_pod(doc)
            self._rv = str(next(self._resource_version))

    def remove_pod(self, name: str, namespace: str = "default") -> bool:
        with self._lock:
            found = self._pods.pop((namespace, name), None) is not None
            if found:
                self._rv = str(next(self._resource_version))
            return found

    def clear(self) -> None:
        """Remove every pod."""
        with self._lock:
            self._pods.clear()
            self._rv = str(next(self._resource_version))

    def pods(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """Copies of the stored pods (of one namespace, or all), in API order (namespace, then name)."""
        with self._lock:
            return [copy.deepcopy(p) for (ns, _), p in sorted(self._pods.items()) if namespace in (None, ns)]

    # -- faults --

    def inject(self, fault: Fault, times: int | None = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests (``None``: until ``clear_faults``).

        Several injected faults are used in order: the first still armed applies. ``Fault.handshake()``
        counts connections instead of requests.
        """
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._faults.append(_Armed(fault, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, connection_level: bool) -> Fault | None:
        with self._lock:
            for armed in self._faults:
                if (armed.fault.kind == "handshake") != connection_level:
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        self._faults.remove(armed)
                return armed.fault
        return None

    # -- records --

    @property
    def requests(self) -> list[ApiRequest]:
        """A snapshot of every HTTP request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` requests were received (for tests driving a real event loop)."""
        return self.wait_for(lambda: len(self._requests) >= count, timeout)

    def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` is true; re-checked whenever a request, answer or TLS failure
        is recorded. Returns False on timeout."""
        with self._changed:
            return bool(self._changed.wait_for(predicate, timeout))

    @property
    def tls_failures(self) -> list[TlsFailure]:
        with self._lock:
            return list(self._tls_failures)

    @property
    def connection_count(self) -> int:
        with self._lock:
            return self._connections

    @property
    def connection_faults(self) -> int:
        with self._lock:
            return self._connection_faults

    # -- connection handling (server threads) --

    def _accepted(self, sock: socket.socket) -> socket.socket:
        if self._context is None:
            return sock
        return self._context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)

    def _serve_connection(self, sock: socket.socket, client: Any, run: Any) -> None:
        with self._lock:
            self._open.add(sock)
            self._connections += 1
        try:
            fault = self._take_fault(connection_level=True)
            if fault is not None:
                with self._lock:
                    self._connection_faults += 1
                    self._changed.notify_all()
                try:  # let the ClientHello arrive, then hang up in the middle of the handshake
                    socket.socket.settimeout(sock, 2.0)
                    socket.socket.recv(sock, 65536)
                except OSError:
                    pass
                _hard_close(sock)
                return
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(10.0)
                try:
                    sock.do_handshake()
                except (ssl.SSLError, OSError) as e:
                    with self._lock:
                        self._tls_failures.append(TlsFailure(str(client[0]), f"{type(e).__name__}: {e}"))
                        self._changed.notify_all()
                    log.debug("kubeapi: TLS handshake with %s failed: %s", client, e)
                    return
                sock.settimeout(None)
            run()
        finally:
            with self._lock:
                self._open.discard(sock)

    # -- request handling --

    def _handle(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        cn = _peer_cn(h.connection)
        with self._lock:
            rec = ApiRequest(
                seq=next(self._seq),
                method=h.command,
                path=parts.path,
                query=parts.query,
                has_authorization="Authorization" in h.headers,
                client_cert_cn=cn,
            )
            self._requests.append(rec)
            self._changed.notify_all()
        h.record = rec
        self._answer(h, rec, parts.path, parts.query, cn)

    def _answered(self, rec: ApiRequest | None, status: int) -> None:
        # set before the answer goes out, so a client that got it also sees the status recorded
        with self._lock:
            if rec is not None:
                rec.status = status
            self._changed.notify_all()

    def _answer(self, h: _Handler, rec: ApiRequest, path: str, query: str, cn: str | None) -> int:
        fault = self._take_fault(connection_level=False)
        if fault is not None:
            rec.fault = fault.describe()
            if fault.kind == "delay":
                if self._stopping.wait(fault.seconds):
                    h.close_connection = True
                    return 0
            else:
                done = self._apply_fault(h, fault, path, query)
                if done is not None:
                    return done

        # authentication: client certificate first, then bearer token, then anonymous
        token: _Token | None = None
        user: str | None = cn
        if user is None:
            auth = h.headers.get("Authorization")
            if auth is not None:
                scheme, _, text = auth.strip().partition(" ")
                with self._lock:
                    token = self._tokens.get(text.strip()) if scheme.lower() == "bearer" else None
                if token is None or not token.usable():
                    return self._status(h, 401)
                user = token.user
            elif self.anonymous:
                user = "system:anonymous"
            else:
                return self._status(h, 401)
        rec.user = user

        if h.command != "GET":
            return self._status(h, 405)
        if path in ("/version", "/version/"):
            h.send_json(200, _VERSION)
            return 200
        segs = [s for s in path.split("/") if s]
        namespace: str | None
        name: str | None = None
        if segs == ["api", "v1", "pods"]:
            namespace = None
        elif len(segs) in (5, 6) and segs[:3] == ["api", "v1", "namespaces"] and segs[4] == "pods":
            namespace = unquote(segs[3])
            name = unquote(segs[5]) if len(segs) == 6 else None
        else:
            return self._status(h, 404)

        with self._lock:
            allowed = self._permitted(user, token, namespace)
        if not allowed:
            verb = "get" if name else "list"
            return self._status(h, 403, _forbidden_message(user, namespace, verb), details={"kind": "pods"})

        if name is not None:
            with self._lock:
                pod = copy.deepcopy(self._pods.get((namespace or "", name)))
            if pod is None:
                return self._status(h, 404, f'pods "{name}" not found', details={"name": name, "kind": "pods"})
            h.send_json(200, {"kind": "Pod", "apiVersion": "v1", **pod})
            return 200

        params = parse_qs(query, keep_blank_values=True)  # decodes '+' and %20 alike, as the API server
        selector_text = (params.get("labelSelector") or [""])[0]
        try:
            selector = parse_selector(selector_text)
        except LabelSelectorError as e:
            return self._status(h, 400, str(e))
        h.send_json(200, self._list(namespace, selector))
        return 200

    def _list(self, namespace: str | None, selector: Selector) -> dict[str, Any]:
        with self._lock:
            items = [
                copy.deepcopy(p)
                for (ns, _), p in sorted(self._pods.items())
                if namespace in (None, ns) and selector.matches(p.get("metadata", {}).get("labels"))
            ]
            return pod_list(items, self._rv)

    def _status(
        self,
        h: _Handler,
        code: int,
        message: str | None = None,
        *,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        default_reason, default_message = _REASONS.get(code, (HTTPStatus(code).phrase.replace(" ", ""), ""))
        body = status_body(code, message or default_message, reason or default_reason, details)
        h.send_json(code, body, headers=headers)
        return code

    def _apply_fault(self, h: _Handler, fault: Fault, path: str, query: str) -> int | None:
        kind = fault.kind
        if kind == "status":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            if fault.code == 403 and fault.message is None:
                segs = [s for s in path.split("/") if s]
                ns = segs[3] if len(segs) >= 4 and segs[2] == "namespaces" else None
                user = f"system:serviceaccount:{self.namespace}:{self.service_account}"
                return self._status(h, 403, _forbidden_message(user, ns), details={"kind": "pods"}, headers=headers)
            return self._status(h, fault.code, fault.message, reason=fault.reason, headers=headers)
        if kind in ("garbage", "raw"):
            h.send_body(fault.code, fault.body, fault.content_type)
            return fault.code
        if kind in ("truncated", "cut", "huge"):
            body = json.dumps(self._list_for(path, query), separators=(",", ":")).encode()
            if kind == "truncated":
                h.send_body(200, body[: len(body) // 2])
                return 200
            if kind == "huge":
                doc = json.loads(body)
                doc["padding"] = "x" * max(0, fault.size - len(body))
                h.send_json(200, doc)
                return 200
            # cut: promise the whole body, send half, hang up
            self._answered(h.record, 200)
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            _hard_close(h.connection)
            return 200
        if kind in ("drop", "reset"):
            h.close_connection = True
            _hard_close(h.connection, reset=kind == "reset")
            return 0
        return None

    def _list_for(self, path: str, query: str) -> dict[str, Any]:
        segs = [s for s in path.split("/") if s]
        ns = segs[3] if len(segs) >= 5 and segs[2] == "namespaces" else None
        try:
            sel = parse_selector((parse_qs(query).get("labelSelector") or [""])[0])
        except LabelSelectorError:
            sel = parse_selector("")
        return self._list(ns, sel)


_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-pygroups",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _peer_cn(sock: Any) -> str | None:
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


def _shared_tls(hosts: tuple[str, ...]) -> tuple[CertificateAuthority, IssuedCert]:
    """One default CA and server certificate per process (and host list): RSA key generation is the slow
    part of starting a server, and test suites start many."""
    from pygroups.testing.tlsca import CertificateAuthority

    with _SHARED_TLS_LOCK:
        if hosts not in _SHARED_TLS:
            shared_ca = (
                next(iter(_SHARED_TLS.values()))[0] if _SHARED_TLS else CertificateAuthority("pygroups kubeapi CA")
            )
            _SHARED_TLS[hosts] = (shared_ca, shared_ca.issue_server_cert(hosts))
        return _SHARED_TLS[hosts]


def _default_hosts(host: str) -> tuple[str, ...]:
    hosts = ["127.0.0.1", "localhost", "::1"]
    if host not in hosts and host not in ("0.0.0.0", "::"):
        hosts.insert(0, host)
    return tuple(hosts)


# --- command line ------------------------------------------------------------------------------------


def _load_pods(path: str) -> list[dict[str, Any]]:
    doc = json.loads(Path(path).read_text())
    items = doc.get("items", []) if isinstance(doc, dict) else doc
    return [dict(p) for p in items]


def main(
    argv: Sequence[str] | None = None,
    stop: threading.Event | None = None,
    started: Callable[[KubeApiServer], object] | None = None,
) -> int:
    """``python -m pygroups.testing.kubeapi``: serve pods from a JSON file until interrupted."""
    ap = argparse.ArgumentParser(prog="python -m pygroups.testing.kubeapi", description=main.__doc__)
    ap.add_argument("--pods", help="JSON file: a PodList or a list of pods")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    ap.add_argument("--namespace", default="default", help="namespace of the token's service account")
    ap.add_argument("--ca-out", help="directory for ca.crt and token (default: a temporary directory)")
    args = ap.parse_args(argv)
    server = KubeApiServer(
        host=args.host, port=args.port, tls=not args.http, namespace=args.namespace, workdir=args.ca_out
    )
    if args.pods:
        server.add_pods(_load_pods(args.pods))
    done = stop or threading.Event()
    with server:
        print(f"serving {server.url}  ca_file={server.ca_file or '-'}  token_file={server.token_file}", flush=True)
        if started is not None:
            started(server)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
