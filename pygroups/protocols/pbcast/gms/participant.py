"""ParticipantRole (ParticipantGmsImpl): a joined member that is not the coordinator.

It installs VIEWs (via ServerRole), leaves through the Leaver, and takes over as coordinator when
the members ahead of it leave or are suspected (``would_i_be_coordinator``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pygroups.address import Address
from pygroups.view import Digest, View
from pygroups.wire.headers.gms import JoinRsp

from .role import ServerRole
from .view_handler import ReqType, Request

if TYPE_CHECKING:
    from .layer import GMS


class ParticipantRole(ServerRole):
    kind = "Participant"

    def __init__(self, gms: GMS) -> None:
        super().__init__(gms)
        self.suspected: list[Address] = []

    def start(self) -> None:
        super().start()
        self.suspected.clear()

    def leave(self, *, wait: bool) -> None:
        self.gms.leaver.leave(wait=wait)

    def handle_join_rsp(self, rsp: JoinRsp) -> None:
        """A late JOIN_RSP from an earlier JOIN_REQ: install its view only if it is newer."""
        view, mine = rsp.view, self.gms.view
        if view is not None and mine is not None and view.view_id.id > mine.view_id.id:
            self.gms.install_view(view, rsp.digest)

    def unsuspect(self, mbr: Address) -> None:
        if mbr in self.suspected:
            self.suspected.remove(mbr)

    def handle_membership_change(self, requests: list[Request]) -> None:
        leaving: list[Address] = []
        for r in requests:
            if r.mbr is None:
                continue
            if r.type is ReqType.SUSPECT and r.mbr not in self.suspected:
                self.suspected.append(r.mbr)
            elif r.type is ReqType.LEAVE and r.mbr not in leaving:
                leaving.append(r.mbr)
        if not self.suspected and not leaving:
            return
        gms = self.gms
        if not self.would_i_be_coordinator(leaving, self.suspected):
            return
        gms.log.debug("members are %s, coord=%s: I'm the new coordinator", gms.members, gms.local_addr)
        suspects, self.suspected = self.suspected, []
        gms.counters["coordinator_takeovers"] += 1
        me = gms.local_addr
        ahead = gms.members[:gms.members.index(me)] if me in gms.members else gms.members
        why = [f"{gms.stack.name_of(m)} {'left' if m in leaving else 'suspected'}"
               for m in ahead if m in leaving or m in suspects]
        gms.log.info("taking over as coordinator of view %s: %s", gms.view_id, ", ".join(why))
        gms.become_coordinator()
        reqs = [Request(ReqType.LEAVE, m) for m in leaving]
        for m in suspects:
            reqs.append(Request(ReqType.SUSPECT, m))
            gms.ack_collector.ack(m)
        if gms.leaver.leaving:
            reqs.append(Request(ReqType.COORD_LEAVE))
        gms.view_handler.add_all(reqs)

    def handle_view_change(self, view: View, digest: Digest | None) -> None:
        self.suspected.clear()
        super().handle_view_change(view, digest)

    def coord_changed(self, old: Address | None, new: Address | None) -> None:
        self.gms.leaver.coord_changed(new)

    def would_i_be_coordinator(self, leaving: list[Address], suspects: list[Address]) -> bool:
        mbrs = self.gms.compute_new_membership(self.gms.members, (), leaving, suspects)
        return bool(mbrs) and mbrs[0] == self.gms.local_addr
