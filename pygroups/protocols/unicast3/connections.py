"""UNICAST3's connection management: views close the entries of non-members and reopen members';
idle entries age to CLOSING after ``conn_expiry_timeout`` and are removed ``conn_close_timeout`` later
(a removed send entry tells the member with CLOSE); send entries to non-members close after
``max_retransmit_time`` (Java's AgeOutCache)."""

from __future__ import annotations

from collections.abc import Mapping

from pygroups.address import Address
from pygroups.clock import MS
from pygroups.message import Message, MsgType
from pygroups.stack.layer import MembershipChange
from pygroups.wire.headers.unicast import CLOSE, UnicastHeader3

from .base import NO_FC, Unicast3Base
from .entries import Entry, State


class Connections(Unicast3Base):
    def members_changed(self, change: MembershipChange) -> None:
        """A view going down: close non-members' entries, reopen members' CLOSING ones, forget
        non-members' retransmission state and SEND_FIRST_SEQNO times older than ``sync_min_interval``."""
        now = self.now_ns()
        new_members = change.members
        self.members = member_set = frozenset(new_members)
        for mbr in new_members:
            handle = self._age_out.pop(mbr, None)
            if handle is not None:
                handle.cancel()
        non_members = (set(self.send_table) | set(self.recv_table)) - member_set
        for addr in non_members:
            self.close_connection(addr)
        for mbr in new_members:
            s = self.send_table.get(mbr)
            if s is not None and s.state is State.CLOSING:
                s.set_state(State.OPEN, now)
            r = self.recv_table.get(mbr)
            if r is not None and r.state is State.CLOSING:
                r.set_state(State.OPEN, now)
        change.retain(self._xmit_task_map)
        limit = self.sync_min_interval * MS
        for addr in [a for a, t in self._last_sync_sent.items() if now - t >= limit]:
            del self._last_sync_sent[addr]

    def on_age_out(self, addr: Address) -> None:
        """AgeOutCache: a send entry to a non-member lived max_retransmit_time."""
        self._age_out.pop(addr, None)
        self.log.debug("removing expired connection to %s", addr)
        self.close_connection(addr)

    def handle_close(self, sender: Address, conn_id: int | None) -> None:
        self.counters["num_close_received"] += 1
        entry = self.recv_table.get(sender)
        if entry is not None and entry.conn_id == conn_id:
            del self.recv_table[sender]
            self.log.debug("removed receive connection for %s (CLOSE)", sender)

    def close_connection(self, mbr: Address) -> None:
        now = self.now_ns()
        s = self.send_table.get(mbr)
        if s is not None:
            s.set_state(State.CLOSING, now)
        r = self.recv_table.get(mbr)
        if r is not None:
            r.set_state(State.CLOSING, now)

    def close_idle_connections(self) -> None:
        now = self.now_ns()
        table: Mapping[Address, Entry]
        for table in (self.send_table, self.recv_table):
            for addr, e in table.items():
                if e.state is State.OPEN and e.age_ms(now) >= self.conn_expiry_timeout:
                    self.log.debug("closing idle connection for %s (%d ms old)", addr, e.age_ms(now))
                    e.set_state(State.CLOSING, now)

    def remove_expired_connections(self) -> int:
        now = self.now_ns()
        removed = 0
        for addr, s in list(self.send_table.items()):
            if s.state is not State.OPEN and s.age_ms(now) >= self.conn_close_timeout:
                self.remove_send_connection(addr)
                removed += 1
        for addr, r in list(self.recv_table.items()):
            if r.state is not State.OPEN and r.age_ms(now) >= self.conn_close_timeout:
                self.send_pending_acks()
                entry = self.recv_table.pop(addr, None)
                if entry is not None:
                    entry.set_state(State.CLOSED, now)
                removed += 1
        return removed

    def remove_send_connection(self, mbr: Address) -> None:
        entry = self.send_table.pop(mbr, None)
        if entry is None:
            return
        entry.set_state(State.CLOSED, self.now_ns())
        if mbr in self.members:
            self.send_close(mbr, entry.conn_id)

    def send_close(self, mbr: Address, conn_id: int) -> None:
        msg = Message(MsgType.EMPTY, dest=mbr, flags=NO_FC)
        msg.put_header(self.protocol_id, UnicastHeader3(CLOSE, conn_id=conn_id))
        self.counters["num_close_sent"] += 1
        self.down_layer.down_msg(msg)

    def remove_all_connections(self) -> None:
        self.send_table.clear()
        self.recv_table.clear()
