"""`SimStreams`: TCP-like stream connections between the nodes of a `SimNetwork`.

SHARED_LOOPBACK carries whole messages, but a layer that opens its own sockets (FD_SOCK2's server
socket and its ping connections) emits `Listen`, `OpenConnection`, `Write`, `Close` and
`StopListening`, as it would to the asyncio driver. This module plays the driver and the kernels
for them, deterministically:

1. A node listens on its simulated host address (the IP of its transport's physical address), on
   the first free port of ``addr.port .. addr.port + port_range``; `Listening` answers after the
   network's ``call_latency_ns``. The transport's own port counts as taken.
2. A connect reaches the listener after one latency: both ends are told ``on_connection_opened``
   (the accepting side with the request id of its `Listen`). No listener there: refused after one
   latency. Across a partition: no answer, the connect fails after its ``timeout_ms`` (default 1 s).
3. A stream is reliable and ordered per direction: each item (open, bytes, end) waits behind the
   ones before it. Items to a paused node wait until it resumes; items across a partition wait
   until it heals (TCP retransmits), so a crash behind a partition is not seen until the heal.
4. ``Close(graceful=True)`` delivers what was written, then an orderly end (error None) to the
   peer; ``graceful=False`` ends with a reset. The closing side gets its own
   ``on_connection_closed`` at once, as the driver reports every id's end exactly once.
5. A crash ends every stream of the node as the kernel of a killed process does: the peers read an
   orderly end (FIN) with no graceful-close marker before it; its server sockets vanish.
6. `Write`/`Close` for connection ids this model does not know are not its business: they go to
   the network's ``io_handler`` like any foreign command. Ended connections stay known (a late
   `Write` is dropped and counted, a late `Close` does nothing) until their node crashes.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pygroups.address import IpAddress
from pygroups.clock import MS
from pygroups.stack.io import (
    Close,
    ConnId,
    IoCommand,
    IoFailed,
    Listen,
    Listening,
    OpenConnection,
    StopListening,
    Write,
)

if TYPE_CHECKING:
    from pygroups.testing.sim import SimNetwork, SimNode

#: How long a connect across a partition waits when its command gives no timeout.
DEFAULT_CONNECT_TIMEOUT_NS = 1000 * MS
#: How often a stream blocked by a partition tries again (TCP retransmission, coarsely).
RETRY_NS = 100 * MS
#: First ephemeral port of a simulated client socket.
EPHEMERAL_BASE = 40000


@dataclass(eq=False, slots=True)
class _End:
    """One end of a stream: the node (incarnation) holding it and its connection id there."""

    node: SimNode
    incarnation: int
    conn_id: ConnId
    addr: IpAddress  # this end's socket address
    listener: int | None = None  # accepting end: the request id of its Listen
    closed: bool = False  # this end's socket is gone: nothing more is delivered to it
    peer: _End | None = None
    inbox: deque[tuple[int, str, bytes | str | None]] = field(default_factory=deque)
    scheduled: bool = False

    @property
    def alive(self) -> bool:
        return self.node.alive and self.node.incarnation == self.incarnation


class SimStreams:
    """The stream connections and server sockets of one `SimNetwork`."""

    def __init__(self, network: SimNetwork) -> None:
        self.net = network
        self._listeners: dict[tuple[str, int], tuple[SimNode, int, int]] = {}  # (ip, port) -> node, inc, rid
        self._ends: dict[tuple[int, int, ConnId], _End] = {}  # (node index, incarnation, conn id) -> end
        self._actions: list[tuple[int, int, Callable[[], None]]] = []
        self._next_port = EPHEMERAL_BASE

    # --- commands ---------------------------------------------------------------------------------

    def handles(self, node: SimNode, cmd: IoCommand) -> bool:
        """True for the commands this model executes (see rule 6)."""
        if isinstance(cmd, Listen | OpenConnection | StopListening):
            return True
        if isinstance(cmd, Write | Close):
            return (node.index, node.incarnation, cmd.conn_id) in self._ends
        return False

    def execute(self, node: SimNode, cmd: IoCommand) -> None:
        match cmd:
            case Listen():
                self._listen(node, cmd)
            case StopListening(request_id=rid):
                for key, (n, inc, r) in list(self._listeners.items()):
                    if n is node and inc == node.incarnation and r == rid:
                        del self._listeners[key]
            case OpenConnection():
                self._connect(node, cmd)
            case Write(conn_id=conn_id, data=data):
                end = self._ends[(node.index, node.incarnation, conn_id)]
                if end.closed or end.peer is None:
                    self.net.stats["stream_writes_dropped"] += 1
                    return
                self._push(end.peer, "bytes", data)
            case Close(conn_id=conn_id, graceful=graceful):
                end = self._ends[(node.index, node.incarnation, conn_id)]
                self._close(end, None if graceful else "connection reset by peer")
            case _:
                raise TypeError(f"not a stream command: {cmd!r}")

    def host_ip(self, node: SimNode) -> str:
        return str(node.transport.physical_addr.ip)

    def _listen(self, node: SimNode, cmd: Listen) -> None:
        ip = self.host_ip(node)
        taken = {node.transport.physical_addr.port}
        port = next((p for p in range(cmd.addr.port, cmd.addr.port + cmd.port_range + 1)
                     if p not in taken and (ip, p) not in self._listeners), None)
        if port is None:
            result: IoFailed | Listening = IoFailed(cmd.request_id, f"cannot listen on {cmd.addr}: address in use")
        else:
            self._listeners[(ip, port)] = (node, node.incarnation, cmd.request_id)
            result = Listening(cmd.request_id, IpAddress(ip, port))
        self.net.answer_later(node, result)

    def _connect(self, node: SimNode, cmd: OpenConnection) -> None:
        self._next_port += 1
        client = _End(node, node.incarnation, cmd.conn_id, IpAddress(self.host_ip(node), self._next_port))
        self._ends[(node.index, node.incarnation, cmd.conn_id)] = client
        target = self._listeners.get((str(cmd.peer.ip), cmd.peer.port))
        if target is not None and target[0].partition != node.partition:
            timeout = cmd.timeout_ms * MS if cmd.timeout_ms > 0 else DEFAULT_CONNECT_TIMEOUT_NS
            self._at(self.net.now_ns + timeout, lambda: self._refuse(client, f"connect to {cmd.peer} timed out"))
            return
        if target is None or not target[0].alive or target[0].incarnation != target[1]:
            self._at(self.net.now_ns + self.net.latency(),
                     lambda: self._refuse(client, f"connect to {cmd.peer} failed: connection refused"))
            return
        srv_node, inc, rid = target
        server = _End(srv_node, inc, srv_node.stack.new_conn_id(), cmd.peer, listener=rid, peer=client)
        client.peer = server
        self._ends[(srv_node.index, inc, server.conn_id)] = server
        self.net.stats["stream_connects"] += 1
        self._push(server, "open", str(client.addr))
        self._push(client, "open", str(cmd.peer))

    def _refuse(self, client: _End, error: str) -> None:
        self.net.stats["stream_connects_failed"] += 1
        if client.alive and not client.closed:
            client.closed = True
            self.net.call(client.node, client.node.stack.on_connection_closed, client.conn_id, error)

    def _close(self, end: _End, error: str | None) -> None:
        """The stack closed ``end``: the peer reads the end after the data; ``end`` hears it at once."""
        if end.closed:
            return
        end.closed = True
        end.inbox.clear()
        if end.peer is not None:
            self._push(end.peer, "end", error)
        node = end.node
        self._at(self.net.now_ns, lambda: self._report_closed(end, node))

    def _report_closed(self, end: _End, node: SimNode) -> None:
        if end.alive:
            self.net.call(node, node.stack.on_connection_closed, end.conn_id, None)

    def resume(self, node: SimNode) -> None:
        """``node``'s pause ended early (`SimNetwork.resume`): what waited for it is drained from now on."""
        for end in self._ends.values():
            if end.node is node and end.inbox and not end.closed:
                end.scheduled = True
                self._at(self.net.now_ns, lambda e=end: self._drain(e))  # type: ignore[misc]

    def crash(self, node: SimNode) -> None:
        """The node died: its listeners vanish, its peers read an orderly end (rule 5)."""
        for key, (n, _, _) in list(self._listeners.items()):
            if n is node:
                del self._listeners[key]
        for end_key, end in list(self._ends.items()):
            if end.node is node:
                del self._ends[end_key]
                if not end.closed:
                    end.closed = True
                    end.inbox.clear()
                    if end.peer is not None:
                        self._push(end.peer, "end", None)

    # --- delivery ---------------------------------------------------------------------------------

    def _push(self, end: _End, kind: str, data: bytes | str | None) -> None:
        """Queue an item for ``end``, behind everything queued before it (rule 3)."""
        if end.closed:
            self.net.stats["stream_items_dropped"] += 1
            return
        ready = self.net.now_ns + self.net.latency()
        if end.inbox:
            ready = max(ready, end.inbox[-1][0])
        end.inbox.append((ready, kind, data))
        if not end.scheduled:
            end.scheduled = True
            self._at(end.inbox[0][0], lambda: self._drain(end))

    def _drain(self, end: _End) -> None:
        end.scheduled = False
        now = self.net.now_ns
        while end.inbox and not end.closed:
            ready, kind, data = end.inbox[0]
            if ready > now:
                break
            node = end.node
            if not end.alive:
                end.inbox.clear()
                return
            if node.paused_until > now:
                ready = node.paused_until
                break
            src = end.peer.node if end.peer is not None else None
            if src is not None and src.partition != node.partition:
                ready = now + RETRY_NS
                break
            end.inbox.popleft()
            self._deliver(end, kind, data)
        if end.inbox and not end.closed:
            end.scheduled = True
            self._at(max(ready, end.inbox[0][0]), lambda: self._drain(end))

    def _deliver(self, end: _End, kind: str, data: bytes | str | None) -> None:
        stack = end.node.stack
        match kind:
            case "open":
                # the connecting side hears the address it connected to, the accepting side the client's
                peer = end.peer.addr if end.peer is not None else end.addr
                self.net.call(end.node, stack.on_connection_opened, end.conn_id, peer, end.listener)
            case "bytes":
                assert isinstance(data, bytes)
                self.net.stats["stream_bytes"] += len(data)
                self.net.call(end.node, stack.on_bytes, end.conn_id, data)
            case "end":
                end.closed = True
                end.inbox.clear()
                error = data if isinstance(data, str) else None
                self.net.call(end.node, stack.on_connection_closed, end.conn_id, error)

    # --- scheduling (driven by SimNetwork.step) ---------------------------------------------------

    def _at(self, when: int, fn: Callable[[], None]) -> None:
        self.net.bump_seq()
        heapq.heappush(self._actions, (when, self.net.seq, fn))

    def next_ns(self) -> int | None:
        return self._actions[0][0] if self._actions else None

    def run_next(self) -> None:
        _, _, fn = heapq.heappop(self._actions)
        fn()
