"""`FailureDetection`: the heartbeat base class of FD_ALL3 (org.jgroups.protocols.FailureDetection, 5.5.6).

Rules of this module (each is Java's behaviour unless it says otherwise):

1. Two timers, both started when a view with more than one member passes down and stopped by a
   singleton view or `stop()`: the heartbeat sender (first run at once, then every ``interval`` ms
   after the previous run: scheduleWithFixedDelay(0, interval)) and the timeout checker (first run
   after `timeout_check_interval()`, then every such interval).
2. The heartbeat sender multicasts an EmptyMessage with a `HeartbeatHeader` and DONT_LOOPBACK,
   unless a multicast went down since its last run (``mcast_sent``): any traffic is a heartbeat.
3. Every message from a member counts as a heartbeat (`update`); a heartbeat is consumed here.
   Heartbeats and messages from non-members create an entry that the next timeout check drops
   (JGRP-2387), as Java; we also count them (``heartbeats_from_non_members``).
4. `suspect` sends SUSPECT up *and* down only when this member would be the coordinator once the
   suspects are gone (GMS's membership policy, asked with `NewMembership`, JGRP-2952); everyone
   else only remembers the suspicion. A suspect is reported again on every check until the view
   drops it or it is heard from (then UNSUSPECT goes up and down).
5. Logging (beyond Java): the first suspicion of a member is logged at INFO with its reason; the
   repeats at DEBUG. ``num_suspect_events`` counts every reported suspect, as Java's.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from pygroups.address import Address
from pygroups.clock import MS, TimerHandle
from pygroups.events import Event, NewMembership, Suspect, Unsuspect, ViewChange
from pygroups.message import Message, MsgType, TransientFlag
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Duration, prop
from pygroups.view import View, print_members
from pygroups.wire.headers.fd import HeartbeatHeader

E = TypeVar("E")
SUSPECT_HISTORY = 20  # BoundedList<Tuple<Address,Long>>(20)


class FailureDetection(Layer, Generic[E]):
    """Heartbeat failure detection; subclasses keep one entry of type ``E`` per member."""

    timeout: int = prop(Duration, 40000, "Timeout after which a node is suspected if neither a heartbeat "
                                         "nor data have been received from it")
    interval: int = prop(Duration, 8000, "Interval at which a HEARTBEAT is sent to the cluster")

    def __init__(self) -> None:
        super().__init__()
        self.num_heartbeats_sent = 0
        self.num_heartbeats_received = 0
        self.num_suspect_events = 0
        self.has_suspected_mbrs = False
        self.members: list[Address] = []
        self.suspected_mbrs: set[Address] = set()
        #: (suspect, virtual time in ms) of the last suspicions, newest last
        self.suspect_history: deque[tuple[Address, int]] = deque(maxlen=SUSPECT_HISTORY)
        self.timestamps: dict[Address, E] = {}
        self.mcast_sent = False
        self._heartbeat_sender: TimerHandle | None = None
        self._timeout_checker: TimerHandle | None = None

    # --- what a subclass provides ---------------------------------------------------------------------

    @abstractmethod
    def timeout_check_interval(self) -> int:
        """ms between two runs of the timeout checker (getTimeoutCheckInterval)."""

    @abstractmethod
    def update(self, sender: Address | None, *, skip_if_exists: bool = False) -> None:
        """``sender`` was heard from (or, with ``skip_if_exists``, just needs an entry)."""

    @abstractmethod
    def needs_to_be_suspected(self, mbr: Address, value: E) -> bool:
        """Called once per member and check; may advance the entry (FD_ALL3's bitmap)."""

    # --- lifecycle ------------------------------------------------------------------------------------

    def init(self) -> None:
        self.suspected_mbrs.clear()
        self.has_suspected_mbrs = False

    def stop(self) -> None:
        self.stop_heartbeat_sender()
        self.stop_timeout_checker()
        self.suspected_mbrs.clear()
        self.has_suspected_mbrs = False

    @property
    def running(self) -> bool:
        """isRunning: both tasks are scheduled."""
        return self.timeout_checker_running and self.heartbeat_sender_running

    @property
    def timeout_checker_running(self) -> bool:
        return self._timeout_checker is not None and self._timeout_checker.pending

    @property
    def heartbeat_sender_running(self) -> bool:
        return self._heartbeat_sender is not None and self._heartbeat_sender.pending

    def start_failure_detection(self) -> None:
        """@ManagedOperation startFailureDetection."""
        self.start_timeout_checker()

    def stop_failure_detection(self) -> None:
        """@ManagedOperation stopFailureDetection."""
        self.stop_timeout_checker()

    # --- events ---------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case ViewChange(view=view):
                self.down_layer.down(evt)
                self.handle_view_change(view)
                return
            case Unsuspect(member=mbr):
                self.unsuspect(mbr)
                self.update(mbr)
        self.down_layer.down(evt)

    def down_msg(self, msg: Message) -> None:
        if msg.dest is None:
            self.mcast_sent = True
        self.down_layer.down_msg(msg)

    def up_msg(self, msg: Message) -> None:
        sender = msg.src
        hdr = msg.headers.get(self.protocol_id)
        if hdr is not None:
            if not isinstance(hdr, HeartbeatHeader):  # cannot come from a JGroups peer
                self.counters["malformed: foreign header under our id"] += 1
                return
            self._heard_from(sender, heartbeat=True)
            self.num_heartbeats_received += 1
            self.unsuspect(sender)
            return
        self._heard_from(sender, heartbeat=False)
        if self.has_suspected_mbrs:
            self.unsuspect(sender)
        self.up_layer.up_msg(msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        rest: list[Message] = []
        for msg in batch:
            if msg.headers.get(self.protocol_id) is None:
                self._heard_from(msg.src, heartbeat=False)
                if self.has_suspected_mbrs:
                    self.unsuspect(msg.src)
                rest.append(msg)
            else:
                self.up_msg(msg)
        if rest:
            self.up_layer.up_batch(rest)

    def _heard_from(self, sender: Address | None, *, heartbeat: bool) -> None:
        if heartbeat and sender is not None and sender not in self.members:
            self.counters["heartbeats_from_non_members"] += 1
        self.update(sender)

    # --- views ----------------------------------------------------------------------------------------

    def handle_view_change(self, view: View) -> None:
        mbrs = list(view.members)
        self.members = mbrs
        keep = set(mbrs)
        if self.suspected_mbrs - keep:
            self.suspected_mbrs &= keep
            self.has_suspected_mbrs = bool(self.suspected_mbrs)
        self.retain_keys(mbrs)
        for m in mbrs:
            self.update(m, skip_if_exists=True)
        if len(mbrs) > 1:
            self.start_heartbeat_sender()
            self.start_timeout_checker()
        else:
            self.stop_heartbeat_sender()
            self.stop_timeout_checker()

    def retain_keys(self, mbrs: Iterable[Address]) -> None:
        keep = set(mbrs)
        for a in [a for a in self.timestamps if a not in keep]:
            del self.timestamps[a]

    # --- suspicion ------------------------------------------------------------------------------------

    def suspect(self, suspects: Sequence[Address]) -> None:
        if not suspects:
            return
        self.num_suspect_events += len(suspects)
        now_ms = self.now_ns() // MS
        for s in suspects:
            self.suspect_history.append((s, now_ms))
            if s in self.suspected_mbrs:
                self.log.debug("still suspecting %s", self.stack.name_of(s))
            else:
                self.counters["members_suspected"] += 1
                self.log.info("suspecting %s: no heartbeat or message from it for %d ms (%s)",
                              self.stack.name_of(s), self.timeout, self.name)
            self.suspected_mbrs.add(s)
        self.has_suspected_mbrs = bool(self.suspected_mbrs)
        current = tuple(self.members)
        eligible = self.up_layer.query_up(NewMembership(current, suspects=frozenset(self.suspected_mbrs)))
        if eligible is None:
            eligible = tuple(m for m in current if m not in self.suspected_mbrs)
        me = self.local_addr
        if me is not None and eligible and eligible[0] == me:
            self.log.debug("suspecting %s", [self.stack.name_of(s) for s in suspects])
            evt = Suspect(frozenset(suspects))
            self.up_layer.up(evt)
            self.down_layer.down(evt)

    def unsuspect(self, mbr: Address | None) -> bool:
        """Forget a suspicion of ``mbr``; UNSUSPECT goes up and down if there was one."""
        if mbr is None or mbr not in self.suspected_mbrs:
            return False
        self.suspected_mbrs.discard(mbr)
        self.has_suspected_mbrs = bool(self.suspected_mbrs)
        self.counters["members_unsuspected"] += 1
        self.log.info("unsuspecting %s: heard from it again", self.stack.name_of(mbr))
        evt = Unsuspect(mbr)
        self.up_layer.up(evt)
        self.down_layer.down(evt)
        return True

    # --- tasks ----------------------------------------------------------------------------------------

    def start_heartbeat_sender(self) -> None:
        if not self.heartbeat_sender_running:
            self._heartbeat_sender = self.timers.call_later(0, self._send_heartbeat)

    def stop_heartbeat_sender(self) -> None:
        if self._heartbeat_sender is not None:
            self._heartbeat_sender.cancel()
            self._heartbeat_sender = None

    def start_timeout_checker(self) -> None:
        if not self.timeout_checker_running:
            self._timeout_checker = self.timers.call_later(self.timeout_check_interval() * MS, self._check_timeouts)

    def stop_timeout_checker(self) -> None:
        if self._timeout_checker is not None:
            self._timeout_checker.cancel()
            self._timeout_checker = None

    def _send_heartbeat(self) -> None:
        # scheduleWithFixedDelay: the next run is `interval` after this one
        self._heartbeat_sender = self.timers.call_later(self.interval * MS, self._send_heartbeat)
        if self.mcast_sent:
            self.mcast_sent = False  # traffic went out since the last run: it was our heartbeat
            return
        msg = Message(MsgType.EMPTY, transient_flags=TransientFlag.DONT_LOOPBACK)
        msg.put_header(self.protocol_id, HeartbeatHeader())
        self.down_layer.down_msg(msg)
        self.num_heartbeats_sent += 1

    def _check_timeouts(self) -> None:
        self._timeout_checker = self.timers.call_later(self.timeout_check_interval() * MS, self._check_timeouts)
        self.retain_keys(self.members)  # JGRP-2387
        suspects = [m for m, v in list(self.timestamps.items()) if self.needs_to_be_suspected(m, v)]
        if suspects:
            self.suspect(suspects)

    # --- introspection --------------------------------------------------------------------------------

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict(self.counters)
        stats.update(num_heartbeats_sent=self.num_heartbeats_sent,
                     num_heartbeats_received=self.num_heartbeats_received,
                     num_suspect_events=self.num_suspect_events,
                     has_suspected_mbrs=self.has_suspected_mbrs,
                     running=self.running,
                     timeout_checker_running=self.timeout_checker_running,
                     heartbeat_sender_running=self.heartbeat_sender_running,
                     num_suspected_members=len(self.suspected_mbrs))
        return stats

    def managed_attributes(self) -> Mapping[str, object]:
        name_of = self.stack.name_of
        return {"members": print_members(self.members, name_of),
                "suspected_members": "[" + ", ".join(sorted(name_of(m) for m in self.suspected_mbrs)) + "]"}

    def reset_stats(self) -> None:
        self.num_heartbeats_sent = self.num_heartbeats_received = self.num_suspect_events = 0
        self.suspect_history.clear()
        self.counters.clear()
