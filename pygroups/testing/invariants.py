"""Reusable checks for simulated clusters (`pygroups.testing.sim`): views, delivery guarantees, buffers.

Every check raises `SimulationFailure` whose message starts with ``PYGROUPS_SEED=<seed>`` so a
failure replays with that environment variable. The checks only read what the nodes delivered to
the application (`SimNode.views`, `SimNode.messages`) and the layers' `statistics()`, so they work
for any stack. Delivery checks need payloads written by `Traffic`: ``b"<sender>|<kind>|<n>|<padding>"``
with kind ``m`` (multicast), ``u`` (unicast) or ``o`` (OOB multicast).

Typical use::

    traffic = Traffic(net)
    traffic.multicast(a, 10); traffic.unicast(a, b, 10)
    net.run_until(traffic.all_delivered, 10_000 * MS)
    check_final_views(net, members)
    traffic.check()
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from pygroups.address import Address
from pygroups.message import Flag, Message
from pygroups.protocols.flow_control import MFC, UFC, FlowControl
from pygroups.protocols.pbcast.nakack2 import NAKACK2
from pygroups.protocols.unicast3 import UNICAST3
from pygroups.testing.sim import SEED_ENV, SimNetwork, SimNode, SimulationFailure
from pygroups.view import View

MULTICAST, UNICAST, OOB = "m", "u", "o"


def fail(net: SimNetwork, what: str) -> SimulationFailure:
    """The failure to raise: names the seed, the simulated time and what broke."""
    return SimulationFailure(f"{SEED_ENV}={net.seed} (t={net.now_ns / 1e6:.3f} ms): {what}")


def _names(net: SimNetwork) -> dict[Address | None, str]:
    return {n.addr: n.name for n in net.nodes if n.addr is not None}


def _fmt(net: SimNetwork, view: View | None) -> str:
    if view is None:
        return "no view"
    names = _names(net)
    return f"[{names.get(view.view_id.creator, view.view_id.creator)}|{view.view_id.id}] " + \
        f"({', '.join(names.get(m, str(m)) for m in view.members)})"


# --- views ------------------------------------------------------------------------------------------


def check_view_ids_increase(net: SimNetwork, nodes: Iterable[SimNode] | None = None) -> None:
    """On every node, each installed view has a higher view id than the one before."""
    for node in nodes if nodes is not None else net.nodes:
        views = node.views()
        for before, after in pairwise(views):
            if after.view_id.id <= before.view_id.id:
                raise fail(net, f"{node.name}: view {_fmt(net, after)} after {_fmt(net, before)}")


def check_final_views(net: SimNetwork, members: Sequence[SimNode]) -> View:
    """``members`` all installed the same last view (same ViewId, same member order), it holds exactly
    them, they see one coordinator (its first member, itself among them), and view ids increased."""
    check_view_ids_increase(net, members)
    last = {n.name: (n.views()[-1] if n.views() else None) for n in members}
    distinct = set(last.values())
    if len(distinct) != 1:
        detail = "; ".join(f"{name}: {_fmt(net, v)}" for name, v in last.items())
        raise fail(net, f"members disagree on the final view: {detail}")
    (view,) = distinct
    if view is None:
        raise fail(net, "no member installed a view")
    expected = {n.addr for n in members}
    if set(view.members) != expected or len(view.members) != len(expected):
        raise fail(net, f"final view {_fmt(net, view)} does not hold exactly "
                        f"{sorted(n.name for n in members)}")
    check_single_coordinator(net, members)
    return view


def check_single_coordinator(net: SimNetwork, members: Sequence[SimNode]) -> None:
    """Exactly one of ``members`` is coordinator of its own last view, and everyone names the same one."""
    coords = {n.views()[-1].coordinator if n.views() else None for n in members}
    selves = [n.name for n in members if n.views() and n.views()[-1].coordinator == n.addr]
    if len(coords) != 1 or len(selves) != 1:
        names = _names(net)
        raise fail(net, f"expected one coordinator, members name {sorted(str(names.get(c, c)) for c in coords)}, "
                        f"coordinators by their own view: {selves}")


# --- traffic ----------------------------------------------------------------------------------------


@dataclass
class Traffic:
    """Sends numbered messages through a network and checks exactly-once, FIFO and OOB delivery.

    ``expected[receiver]`` is the multiset of payloads each receiver must get exactly once.
    """

    net: SimNetwork
    expected: dict[str, Counter[bytes]] = field(default_factory=lambda: defaultdict(Counter))
    _next: Counter[tuple[str, str]] = field(default_factory=Counter)
    _skip: dict[str, int] = field(default_factory=dict)  # messages each node had before tracking

    def start(self, nodes: Iterable[SimNode] | None = None) -> None:
        """Ignore what ``nodes`` delivered so far (call before a new round on existing nodes)."""
        for n in nodes if nodes is not None else self.net.nodes:
            self._skip[n.name] = len(n.messages())

    def _payload(self, sender: SimNode, kind: str, size: int) -> bytes:
        self._next[(sender.name, kind)] += 1
        head = f"{sender.name}|{kind}|{self._next[(sender.name, kind)]}|".encode()
        return head + b"x" * max(0, size - len(head))

    def multicast(self, sender: SimNode, count: int, receivers: Sequence[SimNode], *, oob: bool = False,
                  size: int = 0) -> None:
        """``count`` multicasts from ``sender``; each of ``receivers`` (sender included) must get each.
        ``size`` pads payloads to that many bytes (to exercise fragmentation and flow control)."""
        for _ in range(count):
            payload = self._payload(sender, OOB if oob else MULTICAST, size)
            sender.send(Message(payload=payload, flags=Flag.OOB if oob else 0))
            for r in receivers:
                self.expected[r.name][payload] += 1

    def unicast(self, sender: SimNode, dest: SimNode, count: int, *, size: int = 0) -> None:
        for _ in range(count):
            payload = self._payload(sender, UNICAST, size)
            sender.send(Message(dest=dest.addr, payload=payload))
            self.expected[dest.name][payload] += 1

    def received(self, node: SimNode) -> list[Message]:
        return node.messages()[self._skip.get(node.name, 0):]

    def all_delivered(self) -> bool:
        """Every expected payload arrived at its receiver (duplicates are found by `check`)."""
        for name, want in self.expected.items():
            got = Counter(m.payload for m in self.received(self.net.node(name)))
            if any(got[p] < c for p, c in want.items()):
                return False
        return True

    def missing(self) -> dict[str, list[bytes]]:
        out = {}
        for name, want in self.expected.items():
            got = Counter(m.payload for m in self.received(self.net.node(name)))
            lost = sorted(p for p, c in want.items() if got[p] < c)
            if lost:
                out[name] = lost
        return out

    def new_round(self, nodes: Iterable[SimNode] | None = None) -> None:
        """Forget what earlier rounds expected and `start` afresh; the numbering goes on, so payloads stay
        unique over the whole run (which `check_no_duplicates_fifo` relies on)."""
        self.expected.clear()
        self.start(nodes)

    def check(self, *, others_may_arrive: bool = False) -> None:
        """Exactly once (nothing lost, nothing duplicated, nothing unexpected), right sender, FIFO.
        With ``others_may_arrive``, payloads this round did not send (stragglers of an earlier phase, messages
        sent with no receiver expected) are left out; one of this round's payloads at a receiver that was not
        to get it still fails."""
        sent: set[bytes] = set().union(*self.expected.values()) if others_may_arrive else set()

        def got(name: str) -> list[Message]:
            msgs = self.received(self.net.node(name))
            return [m for m in msgs if m.payload in sent] if others_may_arrive else msgs

        check_exactly_once(self.net, {n: got(n) for n in self.expected}, self.expected)
        check_fifo(self.net, {n: got(n) for n in self.expected})


def _short(payloads: Iterable[object]) -> list[str]:
    out = []
    for p in payloads:
        parsed = _parse(p)
        out.append("|".join(map(str, parsed)) if parsed is not None else repr(p)[:40])
    return out


def _parse(payload: object) -> tuple[str, str, int] | None:
    if not isinstance(payload, bytes):
        return None
    try:
        sender, kind, n, _ = payload.decode().split("|", 3)
        return sender, kind, int(n)
    except ValueError:
        return None


def check_exactly_once(net: SimNetwork, received: Mapping[str, Sequence[Message]],
                       expected: Mapping[str, Counter[bytes]]) -> None:
    """Each receiver got each expected payload exactly once, nothing else, from the right sender."""
    addrs = {n.name: n.addr for n in net.nodes}
    for name, msgs in received.items():
        got = Counter(m.payload for m in msgs)
        want = expected.get(name, Counter())
        dup = sorted(p for p, c in got.items() if c > max(want[p], 1))
        lost = sorted(p for p, c in want.items() if got[p] < c)
        extra = sorted(p for p in got if p not in want)
        if dup or lost or extra:
            raise fail(net, f"{name}: duplicated {_short(dup[:5])}, lost {len(lost)} {_short(lost[:5])}, "
                            f"unexpected {_short(extra[:5])}")
        for m in msgs:
            parsed = _parse(m.payload)
            if parsed is not None and m.src != addrs.get(parsed[0]):
                raise fail(net, f"{name}: {_short([m.payload])[0]} came from {m.src}, not from {parsed[0]}")


def check_fifo(net: SimNetwork, received: Mapping[str, Sequence[Message]]) -> None:
    """Regular (non-OOB) messages of one sender arrive in sending order, per channel (multicast, unicast)."""
    for name, msgs in received.items():
        last: dict[tuple[str, str], int] = {}
        for m in msgs:
            parsed = _parse(m.payload)
            if parsed is None or parsed[1] == OOB:
                continue
            key = (parsed[0], parsed[1])
            if parsed[2] <= last.get(key, 0):
                raise fail(net, f"{name}: {_short([m.payload])[0]} after {parsed[0]}|{parsed[1]}|{last[key]} "
                                "(FIFO broken)")
            last[key] = parsed[2]


def check_no_duplicates_fifo(net: SimNetwork, nodes: Iterable[SimNode] | None = None) -> None:
    """Over everything each node's current incarnation delivered (`Traffic` payloads, across view changes and
    merges): no payload twice, and each sender's regular messages in sending order per channel. Gaps are allowed:
    without virtual synchrony a member may miss what another component's members sent before a merge."""
    nodes = list(nodes if nodes is not None else net.nodes)
    for node in nodes:
        got = Counter(m.payload for m in node.messages() if _parse(m.payload) is not None)
        dup = sorted(p for p, c in got.items() if c > 1)
        if dup:
            raise fail(net, f"{node.name} delivered {len(dup)} payloads more than once: {_short(dup[:5])}")
    check_fifo(net, {n.name: n.messages() for n in nodes})


# --- buffers ----------------------------------------------------------------------------------------

# statistics() keys read from the reliability layers (see NAKACK2.statistics / UNICAST3.statistics)
NAKACK2_STORED = "xmit_table_num_current_msgs"
UNICAST3_UNACKED = "num_unacked_msgs"
UNICAST3_UNDELIVERED = "xmit_table_undelivered_msgs"


def buffer_sizes(node: SimNode, *, members_only: bool = False) -> dict[str, float]:
    """The retransmission-buffer gauges of ``node`` that its layers report (missing keys are left out).
    With ``members_only`` the UNICAST3 gauges count only the connections to members of the node's last view."""
    stats = node.stack.statistics()
    out: dict[str, float] = {}
    for layer, key in (("pbcast.NAKACK2", NAKACK2_STORED), ("UNICAST3", UNICAST3_UNACKED),
                       ("UNICAST3", UNICAST3_UNDELIVERED)):
        value = stats.get(layer, {}).get(key)
        if value is not None:
            out[f"{layer}.{key}"] = value
    if members_only and node.views():
        members = set(node.views()[-1].members)
        for u in (x for x in node.stack.layers if isinstance(x, UNICAST3)):
            out[f"UNICAST3.{UNICAST3_UNACKED}"] = sum(e.win.num_stored for a, e in u.send_table.items() if a in members)
            out[f"UNICAST3.{UNICAST3_UNDELIVERED}"] = sum(e.win.num_stored for a, e in u.recv_table.items()
                                                          if a in members)
    return out


def check_buffers_bounded(net: SimNetwork, nodes: Iterable[SimNode], *, max_nakack2: int,
                          max_unacked: int = 0, members_only: bool = False) -> None:
    """After traffic stopped and STABLE ran: NAKACK2 keeps at most ``max_nakack2`` messages (stability
    purged the rest) and UNICAST3 has at most ``max_unacked`` unacknowledged or undelivered messages.
    ``members_only`` leaves out UNICAST3's connections to non-members: like Java's, they keep what was sent to a
    crashed member (and retransmit it) until ``conn_expiry_timeout``/``conn_close_timeout`` remove them."""
    for node in nodes:
        sizes = buffer_sizes(node, members_only=members_only)
        if f"pbcast.NAKACK2.{NAKACK2_STORED}" not in sizes:
            raise fail(net, f"{node.name}: no NAKACK2 statistics {NAKACK2_STORED!r} to check")
        over = {k: v for k, v in sizes.items()
                if v > (max_nakack2 if k.startswith("pbcast.NAKACK2") else max_unacked)}
        if over:
            raise fail(net, f"{node.name}: retransmission buffers not purged: {over}")


def check_state_tracks_the_view(net: SimNetwork, nodes: Iterable[SimNode]) -> None:
    """Per-member state is bounded by the view after a fault: NAKACK2's tables and the UFC/MFC credit tables hold
    only members of the node's last view (entries of crashed or excluded members were dropped), every credit
    lies in ``0..max_credits``, and no flow-control layer holds a message back (`ProtocolStack.backlog`)."""
    for node in nodes:
        if not node.views():
            raise fail(net, f"{node.name}: no view")
        members = set(node.views()[-1].members)
        names = _names(net)
        tables: dict[str, Iterable[Address]] = {}
        credits: dict[str, tuple[list[int], int]] = {}  # values, max_credits
        for layer in node.stack.layers:
            if isinstance(layer, NAKACK2):
                tables["pbcast.NAKACK2 xmit_table"] = layer.xmit_table
            if isinstance(layer, FlowControl):
                tables[f"{layer.name} receiver credits"] = layer.received
                credits[f"{layer.name} receiver credits"] = list(layer.received.values()), layer.max_credits
            if isinstance(layer, UFC):
                tables["UFC sender credits"] = layer.sent
                credits["UFC sender credits"] = [c.left for c in layer.sent.values()], layer.max_credits
            if isinstance(layer, MFC):
                tables["MFC sender credits"] = layer.credits.credits
                credits["MFC sender credits"] = [layer.credits.get(a) or 0 for a in layer.credits.credits], \
                    layer.max_credits
                if not 0 <= layer.credits.min_credits <= layer.max_credits:
                    raise fail(net, f"{node.name}: MFC min_credits {layer.credits.min_credits} out of bounds")
        for what, keys in tables.items():
            strangers = sorted(str(names.get(a, a)) for a in keys if a not in members)
            if strangers:
                raise fail(net, f"{node.name}: {what} still hold non-members {strangers}")
        for what, (values, most) in credits.items():
            bad = [v for v in values if not 0 <= v <= most]
            if bad:
                raise fail(net, f"{node.name}: {what} out of bounds: {bad}")
        if node.stack.backlog():
            raise fail(net, f"{node.name}: flow control still holds {node.stack.backlog()} messages back")
