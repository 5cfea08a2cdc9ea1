"""pbcast.STABLE: agree on which multicasts every member has delivered, so NAKACK2 can purge them.

Mirrors org.jgroups.protocols.pbcast.STABLE (5.5.6):

* every member periodically (random 1..2 x ``desired_avg_gossip`` ms) and after ``max_bytes`` of
  received multicast payload asks NAKACK2 for its digest (`GetDigest`, restricted to the view's
  members) and sends it as STABLE_GOSSIP to the coordinator (ObjectMessage OOB|NO_RELIABILITY|NO_FC,
  MutableDigest payload with members); the coordinator counts its own vote locally;
* the coordinator takes one vote per member per round for its current view id, merging entries as
  hd = min, hr = max; when every member has voted it multicasts STABILITY
  (OOB|NO_RELIABILITY|NO_RELAY|NO_FC, not looped back) and sends `Stable(digest)` down itself;
* a member receiving STABILITY for its view sends `Stable(digest)` down (NAKACK2 purges);
* `SuspendStable` / `ResumeStable` (GMS, during joins and merges) stop rounds; a resume task ends a
  suspension that nobody lifts; a view change starts a fresh round.

`statistics()` keys: ``num_stable_msgs_sent``, ``num_stable_msgs_received``,
``num_stability_msgs_sent``, ``num_stability_msgs_received``, ``msgs_dropped_bad_stable`` (counters);
gauges ``num_votes``, ``bytes_received``, ``suspended``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from pygroups.address import Address
from pygroups.clock import MS, TimerHandle
from pygroups.events import Event, GetDigest, ResumeStable, Stable, SuspendStable, ViewChange
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Duration, Size, prop
from pygroups.stack.registry import protocol
from pygroups.view import Digest, MutableDigest, View, ViewId
from pygroups.wire.codec import payload_length
from pygroups.wire.headers.stable import StableHeader

MAX_SUSPEND_TIME_MS = 200_000  # Java's default when SUSPEND_STABLE carries no timeout
_UNSET = (-1, -1)
_ALWAYS_REPORTED = (
    "num_stable_msgs_sent",
    "num_stable_msgs_received",
    "num_stability_msgs_sent",
    "num_stability_msgs_received",
)


@protocol("pbcast.STABLE")
class STABLE(Layer):
    """Stability gossip (see the module docstring)."""

    name = "pbcast.STABLE"  # explicit: Layer would default it to the class name, which @protocol rejects

    desired_avg_gossip: int = prop(Duration, 20000, "Average ms between STABLE_GOSSIP rounds (0 = none)")
    max_bytes: int = prop(Size, 2000000, "Bytes of received multicasts that trigger a STABLE_GOSSIP (0 = off)")

    def __init__(self) -> None:
        super().__init__()
        self.view: View | None = None
        self.coordinator: Address | None = None
        # the round's merged digest, in view order; (-1, -1) = no vote has set it yet
        self._digest: dict[Address, tuple[int, int]] = {}
        self._votes: set[int] = set()
        self.num_bytes_received = 0
        self.suspended = False
        self.initialized = False
        self._stable_timer: TimerHandle | None = None
        self._resume_timer: TimerHandle | None = None

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self.desired_avg_gossip > 0:
            self._schedule_stable_task()

    def stop(self) -> None:
        for t in (self._stable_timer, self._resume_timer):
            if t is not None:
                t.cancel()
        self._stable_timer = self._resume_timer = None

    def _schedule_stable_task(self) -> None:
        # Util.random(2 * avg): uniform in 1..2*avg ms, so rounds average desired_avg_gossip
        interval = self.rng.randint(1, 2 * self.desired_avg_gossip) if self.desired_avg_gossip > 0 else 0
        if interval <= 0:
            interval = max(self.desired_avg_gossip // 2, 1)
        self._stable_timer = self.timers.call_later(interval * MS, self._stable_task)

    def _stable_task(self) -> None:
        self._schedule_stable_task()
        if not self.suspended:
            self.send_stable_message()

    # --- events ---------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case ViewChange(view=v):
                self.down_layer.down(evt)
                self._handle_view_change(v)
                return
            case SuspendStable(max_suspend_ms=t):
                self._suspend(t if t > 0 else MAX_SUSPEND_TIME_MS)
            case ResumeStable():
                self._resume()
        self.down_layer.down(evt)

    def up(self, evt: Event) -> None:
        self.up_layer.up(evt)
        match evt:
            case ViewChange(view=view):
                self._handle_view_change(view)
            case _:
                pass

    def _handle_view_change(self, v: View) -> None:
        self.view = v
        self.coordinator = v.coordinator
        self._reset_digest()
        self.initialized = True

    def _suspend(self, timeout_ms: int) -> None:
        if not self.suspended:
            self.suspended = True
            self.log.debug("suspending message garbage collection")
        if self._resume_timer is None or not self._resume_timer.pending:
            delay_ms = int(timeout_ms * 1.1) or MAX_SUSPEND_TIME_MS  # a little slack, as Java
            self._resume_timer = self.timers.call_later(delay_ms * MS, self._resume_task)

    def _resume_task(self) -> None:
        self._resume_timer = None
        if self.suspended:
            self.log.warning("resume task resumed garbage collection: no ResumeStable arrived in time")
        self._resume()

    def _resume(self) -> None:
        self._reset_digest()
        self.suspended = False
        self.log.debug("resuming message garbage collection")
        if self._resume_timer is not None:
            self._resume_timer.cancel()
            self._resume_timer = None

    # --- messages -------------------------------------------------------------------------------------

    def up_msg(self, msg: Message) -> None:
        hdr = msg.headers.get(self.protocol_id)
        if isinstance(hdr, StableHeader):
            self._handle(hdr, msg.src, msg.payload)
            return
        if self.max_bytes > 0 and msg.dest is None and self._max_bytes_exceeded(payload_length(msg)):
            self.send_stable_message()
        self.up_layer.up_msg(msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        rest: list[Message] = []
        length = 0
        for msg in batch:
            hdr = msg.headers.get(self.protocol_id)
            if isinstance(hdr, StableHeader):
                self._handle(hdr, msg.src, msg.payload)
                continue
            rest.append(msg)
            if msg.dest is None:
                length += payload_length(msg)
        if self.max_bytes > 0 and length and self._max_bytes_exceeded(length):
            self.send_stable_message()
        if rest:
            self.up_layer.up_batch(rest)

    def down_msg(self, msg: Message) -> None:
        # Multicasts we send are looped back and counted on the way up, unless they never come back.
        send = (
            self.max_bytes > 0
            and msg.dest is None
            and bool(msg.transient_flags & TransientFlag.DONT_LOOPBACK)
            and self._max_bytes_exceeded(payload_length(msg))
        )
        self.down_layer.down_msg(msg)
        if send:
            self.send_stable_message()

    def _max_bytes_exceeded(self, length: int) -> bool:
        self.num_bytes_received += length
        if self.num_bytes_received >= self.max_bytes:
            self.num_bytes_received = 0
            return True
        return False

    def _handle(self, hdr: StableHeader, sender: Address | None, payload: object) -> None:
        if not isinstance(payload, Digest) or sender is None or hdr.view_id is None:
            self.counters["msgs_dropped_bad_stable"] += 1
            self.log.error("bad STABLE message from %s: %s, payload %r", sender, hdr, payload)
            return
        if hdr.type == StableHeader.Type.STABLE_GOSSIP:
            self._handle_stable_message(payload, sender, hdr.view_id)
        elif hdr.type == StableHeader.Type.STABILITY:
            self._handle_stability_message(payload, sender, hdr.view_id)
        else:
            self.counters["msgs_dropped_bad_stable"] += 1
            self.log.error("StableHeader type %s not known", hdr.type)

    def _handle_stable_message(self, d: Digest, sender: Address, view_id: ViewId) -> None:
        """A vote (coordinator): merge it; when everyone voted, STABILITY goes out."""
        if not self.initialized or self.suspended or self.view is None:
            return
        if view_id != self.view.view_id:
            self.log.debug("discarded STABLE_GOSSIP from %s for view %s (mine: %s)", sender, view_id, self.view.view_id)
            return
        try:
            rank = self.view.members.index(sender)
        except ValueError:
            return
        if rank in self._votes:
            return  # one vote per member per round
        self.counters["num_stable_msgs_received"] += 1
        self._update_local_digest(d)
        self._votes.add(rank)
        if len(self._votes) < len(self.view.members):
            return
        stable = self._current_digest()
        stable_view_id = self.view.view_id
        self._reset_digest()
        self.num_bytes_received = 0
        self._send_stability_message(stable, stable_view_id)
        self.down_layer.down(Stable(stable))

    def _handle_stability_message(self, d: Digest, sender: Address, view_id: ViewId) -> None:
        if not self.initialized or self.suspended or self.view is None:
            return
        if view_id != self.view.view_id:
            self.log.debug("discarded STABILITY from %s for view %s (mine is %s)", sender, view_id, self.view.view_id)
            return
        self.counters["num_stability_msgs_received"] += 1
        self._reset_digest()
        self.num_bytes_received = 0
        self.down_layer.down(Stable(d))

    def _update_local_digest(self, d: Digest) -> None:
        for mbr, (hd, hr) in zip(d.members, d.seqnos, strict=False):
            mine = self._digest.get(mbr)
            if mine is None:
                continue
            my_hd, my_hr = mine
            if my_hd == -1:
                my_hd = hd
            self._digest[mbr] = (min(my_hd, hd), max(my_hr, hr))

    def _reset_digest(self) -> None:
        if self.view is None:
            return
        self._digest = dict.fromkeys(self.view.members, _UNSET)
        self._votes = set()

    def _current_digest(self) -> MutableDigest:
        return MutableDigest(tuple(self._digest), tuple(self._digest.values()))

    # --- sending --------------------------------------------------------------------------------------

    def send_stable_message(self) -> None:
        """Vote with our digest: to the coordinator, or locally if we are it (Java's gc())."""
        if self.suspended or self.view is None:
            return
        view = self.view
        d = self._own_digest(view) or self._own_digest(view)
        if d is None:
            self.log.debug("no digest for every member of %s yet: no STABLE_GOSSIP", view)
            return
        self.counters["num_stable_msgs_sent"] += 1
        local = self.local_addr
        if local is not None and local == self.coordinator:
            self._handle_stable_message(d, local, view.view_id)
            return
        msg = Message(
            MsgType.OBJECT,
            dest=self.coordinator,
            flags=Flag.OOB | Flag.NO_RELIABILITY | Flag.NO_FC,
            payload=d,
        )
        msg.put_header(self.protocol_id, StableHeader(StableHeader.Type.STABLE_GOSSIP, view.view_id))
        self.down_layer.down_msg(msg)

    def _own_digest(self, view: View) -> MutableDigest | None:
        """NAKACK2's digest restricted to ``view``'s members, or None if it lacks one of them."""
        got = self.down_layer.query_down(GetDigest())
        if got is None:
            return None
        by_member = dict(zip(got.members, got.seqnos, strict=False))
        seqnos = []
        for mbr in view.members:
            pair = by_member.get(mbr)
            if pair is None or pair[0] == -1:
                return None
            seqnos.append(pair)
        return MutableDigest(view.members, tuple(seqnos))

    def _send_stability_message(self, d: MutableDigest, view_id: ViewId) -> None:
        if self.suspended:
            return
        msg = Message(
            MsgType.OBJECT,
            flags=Flag.OOB | Flag.NO_RELIABILITY | Flag.NO_RELAY | Flag.NO_FC,
            transient_flags=TransientFlag.DONT_LOOPBACK | TransientFlag.DONT_BLOCK,
            payload=d,
        )
        msg.put_header(self.protocol_id, StableHeader(StableHeader.Type.STABILITY, view_id))
        self.counters["num_stability_msgs_sent"] += 1
        self.counters["num_stability_msgs_received"] += 1  # as Java: we do not receive our own
        self.down_layer.down_msg(msg)

    # --- introspection --------------------------------------------------------------------------------

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict.fromkeys(_ALWAYS_REPORTED, 0)
        stats.update(self.counters)
        stats["num_votes"] = len(self._votes)
        stats["bytes_received"] = self.num_bytes_received
        stats["suspended"] = int(self.suspended)
        return MappingProxyType(stats)
