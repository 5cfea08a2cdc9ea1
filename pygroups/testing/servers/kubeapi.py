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

Real I/O and threads: this package is a test server, not part of the sans-IO core. The pieces: pods
(`kube_pods`), faults and records (`kube_faults`), tokens and TLS material (`kube_auth`), HTTP plumbing
(`kube_http`), state and controls (`kube_state`), answers (`kube_answers`); this module assembles the server.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import shutil
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from pygroups.testing.servers.kube_answers import ApiAnswers
from pygroups.testing.servers.kube_auth import Token, default_hosts, shared_tls
from pygroups.testing.servers.kube_faults import ApiRequest, Armed, Fault, TlsFailure, status_body
from pygroups.testing.servers.kube_http import HttpServer, hard_close
from pygroups.testing.servers.kube_pods import make_pod, pod_list

if TYPE_CHECKING:  # cryptography is optional: imported at run time only when TLS is on
    from pygroups.testing.servers.tlsca import CertificateAuthority, IssuedCert

__all__ = [
    "ApiRequest",
    "Fault",
    "KubeApiServer",
    "TlsFailure",
    "make_pod",
    "pod_list",
    "status_body",
]

ClientCertMode = Literal["none", "optional", "required"]


# --- the server --------------------------------------------------------------------------------------


class KubeApiServer(ApiAnswers):
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
        self._tokens: dict[str, Token] = {}
        self._current_token = ""
        self._forbidden: set[str] = set()
        self._forbid_all = False
        self._faults: list[Armed] = []
        self._requests: list[ApiRequest] = []
        self._seq = itertools.count(1)
        self._tls_failures: list[TlsFailure] = []
        self._connection_faults = 0
        self._connections = 0
        self._open: set[socket.socket] = set()
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._context: ssl.SSLContext | None = None

        self.ca_file = ""
        self.ca: CertificateAuthority | None = ca
        cert: IssuedCert
        if tls:
            server_hosts = tuple(hosts or default_hosts(host))
            if ca is None and server_cert is None:
                self.ca, cert = shared_tls(server_hosts)
            else:
                from pygroups.testing.servers.tlsca import CertificateAuthority

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
        httpd = HttpServer(self, (self.host, self.port), family)
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
            hard_close(c)
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
    """``python -m pygroups.testing.servers.kubeapi``: serve pods from a JSON file until interrupted."""
    ap = argparse.ArgumentParser(prog="python -m pygroups.testing.servers.kubeapi", description=main.__doc__)
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
