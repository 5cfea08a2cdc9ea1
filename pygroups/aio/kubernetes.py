"""`KubeClient`: the blocking Kubernetes API call of KUBE_PING (jgroups-kubernetes 3.0.0 ``Client`` and
``stream/*``), built on the official ``kubernetes`` Python client, and `KubePodLister`, the driver's
handler of KUBE_PING's `ListPods` request.

KUBE_PING emits `ListPods` (plain data: the `KubeConfig`); the asyncio driver runs
`KubePodLister.list_pods` on a worker thread, so this module may block, sleep and read files (it is at
the edge). ``fetch`` never raises for an expected failure: it returns a `KubeResult` carrying either the
body (already parsed with the Java-tolerant `parse_pods`, off the event loop) or a classified `KubeError`.

Java behaviour kept:
* URL ``<masterProtocol>://<masterHost>:<masterPort>/api/<apiVersion>`` + ``/namespaces/<ns>`` (omitted
  for an empty namespace: all pods of the cluster) + ``/pods`` + ``?labelSelector=<labels>``; GET only.
* Token mode (no ``clientCertFile``): the token file is re-read when the cached copy is older than 60 s
  (or was never read) and at once after a 401, which fails the attempt so the retry uses the new token.
  A missing/unreadable token file means no ``Authorization`` header (the server then answers 401/403).
* ``caCertFile``: every certificate of the PEM bundle is trusted; a missing file or an empty name logs a
  WARN and falls back to *no verification* (Java's insecure trust manager); an unusable file is an error.
* Client-certificate mode (``clientCertFile``/``clientKeyFile``, mutual TLS, no token).
* ``operationAttempts`` tries, ``operationSleep`` ms after *every* failed try including the last; all
  failures are retried alike (connect, TLS, 401, 403, 404, 5xx, timeouts); negative timeouts fail each try.
* ``dump_requests``: ``--> url`` then ``<-- body`` or ``<-- ERROR: msg`` on stdout after the loop.

Deliberate differences from Java:
* An IPv6 ``masterHost`` literal is bracketed (Java builds a malformed URL).
* Answers above `MAX_BODY_BYTES` (8 MiB, ``max_body_bytes``) are rejected (`ErrorKind.TOO_LARGE`);
  Java reads any size. A 200 answer whose Content-Type is not JSON is reported
  (`ErrorKind.BAD_CONTENT_TYPE`); Java would try to parse it and log a JSON error. Neither is retried
  (Java's loop ends at the first 200 too).
* Proxies: ``HTTPS_PROXY``/``NO_PROXY`` are ignored, as Java's ``HttpURLConnection`` ignores them; the
  in-cluster API server must not be reached through a corporate proxy.
* In the trust-all fallback the host name is not checked either (urllib3 cannot check a name without
  verifying the chain); with a CA file both are verified, as in Java.
* A failure while reading the body (read timeout mid-body) is retried like any other; Java reads the
  body after its retry loop.
* In client-certificate mode, unreadable certificate/key files fail each request (Java fails ``init()``).
* The label selector is percent-encoded (``%20``) where Java form-encodes (``+``); the API server
  decodes both to the same selector.

The token never appears in a log line, an error text or a result: only its length may.
"""

from __future__ import annotations

import logging
import os
import ssl
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TextIO
from urllib.parse import quote

from pygroups.aio.kubernetes_errors import classify, service_account_of_token, user_of_status
from pygroups.protocols.kubernetes.api import ErrorKind, KubeConfig, KubeError, KubeResult
from pygroups.protocols.kubernetes.requests import ListPods, PodsListed, WarmUpKubeClient

__all__ = ["TOKEN_REFRESH_SECONDS", "KubeClient", "KubePodLister", "service_account_of_token"]

log = logging.getLogger(__name__)

#: TokenStreamProvider.REFRESH_INTERVAL.
TOKEN_REFRESH_SECONDS = 60.0
#: Java's timeout 0 means "no timeout"; the kubernetes client wants a positive number.
_NO_TIMEOUT_S = 365 * 24 * 3600.0
_JSON_TYPES = ("application/json",)


class _Failed(Exception):
    """One attempt failed with ``error``; ``final`` stops the retry loop (an answer arrived)."""

    def __init__(self, error: KubeError, *, final: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        self.final = final


class KubeClient:
    """Lists the pods of ``config.namespace`` matching ``config.labels``, as jgroups-kubernetes does.

    ``sleep`` and ``clock`` (seconds, monotonic) are injectable so tests neither sleep nor wait 60 s;
    ``out`` receives the ``dump_requests`` lines (stdout by default). One instance per `KubeConfig` and
    driver (`KubePodLister`), i.e. per KUBE_PING layer; ``fetch`` may run on several worker threads at once.
    """

    def __init__(self, config: KubeConfig, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, out: TextIO | None = None) -> None:
        self.config = config
        self._sleep = sleep
        self._clock = clock
        self._out = out
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_read_at: float | None = None
        self._api: Any = None  # kubernetes.client.ApiClient, built lazily and kept once it worked
        self._insecure = False
        self._warned_insecure = False
        self.requests_made = 0
        self._token_sent: bool | None = None

    def warm_up(self) -> None:
        """Import and build the kubernetes client now (seconds), so the first discovery does not wait for it;
        no request is made. Blocking: the driver runs it on a worker thread (`WarmUpKubeClient`)."""
        try:
            self._api_client()
        except Exception as e:  # fetch() builds it again and reports the problem
            log.debug("warming up the Kubernetes client failed: %s", e)

    def __repr__(self) -> str:
        return f"<KubeClient {self.config.url}>"

    # --- token -------------------------------------------------------------------------------------------

    def _refresh_token(self) -> None:
        path = self.config.sa_token_file
        token: str | None = None
        if path is not None:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    token = f.read().strip()
            except FileNotFoundError:
                token = None  # Java: an unreadable file silently yields no token
            except OSError as e:
                log.warning("Failed to refresh service account token from file '%s': %s", path, e.strerror or e)
        self._token = token
        self._token_read_at = self._clock()
        log.debug("Refreshed service account token from file '%s' (%s)", path,
                  "missing" if token is None else f"{len(token)} characters")

    def _current_token(self) -> str | None:
        with self._lock:
            if self._token_read_at is None or self._clock() - self._token_read_at > TOKEN_REFRESH_SECONDS:
                self._refresh_token()
            return self._token

    def service_account(self) -> str | None:
        """``namespace:name`` of the ServiceAccount the token belongs to, when it says so."""
        return None if self.config.cert_mode else service_account_of_token(self._token)

    # --- TLS / api client --------------------------------------------------------------------------------

    def _ca_decision(self) -> str | None:
        """The CA file to verify with, or None for Java's trust-all fallback; raises _Failed if unusable."""
        ca = self.config.ca_cert_file
        if not ca:
            if not self._warned_insecure:
                log.warning("ca cert file undefined - defaulting to insecure trust manager")
            return None
        if not os.path.exists(ca):
            if not self._warned_insecure:
                log.warning("ca cert file not found %s - defaulting to insecure trust manager", ca)
            return None
        try:
            ctx = ssl.create_default_context()
            ctx.load_verify_locations(cafile=ca)
        except (ssl.SSLError, OSError, ValueError) as e:
            log.error("Could not create trust manager for %s: %s", ca, e)
            raise _Failed(KubeError(ErrorKind.TLS, f"could not load CA certificates from {ca}: {e}")) from None
        return ca

    def _api_client(self) -> Any:
        with self._lock:
            if self._api is not None:
                return self._api
            if self.config.scheme == "https":
                ca = self._ca_decision()
            else:
                ca = None
            from kubernetes import client as k8s  # heavy import: only where a request is really made

            cfg = k8s.Configuration(host=self.config.host_url)
            cfg.proxy = None  # no HTTPS_PROXY: Java's HttpURLConnection ignores the environment too
            cfg.no_proxy = None
            cfg.retries = False  # our own retry loop, exactly operationAttempts tries
            cfg.verify_ssl = ca is not None
            cfg.ssl_ca_cert = ca
            if ca is None and self.config.scheme == "https":
                cfg.assert_hostname = False
                self._insecure = True
                self._warned_insecure = True
                warnings.filterwarnings("ignore", message=r"Unverified HTTPS request is being made to host",
                                        module=r"urllib3\.connectionpool")
            if self.config.cert_mode:
                cfg.cert_file = self.config.client_cert_file
                cfg.key_file = self.config.client_key_file
            self._api = k8s.ApiClient(cfg)
            return self._api

    # --- one attempt -------------------------------------------------------------------------------------

    def _timeout(self) -> tuple[float, float]:
        c, r = self.config.connect_timeout_ms, self.config.read_timeout_ms
        if c < 0 or r < 0:
            raise _Failed(KubeError(ErrorKind.CONFIG, f"Neither connectTimeout [{c}] nor readTimeout [{r}] can "
                                                      "be less than 0"))
        return (c / 1000 if c else _NO_TIMEOUT_S, r / 1000 if r else _NO_TIMEOUT_S)

    def _send(self, headers: dict[str, str], timeout: tuple[float, float]) -> Any:
        """The GET through the official client; returns the urllib3 response (body unread)."""
        api = self._api_client()
        from kubernetes import client as k8s

        cfg = self.config
        labels = cfg.labels or None
        if cfg.api_version == "v1":
            core = k8s.CoreV1Api(api)
            if cfg.namespace:
                return core.list_namespaced_pod(cfg.namespace, label_selector=labels, _preload_content=False,
                                                _request_timeout=timeout, _headers=headers or None)
            return core.list_pod_for_all_namespaces(label_selector=labels, _preload_content=False,
                                                    _request_timeout=timeout, _headers=headers or None)
        # apiVersion other than v1: the same request on /api/<apiVersion>, through the generic call
        path = f"/api/{quote(cfg.api_version, safe='')}" + (f"/namespaces/{quote(cfg.namespace, safe='')}"
                                                            if cfg.namespace else "") + "/pods"
        query = [("labelSelector", labels)] if labels else []
        method, url, hdrs, body, post = api.param_serialize(
            "GET", path, query_params=query, header_params={"Accept": "application/json", **headers})
        rest = api.call_api(method, url, header_params=hdrs, body=body, post_params=post,
                            _request_timeout=timeout)
        if not 200 <= rest.status <= 299:
            rest.read()
            raise k8s.ApiException(http_resp=rest)
        return rest.response

    def _attempt(self) -> tuple[str, str | None]:
        """One try: (body, content type) or _Failed."""
        timeout = self._timeout()
        headers: dict[str, str] = {}
        if not self.config.cert_mode:
            token = self._current_token()
            if token:
                headers["Authorization"] = "Bearer " + token
            self._token_sent = bool(token)
        self.requests_made += 1
        try:
            resp = self._send(headers, timeout)
        except _Failed:
            raise
        except Exception as e:
            err = classify(e, self.config)
            if err.kind is ErrorKind.UNAUTHORIZED and not self.config.cert_mode:
                with self._lock:
                    self._refresh_token()
                err = replace(err, message=err.message + "; token refreshed for retry")
            raise _Failed(err) from None
        try:
            body = self._read_body(resp)
        except BaseException:
            resp.close()  # a half-read answer must not go back to the connection pool
            raise
        resp.release_conn()
        return body

    def _read_body(self, resp: Any) -> tuple[str, str | None]:
        limit = self.config.max_body_bytes
        ctype = resp.headers.get("Content-Type")
        if ctype is not None and ctype.split(";", 1)[0].strip().lower() not in _JSON_TYPES:
            raise _Failed(KubeError(ErrorKind.BAD_CONTENT_TYPE, f"expected JSON from {self.config.url}, got "
                                    f"Content-Type {ctype!r}", resp.status), final=True)
        length = resp.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise _Failed(KubeError(ErrorKind.TOO_LARGE, f"answer of {int(length)} bytes exceeds the limit of "
                                    f"{limit} bytes", resp.status), final=True)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                chunk = resp.read(min(65536, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise _Failed(KubeError(ErrorKind.TOO_LARGE, f"answer exceeds the limit of {limit} bytes",
                                            resp.status), final=True)
        except _Failed:
            raise
        except Exception as e:
            raise _Failed(classify(e, self.config)) from None
        return b"".join(chunks).decode("utf-8", errors="replace"), ctype

    # --- the call behind KUBE_PING's ListPods --------------------------------------------------------------

    def fetch(self) -> KubeResult:
        """``Client.getPods``: the retry loop around one GET; never raises for expected failures."""
        cfg = self.config
        url = cfg.url
        attempts = cfg.operation_attempts
        if attempts <= 0:
            result = KubeResult.failure(url, KubeError(ErrorKind.CONFIG, f"operationAttempts={attempts}: no "
                                                       "request is made (Java fails every discovery the same way)"),
                                        attempts=0)
            self._dump(result)
            return result
        last: _Failed | None = None
        tries = 0
        body: tuple[str, str | None] | None = None
        while tries < attempts:
            tries += 1
            try:
                body = self._attempt()
                last = None
                break
            except _Failed as f:
                last = f
                if f.final:
                    break
            self._sleep(cfg.operation_sleep_ms / 1000)
        sa = self.service_account()
        if last is not None:
            err = last.error
            if err.kind is ErrorKind.FORBIDDEN and err.message:
                sa = user_of_status(err.message) or sa
            if not last.final:
                err = replace(err, message=f"{attempts} attempt(s) with a {cfg.operation_sleep_ms}ms sleep to "
                                           f"execute [OpenStream] failed. Last failure was [{err.message}]")
            result = KubeResult.failure(url, err, attempts=tries, service_account=sa, insecure=self._insecure,
                                        token_sent=self._token_sent)
        else:
            assert body is not None
            result = KubeResult.from_body(url, body[0], attempts=tries, service_account=sa,
                                          insecure=self._insecure, content_type=body[1], token_sent=self._token_sent)
        self._dump(result)
        return result

    def _dump(self, result: KubeResult) -> None:
        if not self.config.dump_requests:
            return
        out = self._out if self._out is not None else sys.stdout
        tail = result.body if result.error is None else f"ERROR: {result.error.message}"
        out.write(f"--> {result.url}\n<-- {tail}\n")
        out.flush()

    def close(self) -> None:
        with self._lock:
            if self._api is not None:
                self._api.close()
                self._api = None


class KubePodLister:
    """The asyncio driver's handler of `ListPods` and `WarmUpKubeClient` (blocking, on its worker threads).

    Keeps one `KubeClient` per `KubeConfig`, so the token cache (re-read every 60 s) and the connection pool
    live as long as the driver, as they lived as long as the KUBE_PING layer before requests were data.
    ``client_options`` go to every `KubeClient` (``sleep``, ``clock``, ``out``: tests).
    """

    def __init__(self, **client_options: Any) -> None:
        self._options = client_options
        self._clients: dict[KubeConfig, KubeClient] = {}
        self._lock = threading.Lock()

    def client(self, config: KubeConfig) -> KubeClient:
        with self._lock:
            found = self._clients.get(config)
            if found is None:
                found = self._clients[config] = KubeClient(config, **self._options)
            return found

    def list_pods(self, request: ListPods) -> PodsListed:
        """``Client.getPods`` for the request's config: retries included, never raises for expected failures."""
        return PodsListed(request.request_id, self.client(request.config).fetch())

    def warm_up(self, hint: WarmUpKubeClient) -> None:
        self.client(hint.config).warm_up()

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            c.close()
