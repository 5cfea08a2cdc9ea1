"""The role base classes: GmsRole (GmsImpl) and ServerRole (ServerGmsImpl).

A role is a small strategy object holding only its own state; GMS swaps roles by assignment
(`GMS.become_client/participant/coordinator`). Methods a role does not support log a warning, as
Java's ``wrongMethod``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from pygroups.address import Address
from pygroups.view import Digest, View
from pygroups.wire.headers.gms import JoinRsp

from .view_handler import Request

if TYPE_CHECKING:
    from .layer import GMS


class GmsRole:
    kind: ClassVar[str] = "GmsRole"

    def __init__(self, gms: GMS) -> None:
        self.gms = gms

    def start(self) -> None:
        """Called when the role becomes current (GmsImpl.init)."""

    def stop(self) -> None:
        """Called when the stack stops or the role is replaced: cancel this role's timers."""

    def join(self) -> None:
        self._wrong("join")

    def leave(self, *, wait: bool) -> None:
        self._wrong("leave")

    def handle_join_rsp(self, rsp: JoinRsp) -> None:
        """A JOIN_RSP for a member that already joined: nothing to do by default."""

    def handle_leave_rsp(self, sender: Address | None) -> None:
        self.gms.leaver.handle_leave_rsp(sender)

    def unsuspect(self, mbr: Address) -> None:
        """Only participants remember suspects."""

    def handle_membership_change(self, requests: list[Request]) -> None:
        """Only servers act on JOIN/LEAVE/SUSPECT requests."""

    def handle_coord_leave(self) -> None:
        self._wrong("handle_coord_leave")

    def handle_view_change(self, view: View, digest: Digest | None) -> None:
        """A client ignores VIEW messages (its view comes with the JOIN_RSP)."""

    def merge(self, views: Mapping[Address, View]) -> None:
        """Only servers (participants and coordinators) take part in merges (GmsImpl.merge is a no-op)."""

    def _wrong(self, method: str) -> None:
        self.gms.log.warning("%s() should not be invoked on an instance of %s", method, self.kind)


class ServerRole(GmsRole):
    """What participant and coordinator share: installing VIEWs and noticing coordinator changes."""

    def start(self) -> None:
        self.gms.view_handler.resume()

    def handle_view_change(self, view: View, digest: Digest | None) -> None:
        gms = self.gms
        if gms.leaver.leaving and gms.local_addr not in view.members:
            return
        prev = gms.view
        gms.install_view(view, digest)
        prev_coord = prev.coordinator if prev is not None else None
        if prev_coord != view.coordinator:
            self.coord_changed(prev_coord, view.coordinator)

    def merge(self, views: Mapping[Address, View]) -> None:
        """ServerGmsImpl.merge: the Merger decides whether we lead."""
        self.gms.merger.merge(views)

    def coord_changed(self, old: Address | None, new: Address | None) -> None:
        """Participants re-send a pending LEAVE_REQ to the new coordinator."""
