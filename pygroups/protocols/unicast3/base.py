"""UNICAST3's properties, state and the outbound helpers every section uses (ACKs, delivery)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.protocols.reliable import DeliveryGuard, Table
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Bool, Duration, Float, Int, prop
from pygroups.wire.headers.unicast import ACK, UnicastHeader3

from .entries import Entry, ReceiverEntry, SenderEntry, State, int32

if TYPE_CHECKING:
    from pygroups.address import Address
    from pygroups.clock import TimerHandle

OOB = int(Flag.OOB)
NO_FC = int(Flag.NO_FC)
NO_RELIABILITY = int(Flag.NO_RELIABILITY)
DONT_LOOPBACK = int(TransientFlag.DONT_LOOPBACK)
DONT_BLOCK = int(TransientFlag.DONT_BLOCK)


class Unicast3Base(Layer):
    """The state every section reads; the sections add behaviour only."""

    conn_expiry_timeout: int = prop(Duration, 120_000, "idle connections are closed after this many ms (0: never)")
    conn_close_timeout: int = prop(Duration, 240_000, "closed connections are removed after this many ms (0: never)")
    xmit_table_num_rows: int = prop(Int, 100, "Java Table geometry (accepted, unused: windows are dicts)")
    xmit_table_msgs_per_row: int = prop(Int, 1024, "Java Table geometry (accepted, unused)")
    xmit_table_resize_factor: float = prop(Float, 1.2, "Java Table geometry (accepted, unused)")
    xmit_table_max_compaction_time: int = prop(Duration, 600_000, "Java Table compaction (accepted, unused)")
    max_retransmit_time: int = prop(Duration, 60_000, "send entries to non-members are closed after this many ms")
    xmit_interval: int = prop(Duration, 500, "period of the retransmit/ACK task in ms")
    xmits_enabled: bool = prop(Bool, True, "ignored (deprecated in JGroups)", deprecated="is ignored")
    log_not_found_msgs: bool = prop(Bool, True, "warn when a requested retransmission is gone")
    ack_threshold: int = prop(Int, 100, "ack a batch of this many messages at once; 1 acks every message")
    sync_min_interval: int = prop(Duration, 2000, "min ms between two SEND_FIRST_SEQNO to the same sender")
    max_xmit_req_size: int = prop(Int, 0, "max seqnos in one XMIT_REQ (0: derived from the bundle size)")
    max_batch_size: int = prop(Int, 0, "max messages delivered in one batch (0: unbounded)")
    reuse_message_batches: bool = prop(Bool, True, "Java batch reuse (accepted, no effect here)")
    loopback: bool = prop(Bool, False, "deliver unicasts to self directly instead of through the transport")

    def __init__(self) -> None:
        super().__init__()
        self.send_table: dict[Address, SenderEntry] = {}
        self.recv_table: dict[Address, ReceiverEntry] = {}
        self.members: frozenset[Address] = frozenset()
        self._running = False
        self._last_conn_id = 0
        self._timestamper = 0
        self._xmit_task_map: dict[Address, int] = {}
        self._last_sync_sent: dict[Address, int] = {}  # sender -> when SEND_FIRST_SEQNO was sent (ns)
        self._msg_cache: dict[Address, list[Message]] = {}
        self._age_out: dict[Address, TimerHandle] = {}
        self._xmit_task: TimerHandle | None = None
        self._max_xmit_req = 0
        self._delivering: DeliveryGuard[Table[Message]] = DeliveryGuard()  # one delivery loop per window

    def next_timestamp(self) -> int:
        self._timestamper = int32(self._timestamper + 1)
        return self._timestamper

    def touch(self, entry: Entry, num_received: int) -> None:
        """UNICAST3.update(): an entry in use is fresh and OPEN."""
        now = self.now_ns()
        if self.conn_expiry_timeout > 0:
            entry.timestamp_ns = now
        if entry.state is State.CLOSING:
            entry.set_state(State.OPEN, now)
        self.counters["num_msgs_received"] += num_received

    def send_ack(self, dest: Address, seqno: int, conn_id: int) -> None:
        if not self._running:
            return
        msg = Message(MsgType.EMPTY, dest=dest, flags=NO_FC, transient_flags=DONT_BLOCK)
        msg.put_header(self.protocol_id, UnicastHeader3(ACK, seqno, conn_id, timestamp=self.next_timestamp()))
        self.counters["num_acks_sent"] += 1
        self.down_layer.down_msg(msg)

    def send_pending_acks(self) -> None:
        for target, entry in list(self.recv_table.items()):
            if entry.send_ack:
                entry.send_ack = False
                self.send_ack(target, entry.win.highest_deliverable(), entry.conn_id)

    def deliver(self, batch: list[Message]) -> None:
        self.counters["num_msgs_delivered"] += len(batch)
        if len(batch) == 1:
            self.up_layer.up_msg(batch[0])
        else:
            self.up_layer.up_batch(batch)
