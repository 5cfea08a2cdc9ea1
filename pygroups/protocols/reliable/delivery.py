"""What NAKACK2 and UNICAST3 share between a `Table` and the layer above: the OOB placeholder, the
delivery filters and the one-delivery-loop-per-table guard.

Why they are shared: both protocols deliver an OOB message on arrival yet keep its seqno in the
table so the FIFO stream behind it continues; both must deliver each message exactly once although
the transport loops a sender's own messages back; and a layer above may react to a delivery by
sending (re-entering the layer), which must not start a second delivery loop on the same table.
Java's names are kept: DUMMY_OOB_MSG, dont_loopback_filter, no_dummy_and_no_oob_delivered_msgs_and_
no_dont_loopback_msgs, Table.adders.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Final, Generic, TypeGuard, TypeVar

from pygroups.address import Address
from pygroups.message import Flag, Message, MsgType, TransientFlag

from .table import Table

K = TypeVar("K", bound=Hashable)

#: Stored instead of a received OOB message that was delivered on arrival (Java's DUMMY_OOB_MSG):
#: its seqno is taken, so the regular messages behind it can be delivered, but it is never delivered.
DUMMY_OOB: Final = Message(MsgType.EMPTY, flags=Flag.OOB)

_OOB = int(Flag.OOB)
_DONT_LOOPBACK = int(TransientFlag.DONT_LOOPBACK)
_OOB_DELIVERED = int(TransientFlag.OOB_DELIVERED)


def is_message(item: Message | None) -> TypeGuard[Message]:
    """A real message: neither a missing slot nor the OOB placeholder."""
    return item is not None and item is not DUMMY_OOB


def no_delivery_needed(m: Message) -> bool:
    """Java's dont_loopback_filter: a slot a sender's own window may count as delivered at once (the
    transport never loops a DONT_LOOPBACK message back, and OOB ones were delivered already)."""
    return m is DUMMY_OOB or bool(m.transient_flags & (_DONT_LOOPBACK | _OOB_DELIVERED))


def mark_oob_delivered(m: Message) -> bool:
    """Java's setFlagIfAbsent(OOB_DELIVERED) on an OOB message: True the first time only."""
    if not m.flags & _OOB or m.transient_flags & _OOB_DELIVERED:
        return False
    m.transient_flags |= _OOB_DELIVERED
    return True


def deliverable(m: Message, local: Address | None) -> bool:
    """Java's no_dummy_and_no_oob_delivered_msgs_and_no_dont_loopback_msgs: not the placeholder, an OOB
    message only the first time (it is marked), and never our own DONT_LOOPBACK message."""
    if m is DUMMY_OOB:
        return False
    if m.flags & _OOB and not mark_oob_delivered(m):
        return False
    return not (m.transient_flags & _DONT_LOOPBACK and m.src == local)


def add_received(table: Table[Message], seqno: int, msg: Message) -> bool:
    """Add a message from another member; an OOB one is stored as `DUMMY_OOB` because the caller
    delivers it at once when this returns True (False: a duplicate or already delivered)."""
    return table.add(seqno, DUMMY_OOB if msg.flags & _OOB else msg)


def oob_from_self(table: Table[Message], seqnos: Iterable[int]) -> list[Message]:
    """Our own OOB messages the transport looped back, to deliver now. The stored message is
    delivered (the looped-back copy may differ) and marked, so the table's delivery skips it."""
    out: list[Message] = []
    for seqno in seqnos:
        m = table.get(seqno)
        if m is not None and m is not DUMMY_OOB and mark_oob_delivered(m):
            out.append(m)
    return out


class DeliveryGuard(Generic[K]):
    """At most one delivery loop per key (Java's Table.adders): a layer above may send in reaction to
    a delivery and so re-enter the layer; the re-entrant call only asks the running loop to look again."""

    __slots__ = ("_more",)

    def __init__(self) -> None:
        self._more: dict[K, bool] = {}

    def run(self, key: K, step: Callable[[], bool]) -> None:
        """Call ``step`` (remove one batch and deliver it; True if it removed anything) until it finds
        nothing and no re-entrant call asked for another look."""
        more = self._more
        if key in more:
            more[key] = True
            return
        more[key] = False
        try:
            while True:
                if step():
                    continue
                if not more[key]:
                    break
                more[key] = False
        finally:
            del more[key]
