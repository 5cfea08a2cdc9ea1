"""NAKACK2's properties and state, shared by the section modules (sender, receiver, retransmission,
digests) that `layer.NAKACK2` combines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pygroups.message import Flag, Message
from pygroups.protocols.reliable import DeliveryGuard, Table
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Bool, Duration, Float, Int, prop
from pygroups.wire.headers.nakack import NakAckHeader2

if TYPE_CHECKING:
    from pygroups.address import Address
    from pygroups.clock import TimerHandle
    from pygroups.view import View


class NakAck2Base(Layer):
    """The state every section reads; the sections add behaviour only."""

    use_mcast_xmit: bool = prop(Bool, True, "Retransmit by re-multicasting (off without IP multicast)")
    use_mcast_xmit_req: bool = prop(Bool, False, "Multicast retransmission requests")
    xmit_from_random_member: bool = prop(Bool, False, "Ask a random member for retransmission")
    discard_delivered_msgs: bool = prop(Bool, True, "Receivers drop messages once delivered")
    log_discard_msgs: bool = prop(Bool, True, "Warn about messages from non-members")
    log_not_found_msgs: bool = prop(Bool, True, "Warn about requested messages no longer buffered")
    xmit_interval: int = prop(Duration, 1000, "ms between runs of the retransmit task")
    xmit_table_num_rows: int = prop(Int, 100, "Java Table layout (accepted, not needed by the dict-based Table)")
    xmit_table_msgs_per_row: int = prop(Int, 1024, "Java Table layout (accepted, not needed)")
    xmit_table_resize_factor: float = prop(Float, 1.2, "Java Table layout (accepted, not needed)")
    xmit_table_max_compaction_time: int = prop(Duration, 10000, "Java Table layout (accepted, not needed)")
    become_server_queue_size: int = prop(Int, 50, "Messages queued until the join completes")
    suppress_time_non_member_warnings: int = prop(Duration, 60000, "ms between warnings about one non-member")
    max_xmit_req_size: int = prop(Int, 1024, "Max seqnos in one XMIT_REQ")
    max_batch_size: int = prop(Int, 0, "Max messages delivered in one batch (0 = unbounded)")
    reuse_message_batches: bool = prop(Bool, True, "Java batch caching (accepted, no effect here)")
    resend_last_seqno: bool = prop(Bool, True, "Multicast HIGHEST_SEQNO every xmit_interval after sending")
    resend_last_seqno_max_times: int = prop(Int, 1, "HIGHEST_SEQNO sends per unchanged seqno")

    def __init__(self) -> None:
        super().__init__()
        self.is_server = False
        self.running = False
        self.leaving = False
        self.members: tuple[Address, ...] = ()
        self.view: View | None = None
        self.seqno = 0
        self.xmit_table: dict[Address, Table[Message]] = {}
        self._xmit_task_map: dict[Address, int] = {}
        self._announced: dict[Address, int] = {}  # a HIGHEST_SEQNO beyond what we received, until it arrives
        self._stable_xmit_map: dict[Address, int] = {}
        self._become_server_queue: list[Message] = []
        self._xmit_timer: TimerHandle | None = None
        self._delivering: DeliveryGuard[Address] = DeliveryGuard()  # one delivery loop per sender
        self._non_member_warned: dict[Address, int] = {}
        # LastSeqnoResender state
        self._skip_next_resend = False
        self._last_seqno_resent = 0
        self._num_resends = 0

    def header_of(self, msg: Message) -> NakAckHeader2 | None:
        """Our header, unless the message bypasses reliability."""
        if msg.flags & Flag.NO_RELIABILITY:
            return None
        hdr = msg.headers.get(self.protocol_id)
        return hdr if isinstance(hdr, NakAckHeader2) else None
