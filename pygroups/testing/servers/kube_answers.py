"""How the Kubernetes API stand-in answers (server threads): connection-level faults and TLS handshakes,
authentication (client certificate, bearer token, anonymous), RBAC, the pods list and get calls with label
selectors, and the injected faults. `KubeApiServer` inherits it."""

from __future__ import annotations

import copy
import json
import logging
import socket
import ssl
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pygroups.testing.servers.kube_auth import Token, peer_cn
from pygroups.testing.servers.kube_faults import REASONS, ApiRequest, Fault, TlsFailure, forbidden_message, status_body
from pygroups.testing.servers.kube_http import Handler, hard_close
from pygroups.testing.servers.kube_pods import pod_list
from pygroups.testing.servers.kube_state import ApiState
from pygroups.testing.servers.labels import LabelSelectorError, Selector, parse_selector

__all__ = ["ApiAnswers"]

log = logging.getLogger("pygroups.testing.servers.kubeapi")


class ApiAnswers(ApiState):
    """The request handling of `KubeApiServer` (called from `pygroups.testing.servers.kube_http`)."""

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
                hard_close(sock)
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

    def _handle(self, h: Handler) -> None:
        parts = urlsplit(h.path)
        cn = peer_cn(h.connection)
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

    def _answer(self, h: Handler, rec: ApiRequest, path: str, query: str, cn: str | None) -> int:
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
        token: Token | None = None
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
            h.send_json(200, VERSION)
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
            return self._status(h, 403, forbidden_message(user, namespace, verb), details={"kind": "pods"})

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
        h: Handler,
        code: int,
        message: str | None = None,
        *,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        default_reason, default_message = REASONS.get(code, (HTTPStatus(code).phrase.replace(" ", ""), ""))
        body = status_body(code, message or default_message, reason or default_reason, details)
        h.send_json(code, body, headers=headers)
        return code

    def _apply_fault(self, h: Handler, fault: Fault, path: str, query: str) -> int | None:
        kind = fault.kind
        if kind == "status":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            if fault.code == 403 and fault.message is None:
                segs = [s for s in path.split("/") if s]
                ns = segs[3] if len(segs) >= 4 and segs[2] == "namespaces" else None
                user = f"system:serviceaccount:{self.namespace}:{self.service_account}"
                return self._status(h, 403, forbidden_message(user, ns), details={"kind": "pods"}, headers=headers)
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
            hard_close(h.connection)
            return 200
        if kind in ("drop", "reset"):
            h.close_connection = True
            hard_close(h.connection, reset=kind == "reset")
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


VERSION = {
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
