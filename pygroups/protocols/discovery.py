"""`Discovery`, the base of every discovery protocol (org.jgroups.protocols.Discovery), and `Responses`.

Java's ``findMembers`` returns a ``Responses`` object the caller blocks on; here a request
(`FindInitialMembers` from GMS, `FindMembers`) opens a `Responses` whose result goes up as one
`DiscoveryResponse` with the same ``request_id``: early when Java's ``Responses`` would be done
(``break_on_coord_rsp`` and a coordinator answered, or every expected member answered), otherwise
when the caller's timeout expires. Subclasses implement `find_members` (how requests are sent).

What a member answers, and when, mirrors ``Discovery.handle``: it answers every GET_MBRS_REQ of
its cluster, before and after BECOME_SERVER (the flags tell the joiner whether it is a server or
the coordinator); it stays silent only while leaving, for a foreign cluster, when ``mbrs`` lists
others only, or above ``max_rank_to_reply`` during an initial discovery.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from pygroups.address import Address, IpAddress
from pygroups.clock import MS, TimerHandle
from pygroups.errors import ConfigError, MalformedMessage
from pygroups.events import (
    AddPhysicalAddress,
    BecomeServer,
    Connect,
    Disconnect,
    DiscoveryResponse,
    Event,
    FindInitialMembers,
    FindMembers,
    FindMembersAsync,
    FindMembersNotify,
    GetLogicalPhysicalMappings,
    GetPhysicalAddress,
    ViewChange,
)
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Bool, Duration, Int, prop
from pygroups.view import View
from pygroups.wire.headers.ping import PingData, PingHeader, decode_ping_data_list, encode_ping_data_list

REQ, RSP = PingHeader.Type.GET_MBRS_REQ, PingHeader.Type.GET_MBRS_RSP


def ping_data(sender: Address | None, is_server: bool, name: str | None, physical: IpAddress | None, *,
              coord: bool = False, mbrs: Sequence[Address] | None = None) -> PingData:
    """``new PingData(sender, is_server, name, physical).coord(coord)``: a coordinator is a server too."""
    return PingData(sender, is_server or coord, coord, name, physical, None if mbrs is None else tuple(mbrs))


class Responses:
    """org.jgroups.util.Responses: one entry per sender (PingData equality is by sender), in arrival order.

    An entry is replaced when ``overwrite`` (the sender speaks for itself) or when a coordinator's
    entry replaces a non-coordinator's. Done once ``num_expected`` entries are in, or at the first
    coordinator entry with ``break_on_coord_rsp``.
    """

    def __init__(self, num_expected: int, break_on_coord_rsp: bool, request_id: int | None = None,
                 on_done: Callable[[Responses], None] | None = None) -> None:
        self.num_expected = num_expected
        self.break_on_coord_rsp = break_on_coord_rsp
        self.request_id = request_id
        self.on_done = on_done
        self.done = False
        self.timer: TimerHandle | None = None
        self._rsps: list[PingData] = []

    def add(self, rsp: PingData, overwrite: bool) -> None:
        changed = False
        for i, existing in enumerate(self._rsps):
            if existing.sender == rsp.sender:
                if overwrite or (rsp.is_coord and not existing.is_coord):
                    self._rsps[i] = rsp
                    changed = True
                break
        else:
            self._rsps.append(rsp)
            changed = True
        if changed and ((0 < self.num_expected <= len(self._rsps)) or (self.break_on_coord_rsp and rsp.is_coord)):
            self.finish()

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        if self.on_done is not None:
            self.on_done(self)

    def is_coord(self, addr: Address) -> bool:
        return any(r.sender == addr and r.is_coord for r in self._rsps)

    def __iter__(self) -> Iterator[PingData]:
        return iter(tuple(self._rsps))

    def __len__(self) -> int:
        return len(self._rsps)


class Discovery(Layer):
    """Shared behaviour of TCPPING, SHARED_LOOPBACK_PING, ...; not registered (Java's class is abstract)."""

    requires_below = frozenset({GetPhysicalAddress})

    break_on_coord_rsp: bool = prop(Bool, True, "Return from the discovery phase as soon as a coordinator answered")
    return_entire_cache: bool = prop(Bool, False, "Answer a request with the whole logical-physical cache "
                                     "(own entry and view members)")
    stagger_timeout: int = prop(Duration, 0, "Delay answers by up to this many ms (rank-based when in a view)")
    use_disk_cache: bool = prop(Bool, False, "Combine results with a persistent disk cache (accepted, no PDC here)")
    max_members_in_discovery_request: int = prop(Int, 500, "Above this many wanted members, mbrs is left "
                                                 "out of the request and everyone answers")
    discovery_rsp_expiry_time: int = prop(Duration, 60_000, "Expiry (ms) of pending discovery responses")
    async_discovery: bool = prop(Bool, False, "Run find_members after the current input (Java: a timer thread)")
    async_discovery_use_separate_thread_per_request: bool = prop(
        Bool, False, "Send each request after the current input (Java: one task per request)")
    send_cache_on_join: bool = prop(Bool, True, "As coordinator of a static discovery, send the address cache "
                                    "to new and existing members on joins (JGRP-1903)")
    max_rank_to_reply: int = prop(Int, 0, "Only members up to this rank answer initial discovery (<= 0: all)")
    num_discovery_runs: int = prop(Int, 1, "Discovery rounds per initial discovery, spread over the timeout")

    def __init__(self) -> None:
        super().__init__()
        self.is_server = False
        self.is_leaving = False
        self.is_coord = False
        self.view: View | None = None
        self.current_coord: Address | None = None
        self.cluster_name: str | None = None
        self.num_discovery_requests = 0
        self._pending: list[Responses] = []
        self._runs: list[TimerHandle] = []  # Java's discovery_req_futures (staggered runs)
        self.discovery_rsp_callback: Callable[[PingData], None] | None = None  # MERGE3's INFO sender

    # --- subclass interface ---------------------------------------------------------------------------

    def is_dynamic(self) -> bool:
        """True when members find each other without a static host list (no cache dissemination)."""
        raise NotImplementedError

    def find_members(self, members: Sequence[Address] | None, initial_discovery: bool,
                     responses: Responses) -> None:
        """Send the requests (or fetch the data) for one discovery run."""
        raise NotImplementedError

    def discovery_request_received(self, sender: Address | None, logical_name: str | None,
                                   physical: IpAddress | None) -> None:
        """Hook: a GET_MBRS_REQ arrived (TCPPING learns dynamic hosts here)."""

    # --- lifecycle ------------------------------------------------------------------------------------

    def validate(self) -> None:
        if self.stagger_timeout < 0:
            raise ConfigError(f"<{self.name}> stagger_timeout cannot be negative")
        if self.num_discovery_runs < 1:
            raise ConfigError(f"<{self.name}> num_discovery_runs must be >= 1")

    def init(self) -> None:
        self.validate()

    def stop(self) -> None:
        self.is_server = self.is_coord = False
        self._clear_runs()
        for rsps in list(self._pending):
            if rsps.timer is not None:
                rsps.timer.cancel()
        self._pending.clear()

    def statistics(self) -> Mapping[str, int | float]:
        return {**self.counters, "num_discovery_requests": self.num_discovery_requests}

    # --- events ---------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case FindInitialMembers(request_id=rid, timeout_ms=timeout):
                self.start_discovery(None, initial=True, request_id=rid, timeout_ms=timeout)
            case FindMembers(request_id=rid, members=members):
                self.start_discovery(members, initial=False, request_id=rid,
                                     timeout_ms=self.discovery_rsp_expiry_time, is_async=True)
            case FindMembersNotify(callback=callback):
                # Java's FIND_MBRS_ASYNC from MERGE3: the callback stays installed; a synchronous round
                self.discovery_rsp_callback = callback
                self.start_discovery(None, initial=False, request_id=None, timeout_ms=self.discovery_rsp_expiry_time)
            case ViewChange(view=view):
                old_view, self.view = self.view, view
                self.current_coord = view.coordinator
                self.is_coord = self.current_coord == self.local_addr
                self.down_layer.down(evt)
                if self.send_cache_on_join and not self.is_dynamic() and self.is_coord:
                    left = None if old_view is None else [m for m in old_view.members if m not in view.members]
                    new = [m for m in view.members if old_view is None or m not in old_view.members]
                    # Java runs the dissemination as a timer task, after the view went down
                    self.stack.call_soon(self.disseminate, list(view.members), left, new)
            case BecomeServer():
                self.down_layer.down(evt)
                self.is_server = True
            case Connect(cluster=cluster):
                self.is_leaving = False
                self.cluster_name = cluster
                self.down_layer.down(evt)
            case Disconnect():
                self.is_leaving = True
                self.down_layer.down(evt)
            case _:
                self.down_layer.down(evt)

    def up(self, evt: Event) -> None:
        match evt:
            case FindMembersAsync(members=members):
                # TP lacks physical addresses (Java: FIND_MBRS up); responses only fill the caches
                self.start_discovery(members, initial=False, request_id=None,
                                     timeout_ms=self.discovery_rsp_expiry_time, is_async=True)
            case _:
                self.up_layer.up(evt)

    def up_msg(self, msg: Message) -> None:
        hdr = msg.get_header(self.protocol_id)
        if not isinstance(hdr, PingHeader):
            self.up_layer.up_msg(msg)
        elif self.is_leaving:
            self.counters["dropped_while_leaving"] += 1  # JGRP-1336: don't merge a leaving member back
        else:
            self.handle(hdr, msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        rest = []
        for msg in batch:
            hdr = msg.get_header(self.protocol_id)
            if not isinstance(hdr, PingHeader):
                rest.append(msg)
            elif self.is_leaving:
                self.counters["dropped_while_leaving"] += 1
            else:
                self.handle(hdr, msg)
        if rest:
            self.up_layer.up_batch(rest)

    # --- discovery rounds -----------------------------------------------------------------------------

    def start_discovery(self, members: Sequence[Address] | None, *, initial: bool, request_id: int | None,
                        timeout_ms: int, is_async: bool = False) -> Responses:
        """Java ``findMembers(members, initial_discovery, async, timeout)``."""
        self.num_discovery_requests += 1
        rsps = Responses(len(members) if members else 0, initial and self.break_on_coord_rsp, request_id,
                         self._responses_done)
        self._pending.append(rsps)
        rsps.timer = self.timers.call_later(max(timeout_ms, 0) * MS, rsps.finish)
        mbrs = None if members is None else tuple(members)
        runs = self.num_discovery_runs if initial else 1
        if is_async or self.async_discovery or runs > 1:
            self.stack.call_soon(self._run_find, mbrs, initial, rsps)
            if runs > 1:
                last_send = timeout_ms - timeout_ms // runs
                interval = last_send // (runs - 1)
                for i in range(1, runs):
                    self._runs.append(self.timers.call_later(i * interval * MS, self._run_find, mbrs, initial, rsps))
                    self.num_discovery_requests += 1
        else:
            self._run_find(mbrs, initial, rsps)
        return rsps

    def _run_find(self, members: tuple[Address, ...] | None, initial: bool, rsps: Responses) -> None:
        if not rsps.done:
            self.find_members(members, initial, rsps)

    def _responses_done(self, rsps: Responses) -> None:
        if rsps in self._pending:
            self._pending.remove(rsps)
        self._clear_runs()  # Java cancels every scheduled run once any Responses completes
        if rsps.request_id is not None:
            # Never re-enter the requester (a synchronous find may finish inside its own down call).
            # Like Java's caller, which reads Responses after waitFor(), take what arrived by then.
            self.stack.call_soon(self._deliver, rsps, rsps.request_id)

    def _deliver(self, rsps: Responses, request_id: int) -> None:
        self.up_layer.up(DiscoveryResponse(request_id, tuple(rsps)))

    def _clear_runs(self) -> None:
        for handle in self._runs:
            handle.cancel()
        self._runs.clear()

    def add_response(self, data: PingData, overwrite: bool) -> None:
        """Feed ``data`` to MERGE3's callback and every pending round (Java ``addResponse(PingData, boolean)``)."""
        if self.discovery_rsp_callback is not None:
            self.discovery_rsp_callback(data)
        for rsps in list(self._pending):
            rsps.add(data, overwrite)

    def send_discovery_requests(self, targets: Iterable[IpAddress], hdr: PingHeader, data: PingData) -> None:
        """One GET_MBRS_REQ to each target (an IpAddress the transport sends straight to), in order: Java's
        send loop of TCPPING, KUBE_PING and DNS_PING (with ``async_discovery_use_separate_thread_per_request``
        each goes down after the current input, as Java's timer task would)."""
        for addr in targets:
            msg = request_message(addr, self.protocol_id, hdr, data)
            self.counters["requests_sent"] += 1
            if self.async_discovery_use_separate_thread_per_request:
                self.stack.call_soon(self.down_layer.down_msg, msg)
            else:
                self.down_layer.down_msg(msg)

    # --- incoming requests and responses --------------------------------------------------------------

    def handle(self, hdr: PingHeader, msg: Message) -> None:
        data = self._read_ping_data(msg)
        if hdr.type == REQ:
            self.handle_request(hdr, msg, data)
        elif hdr.type == RSP:
            if data is not None:
                for pd in data:
                    self.handle_discovery_response(pd, msg.src)
        else:
            self.counters["unknown_ping_type"] += 1
            self.log.warning("got PING header with unknown type %d from %s", hdr.type, msg.src)

    def _read_ping_data(self, msg: Message) -> tuple[PingData, ...] | None:
        payload = msg.payload
        if payload is None:
            return None
        if not isinstance(payload, bytes | bytearray | memoryview):
            self.counters["bad_ping_data"] += 1
            self.log.warning("discovery message from %s without a byte array payload", msg.src)
            return None
        try:
            return decode_ping_data_list(bytes(payload)) or None  # Java: a count of 0 reads as null
        except MalformedMessage as e:
            self.counters["bad_ping_data"] += 1
            self.log.warning("failed reading PingData from message from %s: %s", msg.src, e)
            return None

    def handle_request(self, hdr: PingHeader, msg: Message, data: tuple[PingData, ...] | None) -> None:
        if self.cluster_name is None or hdr.cluster_name is None:
            self.log.warning("cluster_name (%s) or cluster_name of header (%s) is null; handling discovery "
                             "request from %s anyway", self.cluster_name, hdr.cluster_name, msg.src)
        elif self.cluster_name != hdr.cluster_name:
            self.counters["foreign_cluster_requests"] += 1
            self.log.warning("discarding discovery request for cluster '%s' from %s; our cluster name is '%s'",
                             hdr.cluster_name, msg.src, self.cluster_name)
            return
        self.counters["requests_received"] += 1
        for pd in data or ():
            logical = pd.sender if pd.sender is not None else msg.src
            self.add_to_caches(logical, pd.logical_name, pd.physical_addr)
            self.discovery_request_received(msg.src, pd.logical_name, pd.physical_addr)
            self.add_response(pd, False)
        if msg.src is None:
            self.counters["requests_without_sender"] += 1
            return
        if self.return_entire_cache:
            cache = self.down_layer.query_down(GetLogicalPhysicalMappings())
            view = self.view
            entries = [
                ping_data(addr, self.is_server, self.stack.logical_names.get(addr), physical,
                          coord=addr == self.current_coord)
                for addr, physical in cache.items()
                if addr == self.local_addr or (view is not None and addr in view.members)
            ]
            self.send_discovery_response(entries, msg.src)
            return
        if (self.max_rank_to_reply > 0 and hdr.initial_discovery
                and self._rank(self.view, self.local_addr) > self.max_rank_to_reply):
            return
        if data is not None:
            wanted = [m for pd in data if pd.mbrs is not None for m in pd.mbrs]
            if wanted and self.local_addr not in wanted:
                return
        me = self.local_addr
        physical = None if me is None else self.down_layer.query_down(GetPhysicalAddress(me))
        own = ping_data(me, self.is_server, self.stack.logical_name, physical, coord=self.is_coord)
        self.send_discovery_response([own], msg.src)

    def handle_discovery_response(self, data: PingData, sender: Address | None) -> None:
        logical = data.sender if data.sender is not None else sender
        self.add_to_caches(logical, data.logical_name, data.physical_addr)
        self.counters["responses_received"] += 1
        self.add_response(data, logical == sender)

    def add_to_caches(self, mbr: Address | None, name: str | None, physical: IpAddress | None) -> None:
        """NameCache plus ADD_PHYSICAL_ADDRESS (through our own ``down``, so TCPPING sees it too)."""
        if mbr is None:
            return
        if name is not None:
            self.stack.logical_names[mbr] = name
        if physical is not None:
            self.down(AddPhysicalAddress(mbr, physical))

    # --- answering --------------------------------------------------------------------------------------

    def send_discovery_response(self, entries: Iterable[PingData], dest: Address, *,
                                dont_block: bool = True) -> None:
        """A GET_MBRS_RSP to ``dest`` (OOB, DONT_BUNDLE), possibly staggered by ``stagger_timeout``."""
        msg = Message(MsgType.BYTES, dest=dest, flags=Flag.OOB | Flag.DONT_BUNDLE,
                      transient_flags=TransientFlag.DONT_BLOCK if dont_block else 0,
                      payload=encode_ping_data_list(list(entries)))
        msg.put_header(self.protocol_id, PingHeader(RSP))
        self.counters["responses_sent"] += 1
        if self.stagger_timeout > 0:
            self.timers.call_later(self._stagger_ms() * MS, self.down_layer.down_msg, msg)
        else:
            self.down_layer.down_msg(msg)

    def _stagger_ms(self) -> int:
        view = self.view
        size = len(view.members) if view is not None else 10
        rank = self._rank(view, self.local_addr)
        if rank == 0:
            return self.rng.randint(1, self.stagger_timeout)  # Util.random(range): 1..range
        return self.stagger_timeout * rank // size - self.stagger_timeout // size

    @staticmethod
    def _rank(view: View | None, addr: Address | None) -> int:
        if view is None or addr is None or addr not in view.members:
            return 0
        return view.members.index(addr) + 1

    def disseminate(self, current: list[Address], left: list[Address] | None, new: list[Address]) -> None:
        """Send single-entry responses: everyone (but us and the left) to the new members, and the new
        members to everyone else (``disseminateDiscoveryInformation``)."""
        if not new:
            return
        current = [m for m in current if m != self.local_addr and (left is None or m not in left)]
        for addr in current:
            self._send_entry(addr, new)
        targets = [m for m in current if m not in new]
        if targets:
            for addr in new:
                self._send_entry(addr, targets)

    def _send_entry(self, addr: Address, targets: Iterable[Address]) -> None:
        physical = self.down_layer.query_down(GetPhysicalAddress(addr))
        if physical is None:
            return
        entry = ping_data(addr, self.is_server, self.stack.logical_names.get(addr), physical,
                          coord=addr == self.current_coord)
        for target in targets:
            self.send_discovery_response([entry], target, dont_block=False)

    def __repr__(self) -> str:
        return f"<{self.name} server={self.is_server} coord={self.is_coord}>"


@functools.lru_cache(maxsize=16)
def _request_payload(data: PingData) -> bytes:
    """A round sends the same PingData to every target (KUBE_PING: thousands): marshal it once, not per message."""
    return encode_ping_data_list([data])


def request_message(dest: Address | None, protocol_id: int, hdr: PingHeader, data: PingData) -> Message:
    """A GET_MBRS_REQ as PING/TCPPING build it: OOB|DONT_BUNDLE, DONT_LOOPBACK, one PingData."""
    msg = Message(MsgType.BYTES, dest=dest, flags=Flag.DONT_BUNDLE | Flag.OOB,
                  transient_flags=TransientFlag.DONT_LOOPBACK, payload=_request_payload(data))
    msg.put_header(protocol_id, hdr)
    return msg


__all__ = ["Discovery", "Responses", "ping_data", "request_message"]
