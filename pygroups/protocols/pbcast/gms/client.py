"""ClientRole (ClientGmsImpl): find the coordinator and join, as timer-driven state.

Java's ``joinInternal`` is a blocking loop; here each of its waits is a state plus a timer:

==============  ===================================================  ==================================
state           entered by                                           left by
==============  ===================================================  ==================================
DISCOVERY       join(); the next attempt                             DiscoveryResponse (or a fallback
                                                                     timer if discovery never answers)
JOINING         JOIN_REQ sent to ``coords[i]``                       JOIN_RSP, or ``join_timeout``
                                                                     (then the next coordinator, then a
                                                                     new attempt)
CLIENTS_WAIT    only clients answered and we are not the lowest      ``all_clients_retry_timeout``
DONE            view installed, JoinFailed raised, or leaving        —
==============  ===================================================  ==================================

An attempt is one discovery round plus a JOIN_REQ to each coordinator found. After
``max_join_attempts`` attempts (0 = forever) we become a singleton, as Java does. Java counts
``join_attempts`` from 1 and checks ``>= max`` *after* incrementing, so the default 10 allows 9.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from pygroups.address import Address
from pygroups.clock import MS, TimerHandle
from pygroups.events import BecomeServer, DiscoveryResponse, FindInitialMembers, JoinFailed
from pygroups.message import Flag, Message, MsgType
from pygroups.ping_data import PingData
from pygroups.view import Digest, View, ViewId
from pygroups.wire.headers.gms import GmsHeader, JoinRsp

from .role import GmsRole

if TYPE_CHECKING:
    from .layer import GMS



class JoinState(enum.Enum):
    IDLE = "idle"
    DISCOVERY = "discovery"
    JOINING = "joining"
    CLIENTS_WAIT = "clients-wait"
    DONE = "done"


class ClientRole(GmsRole):
    kind = "Client"

    def __init__(self, gms: GMS) -> None:
        super().__init__(gms)
        self.state = JoinState.IDLE
        self.join_attempts = 1
        self.responses: dict[Address, PingData] = {}  # all discovery rounds (Java's Responses)
        self._request_id = 0
        self._coords: list[Address] = []
        self._coord_index = 0
        self._timer: TimerHandle | None = None
        self._discovery_start_ns = 0

    # --- entry points -----------------------------------------------------------------------------

    def join(self) -> None:
        self.join_attempts = 1
        self.responses.clear()
        self._discover()

    def leave(self, *, wait: bool) -> None:
        """Leaving while joining (Java: the join loop checks isLeaving()): stop; nobody to tell."""
        self._finish()
        self.gms.on_leave_done(False)

    def stop(self) -> None:
        self._finish()

    def handle_join_rsp(self, rsp: JoinRsp) -> None:
        if self.state in (JoinState.IDLE, JoinState.DONE):
            self.gms.counters["JOIN_RSP dropped (not joining)"] += 1
            return
        if rsp.fail_reason is not None:
            self.gms.log.error("JOIN was rejected: %s", rsp.fail_reason)
            self._finish()
            self.gms.join_failure = rsp.fail_reason
            self.gms.pass_up(JoinFailed(rsp.fail_reason))
            return
        if not self._valid(rsp):
            self.gms.counters["invalid JOIN_RSP"] += 1
            return
        view = rsp.view
        assert view is not None  # checked by _valid
        if not self._install(view, rsp.digest):
            return
        # Java: installViewIfValidJoinRsp sends the VIEW_ACK to the view's creator once installed
        if view.view_id.creator is not None:
            self.gms.send_view_ack(view.view_id.creator)

    def owns(self, request_id: int) -> bool:
        """Is this the answer to our FindInitialMembers (not e.g. MERGE3's FindMembers)?"""
        return self.state is JoinState.DISCOVERY and request_id == self._request_id

    def on_discovery_response(self, evt: DiscoveryResponse) -> None:
        if self.state is not JoinState.DISCOVERY or evt.request_id != self._request_id:
            self.gms.counters["stale discovery responses"] += 1
            return
        self._cancel_timer()
        for pd in evt.responses:
            if pd.sender is not None:
                self.responses[pd.sender] = pd  # later rounds overwrite (Responses.addResponse(pd, true))
        self._after_discovery()

    # --- the join loop ------------------------------------------------------------------------------

    def _discover(self) -> None:
        gms = self.gms
        self.state = JoinState.DISCOVERY
        self._request_id = gms.stack.new_request_id()
        self._discovery_start_ns = gms.now_ns()
        # Java's joiner blocks in findMembers (KUBE_PING's API call, with its retries) and then waits at
        # most join_timeout for answers: discovery always answers (the transport does when there is no
        # discovery layer), however long its I/O takes, so there is no timer here.
        gms.down(FindInitialMembers(self._request_id, gms.join_timeout))

    def _after_discovery(self) -> None:
        gms = self.gms
        me = gms.local_addr
        assert me is not None
        took_ms = (gms.now_ns() - self._discovery_start_ns) // MS
        own = self.responses.get(me)
        others = {a: pd for a, pd in self.responses.items() if a != me}
        if not others or (own is not None and own.is_coord):
            why = f"no members discovered after {took_ms} ms" if not others else "I'm the first member"
            gms.log.info("%s: creating cluster as coordinator", why)
            self.become_singleton()
            return
        coords: list[Address] = []
        for pd in others.values():
            if pd.is_coord and pd.sender is not None and pd.sender not in coords:
                coords.append(pd.sender)
        if not coords:
            if min([me, *others]) == me:  # firstOfAllClients: the lowest address (Java compareTo)
                self.become_singleton()
                return
            self.state = JoinState.CLIENTS_WAIT
            self._timer = gms.timers.call_later(gms.all_clients_retry_timeout * MS, self._next_attempt)
            return
        if len(coords) > 1:
            gms.log.debug("found multiple coords: %s", coords)
            gms.rng.shuffle(coords)
        self._coords, self._coord_index = coords, 0
        self._send_join()

    def _send_join(self) -> None:
        gms = self.gms
        coord = self._coords[self._coord_index]
        self.state = JoinState.JOINING
        gms.log.debug("sending JOIN(%s) to %s", gms.local_addr, gms.stack.name_of(coord))
        msg = Message(MsgType.BYTES, dest=coord, flags=Flag.OOB)
        msg.put_header(gms.protocol_id, GmsHeader(GmsHeader.Type.JOIN_REQ, mbr=gms.local_addr))
        gms.counters["JOIN_REQ sent"] += 1
        gms.down_msg(msg)
        if self.state is JoinState.JOINING:
            self._timer = gms.timers.call_later(gms.join_timeout * MS, self._join_timed_out)

    def _join_timed_out(self) -> None:
        self._timer = None
        if self.state is not JoinState.JOINING:
            return
        gms = self.gms
        gms.log.warning("JOIN(%s) sent to %s timed out (after %d ms), on try %d", gms.local_addr,
                        gms.stack.name_of(self._coords[self._coord_index]), gms.join_timeout, self.join_attempts)
        self._coord_index += 1
        if self._coord_index < len(self._coords):
            self._send_join()
        else:
            self._next_attempt()

    def _next_attempt(self) -> None:
        self._timer = None
        gms = self.gms
        self.join_attempts += 1
        if 0 < gms.max_join_attempts <= self.join_attempts:
            gms.log.warning("too many JOIN attempts (%d): becoming singleton", self.join_attempts)
            self.become_singleton()
            return
        self._discover()

    # --- outcomes -----------------------------------------------------------------------------------

    def become_singleton(self) -> None:
        """View [me|0] {me} with digest {me: 0/0} (ClientGmsImpl.becomeSingletonMember)."""
        me = self.gms.local_addr
        assert me is not None
        self._install(View(ViewId(me, 0), (me,)), Digest((me,), ((0, 0),)))

    def _valid(self, rsp: JoinRsp) -> bool:
        me = self.gms.local_addr
        if rsp.digest is None or not rsp.digest.members:
            self.gms.log.warning("digest is empty: digest=%s", rsp.digest)
            return False
        if me not in rsp.digest.members:
            self.gms.log.error("digest in JOIN_RSP does not contain myself; join response: %s", rsp)
            return False
        if rsp.view is None:
            self.gms.log.error("JoinRsp has a null view, skipping it")
            return False
        return True

    def _install(self, view: View, digest: Digest | None) -> bool:
        gms = self.gms
        if gms.local_addr not in view.members:
            gms.log.error("I'm not member of %s, will not install view", view)
            return False
        self._finish()
        gms.install_view(view, digest)  # switches the role to participant or coordinator
        gms.pass_up(BecomeServer())
        gms.down(BecomeServer())
        return True

    def _finish(self) -> None:
        self.state = JoinState.DONE
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
