"""Leaver (pbcast.Leaver): LEAVE_REQ to the coordinator, then wait for LEAVE_RSP up to ``leave_timeout``.

In 5.5.6 the target is `GMS.leave_target`: the coordinator, or - when the coordinator itself leaves -
the next member in line, which then takes over and installs the view without us. A coordinator
change while waiting re-sends the request to the new coordinator.

``wait=False`` (a plain DISCONNECT, which stops the stack in the same input) sends the request
and finishes at once: the coordinator still removes us, we just do not wait for its LEAVE_RSP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pygroups.address import Address
from pygroups.clock import MS, TimerHandle
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.wire.headers.gms import GmsHeader

if TYPE_CHECKING:
    from .layer import GMS



class Leaver:
    def __init__(self, gms: GMS) -> None:
        self.gms = gms
        self.leaving = False
        self.target: Address | None = None
        self._timer: TimerHandle | None = None

    def leave(self, *, wait: bool) -> None:
        gms = self.gms
        if self.leaving:  # a second leave() re-sends (Java: leaving.compareAndSet failed)
            coord = gms.leave_target()
            if coord is None:
                self._finish(True)
            else:
                self._send(coord)
            return
        coord = gms.leave_target()
        if coord is None:
            gms.log.debug("last member in the group (coord); leaving now")
            gms.on_leave_done(False)
            return
        self.leaving = True
        self._send(coord)
        if wait:
            self._timer = gms.timers.call_later(gms.leave_timeout * MS, self._timed_out)
        else:
            self._finish(False)

    def handle_leave_rsp(self, sender: Address | None) -> None:
        if not self.leaving:
            self.gms.counters["LEAVE_RSP dropped (not leaving)"] += 1
            return
        self.gms.log.debug("got LEAVE response from %s", self.gms.stack.name_of(sender))
        self._finish(True)

    def coord_changed(self, new_coord: Address | None) -> None:
        if self.leaving and new_coord is not None and new_coord != self.gms.local_addr:
            self.gms.log.debug("re-sending LEAVE request to %s", self.gms.stack.name_of(new_coord))
            self._send(new_coord)

    def reset(self) -> None:
        """Stop a leave in progress without reporting it (stack stop)."""
        self.leaving = False
        self._cancel()

    def _send(self, coord: Address) -> None:
        gms = self.gms
        self.target = coord
        msg = Message(MsgType.EMPTY, dest=coord, flags=Flag.OOB, transient_flags=TransientFlag.DONT_BLOCK)
        msg.put_header(gms.protocol_id, GmsHeader(GmsHeader.Type.LEAVE_REQ, mbr=gms.local_addr))
        gms.counters["LEAVE_REQ sent"] += 1
        gms.down_msg(msg)

    def _timed_out(self) -> None:
        self._timer = None
        if self.leaving:
            self.gms.log.debug("timed out waiting for LEAVE response from %s (after %d ms)",
                               self.gms.stack.name_of(self.target), self.gms.leave_timeout)
            self._finish(False)

    def _finish(self, got_rsp: bool) -> None:
        self.leaving = False
        self._cancel()
        self.gms.on_leave_done(got_rsp)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
