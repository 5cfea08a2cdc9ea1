"""UNICAST3's connection entries: one `SenderEntry` per destination and one `ReceiverEntry` per sender,
each a conn_id, a `Table` and a state (OPEN -> CLOSING -> CLOSED) with the time it last changed."""

from __future__ import annotations

import enum

from pygroups.clock import MS
from pygroups.message import Message
from pygroups.protocols.reliable import Table

DEFAULT_FIRST_SEQNO = 1
SHORT_MAX = 32767


def int32(v: int) -> int:
    """Java int arithmetic (the ACK timestamper wraps like AtomicInteger)."""
    return ((v + 2**31) % 2**32) - 2**31


def newer(ts1: int, ts2: int) -> bool:
    """UNICAST3.compare(ts1, ts2) > 0: overflow-aware 'ts1 is after ts2'."""
    return int32(ts1 - ts2) > 0


class State(enum.Enum):
    OPEN = 0
    CLOSING = 1
    CLOSED = 2


class Entry:
    __slots__ = ("conn_id", "state", "timestamp_ns", "win")

    def __init__(self, conn_id: int, win: Table[Message], now_ns: int) -> None:
        self.conn_id = conn_id
        self.win = win
        self.timestamp_ns = now_ns
        self.state = State.OPEN

    def set_state(self, state: State, now_ns: int) -> None:
        if self.state is not state:
            self.state = state
            self.timestamp_ns = now_ns

    def age_ms(self, now_ns: int) -> int:
        return (now_ns - self.timestamp_ns) // MS


class SenderEntry(Entry):
    """Messages we sent to one destination, kept until ACKed: ``win.hd`` is the highest ACKed seqno."""

    __slots__ = ("last_timestamp", "next_seqno", "watermark")

    def __init__(self, conn_id: int, now_ns: int) -> None:
        super().__init__(conn_id, Table(0), now_ns)
        self.next_seqno = DEFAULT_FIRST_SEQNO
        self.watermark = (0, 0)  # highest acked, highest sent at the previous retransmit run
        self.last_timestamp = 0

    def update_last_timestamp(self, ts: int) -> bool:
        """True if ``ts`` is newer than the last accepted ACK/SEND_FIRST_SEQNO timestamp (or the first)."""
        if self.last_timestamp == 0 or newer(ts, self.last_timestamp):
            self.last_timestamp = ts
            return True
        return False


class ReceiverEntry(Entry):
    """Messages from one sender on one connection (conn_id), from its first seqno on."""

    __slots__ = ("send_ack",)

    def __init__(self, conn_id: int, first_seqno: int, now_ns: int) -> None:
        super().__init__(conn_id, Table(first_seqno - 1), now_ns)
        self.send_ack = False
