"""HTTP plumbing of the Kubernetes API stand-in: the threaded server (TLS handshakes on the connection's
own thread) and the request handler that hands every request to its `KubeApiServer`."""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import secrets
import socket
import socketserver
import struct
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pygroups.testing.servers.kube_faults import ApiRequest

if TYPE_CHECKING:
    from pygroups.testing.servers.kubeapi import KubeApiServer

__all__ = ["Handler", "HttpServer", "hard_close"]

log = logging.getLogger("pygroups.testing.servers.kubeapi")

# --- HTTP plumbing -----------------------------------------------------------------------------------


_CHUNK = 32 * 1024


class HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, owner: KubeApiServer, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, Handler)

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
        self.owner._serve_connection(request, client_address, lambda: Handler(request, client_address, self))

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("kubeapi: error while serving %s", client_address, exc_info=True)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pygroups-kubeapi"
    sys_version = ""
    timeout = 60  # idle keep-alive connections end after this
    server: HttpServer
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


def hard_close(sock: socket.socket, reset: bool = False) -> None:
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's shutdown, never the TLS one
    except OSError:
        pass
    with contextlib.suppress(OSError):
        socket.socket.close(sock)
