"""Probe diagnostics (org.jgroups.stack.DiagnosticsHandler and the probe handlers of TP,
ProtocolStack and JChannelProbeHandler), sans-IO: request bytes in, answer bytes out.

The wire format, as JGroups 5.5.6 speaks it (checked against the jar):

* A request is text: keys separated by white space (``"jmx=GMS member-addrs "``). Over TCP it ends
  at the first ``\\n`` (or EOF); over UDP it is the whole datagram. With ``diag.passcode`` every
  request starts with an authentication header: long ``t1``, double ``q1``, int ``len`` and
  ``len`` digest bytes (big-endian, DataOutputStream). Java's ``Util.createDigest`` feeds an
  already-consumed ByteBuffer to SHA-1, so the digest is ``SHA-1(passcode)`` alone: t1 and q1 are
  written but not hashed. We accept exactly what Java accepts.
* A ``cluster=REGEX`` token drops the request unless REGEX matches the whole cluster name.
* No keys: the detailed header ``NAME (ip=PHYS)\\nview=VIEW\\ncluster=C\\nversion=V\\n``.
  Keys: the short header ``NAME [ip=PHYS, N mbr(s), cluster=C, version=V]\\n`` then one
  ``key=value\\r\\n`` per answered key (first answer wins when two handlers answer one key).
* UDP answers go to the sender's address from another socket; TCP answers are written on the
  connection, which is then closed (Probe reads until EOF).

Keys answered (as Java): the transport's ``dump keys uuids member-addrs``, the stack's ``props
print-protocols``/``pp``, the channel's ``jmx``, ``jmx=PROT``, ``jmx=PROT.attr1,attr2`` (prefix match;
``attr=value`` sets a property), ``PROT`` / ``PROT.attr`` shortcuts and ``reset-stats``. A layer
adds keys by defining ``probe_keys() -> Sequence[str]`` and ``handle_probe(keys) -> Mapping[str,
str] | None`` (DiagnosticsHandler.ProbeHandler). ``local_addr``, ``view``, ``cluster`` and
``version`` are header fields in Java, not keys.
"""

from __future__ import annotations

import hashlib
import hmac
import platform
import re
import struct
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol

from pygroups.stack.properties import Duration, Prop, Size, properties_of
from pygroups.view import View, print_members
from pygroups.wire.version import DEFAULT_VERSION

if TYPE_CHECKING:
    from pygroups.address import Address, IpAddress
    from pygroups.stack.layer import Layer
    from pygroups.stack.stack import ProtocolStack

#: Util.MAX_LIST_PRINT_SIZE: views print at most this many members, then `` ...``.
MAX_LIST_PRINT_SIZE = 20
#: A request longer than this is refused (Java's UDP buffer is 10,000 bytes).
MAX_REQUEST = 65536
_AUTH_FIXED = 8 + 8 + 4
_WS = re.compile(r"[ \t\n\r\f]+")  # java.util.StringTokenizer's default delimiters

TP_KEYS = ("dump", "keys", "uuids", "member-addrs")
STACK_KEYS = ("props", "print-protocols")
CHANNEL_KEYS = ("reset-stats", "jmx")


class ProbeHandler(Protocol):
    """What a layer implements to answer its own probe keys (DiagnosticsHandler.ProbeHandler)."""

    def probe_keys(self) -> Sequence[str]: ...
    def handle_probe(self, keys: Sequence[str]) -> Mapping[str, str] | None: ...


class ProbeDropped(Exception):
    """The request gets no answer (bad passcode, other cluster, a malformed header)."""


# --- passcode ------------------------------------------------------------------------------------


def passcode_digest(passcode: str) -> bytes:
    """Util.createDigest(passcode, t1, q1) as Java computes it: SHA-1 of the passcode only."""
    return hashlib.sha1(passcode.encode("utf-8")).digest()


def auth_header(passcode: str, t1: int, q1: float) -> bytes:
    """Util.createAuthenticationDigest: the prefix Probe puts before a request."""
    digest = passcode_digest(passcode)
    return struct.pack(">qdi", t1, q1, len(digest)) + digest


def auth_header_for_java(passcode: str, t1: int, rand: Callable[[], float]) -> bytes:
    """An `auth_header` a Java node can read over TCP: Java's server reads a request up to the first ``\\n``,
    even inside this binary header, so a timestamp or random double holding a 0x0a byte made it drop the
    request (about one in sixteen). Java checks neither value: pick ones without that byte (a digest holding it
    would still break Java; nothing can fix that)."""
    t1 = int.from_bytes(struct.pack(">q", t1).replace(b"\n", b"\x0b"), "big", signed=True)
    while True:
        header = auth_header(passcode, t1, rand())
        if b"\n" not in header[:_AUTH_FIXED]:
            return header


def strip_auth(request: bytes, passcode: str) -> bytes:
    """DiagnosticsHandler.authorizeProbeRequest: the request text after a valid header."""
    if len(request) < _AUTH_FIXED:
        raise ProbeDropped("request shorter than the authentication header")
    (length,) = struct.unpack_from(">i", request, 16)
    if length < 0 or _AUTH_FIXED + length > len(request):
        raise ProbeDropped(f"bad authentication digest length {length}")
    digest = request[_AUTH_FIXED:_AUTH_FIXED + length]
    if not hmac.compare_digest(digest, passcode_digest(passcode)):
        raise ProbeDropped("authorization failed (wrong passcode)")
    return request[_AUTH_FIXED + length:]


def tcp_request_end(buf: bytes, passcode: bool) -> int | None:
    """Where a TCP request ends in ``buf`` (the index of its ``\\n``), or None while incomplete.

    Java reads up to the first ``\\n`` even inside the binary passcode header (a SHA-1 digest
    holding 0x0a breaks a Java server); we skip the header first, so such requests work here."""
    start = 0
    if passcode:
        if len(buf) < _AUTH_FIXED:
            return None
        (length,) = struct.unpack_from(">i", buf, 16)
        start = _AUTH_FIXED + max(length, 0)
        if len(buf) < start:
            return None
    i = buf.find(b"\n", start)
    return None if i < 0 else i


# --- formatting like Java ------------------------------------------------------------------------


def java_bool(b: bool) -> str:
    return "true" if b else "false"


def print_time_ms(ms: float) -> str:
    """Util.printTime(ms, MILLISECONDS): ``500ms``, ``2s``, ``1.50m``."""
    value, units = float(ms), (("ms", 1000.0), ("s", 60.0), ("m", 60.0), ("h", 24.0), ("d", 0.0))
    for suffix, limit in units:
        if limit == 0.0 or value < limit:
            return _java_number(value, suffix)
        value /= limit
    raise AssertionError("unreachable")


def print_bytes(n: float) -> str:
    """Util.printBytes: ``500b``, ``4MB``, ``1.50KB``."""
    for suffix, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return _java_number(n / scale, suffix)
    return _java_number(float(n), "b")


def _java_number(v: float, suffix: str) -> str:
    return f"{v:,.0f}{suffix}" if v == int(v) else f"{v:,.2f}{suffix}"


def format_value(value: object, prop: Prop[Any] | None = None) -> str:
    """ResourceDMBean.prettyPrint, roughly: times and sizes readable, Java's true/false/null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return java_bool(value)
    if prop is not None and isinstance(value, int):
        if prop.converter is Duration:
            return print_time_ms(value)
        if prop.converter is Size:
            return print_bytes(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, tuple | list):
        return ", ".join(format_value(v) for v in value)
    text = getattr(value, "text", None)  # BindAddrSpec: as written in the XML
    return text if isinstance(text, str) else str(value)


def simple_name(layer: Layer) -> str:
    """Protocol.getName(): the class name without package (``pbcast.GMS`` -> ``GMS``)."""
    return layer.name.rsplit(".", 1)[-1]


#: Layer names that are not protocols: the channel's own top layer (JChannel is no Protocol in Java).
NOT_PROTOCOLS = frozenset({"CHANNEL"})


def protocols(stack: ProtocolStack) -> list[Layer]:
    """The stack's protocols, bottom first (what Java's ProtocolStack holds)."""
    return [x for x in stack.layers if x.name not in NOT_PROTOCOLS]


def find_layer(stack: ProtocolStack, name: str) -> Layer | None:
    for layer in protocols(stack):
        if name in (layer.name, simple_name(layer), type(layer).__name__):
            return layer
    return None


def print_view(view: View | None, name_of: Callable[[Address | None], str]) -> str:
    """View.toString with logical names: ``[A|1] (2) [A, B]`` (at most 20 members, then `` ...``)."""
    if view is None:
        return "null"
    mbrs = [name_of(m) for m in view.members[:MAX_LIST_PRINT_SIZE]]
    more = " ..." if len(view.members) > MAX_LIST_PRINT_SIZE else ""
    return f"[{name_of(view.view_id.creator)}|{view.view_id.id}] ({len(view.members)}) [{', '.join(mbrs)}{more}]"


@cache
def version_description() -> str:
    """Where Java prints ``5.5.6.Final (codename) (java 17...)``: the JGroups version we speak,
    then this implementation."""
    try:
        ours = metadata.version("pygroups")
    except metadata.PackageNotFoundError:
        ours = "unknown"
    return f"{DEFAULT_VERSION}.Final (pygroups {ours}) (python {platform.python_version()})"


def attributes(layer: Layer) -> dict[str, str]:
    """A layer's JMX view (ResourceDMBean.dumpStats): its JGroups properties and its statistics."""
    out: dict[str, str] = {}
    for name, p in properties_of(type(layer)).items():
        out[name] = format_value(getattr(layer, p.attr, None), p).strip()
    for key, value in layer.statistics().items():
        out.setdefault(key, format_value(value))
    for key, managed in layer.managed_attributes().items():
        out.setdefault(key, format_value(managed))
    out.setdefault("id", str(layer.protocol_id))
    view = getattr(layer, "view", None)
    if isinstance(view, View):  # GMS's managed attributes, for any layer holding the view
        name_of = layer.stack.name_of
        out.setdefault("view", print_view(view, name_of))
        out.setdefault("members", print_members(view.members, name_of))
        out.setdefault("coord", java_bool(view.coordinator == layer.stack.local_addr))
    local = layer.stack.local_addr
    if local is not None:  # Protocol.local_addr, a managed attribute of every protocol in Java
        out.setdefault("local_addr", layer.stack.name_of(local))
    return out


def java_map(attrs: Mapping[str, str]) -> str:
    """TreeMap.toString: ``{a=1, b=2}`` sorted by key."""
    return "{" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + "}"


# --- the handler ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiagContext:
    """What the answers are made of; the transport fills it per request."""

    stack: ProtocolStack
    physical_addr: IpAddress | None
    view: View | None
    cluster: str | None
    addr_cache: Mapping[Address, IpAddress]
    removable: Iterable[Address] = ()


class DiagnosticsHandler:
    """Parses probe requests and writes the answers (DiagnosticsHandler.handleDiagnosticProbe)."""

    def __init__(self, passcode: str | None = None) -> None:
        self.passcode = passcode

    def handle(self, request: bytes, ctx: DiagContext) -> bytes | None:
        """The answer to one request, or None when Java would not answer. Raises `ProbeDropped`
        with the reason for a dropped request (the transport counts and logs it)."""
        if len(request) > MAX_REQUEST:
            raise ProbeDropped(f"request of {len(request)} bytes is too long")
        if self.passcode is not None:
            request = strip_auth(request, self.passcode)
        text = request.decode("utf-8", errors="replace")
        keys: list[str] = []
        for token in _WS.split(text):
            if not token:
                continue
            if token.startswith("cluster="):
                if not same_cluster(token[len("cluster="):].strip(), ctx.cluster):
                    raise ProbeDropped(f"request for cluster {token[8:]!r}, ours is {ctx.cluster!r}")
                continue
            keys.append(token)
        if not keys:
            return self.header(ctx, detailed=True).encode("utf-8")
        answers: dict[str, str] = {}
        for handler in self._handlers(ctx):
            for key, value in (handler(keys) or {}).items():
                answers.setdefault(key, value)
        body = "".join(f"{k}={v}\r\n" for k, v in answers.items())
        return (self.header(ctx, detailed=False) + body).encode("utf-8")

    @staticmethod
    def header(ctx: DiagContext, *, detailed: bool) -> str:
        """TP.defaultHeaders."""
        stack = ctx.stack
        local = stack.name_of(stack.local_addr) if stack.local_addr is not None else "n/a"
        phys = str(ctx.physical_addr) if ctx.physical_addr is not None else "null"
        cluster = ctx.cluster if ctx.cluster is not None else "null"
        if detailed:
            return (f"{local} (ip={phys})\nview={print_view(ctx.view, stack.name_of)}\n"
                    f"cluster={cluster}\nversion={version_description()}\n")
        n = len(ctx.view.members) if ctx.view is not None else 0
        return f"{local} [ip={phys}, {n} mbr(s), cluster={cluster}, version={version_description()}]\n"

    def _handlers(self, ctx: DiagContext) -> list[Callable[[Sequence[str]], Mapping[str, str] | None]]:
        """In Java's registration order: layers (bottom-up, at init), TP, ProtocolStack, JChannel."""
        out: list[Callable[[Sequence[str]], Mapping[str, str] | None]] = []
        for layer in ctx.stack.layers:
            hook = getattr(layer, "handle_probe", None)
            if callable(hook):
                out.append(hook)
        out += [lambda k: self._tp_keys(k, ctx), lambda k: self._stack_keys(k, ctx),
                lambda k: self._channel_keys(k, ctx)]
        return out

    # TP.handleProbe
    def _tp_keys(self, keys: Sequence[str], ctx: DiagContext) -> dict[str, str]:
        out: dict[str, str] = {}
        stack = ctx.stack
        for key in keys:
            if key == "dump":
                out[key] = dump_threads()
            elif key == "uuids":  # LazyRemovalCache.printCache, without the entries' age
                removable = set(ctx.removable)
                out[key] = "".join(f"{stack.name_of(a)}: {a}: {p}{' (removable)' if a in removable else ''}\n"
                                   for a, p in ctx.addr_cache.items())
                out.setdefault("local_addr", stack.name_of(stack.local_addr))
            elif key == "keys":
                out[key] = "".join(f"{k} " for k in self.supported_keys(ctx))
            elif key == "member-addrs":
                removable = set(ctx.removable)
                phys = dict.fromkeys(p for a, p in ctx.addr_cache.items() if a not in removable)
                out[key] = ", ".join(map(str, phys))
        return out

    @staticmethod
    def supported_keys(ctx: DiagContext) -> list[str]:
        keys: list[str] = []
        for layer in ctx.stack.layers:
            hook = getattr(layer, "probe_keys", None)
            if callable(hook):
                keys += list(hook())
        return [*keys, *TP_KEYS, *STACK_KEYS, *CHANNEL_KEYS]

    # ProtocolStack's props_handler
    @staticmethod
    def _stack_keys(keys: Sequence[str], ctx: DiagContext) -> dict[str, str] | None:
        layers = protocols(ctx.stack)
        for key in keys:
            if key == "props":
                specs = []
                for layer in layers:
                    props = properties_of(type(layer))
                    body = ";".join(f"{n}={format_value(getattr(layer, p.attr, None))}" for n, p in props.items())
                    specs.append(f"{layer.name}({body})")
                return {"props": "\n:".join(specs) + "\n"}
            if key == "pp" or key.startswith("print-protocols"):
                return {"protocols": "".join(f"{simple_name(x)}\n" for x in reversed(layers))}
        return None

    # JChannelProbeHandler (a TreeMap: answers sorted by key)
    def _channel_keys(self, keys: Sequence[str], ctx: DiagContext) -> dict[str, str]:
        out: dict[str, str] = {}
        stack = ctx.stack
        for key in keys:
            if key.startswith("jmx"):
                self._jmx(out, key, stack)
            elif key.startswith("reset-stats"):
                for layer in protocols(stack):
                    layer.counters.clear()
            elif key.startswith(("ops", "op", "invoke", "metrics", "threads", "enable-", "disable-")):
                continue  # operations and JVM metrics: not in pygroups
            else:  # JGRP-2413: "GMS" or "GMS.join_timeout" is short for jmx=...
                if find_layer(stack, key.split(".", 1)[0]) is not None and "[" not in key:
                    self._jmx(out, "jmx=" + key, stack)
        return dict(sorted(out.items()))

    @staticmethod
    def _jmx(out: dict[str, str], key: str, stack: ProtocolStack) -> None:
        if "=" not in key:
            for each in protocols(stack):
                out[simple_name(each)] = java_map(attributes(each))
            return
        target = key.split("=", 1)[1]
        name, _, rest = target.partition(".")
        layer = find_layer(stack, name)
        if layer is None:
            return
        wanted = [s.strip() for s in rest.split(",") if s.strip()] if rest else []
        prefixes: list[str] = []
        for item in wanted:
            if "=" in item:  # an attribute write
                attr, value = item.split("=", 1)
                _write_attribute(layer, attr, value)
            else:
                prefixes.append(item)
        if wanted and not prefixes:
            return
        attrs = attributes(layer)
        if prefixes:
            attrs = {k: v for k, v in attrs.items() if any(k.startswith(p) for p in prefixes)}
        out[simple_name(layer)] = java_map(attrs)


def _write_attribute(layer: Layer, attr: str, value: str) -> None:
    """ReflectUtils.handleAttrWrite: set a declared property from its string form."""
    p = properties_of(type(layer)).get(attr)
    if p is None:
        layer.log.error("failed writing: %s has no attribute %s", simple_name(layer), attr)
        return
    try:
        setattr(layer, p.attr, value)
    except Exception as e:  # a bad value from the network: logged, as Java logs it
        layer.log.error("failed writing %s.%s=%s: %s", simple_name(layer), attr, value, e)


def same_cluster(pattern: str, cluster: str | None) -> bool:
    """TPConfig.sameCluster: the pattern (a regex) must match the whole cluster name."""
    if cluster is None:
        return False  # Java: an NPE in the matcher, so no answer
    try:
        return re.fullmatch(pattern, cluster) is not None
    except re.error:
        return False


def dump_threads() -> str:
    """Util.dumpThreads, the Python way: every thread's current stack."""
    parts = []
    for ident, frame in sys._current_frames().items():
        parts.append(f"\"thread {ident}\"\n" + "".join(traceback.format_stack(frame)))
    return "\n".join(parts)
