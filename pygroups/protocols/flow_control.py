"""Credit-based flow control: UFC (unicasts) and MFC (multicasts), as org.jgroups.protocols.FlowControl.

Receiver side (what every Java member expects from us): per sender, count the payload bytes
(``Message.getLength()``) of delivered messages; once the sender's credits left fall to
``min_credits`` send it a REPLENISH ``LongMessage`` with the consumed bytes; answer a CREDIT_REQUEST
with a REPLENISH of the requested amount at once.

Sender side: Java blocks the sending thread when a destination (UFC) or any member (MFC) lacks
credits. Sans-IO, the layer holds the message in a FIFO queue instead (`backlog()` > 0 makes the
driver apply backpressure) and sends it when credits arrive. While blocked it sends a CREDIT_REQUEST
every ``max_block_time`` ms, as Java's ``needToSendCreditRequest()`` does; held messages for a member
that left the view are sent anyway (Java's ``Credit.reset()`` lets the blocked thread through).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pygroups.clock import MS
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.stack.layer import Layer, MembershipChange
from pygroups.stack.properties import Duration, Float, Size, prop
from pygroups.stack.registry import protocol
from pygroups.wire.codec import payload_length
from pygroups.wire.headers.fc import FcHeader

if TYPE_CHECKING:
    from pygroups.address import Address
    from pygroups.clock import TimerHandle

REPLENISH = FcHeader(FcHeader.Type.REPLENISH)
CREDIT_REQUEST = FcHeader(FcHeader.Type.CREDIT_REQUEST)
_CREDIT_FLAGS = Flag.OOB | Flag.DONT_BUNDLE


def message_length(msg: Message) -> int:
    """``Message.getLength()``: the byte count credits are measured in (0 if the payload is odd)."""
    try:
        return payload_length(msg)
    except Exception:  # a payload that is not what its type says: count nothing
        return 0


def _credit_message(dest: Address, credits: int, hdr: FcHeader, protocol_id: int) -> Message:
    # Java: new LongMessage(dest, credits), OOB|DONT_BUNDLE, transient DONT_BLOCK.
    return Message(
        MsgType.LONG,
        dest=dest,
        flags=_CREDIT_FLAGS,
        transient_flags=TransientFlag.DONT_BLOCK,
        headers={protocol_id: hdr},
        payload=credits,
    )


class FlowControl(Layer):
    """Shared receiver side and credit-message handling of UFC and MFC (Java's FlowControl)."""

    handles_multicasts = False

    max_credits: int = prop(Size, 5_000_000, "Bytes a sender may send to a receiver before it must get credits")
    max_block_time: int = prop(Duration, 5000, "Ms to stay blocked before (re)sending a credit request")
    min_threshold: float = prop(Float, 0.20, "Fraction of max_credits at which a receiver replenishes")
    min_credits: int = prop(Size, 0, "Replenish threshold in bytes; max_credits * min_threshold unless set")

    def __init__(self) -> None:
        super().__init__()
        # receiver side: credits left per sender (only view members are tracked, as in Java)
        self.received: dict[Address, int] = {}
        self.running = False
        self._min_credits_computed = 0

    # --- lifecycle ------------------------------------------------------------------------------------

    def init(self) -> None:
        self._min_credits_computed = (
            self.min_credits if self.min_credits != 0 else int(self.max_credits * self.min_threshold)
        )

    @property
    def effective_min_credits(self) -> int:
        if not self._min_credits_computed:
            self.init()
        return self._min_credits_computed

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    # --- events ---------------------------------------------------------------------------------------

    def members_changed(self, change: MembershipChange) -> None:
        """Receiver credits for new members; non-members are forgotten (going down or up)."""
        for mbr in change.members:
            self.received.setdefault(mbr, self.max_credits)
        change.retain(self.received)

    # --- down -----------------------------------------------------------------------------------------

    def down_msg(self, msg: Message) -> None:
        if msg.flags & Flag.NO_FC:
            self.down_layer.down_msg(msg)
            return
        dest = msg.dest
        multicast = dest is None
        if self.handles_multicasts:
            process = multicast
        else:
            process = not multicast and not (
                msg.transient_flags & TransientFlag.DONT_LOOPBACK and dest == self.local_addr
            )
        if not process:
            self.down_layer.down_msg(msg)
            return
        length = message_length(msg)
        if length == 0:
            self.down_layer.down_msg(msg)
            return
        self.handle_down_message(msg, length)
        # A DONT_LOOPBACK multicast never comes back up, so charge our own receive credits now.
        if multicast and msg.transient_flags & TransientFlag.DONT_LOOPBACK and self.local_addr is not None:
            new_credits = self.adjust_credit(self.local_addr, length)
            if new_credits > 0:
                self.send_credit(self.local_addr, new_credits)

    def handle_down_message(self, msg: Message, length: int) -> None:
        raise NotImplementedError

    def handle_replenish(self, sender: Address, increase: int) -> None:
        raise NotImplementedError

    # --- up -------------------------------------------------------------------------------------------

    def _classify(self, msg: Message) -> tuple[bool, FcHeader | None]:
        """(process, fc header) for an incoming message, as FlowControl.up() decides."""
        if msg.flags & Flag.NO_FC:
            return False, None
        raw = msg.headers.get(self.protocol_id)
        hdr = raw if isinstance(raw, FcHeader) else None
        multicast = msg.dest is None
        process = multicast == self.handles_multicasts or raw is not None
        return process, hdr

    def up_msg(self, msg: Message) -> None:
        process, hdr = self._classify(msg)
        if not process:
            self.up_layer.up_msg(msg)
            return
        if msg.headers.get(self.protocol_id) is not None:
            self._handle_control(msg, hdr)
            return
        self.up_layer.up_msg(msg)
        self._charge_receive(msg.src, message_length(msg))

    def up_batch(self, batch: Sequence[Message]) -> None:
        passed: list[Message] = []
        lengths: dict[Address | None, int] = {}
        for msg in batch:
            process, hdr = self._classify(msg)
            if process and msg.headers.get(self.protocol_id) is not None:
                self._handle_control(msg, hdr)
                continue
            passed.append(msg)
            if process:
                lengths[msg.src] = lengths.get(msg.src, 0) + message_length(msg)
        if passed:
            self.up_layer.up_batch(passed)
            for sender, length in lengths.items():
                self._charge_receive(sender, length)

    def _charge_receive(self, sender: Address | None, length: int) -> None:
        if length > 0 and sender is not None:
            new_credits = self.adjust_credit(sender, length)
            if new_credits > 0:
                self.send_credit(sender, new_credits)

    def _handle_control(self, msg: Message, hdr: FcHeader | None) -> None:
        value = msg.payload
        if hdr is None or msg.type is not MsgType.LONG or not isinstance(value, int) or msg.src is None:
            self.counters["malformed_credit_messages"] += 1
            self.log.warning("dropped malformed flow control message %r", msg)
            return
        match hdr.type:
            case FcHeader.Type.REPLENISH:
                self.counters["num_credit_responses_received"] += 1
                self.handle_replenish(msg.src, value)
            case FcHeader.Type.CREDIT_REQUEST:
                self.counters["num_credit_requests_received"] += 1
                if value > 0:
                    self.handle_credit_request(msg.src, value)
            case _:
                self.counters["unknown_header_types"] += 1
                self.log.error("flow control header type %d not known", hdr.type)

    # --- receiver credits (Java's Credit.decrementAndGet / increment) -----------------------------------

    def adjust_credit(self, sender: Address, length: int) -> int:
        """Charge ``length`` bytes to ``sender``; returns the credits to send back (0: none yet)."""
        left = self.received.get(sender)
        if left is None or length == 0:
            return 0
        left = max(0, left - length)
        if self.effective_min_credits - left >= 0:
            self.received[sender] = self.max_credits
            return min(self.max_credits, self.max_credits - left)
        self.received[sender] = left
        return 0

    def handle_credit_request(self, sender: Address, requested: int) -> None:
        left = self.received.get(sender)
        if left is None:
            return
        self.received[sender] = min(self.max_credits, left + requested)
        self.send_credit(sender, requested)

    def send_credit(self, dest: Address, credits: int) -> None:
        self.down_layer.down_msg(_credit_message(dest, credits, REPLENISH, self.protocol_id))
        self.counters["num_credit_responses_sent"] += 1

    def send_credit_request(self, dest: Address, credits_needed: int) -> None:
        self.down_layer.down_msg(_credit_message(dest, credits_needed, CREDIT_REQUEST, self.protocol_id))
        self.counters["num_credit_requests_sent"] += 1

    def _need_to_send_credit_request(self, last_ns: int | None) -> bool:
        return last_ns is None or self.now_ns() - last_ns >= self.max_block_time * MS


class _SenderCredit:
    """Java's util.Credit for one UFC destination, plus the messages held while it is short."""

    __slots__ = ("held", "last_credit_request", "left", "timer")

    def __init__(self, credits: int) -> None:
        self.left = credits
        self.held: deque[tuple[Message, int]] = deque()
        self.last_credit_request: int | None = None
        self.timer: TimerHandle | None = None


@protocol("UFC")
class UFC(FlowControl):
    """Flow control for unicasts: credits per destination."""

    handles_multicasts = False

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[Address, _SenderCredit] = {}

    def backlog(self) -> int:
        return sum(len(c.held) for c in self.sent.values())

    def sender_credits(self, dest: Address) -> int:
        cred = self.sent.get(dest)
        return 0 if cred is None else cred.left

    def stop(self) -> None:
        super().stop()
        # Java: unblock() refills every credit and the blocked threads send their messages.
        for cred in self.sent.values():
            cred.left = self.max_credits
            self._release(cred)

    def handle_down_message(self, msg: Message, length: int) -> None:
        assert msg.dest is not None
        cred = self.sent.get(msg.dest)
        if cred is None or not self.running:
            self.down_layer.down_msg(msg)
            return
        if not cred.held and cred.left - length >= 0:
            cred.left -= length
            self.down_layer.down_msg(msg)
            return
        cred.held.append((msg, length))
        if len(cred.held) == 1:
            self.counters["num_blockings"] += 1
            if self.max_block_time <= 0:
                self._maybe_request(msg.dest, cred)
            self._blocked(msg.dest, cred)

    def _blocked(self, dest: Address, cred: _SenderCredit) -> None:
        """The head of ``cred.held`` still lacks credits: Java's thread waits max_block_time, then asks."""
        if self.max_block_time <= 0:  # Java does not wait at all: it asks at once (and keeps asking)
            return
        if cred.timer is None:
            cred.timer = self.timers.call_later(self.max_block_time * MS, self.on_block_timeout, dest)

    def on_block_timeout(self, dest: Address) -> None:
        cred = self.sent.get(dest)
        if cred is None:
            return
        cred.timer = None
        if cred.held:
            self._maybe_request(dest, cred)
            self._blocked(dest, cred)

    def _maybe_request(self, dest: Address, cred: _SenderCredit) -> None:
        if self._need_to_send_credit_request(cred.last_credit_request):
            cred.last_credit_request = self.now_ns()
            self.send_credit_request(dest, max(0, self.max_credits - cred.left))

    def _drain(self, cred: _SenderCredit) -> None:
        while cred.held and cred.left - cred.held[0][1] >= 0:
            msg, length = cred.held.popleft()
            cred.left -= length
            self.down_layer.down_msg(msg)
        if not cred.held and cred.timer is not None:
            cred.timer.cancel()
            cred.timer = None

    def _release(self, cred: _SenderCredit) -> None:
        """Send every held message regardless of credits (member left, or stopping)."""
        if cred.timer is not None:
            cred.timer.cancel()
            cred.timer = None
        while cred.held:
            self.down_layer.down_msg(cred.held.popleft()[0])

    def handle_replenish(self, sender: Address, increase: int) -> None:
        cred = self.sent.get(sender)
        if cred is None or increase <= 0:
            return
        cred.left = min(self.max_credits, cred.left + increase)
        if cred.held:
            self._drain(cred)
            if cred.held:  # woken up but still short: Java's loop asks if due, then waits afresh
                self._maybe_request(sender, cred)
                if cred.timer is not None:
                    cred.timer.cancel()
                    cred.timer = None
                self._blocked(sender, cred)

    def members_changed(self, change: MembershipChange) -> None:
        super().members_changed(change)
        for mbr in change.members:
            if mbr not in self.sent:
                self.sent[mbr] = _SenderCredit(self.max_credits)
        for mbr in change.non_members(self.sent):
            self._release(self.sent.pop(mbr))


class _CreditMap:
    """Java's util.CreditMap: per-member credits with lazily applied ``accumulated`` deductions."""

    def __init__(self, max_credits: int) -> None:
        self.max_credits = max_credits
        self.credits: dict[Address, int] = {}
        self.min_credits = max_credits
        self.accumulated = 0

    def _flush(self) -> None:
        if self.accumulated > 0:
            for k, v in self.credits.items():
                self.credits[k] = max(0, v - self.accumulated)
            self.accumulated = 0

    def lowest(self) -> int:
        return min([self.max_credits, *self.credits.values()])

    def get(self, member: Address) -> int | None:
        """The member's credits with pending deductions applied (for inspection)."""
        v = self.credits.get(member)
        return None if v is None else max(0, v - self.accumulated)

    def remove(self, member: Address) -> None:
        self.credits.pop(member, None)
        self._flush()
        new_min = self.lowest()
        if new_min > self.min_credits:
            self.min_credits = new_min

    def put_if_absent(self, member: Address) -> None:
        self._flush()
        self.credits.setdefault(member, self.max_credits)

    def decrement(self, credits: int) -> bool:
        if self.min_credits - credits >= 0:
            self.accumulated += credits
            self.min_credits -= credits
            return True
        return False

    def members_with_credits_at_most(self, limit: int) -> list[tuple[Address, int]]:
        self._flush()
        return [(k, v) for k, v in self.credits.items() if v <= limit]

    def replenish(self, sender: Address, new_credits: int) -> None:
        val = self.credits.get(sender)
        if val is None:
            return
        potential_update = val - self.accumulated <= self.min_credits
        replenish = new_credits > 0
        if self.accumulated > 0:
            for k, v in self.credits.items():
                v = max(0, v - self.accumulated)
                if replenish and k == sender:
                    v = min(self.max_credits, v + new_credits)
                self.credits[k] = v
            self.accumulated = 0
        elif replenish:
            self.credits[sender] = min(self.max_credits, val + new_credits)
        if potential_update:
            new_min = self.lowest()
            if new_min > self.min_credits:
                self.min_credits = new_min

    def replenish_all(self) -> None:
        self._flush()
        for k in self.credits:
            self.credits[k] = self.max_credits
        self.min_credits = self.lowest()

    def clear(self) -> None:
        self.credits.clear()


@protocol("MFC")
class MFC(FlowControl):
    """Flow control for multicasts: a send needs credits from every member (the minimum counts)."""

    handles_multicasts = True

    def __init__(self) -> None:
        super().__init__()
        self.credits = _CreditMap(self.max_credits)
        self.held: deque[tuple[Message, int]] = deque()
        self.last_credit_request: int | None = None
        self._timer: TimerHandle | None = None

    def init(self) -> None:
        super().init()
        self.credits = _CreditMap(self.max_credits)

    def backlog(self) -> int:
        return len(self.held)

    def stop(self) -> None:
        super().stop()
        self.credits.clear()
        self._release()

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self.held:
            self.down_layer.down_msg(self.held.popleft()[0])

    def handle_down_message(self, msg: Message, length: int) -> None:
        if msg.dest is not None or not self.running:
            self.down_layer.down_msg(msg)
            return
        if msg.transient_flags & TransientFlag.DONT_BLOCK:
            # Java tries once without waiting and drops the message when that fails.
            if self.credits.decrement(length):
                self.down_layer.down_msg(msg)
                return
            self._maybe_request()
            self.counters["num_msgs_dropped"] += 1
            return
        if not self.held and self.credits.decrement(length):
            self.down_layer.down_msg(msg)
            return
        self.held.append((msg, length))
        if len(self.held) == 1:
            self.counters["num_blockings"] += 1
            if self.max_block_time <= 0:
                self._maybe_request()
            self._blocked()

    def _blocked(self) -> None:
        if self.max_block_time <= 0:  # Java does not wait at all: it asks at once (and keeps asking)
            return
        if self._timer is None:
            self._timer = self.timers.call_later(self.max_block_time * MS, self.on_block_timeout)

    def on_block_timeout(self) -> None:
        self._timer = None
        if self.held:
            self._maybe_request()
            self._blocked()

    def _maybe_request(self) -> None:
        if not self._need_to_send_credit_request(self.last_credit_request):
            return
        self.last_credit_request = self.now_ns()
        for addr, left in self.credits.members_with_credits_at_most(self.effective_min_credits):
            self.send_credit_request(addr, min(self.max_credits, self.max_credits - left))

    def _drain(self) -> None:
        while self.held and self.credits.decrement(self.held[0][1]):
            self.down_layer.down_msg(self.held.popleft()[0])
        if not self.held and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _wake(self, old_min: int) -> None:
        """Java's blocked thread wakes only when the lowest credit rose; if still short, it may ask."""
        if self.held and self.credits.min_credits > old_min:
            self._drain()
            if self.held:
                self._maybe_request()
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                self._blocked()

    def handle_replenish(self, sender: Address, increase: int) -> None:
        old_min = self.credits.min_credits
        self.credits.replenish(sender, increase)
        self._wake(old_min)

    def unblock(self) -> None:
        """Java's MFC.unblock(): refill every member's credits."""
        old_min = self.credits.min_credits
        self.credits.replenish_all()
        self._wake(old_min - 1)

    def members_changed(self, change: MembershipChange) -> None:
        super().members_changed(change)
        old_min = self.credits.min_credits
        for key in change.non_members(self.credits.credits):
            self.credits.remove(key)
        for mbr in change.members:
            self.credits.put_if_absent(mbr)
        self._wake(old_min)


__all__ = ["MFC", "UFC", "FlowControl", "message_length"]
