"""`TP`: the transport logic shared by every pygroups transport (org.jgroups.protocols.TP plus its
default bundler, PerDestinationBundler / BaseBundler).

Rules of this module:

1. Outgoing messages get the TpHeader (cluster name) and ``src``, then wait in a per-destination
   queue until the end of the current input (``stack.call_soon``): one queued message goes out as
   a single-message frame, two or more as a message list (src = our address), cut when the
   estimated size reaches ``bundler.max_size``, as Java's bundler does.
2. Group messages go to the physical address of every view member except ourselves (TCP has no
   IP multicast) and loop back locally; messages to ourselves only loop back. Loopback is
   always deferred with ``call_soon``: a down call never re-enters the layers above.
3. A destination without a known physical address drops the message (NAKACK2/UNICAST3
   retransmit, as in Java) and asks discovery with `FindMembersAsync`, throttled per address
   (``who_has_cache_timeout``) and for group sends once per 10 s (MIN_WAIT_BETWEEN_DISCOVERIES).
4. Received frames that are undecodable, of another version or cluster, or unicasts not meant for
   us are counted, logged and dropped; nothing from the network raises out of `receive`.
5. Subclasses supply the wire: `send_unicast(physical, payload)` and `transport_ready()`; they
   call `receive(sender_physical, payload)` for every frame they read.
6. Probe diagnostics (``diag.*``, DiagnosticsHandler): on Connect the transport asks the driver to
   open the probe sockets (`OpenDiagnostics`), on Disconnect to close them; the driver hands each
   request to `on_diagnostics` (answers are made by `pygroups.protocols.diagnostics`). A failing
   or refused request is counted and logged, never raised.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from pygroups.address import Address, IpAddress
from pygroups.clock import MS
from pygroups.errors import ConfigError, MalformedMessage
from pygroups.events import (
    AddPhysicalAddress,
    Connect,
    Disconnect,
    DiscoveryResponse,
    Event,
    FindInitialMembers,
    FindMembersAsync,
    GetLocalAddress,
    GetLogicalPhysicalMappings,
    GetPhysicalAddress,
    GetSendQueue,
    RemoveAddress,
    SendQueue,
    SetLocalAddress,
    TmpView,
    ViewChange,
)
from pygroups.message import Flag, Message, TransientFlag
from pygroups.protocols.diagnostics import DiagContext, DiagnosticsHandler, ProbeDropped
from pygroups.stack.bind_addr import BindAddrSpec, resolve_bind_addr
from pygroups.stack.io import CloseDiagnostics, OpenDiagnostics
from pygroups.stack.layer import MembershipChange, TransportLayer, answers
from pygroups.stack.properties import BindAddr, Converter, Duration, Int, Size, Str, StrList, prop
from pygroups.view import View
from pygroups.wire import codec
from pygroups.wire.headers.tp import TpHeader
from pygroups.wire.version import DEFAULT_VERSION, WireVersion

#: Protocol id of class TP (jg-protocol-ids.xml): the TpHeader is stored under it, not under TCP's id.
TP_ID = 57
#: TP.MIN_WAIT_BETWEEN_DISCOVERIES: group sends ask discovery for missing members at most every 10 s.
MIN_WAIT_BETWEEN_DISCOVERIES_NS = 10_000 * MS
#: Global.DEFAULT_DIAG_ADDR (IPv4; JGroups uses ff0e::0:75:75 on an IPv6 stack).
DEFAULT_DIAG_ADDR = "224.0.75.75"

_OptStr = cast("Converter[str | None]", Str)
_OptAddr = cast("Converter[BindAddrSpec | None]", BindAddr)


class TP(TransportLayer):
    """Transport base: addresses, members, bundling, loopback and frame decoding (not registered)."""

    max_bundle_size: int = prop(Size, 64000, "bundler.max_size: bytes of messages per frame",
                                name="bundler.max_size")
    who_has_cache_timeout: int = prop(Duration, 2000, "ms between discovery requests for one address")
    logical_addr_cache_expiration: int = prop(Duration, 360000, "ms before a removable cache entry is evicted")
    log_discard_msgs: bool = prop(bool, True, "log messages dropped for another cluster")
    log_discard_msgs_version: bool = prop(bool, True, "log messages dropped for another version")
    # DiagnosticsHandler's properties (TP component "diag"), with JGroups' defaults except one:
    # diag.enabled is false unless the XML says otherwise (JGroups: true), so that a library stack
    # does not open a multicast socket on port 7500 by surprise (every unit test, every simulation)
    diag_enabled: bool = prop(bool, False, "answer probe requests (JGroups' default: true)", name="diag.enabled")
    diag_enable_udp: bool = prop(bool, True, "listen for probe requests on diag.mcast_addr:diag.port (UDP)",
                                 name="diag.enable_udp")
    diag_enable_tcp: bool = prop(bool, False, "listen for probe requests on a TCP socket", name="diag.enable_tcp")
    diag_mcast_addr: str = prop(Str, DEFAULT_DIAG_ADDR, "multicast address of the probe socket",
                                name="diag.mcast_addr")
    diag_port: int = prop(Int, 7500, "probe port (UDP; first TCP port tried)", name="diag.port")
    diag_bind_addr: BindAddrSpec | None = prop(_OptAddr, None, "address of the TCP probe socket (default: any)",
                                               name="diag.bind_addr")
    diag_port_range: int = prop(Int, 50, "TCP ports tried above diag.port", name="diag.port_range")
    diag_ttl: int = prop(Int, 8, "TTL of the probe multicast socket", name="diag.ttl")
    diag_bind_interfaces: tuple[str, ...] = prop(
        StrList, (), "interfaces (names or addresses) joining the probe group (default: the transport's "
        "bind interface, or every interface when it binds to any address)", name="diag.bind_interfaces")
    diag_passcode: str | None = prop(_OptStr, None, "passcode every probe request must carry",
                                     name="diag.passcode")

    def __init__(self) -> None:
        super().__init__()
        #: The wire version written and accepted (major.minor must match the cluster's).
        self.version: WireVersion = DEFAULT_VERSION
        self.cluster: str | None = None
        self.header: TpHeader | None = None
        self.physical_addr: IpAddress | None = None
        self.addr_cache: dict[Address, IpAddress] = {}
        self.members: tuple[Address, ...] = ()
        self.view: View | None = None
        self._diag_open = False
        self._removable: dict[Address, int] = {}  # address -> when it was marked removable (ns)
        self._who_has: dict[Address, int] = {}  # address -> when we last asked discovery (ns)
        self._last_discovery_ns: int | None = None
        self._queues: dict[Address | None, list[Message]] = {}
        self._queued_bytes: dict[Address | None, int] = {}
        self._flush_scheduled = False
        #: Set by the driver: how full its socket write buffers are (`GetSendQueue`, read by RED).
        self.send_queue_probe: Callable[[], SendQueue] | None = None

    # --- what subclasses provide ----------------------------------------------------------------------

    def send_unicast(self, dest: IpAddress, payload: bytes) -> None:
        """Write one TP payload to the member listening at ``dest``."""
        raise NotImplementedError

    def transport_ready(self) -> bool:
        """True once frames can be written (TCP: the server socket is bound); until then the
        bundler keeps messages queued."""
        return self.physical_addr is not None

    # --- events and queries ---------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case ViewChange(view) | TmpView(view):
                self.members = tuple(view.members)
                self.view = view
                self._register_local_address()
                self.track_view(view, tmp=isinstance(evt, TmpView))
            case Connect(cluster):
                self.cluster = cluster
                self.header = TpHeader(cluster)
                self.handle_connect()
                self._start_diagnostics()
            case Disconnect():
                if self.transport_ready():
                    self.flush_bundler()
                else:
                    self.drop_queued("disconnected")
                self.handle_disconnect()
                self._stop_diagnostics()
            case SetLocalAddress(addr):
                self._register_local_address(addr)
            case AddPhysicalAddress(addr, physical):
                self.addr_cache[addr] = physical
                self._removable.pop(addr, None)
            case RemoveAddress(addr):
                self.addr_cache.pop(addr, None)
                self._register_local_address()
            case FindInitialMembers(request_id=rid):
                # no discovery layer above us: Java's transport returns null for FIND_INITIAL_MBRS and GMS
                # goes on with no responses (a singleton); answered after this input's handler chain
                self.counters["discovery without a discovery protocol"] += 1
                self.stack.call_soon(self.up_layer.up, DiscoveryResponse(rid, ()))
            case _:
                pass

    def members_changed(self, change: MembershipChange) -> None:
        """Views and TMP_VIEWs alike: forget stale WHO_HAS times, mark non-members' addresses removable."""
        now = self.now_ns()
        timeout = self.who_has_cache_timeout * MS
        self._who_has = {a: t for a, t in self._who_has.items() if now - t < timeout}
        self._retain_members(now)

    def _retain_members(self, now: int) -> None:
        """LazyRemovalCache.retainAll: non-members are only marked removable (they stay usable, e.g.
        for a joiner not in the view yet) and evicted ``logical_addr_cache_expiration`` ms later."""
        expiry = self.logical_addr_cache_expiration * MS
        members = set(self.members)
        for addr in list(self.addr_cache):
            if addr in members or addr == self.local_addr:
                self._removable.pop(addr, None)
            elif addr not in self._removable:
                self._removable[addr] = now
            elif now - self._removable[addr] >= expiry:
                del self.addr_cache[addr]
                del self._removable[addr]

    def handle_connect(self) -> None:
        """Hook: the Connect event reached the transport."""

    def handle_disconnect(self) -> None:
        """Hook: the Disconnect event reached the transport."""

    # --- probe diagnostics ----------------------------------------------------------------------------

    def _start_diagnostics(self) -> None:
        """TP.startDiagnostics (at connect): ask the driver for the probe sockets."""
        if not self.diag_enabled or self._diag_open:
            return
        if not self.diag_enable_udp and not self.diag_enable_tcp:
            self.log.error("diagnostics: both diag.enable_udp and diag.enable_tcp are false; probe is off")
            return
        bind: str | None = None
        if self.diag_bind_addr is not None:
            try:
                bind = str(resolve_bind_addr(self.diag_bind_addr, getattr(self, "interfaces", ())))
            except ConfigError as e:
                self.log.error("diagnostics: diag.bind_addr %s: %s; probe is off", self.diag_bind_addr.text, e)
                return
        self._diag_open = True
        self.counters["diag_opened"] += 1
        self.emit(OpenDiagnostics(self.diag_enable_udp, self.diag_enable_tcp, self.diag_mcast_addr, self.diag_port,
                                  self.diag_port_range, bind, self.diag_ttl, self._diag_interfaces(),
                                  self.diag_passcode is not None))

    def _diag_interfaces(self) -> tuple[str, ...]:
        """Addresses of the interfaces joining the probe group: diag.bind_interfaces, else the
        transport's own bind address (JGroups joins on every interface; pygroups keeps a node bound
        to loopback off the other networks), else none (= every interface)."""
        found: list[str] = []
        known = getattr(self, "interfaces", ())
        for item in self.diag_bind_interfaces:
            nic = next((i for i in known if i.name == item), None)
            if nic is not None:
                found += [str(a) for a in nic.addresses if a.version == 4] or [str(a) for a in nic.addresses]
            else:
                found.append(item)
        if found:
            return tuple(dict.fromkeys(found))
        ip = self.physical_addr.ip if self.physical_addr is not None else None
        return () if ip is None or ip.is_unspecified else (str(ip),)

    def _stop_diagnostics(self) -> None:
        if self._diag_open:
            self._diag_open = False
            self.emit(CloseDiagnostics())

    def on_diagnostics(self, request: bytes) -> bytes | None:
        """One probe request (see `pygroups.protocols.diagnostics`); None = no answer."""
        if not self._diag_open:
            self.counters["diag_requests_dropped (not running)"] += 1
            return None
        removable = tuple(self._removable)
        ctx = DiagContext(self.stack, self.physical_addr, self.view, self.cluster, dict(self.addr_cache), removable)
        try:
            answer = DiagnosticsHandler(self.diag_passcode).handle(request, ctx)
        except ProbeDropped as e:
            self.counters["diag_requests_dropped"] += 1
            self.log.debug("probe request dropped: %s", e)
            return None
        except Exception as e:  # a bug in an answer must not take the node down
            self.counters["diag_requests_failed"] += 1
            self.log.error("failed handling a probe request %r: %r", request[:100], e)
            return None
        self.counters["diag_requests"] += 1
        return answer

    def _register_local_address(self, addr: Address | None = None) -> None:
        """TP.fetchLocalAddresses: our own logical -> physical mapping is always in the cache."""
        local = addr if addr is not None else self.local_addr
        if local is not None and self.physical_addr is not None:
            self.addr_cache[local] = self.physical_addr

    @answers(GetLocalAddress)
    def answer_local_address(self, q: GetLocalAddress) -> Address | None:
        return self.local_addr

    @answers(GetPhysicalAddress)
    def answer_physical_address(self, q: GetPhysicalAddress) -> IpAddress | None:
        found = self.addr_cache.get(q.addr)
        if found is None and q.addr == self.local_addr and self.physical_addr is not None:
            self.addr_cache[q.addr] = self.physical_addr
            return self.physical_addr
        return found

    @answers(GetLogicalPhysicalMappings)
    def answer_mappings(self, q: GetLogicalPhysicalMappings) -> Mapping[Address, IpAddress]:
        return dict(self.addr_cache)

    @answers(GetSendQueue)
    def answer_send_queue(self, q: GetSendQueue) -> SendQueue | None:
        """The driver's unwritten bytes plus what the bundler holds (Java: the bundler's queue);
        None without a driver that reports its queue (RED then disables itself)."""
        if self.send_queue_probe is None:
            return None
        queue = self.send_queue_probe()
        return SendQueue(queue.size + sum(self._queued_bytes.values()), queue.capacity)

    # --- sending --------------------------------------------------------------------------------------

    def down_msg(self, msg: Message) -> None:
        if self.header is not None and TP_ID not in msg.headers:
            msg.headers[TP_ID] = self.header
        if msg.src is None and self.local_addr is not None:
            msg.src = self.local_addr
        self.counters["msgs_sent"] += 1
        dest = msg.dest
        if msg.flags & Flag.DONT_BUNDLE and self.transport_ready():
            # sent alone, after what is already queued for the same destination (keeps the order)
            self._send_queue(dest)
            self._send_bundle(dest, [msg])
            return
        size = self._estimate(msg)
        queued = self._queued_bytes.get(dest, 0)
        if queued and queued + size >= self.max_bundle_size and self.transport_ready():
            self._send_queue(dest)
            queued = 0
        self._queues.setdefault(dest, []).append(msg)
        self._queued_bytes[dest] = queued + size
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.stack.call_soon(self._flush_at_end_of_input)

    @staticmethod
    def _estimate(msg: Message) -> int:
        """Message.size(): an estimate of the serialized size, as Java's. Byte payloads are counted
        (fixed overhead plus a typical header size: no encoding on the hot path); others encoded."""
        if isinstance(msg.payload, bytes | bytearray | memoryview):
            return len(msg.payload) + 48 + 24 * len(msg.headers)
        try:
            return len(codec.encode_message(msg))
        except Exception:  # an unencodable message fails again (and is counted) when sent
            return 0

    def _flush_at_end_of_input(self) -> None:
        self._flush_scheduled = False
        if self.transport_ready():
            self.flush_bundler()

    def flush_bundler(self) -> None:
        """Send everything queued (PerDestinationBundler's sender thread draining its buffers)."""
        for dest in list(self._queues):
            self._send_queue(dest)

    def drop_queued(self, reason: str) -> int:
        """Drop every queued message (the transport cannot send); returns how many."""
        n = sum(len(q) for q in self._queues.values())
        self._queues.clear()
        self._queued_bytes.clear()
        if n:
            self.counters[f"dropped_msgs ({reason})"] += n
        return n

    def queued_messages(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def _send_queue(self, dest: Address | None) -> None:
        msgs = self._queues.pop(dest, None)
        self._queued_bytes.pop(dest, None)
        if msgs:
            self._send_bundle(dest, msgs)

    def _is_self(self, dest: Address) -> bool:
        return dest == self.local_addr or (isinstance(dest, IpAddress) and dest == self.physical_addr)

    def _send_bundle(self, dest: Address | None, msgs: list[Message]) -> None:
        """BaseBundler.sendSingle / sendMultiple."""
        to_self = dest is not None and self._is_self(dest)
        if not to_self:
            try:
                if len(msgs) == 1:
                    payload = codec.encode_single(msgs[0], multicast=dest is None, version=self.version)
                    self.counters["single_msgs_sent"] += 1
                else:
                    payload = codec.encode_list(msgs, dest=dest, src=self.local_addr, cluster=self.cluster,
                                                multicast=dest is None, version=self.version)
                    self.counters["batches_sent"] += 1
            except Exception as e:  # a message our encoder cannot write: a bug above, not fatal
                self.counters["dropped_msgs (unencodable)"] += len(msgs)
                self.log.error("failed encoding %d message(s) to %s: %s", len(msgs), dest, e)
                return
            if dest is None:
                self._send_to_all(payload)
            else:
                self._send_to(dest, payload)
        if dest is None or to_self:
            self._loopback(dest, msgs)

    def _loopback(self, dest: Address | None, msgs: list[Message]) -> None:
        copies = [m.copy() for m in msgs if not m.transient_flags & TransientFlag.DONT_LOOPBACK]
        if not copies:
            return
        self.counters["msgs_looped_back"] += len(copies)
        if len(msgs) == 1:
            self.stack.call_soon(self.up_layer.up_msg, copies[0])
            return
        oob = [m for m in copies if m.flags & Flag.OOB]
        reg = [m for m in copies if not m.flags & Flag.OOB]
        for batch in (reg, oob):  # BaseBundler.loopback: the regular batch first
            if batch:
                self.stack.call_soon(self.up_layer.up_batch, batch)

    def _send_to(self, dest: Address, payload: bytes) -> None:
        """TP.sendTo: physical addresses directly, logical ones through the cache, else ask discovery."""
        physical = dest if isinstance(dest, IpAddress) else self.addr_cache.get(dest)
        if physical is not None:
            self._unicast(physical, payload)
            return
        self.counters["dropped_msgs (no physical address)"] += 1
        now = self.now_ns()
        last = self._who_has.get(dest)
        if last is None or now - last >= self.who_has_cache_timeout * MS:
            self._who_has[dest] = now
            self.log.debug("no physical address for %s, dropping the message and asking discovery",
                           self.stack.name_of(dest))
            self.stack.call_soon(self.up, FindMembersAsync((dest,)))

    def _send_to_all(self, payload: bytes) -> None:
        """TP.sendToAll: every member's physical address except our own, once each."""
        mbrs: Sequence[Address] = self.members or tuple(self.addr_cache)
        targets: dict[IpAddress, None] = {}
        missing: list[Address] = []
        for mbr in mbrs:
            target = mbr if isinstance(mbr, IpAddress) else self.addr_cache.get(mbr)
            if target is None:
                missing.append(mbr)
            elif target != self.physical_addr:
                targets[target] = None
        for target in targets:
            self._unicast(target, payload)
        if missing:
            self._fetch_physical_addrs(missing)

    def _fetch_physical_addrs(self, missing: list[Address]) -> None:
        now = self.now_ns()
        if self._last_discovery_ns is not None and now - self._last_discovery_ns < MIN_WAIT_BETWEEN_DISCOVERIES_NS:
            return
        self._last_discovery_ns = now
        wanted = tuple(a for a in missing if a not in self.addr_cache)
        if wanted:
            self.counters["find_members_async"] += 1
            self.stack.call_soon(self.up, FindMembersAsync(wanted))

    def _unicast(self, dest: IpAddress, payload: bytes) -> None:
        if dest == self.physical_addr:
            return  # BaseServer.send to itself: TP.receive drops frames from its own address
        self.counters["bytes_sent"] += len(payload)
        self.send_unicast(dest, payload)

    # --- receiving ------------------------------------------------------------------------------------

    def receive(self, sender: IpAddress | None, payload: bytes) -> bool:
        """TP.receive: one TP payload (a single message or a list) read from ``sender``.

        Returns False when the payload shows the sender cannot be talked to (an incompatible
        version, bytes that do not decode, e.g. a header of a protocol we lack): the transport then
        drops that sender's connection. Ordinary drops (other cluster, not for us) return True."""
        if sender is not None and sender == self.physical_addr:
            self.counters["dropped_frames (from self)"] += 1
            return True
        if len(payload) < 3:
            self._drop_frame("too short", sender, f"{len(payload)} bytes")
            return False
        self.counters["bytes_received"] += len(payload)
        (version,) = struct.unpack_from(">h", payload, 0)
        if not self.version.is_binary_compatible(version):
            self.counters["dropped_frames (version)"] += 1
            if self.log_discard_msgs_version:
                self.log.warning("dropped a frame from %s with version %s (ours is %s)", sender,
                                 WireVersion.from_short(version), self.version)
            return False
        try:
            frame = codec.decode_frame(payload)
        except MalformedMessage as e:
            self._drop_frame("undecodable", sender, str(e))
            return False
        if frame.is_list:
            self._receive_list(sender, frame)
        else:
            self._receive_single(sender, frame.messages[0], frame.multicast)
        return True

    def _drop_frame(self, reason: str, sender: IpAddress | None, detail: str) -> None:
        self.counters[f"dropped_frames ({reason})"] += 1
        self.log.warning("dropped a frame from %s (%s): %s", sender, reason, detail)

    def _dest_mismatch(self, dest: Address | None) -> bool:
        """TP.unicastDestMismatch: a unicast for neither our logical nor our physical address."""
        return dest is not None and dest != self.local_addr and dest != self.physical_addr

    def _wrong_cluster(self, cluster: str | None, sender: Address | None, what: str) -> bool:
        if self.cluster is None or cluster == self.cluster:
            return False
        self.counters["dropped_msgs (cluster)"] += 1
        if self.log_discard_msgs:
            self.log.warning("dropped %s from %s of cluster %r (ours is %r)", what,
                             self.stack.name_of(sender), cluster, self.cluster)
        return True

    def _receive_single(self, sender: IpAddress | None, msg: Message, multicast: bool) -> None:
        if not multicast and self._dest_mismatch(msg.dest):
            self.counters["dropped_msgs (not for us)"] += 1
            return
        if multicast and msg.src is not None and msg.src == self.local_addr:
            self.counters["dropped_msgs (own multicast)"] += 1
            return
        hdr = msg.headers.get(TP_ID)
        if isinstance(hdr, TpHeader) and hdr.cluster is not None and self._wrong_cluster(hdr.cluster, msg.src,
                                                                                         "a message"):
            return
        self.counters["msgs_received"] += 1
        self.up_layer.up_msg(msg)

    def _receive_list(self, sender: IpAddress | None, frame: codec.Frame) -> None:
        """TP.handleMessageBatch: the whole list is dropped for another cluster or a foreign dest."""
        if self._wrong_cluster(frame.cluster, frame.src, "a message list"):
            return
        if frame.multicast and frame.src is not None and frame.src == self.local_addr:
            self.counters["dropped_msgs (own multicast)"] += len(frame.messages)
            return
        if self._dest_mismatch(frame.dest):
            self.counters["dropped_msgs (not for us)"] += len(frame.messages)
            return
        oob: list[Message] = []
        reg: list[Message] = []
        for m in frame.messages:  # MessageBatch: dest from the list, src unless the message has its own
            m.dest = frame.dest
            if m.src is None:
                m.src = frame.src
            (oob if m.flags & Flag.OOB else reg).append(m)
        self.counters["msgs_received"] += len(frame.messages)
        self.counters["batches_received"] += 1
        for batch in (oob, reg):  # TP processes the OOB batch first
            if batch:
                self.up_layer.up_batch(batch)
