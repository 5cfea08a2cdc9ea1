"""VERIFY_SUSPECT2: double-check a suspicion before GMS acts on it (org.jgroups.protocols.VERIFY_SUSPECT2, 5.5.6).

Rules of this module (Java's behaviour, timer-driven instead of a thread):

1. A SUSPECT from below is not passed up. Each suspect (never ourselves) gets ``num_msgs``
   ARE_YOU_DEAD unicasts (EmptyMessage, DONT_BLOCK, VerifyHeader with ``from`` = us) and an entry
   that expires ``timeout`` ms from now; a suspect that already has an entry keeps its expiry
   (Java's HashSet.addAll keeps the old Entry) but is asked again.
2. A task runs every ``timeout`` ms from `start()` (scheduleAtFixedRate(timeout, timeout)); each run
   passes up one SUSPECT with every entry that has expired. So a suspect that never answers reaches
   GMS between ``timeout`` and ``2 * timeout`` ms after the SUSPECT arrived.
3. ARE_YOU_DEAD is answered with ``num_msgs`` I_AM_NOT_DEAD to the asker (multicast with
   ``use_mcast_rsps``); an I_AM_NOT_DEAD removes its sender's entry and sends UNSUSPECT down and up.
4. A view change drops the entries of non-members.
5. Beyond Java: a VerifyHeader without ``from`` is counted and dropped (Java logs an error); each
   confirmed suspicion is logged once at INFO with its reason, and everything is counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pygroups.address import Address
from pygroups.clock import MS, TimerHandle
from pygroups.events import Event, Suspect, Unsuspect, ViewChange
from pygroups.message import Message, MsgType, TransientFlag
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Bool, Duration, Int, prop
from pygroups.stack.registry import protocol
from pygroups.wire.headers.fd import VerifyHeader

V = VerifyHeader.Type


@protocol("VERIFY_SUSPECT2")
class VERIFY_SUSPECT2(Layer):
    """See the module docstring."""

    timeout: int = prop(Duration, 1000, "Number of millis to wait for verification that a suspect is really "
                                        "dead (approximation)")
    num_msgs: int = prop(Int, 1, "Number of verify heartbeats sent to a suspected member")
    use_mcast_rsps: bool = prop(Bool, False, "Send the I_AM_NOT_DEAD message back as a multicast rather than "
                                             "as multiple unicasts (default is false)")

    def __init__(self) -> None:
        super().__init__()
        #: suspect -> the virtual time (ns) its verification expires, in the order they came
        self.suspects: dict[Address, int] = {}
        self.running = False
        self._task: TimerHandle | None = None

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        self.running = True
        if self._task is None:
            self._task = self.timers.call_later(self.timeout * MS, self._run, self.now_ns() + self.timeout * MS)

    def stop(self) -> None:
        self.running = False
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.suspects.clear()

    # --- events ---------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        if isinstance(evt, ViewChange):
            keep = set(evt.view.members)
            self.suspects = {a: t for a, t in self.suspects.items() if a in keep}
        self.down_layer.down(evt)

    def up(self, evt: Event) -> None:
        match evt:
            case Suspect(members=members):
                self.verify_suspects(sorted(m for m in members if m != self.local_addr))
                return  # decided later, after verification
            case _:
                self.up_layer.up(evt)

    def up_msg(self, msg: Message) -> None:
        hdr = msg.headers.get(self.protocol_id)
        if hdr is None:
            self.up_layer.up_msg(msg)
        else:
            self._handle(hdr, msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        self.up_batch_own_then_rest(batch)

    # --- messages -------------------------------------------------------------------------------------

    def _handle(self, hdr: object, msg: Message) -> None:
        if not isinstance(hdr, VerifyHeader):
            self.counters["malformed: foreign header under our id"] += 1
            return
        if hdr.type == V.ARE_YOU_DEAD:
            self.counters["num_are_you_dead_received"] += 1
            if hdr.from_ is None:
                self.counters["malformed: ARE_YOU_DEAD without from"] += 1
                self.log.warning("dropped ARE_YOU_DEAD from %s: its header names no sender", msg.src)
                return
            target = None if self.use_mcast_rsps else hdr.from_
            for _ in range(self.num_msgs):
                self._send(target, V.I_AM_NOT_DEAD)
                self.counters["num_i_am_not_dead_sent"] += 1
        elif hdr.type == V.I_AM_NOT_DEAD:
            self.counters["num_i_am_not_dead_received"] += 1
            if hdr.from_ is None:
                self.counters["malformed: I_AM_NOT_DEAD without from"] += 1
                self.log.warning("dropped I_AM_NOT_DEAD from %s: its header names no sender", msg.src)
                return
            self.unsuspect(hdr.from_)
        else:
            self.counters["malformed: unknown VerifyHeader type"] += 1
            self.log.warning("dropped VerifyHeader of unknown type %d from %s", hdr.type, msg.src)

    def _send(self, dest: Address | None, kind: int) -> None:
        msg = Message(MsgType.EMPTY, dest=dest, transient_flags=TransientFlag.DONT_BLOCK)
        msg.put_header(self.protocol_id, VerifyHeader(kind, self.local_addr))
        self.down_layer.down_msg(msg)

    # --- verification ---------------------------------------------------------------------------------

    def verify_suspects(self, mbrs: Iterable[Address]) -> None:
        """verifySuspect: remember each suspect (keeping an earlier expiry) and ask it ARE_YOU_DEAD."""
        mbrs = list(mbrs)
        if not mbrs:
            return
        expires = self.now_ns() + self.timeout * MS
        for m in mbrs:
            if m not in self.suspects:
                self.suspects[m] = expires
                self.counters["num_verifications_started"] += 1
        self.log.debug("verifying that %s %s dead", [self.stack.name_of(m) for m in self.suspects],
                       "is" if len(self.suspects) == 1 else "are")
        for m in mbrs:
            for _ in range(self.num_msgs):
                self._send(m, V.ARE_YOU_DEAD)
                self.counters["num_are_you_dead_sent"] += 1

    def unsuspect(self, mbr: Address) -> None:
        if self.suspects.pop(mbr, None) is None:
            return
        self.counters["num_unsuspected"] += 1
        self.log.info("%s answered ARE_YOU_DEAD: it is alive, no longer suspected", self.stack.name_of(mbr))
        evt = Unsuspect(mbr)
        self.down_layer.down(evt)
        self.up_layer.up(evt)

    def _run(self, scheduled_ns: int) -> None:
        # scheduleAtFixedRate: runs at start + k * timeout, whenever the previous run ended
        nxt = scheduled_ns + self.timeout * MS
        self._task = self.timers.call_at(nxt, self._run, nxt)
        now = self.now_ns()
        expired = [a for a, t in self.suspects.items() if t <= now]
        if not expired:
            return
        for a in expired:
            del self.suspects[a]
        self.counters["num_suspects_confirmed"] += len(expired)
        self.log.info("suspecting %s: no I_AM_NOT_DEAD within %d ms of ARE_YOU_DEAD (verification timed out); "
                      "sending up SUSPECT", [self.stack.name_of(a) for a in expired], self.timeout)
        self.up_layer.up(Suspect(frozenset(expired)))

    # --- introspection --------------------------------------------------------------------------------

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict(self.counters)
        stats["running"] = self.running
        stats["num_suspects"] = len(self.suspects)
        return stats

    def managed_attributes(self) -> Mapping[str, object]:
        return {"suspects": "[" + ", ".join(self.stack.name_of(a) for a in self.suspects) + "]"}


__all__ = ["VERIFY_SUSPECT2"]
