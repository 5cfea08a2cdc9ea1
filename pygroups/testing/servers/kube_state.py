"""The Kubernetes API stand-in's state and its test-facing controls: tokens and RBAC, pods, faults and the
request records. `KubeApiServer` (in `pygroups.testing.servers.kubeapi`) builds on it; every method takes the
server's lock, so tests may call them while server threads answer."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pygroups.testing.servers.kube_auth import Token, make_jwt
from pygroups.testing.servers.kube_faults import ApiRequest, Armed, Fault, TlsFailure

__all__ = ["ApiState"]


class ApiState:
    """Pods, tokens, RBAC, faults and records of one API stand-in (attributes set by `KubeApiServer`)."""

    namespace: str
    service_account: str
    token_lifetime: dt.timedelta
    token_file: str
    anonymous: bool
    chunked_threshold: int | None
    _lock: threading.RLock
    _changed: threading.Condition
    _stopping: threading.Event
    _pods: dict[tuple[str, str], dict[str, Any]]
    _resource_version: itertools.count[int]
    _rv: str
    _tokens: dict[str, Token]
    _current_token: str
    _forbidden: set[str]
    _forbid_all: bool
    _faults: list[Armed]
    _requests: list[ApiRequest]
    _seq: itertools.count[int]
    _tls_failures: list[TlsFailure]
    _connection_faults: int
    _connections: int
    _open: set[socket.socket]
    _context: ssl.SSLContext | None

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
        text = token or make_jwt(sa_ns, sa, lifetime or self.token_lifetime)
        who = user or f"system:serviceaccount:{sa_ns}:{sa}"
        expires = None if lifetime is None else time.time() + lifetime.total_seconds()
        with self._lock:
            self._tokens[text] = Token(who, None if namespaces is None else frozenset(namespaces), expires)
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
            new = make_jwt(self.namespace, self.service_account, self.token_lifetime)
            self._tokens[new] = Token(info.user, info.namespaces)
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

    def _permitted(self, user: str, token: Token | None, namespace: str | None) -> bool:
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
            self._faults.append(Armed(fault, times))

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
