"""`DnsServer`: a small authoritative DNS stand-in for DNS_PING tests (pygroups' and users' own).

It answers A, AAAA and SRV queries over UDP and TCP on one port of 127.0.0.1 from a zone the test
changes while it runs, and misbehaves on request (NXDOMAIN, empty answers, SERVFAIL, REFUSED,
dropped queries, truncation to force TCP, malformed answers, or any bytes a test hands in). It is
a real DNS server built with dnspython's message API, so any client can use it: pygroups'
`DnsResolver` (``dns_address="127.0.0.1:port"``) and Java's JNDI DNS client
(``dns://127.0.0.1:port``, i.e. DNS_PING's ``dns_address``) alike::

    with DnsServer() as dns:
        dns.set_a("cluster.dns.test", ["127.0.0.2", "127.0.0.3"])
        dns.set_srv("_ping._tcp.cluster.dns.test", [(0, 0, 7800, "pod1.dns.test")])
        dns.set_a("pod1.dns.test", ["127.0.0.2"])
        ... dns_address=dns.address ...
        assert dns.query_count("cluster.dns.test", "A") > 0

Names not in the zone answer NXDOMAIN; a known name without records of the asked type answers
NOERROR with no records. SRV answers carry the targets' A/AAAA records in the additional
section when the zone has them (as Kubernetes' CoreDNS does). Serving runs on daemon threads.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Fault = Literal["nxdomain", "servfail", "refused", "empty", "drop", "truncate", "garbage"]
FAULTS: tuple[Fault, ...] = ("nxdomain", "servfail", "refused", "empty", "drop", "truncate", "garbage")
UDP_LIMIT = 512  # without EDNS; a larger answer is truncated (TC) and the client retries over TCP


@dataclass(frozen=True, slots=True)
class LoggedQuery:
    """One query the server received (``name`` without the final dot, lower case)."""

    transport: Literal["udp", "tcp"]
    name: str
    rdtype: str
    client: str


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text.strip())


def _key(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


class DnsServer:
    """An in-process DNS server on ``host`` (127.0.0.1, or an IPv6 address such as ``::1``) at ``port``
    (0 = pick a port free for both UDP and TCP)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, ttl: int = 5, srv_additional: bool = True) -> None:
        self.host = host
        self.port = port
        self.ttl = ttl
        self.srv_additional = srv_additional
        self.raw_responder: Callable[[bytes], bytes | None] | None = None
        """Test hook: called with every query's bytes; bytes returned are sent instead of the real answer."""
        self._zone: dict[dns.name.Name, dict[dns.rdatatype.RdataType, list[dns.rdata.Rdata]]] = {}
        self._faults: dict[dns.name.Name | None, Fault] = {}
        self._log: list[LoggedQuery] = []
        self._lock = threading.Condition()
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> DnsServer:
        if self._thread is not None:
            return self
        self._bind()
        self._thread = threading.Thread(target=self._serve, name=f"DnsServer:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for s in (self._udp, self._tcp, self._wake_r, self._wake_w):
            if s is not None:
                s.close()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """``host:port`` (``[v6]:port``) as DNS_PING's ``dns_address`` wants it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def _bind(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _ in range(50):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            tcp = socket.socket(family, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                udp.bind((self.host, self.port))
                tcp.bind((self.host, udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                if self.port:
                    raise
                continue
            tcp.listen(16)
            self._udp, self._tcp, self.port = udp, tcp, udp.getsockname()[1]
            return
        raise OSError(f"no port free for both UDP and TCP on {self.host}")

    # --- zone -----------------------------------------------------------------------------------------

    def set_a(self, name: str, ips: Iterable[str]) -> None:
        self._set(name, dns.rdatatype.A, list(ips))

    def set_aaaa(self, name: str, ips: Iterable[str]) -> None:
        self._set(name, dns.rdatatype.AAAA, list(ips))

    def set_srv(self, name: str, records: Iterable[tuple[int, int, int, str]]) -> None:
        """``(priority, weight, port, target)`` per record; a target without final dot is made absolute."""
        texts = []
        for priority, weight, port, target in records:
            texts.append(f"{priority} {weight} {port} {_name(target).to_text()}")
        self._set(name, dns.rdatatype.SRV, texts)

    def _set(self, name: str, rdtype: dns.rdatatype.RdataType, texts: Sequence[str]) -> None:
        rdatas = []
        for t in texts:
            try:
                rdatas.append(dns.rdata.from_text(dns.rdataclass.IN, rdtype, t))
            except dns.exception.DNSException as e:
                raise ValueError(f"{name}: {t!r} is not a valid {dns.rdatatype.to_text(rdtype)} value ({e})") from e
        with self._lock:
            self._zone.setdefault(_name(name), {})[rdtype] = rdatas

    def remove(self, name: str) -> None:
        """Forget ``name`` entirely (it then answers NXDOMAIN)."""
        with self._lock:
            self._zone.pop(_name(name), None)

    def clear(self) -> None:
        with self._lock:
            self._zone.clear()
            self._faults.clear()

    def fail(self, name: str | None, fault: Fault | None) -> None:
        """Make queries for ``name`` (every name when None) misbehave; ``fault=None`` heals it."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        key = None if name is None else _name(name)
        with self._lock:
            if fault is None:
                self._faults.pop(key, None)
            else:
                self._faults[key] = fault

    # --- query log ------------------------------------------------------------------------------------

    def queries(self) -> list[LoggedQuery]:
        with self._lock:
            return list(self._log)

    def query_count(self, name: str | None = None, rdtype: str | None = None) -> int:
        want = None if name is None else _key(_name(name))
        with self._lock:
            return sum(
                1
                for q in self._log
                if (want is None or q.name == want) and (rdtype is None or q.rdtype == rdtype.upper())
            )

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def wait_for_queries(
        self, count: int, name: str | None = None, rdtype: str | None = None, *, timeout: float = 10.0
    ) -> bool:
        """Block until ``query_count(name, rdtype) >= count`` (for tests driving real processes)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._count_locked(name, rdtype) >= count, timeout)

    def _count_locked(self, name: str | None, rdtype: str | None) -> int:
        want = None if name is None else _key(_name(name))
        return sum(
            1 for q in self._log if (want is None or q.name == want) and (rdtype is None or q.rdtype == rdtype.upper())
        )

    # --- answering ------------------------------------------------------------------------------------

    def answer(self, wire: bytes, transport: Literal["udp", "tcp"] = "udp", client: str = "") -> bytes | None:
        """The reply to one query's bytes (None = stay silent). Public so tests can fuzz it directly."""
        hook = self.raw_responder
        if hook is not None:
            raw = hook(wire)
            if raw is not None:
                return raw
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return _formerr(wire)
        except Exception:  # dnspython may raise plain errors on some garbage; never crash the server
            return _formerr(wire)
        if query.flags & dns.flags.QR:
            return None  # a response sent to us: ignore, as servers do
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA | dns.flags.RA
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response.to_wire()
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        with self._lock:
            self._log.append(LoggedQuery(transport, _key(qname), dns.rdatatype.to_text(qtype), client))
            self._lock.notify_all()
            fault = self._faults.get(qname, self._faults.get(None))
            records = self._zone.get(qname)
            answer = list(records.get(qtype, ())) if records is not None else []
            extra: list[tuple[dns.name.Name, dns.rdatatype.RdataType, list[dns.rdata.Rdata]]] = []
            if qtype == dns.rdatatype.SRV and self.srv_additional:
                for rd in answer:
                    known = self._zone.get(rd.target, {})  # type: ignore[attr-defined]
                    for t in (dns.rdatatype.A, dns.rdatatype.AAAA):
                        if known.get(t):
                            extra.append((rd.target, t, list(known[t])))  # type: ignore[attr-defined]
        if fault == "drop":
            return None
        if fault == "garbage":
            return _garbage(wire)
        if fault in ("nxdomain", "servfail", "refused"):
            response.set_rcode(
                {"nxdomain": dns.rcode.NXDOMAIN, "servfail": dns.rcode.SERVFAIL, "refused": dns.rcode.REFUSED}[fault]
            )
            return response.to_wire()
        if fault == "truncate" and transport == "udp":
            response.flags |= dns.flags.TC
            return response.to_wire()
        if records is None and fault != "empty":
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        if answer and fault != "empty":
            response.answer.append(dns.rrset.from_rdata_list(qname, self.ttl, answer))
            for name, _t, rds in extra:
                response.additional.append(dns.rrset.from_rdata_list(name, self.ttl, rds))
        limit = 65535 if transport == "tcp" else max(UDP_LIMIT, query.payload if query.edns >= 0 else 0)
        try:
            return response.to_wire(max_size=limit, want_shuffle=False)
        except dns.exception.TooBig:
            response.answer.clear()
            response.additional.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    # --- serving --------------------------------------------------------------------------------------

    def _serve(self) -> None:
        assert self._udp is not None and self._tcp is not None
        sel = selectors.DefaultSelector()
        sel.register(self._udp, selectors.EVENT_READ, "udp")
        sel.register(self._tcp, selectors.EVENT_READ, "tcp")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=1.0):
                    if key.data == "udp":
                        self._serve_udp()
                    elif key.data == "tcp":
                        self._accept()
        finally:
            sel.close()

    def _serve_udp(self) -> None:
        assert self._udp is not None
        try:
            wire, peer = self._udp.recvfrom(65535)
        except OSError:
            return
        reply = self._safe_answer(wire, "udp", f"{peer[0]}:{peer[1]}")
        if reply is not None:
            with contextlib.suppress(OSError):
                self._udp.sendto(reply, peer)

    def _accept(self) -> None:
        assert self._tcp is not None
        try:
            conn, peer = self._tcp.accept()
        except OSError:
            return
        threading.Thread(target=self._serve_tcp, args=(conn, f"{peer[0]}:{peer[1]}"), daemon=True).start()

    def _serve_tcp(self, conn: socket.socket, client: str) -> None:
        conn.settimeout(5.0)
        with conn:
            while not self._stop.is_set():
                head = _recv_exact(conn, 2)
                if head is None:
                    return
                wire = _recv_exact(conn, struct.unpack("!H", head)[0])
                if wire is None:
                    return
                reply = self._safe_answer(wire, "tcp", client)
                if reply is None:
                    return  # "drop": close the connection without an answer
                try:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
                except OSError:
                    return

    def _safe_answer(self, wire: bytes, transport: Literal["udp", "tcp"], client: str) -> bytes | None:
        try:
            return self.answer(wire, transport, client)
        except Exception:  # a bug here must not kill the serving thread
            return _formerr(wire)


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        try:
            chunk = conn.recv(n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def _formerr(wire: bytes) -> bytes | None:
    """A bare FORMERR header echoing the query id (None when there is no id to echo)."""
    if len(wire) < 2:
        return None
    return wire[:2] + struct.pack("!HHHHH", 0x8000 | dns.rcode.FORMERR, 0, 0, 0, 0)


def _garbage(wire: bytes) -> bytes:
    """A reply that matches the query id but cannot be parsed: it claims one answer record and ends."""
    qid = wire[:2] if len(wire) >= 2 else b"\0\0"
    return qid + struct.pack("!HHHHH", 0x8180, 0, 1, 0, 0) + b"\xc0"


__all__ = ["FAULTS", "DnsServer", "Fault", "LoggedQuery"]
