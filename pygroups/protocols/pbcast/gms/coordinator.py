"""CoordinatorRole (CoordGmsImpl): turns batches of JOIN/LEAVE/SUSPECT requests into new views.

``handle_membership_change`` follows CoordGmsImpl step by step:

1. joiners, leavers and suspects from the batch; we never "join" ourselves;
2. leavers and suspects that are not members are ignored; a joiner that is already a member gets
   the current view and digest in an OOB JOIN_RSP and no new view;
3. next view = (self, max(view id, highest id seen) + 1), members = policy(current, joiners,
   leavers, suspects) - by default old members minus leavers/suspects, joiners appended;
4. with joiners: SUSPEND_STABLE, and a JoinRsp whose digest is NAKACK2's for the existing members
   and (0, 0) for joiners (no JOIN_RSP if NAKACK2's digest does not cover the view, the joiner
   retries);
5. LEAVE_RSPs first, then `GMS.cast_view_change` (install locally, multicast VIEW, JOIN_RSPs, wait
   for VIEW_ACKs); RESUME_STABLE when the acks are in or timed out.
"""

from __future__ import annotations

from pygroups.address import Address
from pygroups.events import SuspendStable
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.wire.headers.gms import GmsHeader, JoinRsp

from .membership import digest_for, missing_in
from .role import ServerRole
from .view_handler import ReqType, Request

MAX_SUSPEND_TIMEOUT_MS = 30_000  # CoordGmsImpl.MAX_SUSPEND_TIMEOUT


class CoordinatorRole(ServerRole):
    kind = "Coordinator"

    def leave(self, *, wait: bool) -> None:
        """With ``wait`` the leave is queued behind the view change in flight (JGRP-2293); a plain
        DISCONNECT cannot wait, so it hands over at once."""
        if wait and not self.gms.view_handler.suspended:
            self.gms.view_handler.add(Request(ReqType.COORD_LEAVE))
        else:
            self.handle_coord_leave(wait=wait)

    def handle_coord_leave(self, *, wait: bool = True) -> None:
        """Drop queued requests and send LEAVE_REQ to the next in line, who takes over."""
        self.gms.view_handler.suspend()
        self.gms.leaver.leave(wait=wait)

    def handle_membership_change(self, requests: list[Request]) -> None:
        gms = self.gms
        me = gms.local_addr
        joiners: list[Address] = []
        leavers: list[Address] = []
        suspects: list[Address] = []
        self_leaving = False
        for r in requests:
            if r.mbr is None:
                continue
            if r.type in (ReqType.JOIN, ReqType.JOIN_WITH_STATE_TRANSFER):
                _add(joiners, r.mbr)
            elif r.type is ReqType.LEAVE:
                _add(leavers, r.mbr)
                self_leaving |= r.mbr == me
            elif r.type is ReqType.SUSPECT:
                _add(suspects, r.mbr)
        if me in joiners:
            joiners.remove(me)
        if gms.view is None:
            gms.log.debug("view is null, I'm not the coordinator anymore (leaving=%s); "
                          "the new coordinator will handle the requests", self_leaving)
            return
        current = gms.members
        leavers = [m for m in leavers if m in current]
        if me in suspects:
            gms.log.warning("I am the coord and I'm being suspected -- will probably leave shortly")
            suspects.remove(me)
        ignored = [m for m in suspects if m not in current]
        if ignored:
            gms.counters["SUSPECT of non-members ignored"] += len(ignored)
            gms.log.debug("ignoring suspicion of non-members %s", [gms.stack.name_of(m) for m in ignored])
        suspects = [m for m in suspects if m in current]

        for mbr in [m for m in joiners if m in current]:
            joiners.remove(mbr)
            gms.log.debug("%s already present; returning existing view %s", gms.stack.name_of(mbr), gms.view)
            digest = gms.current_digest_for(gms.view.members)
            if digest is None:
                gms.log.warning("did not find a digest matching view %s; dropping JOIN-RSP", gms.view)
            else:
                gms.send_join_rsp(JoinRsp(gms.view, digest), mbr, oob=True)

        if not joiners and not leavers and not suspects:
            gms.log.debug("found no members to add or remove, will not create new view")
            return

        new_view = gms.next_view(joiners, leavers, suspects)
        if not new_view.members and new_view.view_id.creator == me:
            if self_leaving:
                gms.init_state()
            return
        gms.log.debug("joiners=%s, suspected=%s, leavers=%s, new view: %s", joiners, suspects, leavers, new_view)

        join_rsp: JoinRsp | None = None
        if joiners:
            gms.down(SuspendStable(MAX_SUSPEND_TIMEOUT_MS))
            nakack = gms.get_digest()
            digest = digest_for(new_view.members, nakack, zero=joiners)
            if digest is None:  # Java asks NAKACK2 a second time before giving up
                digest = digest_for(new_view.members, nakack, gms.get_digest(), zero=joiners)
            if digest is not None:
                join_rsp = JoinRsp(new_view, digest)
            else:
                gms.counters["JOIN_RSP dropped (digest incomplete)"] += 1
                gms.log.warning("digest does not match view (missing seqnos for %s); dropping JOIN-RSP",
                                missing_in([m for m in new_view.members if m not in joiners], nakack))

        for m in suspects:
            gms.counters["members_excluded"] += 1
            gms.log.info("excluding %s from view %s: suspected by failure detection",
                         gms.stack.name_of(m), new_view.view_id)
        self._send_leave_responses(leavers)
        gms.cast_view_change(new_view, None, new_view.members, joiners, join_rsp,
                             resume_stable=bool(joiners))

    def _send_leave_responses(self, leavers: list[Address]) -> None:
        gms = self.gms
        for addr in leavers:
            msg = Message(MsgType.EMPTY, dest=addr, flags=Flag.OOB | Flag.NO_RELIABILITY,
                          transient_flags=TransientFlag.DONT_BLOCK)
            msg.put_header(gms.protocol_id, GmsHeader(GmsHeader.Type.LEAVE_RSP))
            gms.counters["LEAVE_RSP sent"] += 1
            gms.down_msg(msg)


def _add(xs: list[Address], x: Address) -> None:
    if x not in xs:
        xs.append(x)

