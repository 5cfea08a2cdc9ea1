"""Merger: the GMS merge protocol (org.jgroups.protocols.pbcast.Merger, JGroups 5.5.6).

Roles in one merge (MERGE3 sends `Merge` up with the views it collected; GMS queues it as a MERGE
request and the view handler hands it to `Merger.merge`):

* **Leader** (the lowest of the subgroup coordinators, `determine_merge_leader`): sanitizes the views
  (JGRP-1061), computes each subgroup coordinator's member list (`determine_merge_coords`), creates a
  `MergeId`, sends MERGE_REQ (BytesMessage OOB, ``mbr`` = leader, payload = that list) to every
  coordinator including itself and collects MERGE_RSPs for ``merge_timeout`` ms (`_LeaderTask`).
  Missing and rejected responses drop their senders; without responses, or without our own, the merge
  is cancelled (CANCEL_MERGE to the coordinators). Otherwise `consolidate` builds the MergeView and the
  merged digest, and INSTALL_MERGE_VIEW goes to every coordinator, ourselves last.
* **Subgroup coordinator** (`handle_merge_request`): takes the merge id unless another merge is running
  (then the request is dropped *silently*, as Java does), multicasts GET_DIGEST_REQ to its members and
  collects their digests for ``merge_timeout/2`` ms (`_DigestCollection`), then answers MERGE_RSP with
  (its view id, the members it was asked about that are in its view, itself) and the digest. On
  INSTALL_MERGE_VIEW with the current merge id it multicasts the MergeView + digest to its *current*
  members (`GMS.cast_view_change`) and ends the merge when the VIEW_ACKs are in.
* **Member**: answers GET_DIGEST_REQ (taking the merge id as well) and installs the MergeView; NAKACK2
  gets `MergeDigest`. Installing a MergeView ends the merge on everyone but its new coordinator.

While a merge id is set the view handler is suspended (JOIN/LEAVE/MERGE requests are discarded; a joiner
retries), STABLE is suspended (20 s) and a merge killer cancels the merge after ``2 x merge_timeout``,
so a lost message or a stranger's MERGE_REQ never stalls the node. Java blocks a thread on every wait;
here each wait is a dict of expected responses plus a timer that ends it early once all are in.

Java quirk kept: a rejection (MERGE_RSP with MERGE_REJECTED) is an EmptyMessage, and GMS reads MERGE_RSP
with ``readViewAndDigest(msg.getArray())``, which is null for it: the leader ignores rejections and
waits for ``merge_timeout``.

Orders that Java takes from HashMap/HashSet iteration (the merge responses, which decide the member
order of the MergeView, and its subgroups) follow `java_hash_order`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from pygroups.address import UUID, Address
from pygroups.clock import MS, TimerHandle
from pygroups.events import GetDigest, InstallMergeView, ResumeStable, SuspendStable
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.view import Digest, MergeView, View, ViewId
from pygroups.wire.headers.gms import GmsHeader, MergeId, encode_merge_members, encode_view_digest

if TYPE_CHECKING:
    from .layer import GMS

T = GmsHeader.Type
K = TypeVar("K")
SUSPEND_STABLE_MS = 20_000  # Merger.setMergeId: SUSPEND_STABLE(20000)
MERGE_ID_HISTORY = 20


class MergeFailed(Exception):
    """A merge step failed: the merge is cancelled (Java throws and cancels in MergeTask.run)."""


# --- Java's orders ---------------------------------------------------------------------------------------


def java_hash(obj: object) -> int:
    """hashCode() of a JGroups UUID (``(int)(msb>>32 ^ msb ^ lsb>>32 ^ lsb)``), ViewId and View."""
    if isinstance(obj, UUID):
        h = (obj.msb >> 32) ^ obj.msb ^ (obj.lsb >> 32) ^ obj.lsb
    elif isinstance(obj, ViewId):
        h = (java_hash(obj.creator) if obj.creator is not None else 0) + obj.id
    elif isinstance(obj, View):
        h = java_hash(obj.view_id)
    else:
        h = hash(obj)
    h &= 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def hash_table_size(n: int, at_least: int = 16) -> int:
    """The table size of a java.util.HashMap after ``n`` puts (load factor 0.75)."""
    cap = at_least
    while n > cap * 3 // 4:
        cap *= 2
    return cap


def java_hash_order(keys: Iterable[K], table_size: int | None = None) -> list[K]:
    """Iteration order of a java.util.HashMap/HashSet holding ``keys`` (inserted in the given order):
    by bucket ``(h ^ h >>> 16) & (size - 1)``, insertion order within a bucket."""
    ks = list(keys)
    size = table_size or hash_table_size(len(ks))

    def bucket(k: K) -> int:
        h = java_hash(k) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & (size - 1)

    return [k for _, k in sorted(enumerate(ks), key=lambda p: (bucket(p[1]), p[0]))]


# --- pure merge arithmetic (Merger / Util / GMS.DefaultMembershipPolicy) ------------------------------


def same_views(views: Iterable[View]) -> bool:
    """View.sameViews: every view id equal (creator and id)."""
    return len({v.view_id for v in views}) <= 1


def sanitize_views(views: Mapping[Address, View]) -> dict[Address, View]:
    """Merger.sanitizeViews (JGRP-1061): drop from each view the members whose own view lacks its sender."""
    out: dict[Address, View] = {}
    for key, view in views.items():
        members = [m for m in view.members
                   if m == key or (other := views.get(m)) is None or key in other.members]
        out[key] = view if len(members) == len(view.members) else View(view.view_id, tuple(members))
    return out


def determine_merge_participants(views: Mapping[Address, View]) -> set[Address]:
    """Util.determineMergeParticipants: the view creators plus members that no creator's view lists."""
    all_addrs = {m for v in views.values() for m in v.members}
    coords = {v.view_id.creator for v in views.values() if v.view_id.creator is not None}
    for c in coords:
        v = views.get(c)
        if v is not None:
            all_addrs -= set(v.members)
    return coords | all_addrs


def determine_merge_leader(views: Mapping[Address, View]) -> Address | None:
    """Merger.determineMergeLeader: the lowest actual coordinator (a sender first in its own view), else
    the lowest view creator (JGRP-2092)."""
    coords = {sender for sender, v in views.items() if v.members and v.members[0] == sender}
    if not coords:
        coords = {v.view_id.creator for v in views.values() if v.view_id.creator is not None}
    return min(coords) if coords else None


def determine_merge_coords(views: Mapping[Address, View]) -> dict[Address, list[Address]]:
    """Merger.determineMergeCoords (JGRP-1910): each view creator with the members of all its views;
    participants that are no creator stand for themselves alone."""
    out: dict[Address, list[Address]] = {}
    for v in views.values():
        if v.view_id.creator is None:
            continue
        members = out.setdefault(v.view_id.creator, [])
        members += [m for m in v.members if m not in members]
    for p in sorted(determine_merge_participants(views)):
        out.setdefault(p, [p])
    return out


def merge_membership(subviews: Sequence[Sequence[Address]]) -> list[Address]:
    """DefaultMembershipPolicy.getNewMembership(subviews): the lowest subgroup coordinator first, then
    every subview's members in order, without duplicates."""
    coords = sorted({sv[0] for sv in subviews if sv})
    out: list[Address] = [coords[0]] if coords else []
    for sv in subviews:
        out += [m for m in sv if m not in out]
    return out


def consolidate(responses: Sequence[tuple[View | None, Digest | None]],
                subviews: Sequence[View]) -> tuple[MergeView, Digest] | None:
    """MergeTask.consolidateMergeData: the MergeView (id = highest view id seen + 1) and the digest
    (per member the highest hd and hr of all responses); None if a member has no digest entry."""
    logical_time = 0
    sub_mbrships: list[list[Address]] = []
    digest_members: set[Address] = set()
    for view, digest in responses:
        if view is not None:
            logical_time = max(logical_time, view.view_id.id)
            sub_mbrships.append(list(view.members))
        if digest is not None:
            digest_members.update(digest.members)
    if digest_members:  # members without a digest are left out
        sub_mbrships = [[m for m in sv if m in digest_members] for sv in sub_mbrships]
    merged = merge_membership(sub_mbrships)
    everyone = {m for sv in sub_mbrships for m in sv}
    merged = [m for m in merged if m in everyone]
    if not merged:
        return None
    kept = []
    for v in subviews:
        logical_time = max(logical_time, v.view_id.id)
        if v.view_id.creator is None or v.view_id.creator in merged:
            kept.append(View(v.view_id, v.members))
    view = MergeView(ViewId(merged[0], logical_time + 1), tuple(merged), tuple(kept))
    digest = consolidate_digests(view.members, [d for _, d in responses if d is not None])
    return None if digest is None else (view, digest)


def consolidate_digests(members: Sequence[Address], digests: Iterable[Digest]) -> Digest | None:
    """MutableDigest(members).merge(each): per member max(hd), max(hr); None unless all are set."""
    entries: dict[Address, tuple[int, int]] = {}
    wanted = set(members)
    for d in digests:
        for m, (hd, hr) in zip(d.members, d.seqnos, strict=True):
            if m in wanted:
                old = entries.get(m, (-1, -1))
                entries[m] = (max(old[0], hd), max(old[1], hr))
    if any(m not in entries for m in members):
        return None
    return Digest(tuple(members), tuple(entries[m] for m in members))


# --- the stateful part ------------------------------------------------------------------------------------


class _LeaderTask:
    """MergeTask: MERGE_REQs out, MERGE_RSPs in (for merge_timeout), then INSTALL_MERGE_VIEW or CANCEL_MERGE."""

    def __init__(self, merger: Merger, merge_id: MergeId, coords: dict[Address, list[Address]],
                 subviews: list[View]) -> None:
        self.merger = merger
        self.merge_id = merge_id
        self.coords = coords
        self.coords_copy = list(coords)
        self.subviews = subviews
        self.rsps: dict[Address, tuple[View | None, Digest | None, bool] | None] = {}
        self.timer: TimerHandle | None = None


class _DigestCollection:
    """fetchDigestsFromAllMembersInSubPartition: GET_DIGEST_RSPs for merge_timeout/2, then MERGE_RSP."""

    def __init__(self, leader: Address, merge_id: MergeId, view: View) -> None:
        self.leader = leader
        self.merge_id = merge_id
        self.view = view
        self.digests: dict[Address, Digest | None] = dict.fromkeys(view.members)
        self.timer: TimerHandle | None = None


class Merger:
    """One per GMS; ``merge_id`` is set while this member takes part in a merge."""

    def __init__(self, gms: GMS) -> None:
        self.gms = gms
        self.merge_id: MergeId | None = None
        self.history: deque[MergeId | None] = deque(maxlen=MERGE_ID_HISTORY)
        self._next_id = 1  # MergeId.LAST_ID
        self._killer: TimerHandle | None = None
        self.task: _LeaderTask | None = None
        self.collection: _DigestCollection | None = None
        self._rsps_table = 16  # merge_rsps is one long-lived HashMap: clear() never shrinks its table
        self._subviews_table = 16

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        return self.gms.log

    @property
    def in_progress(self) -> bool:
        return self.merge_id is not None

    def _count(self, what: str) -> None:
        self.gms.counters[what] += 1

    def _name(self, addr: Address | None) -> str:
        return self.gms.stack.name_of(addr)

    # --- merge id ---------------------------------------------------------------------------------------

    def match_merge_id(self, merge_id: MergeId | None) -> bool:
        return self.merge_id == merge_id

    def set_merge_id(self, expected: MergeId | None, new: MergeId | None) -> bool:
        """Merger.setMergeId: compare-and-set; a new id suspends the view handler and STABLE and arms the
        merge killer. An id seen in the last 20 is refused."""
        if self.merge_id != expected:
            return False
        if new is not None and new in self.history:
            return False
        self.history.append(new)
        self.merge_id = new
        if new is not None:
            self.gms.view_handler.suspend()
            self.gms.down_layer.down(SuspendStable(SUSPEND_STABLE_MS))
            if self._killer is None:
                self._killer = self.gms.timers.call_later(2 * self.gms.merge_timeout * MS, self._kill, new)
        return True

    def _kill(self, merge_id: MergeId) -> None:
        self._killer = None
        if self.merge_id == merge_id:
            self._count("merges cancelled by the merge killer")
            self.log.warning("merge %s did not complete within %d ms; cancelling it", merge_id,
                             2 * self.gms.merge_timeout)
        self.cancel_merge(merge_id)

    def cancel_merge(self, merge_id: MergeId | None) -> None:
        """Merger.cancelMerge: only if ``merge_id`` is the current one (None matches no merge)."""
        if not self.set_merge_id(merge_id, None):
            return
        self._stop_task()
        if self._killer is not None:
            self._killer.cancel()
            self._killer = None
        if self.gms.stack.connected:
            self.gms.view_handler.resume()
            self.gms.down_layer.down(ResumeStable())

    def force_cancel_merge(self) -> None:
        if self.merge_id is not None:
            self.cancel_merge(self.merge_id)

    def _stop_task(self) -> None:
        if self.task is not None and self.task.timer is not None:
            self.task.timer.cancel()
        self.task = None

    def stop(self) -> None:
        """The stack stops: forget everything and cancel every timer."""
        self._stop_task()
        for t in (self._killer, self.collection.timer if self.collection else None):
            if t is not None:
                t.cancel()
        self._killer = None
        self.collection = None
        self.merge_id = None

    # --- leader ------------------------------------------------------------------------------------------

    def merge(self, views: Mapping[Address, View]) -> None:
        """Merger.merge: start the merge task if we are the merge leader."""
        gms = self.gms
        if not views:
            self.log.warning("the views passed with the MERGE event were empty; ignoring MERGE event")
            return
        if same_views(views.values()):
            self.log.debug("MERGE event is ignored because of identical views: %s", list(views.values()))
            return
        if self.in_progress:
            self._count("MERGE events ignored (merge in progress)")
            self.log.debug("merge is already running (merge_id=%s)", self.merge_id)
            return
        leader = determine_merge_leader(views)
        if leader is None:
            self.log.error("unable to determine merge leader from %s; not starting a merge", views)
            return
        if leader != gms.local_addr:
            self.log.debug("I'm not the merge leader, waiting for merge leader (%s) to start merge",
                           self._name(leader))
            return
        if self.task is not None:
            return
        unique: dict[ViewId, View] = {}
        for view in views.values():  # a HashSet<View>: views are equal by view id
            unique.setdefault(view.view_id, view)
        subviews = java_hash_order(unique.values(), self._note_subviews(len(unique)))
        coords = determine_merge_coords(sanitize_views(views))
        merge_id = MergeId(gms.local_addr, self._next_id)
        self._next_id += 1
        if not self.set_merge_id(None, merge_id):
            self.log.warning("failed to set my own merge_id (%s) to %s", self.merge_id, merge_id)
            return
        task = self.task = _LeaderTask(self, merge_id, coords, subviews)
        self._count("merges led")
        self.log.info("merge %s: I am the merge leader for %d subgroups: %s", merge_id, len(coords),
                      "; ".join(f"{self._name(c)}: {[self._name(m) for m in ms]}" for c, ms in coords.items()))
        self._rsps_table = max(self._rsps_table, hash_table_size(len(coords)))
        task.rsps = dict.fromkeys(coords)
        for coord, mbrs in coords.items():
            msg = Message(MsgType.BYTES, dest=coord, flags=Flag.OOB, payload=encode_merge_members(tuple(mbrs)))
            msg.put_header(gms.protocol_id, GmsHeader(T.MERGE_REQ, gms.local_addr, merge_id))
            gms.down_layer.down_msg(msg)
        task.timer = gms.timers.call_later(gms.merge_timeout * MS, self._responses_done, task)

    def _note_subviews(self, n: int) -> int:
        self._subviews_table = max(self._subviews_table, hash_table_size(n))
        return self._subviews_table

    def handle_merge_response(self, sender: Address | None, view: View | None, digest: Digest | None,
                              rejected: bool, merge_id: MergeId | None) -> None:
        task = self.task
        if not self.match_merge_id(merge_id) or task is None or sender is None or sender not in task.rsps:
            self._count("MERGE_RSP discarded (merge id or sender not expected)")
            self.log.debug("merge_id (%s) is different from merge_id %s sent by %s as merge response, "
                           "discarding it", self.merge_id, merge_id, self._name(sender))
            return
        task.rsps[sender] = (view, digest, rejected)
        if all(r is not None for r in task.rsps.values()):
            self._responses_done(task)

    def _responses_done(self, task: _LeaderTask) -> None:
        if task is not self.task:
            return
        if task.timer is not None:
            task.timer.cancel()
            task.timer = None
        try:
            self._finish(task)
        except MergeFailed as e:
            self._count("merges cancelled")
            self.log.warning("merge %s is cancelled: %s", task.merge_id, e)
            for coord in task.coords_copy:
                msg = Message(MsgType.EMPTY, dest=coord)
                msg.put_header(self.gms.protocol_id, GmsHeader(T.CANCEL_MERGE, merge_id=task.merge_id))
                self.gms.down_layer.down_msg(msg)
            self.cancel_merge(task.merge_id)
        finally:
            if self.task is task:
                self.task = None

    def _finish(self, task: _LeaderTask) -> None:
        missing = [c for c, r in task.rsps.items() if r is None]
        if missing:
            self.log.info("merge %s: no response from %d of %d subgroup coordinators (%s); merging without them",
                          task.merge_id, len(missing), len(task.coords), [self._name(m) for m in missing])
            for m in missing:
                del task.rsps[m]
                task.coords.pop(m, None)
                task.coords_copy.remove(m)
        for c, r in list(task.rsps.items()):
            if r is not None and r[2]:
                del task.rsps[c]
                task.coords.pop(c, None)
        if not task.rsps:
            raise MergeFailed("did not get any merge responses from partition coordinators")
        if self.gms.local_addr not in task.coords:
            raise MergeFailed("merge leader rejected merge request")
        ordered = java_hash_order(task.rsps, self._rsps_table)
        responses = [(r[0], r[1]) for c in ordered if (r := task.rsps[c]) is not None]
        result = consolidate(responses, task.subviews)
        if result is None:
            raise MergeFailed("could not consolidate merge")
        self._send_merge_view(list(task.coords), *result, task.merge_id)

    def _send_merge_view(self, coords: list[Address], view: MergeView, digest: Digest, merge_id: MergeId) -> None:
        gms = self.gms
        evt = InstallMergeView(view)
        gms.up_layer.up(evt)
        gms.down_layer.down(evt)
        me = gms.local_addr
        if me in coords:  # self last: the others install in parallel while we wait for our VIEW_ACKs
            coords.remove(me)
            coords.append(me)
        self.log.debug("installing merge view %s in %s", view.view_id, [self._name(c) for c in coords])
        payload = encode_view_digest(view, digest)
        for coord in coords:
            msg = Message(MsgType.BYTES, dest=coord, payload=payload)
            msg.put_header(gms.protocol_id, GmsHeader(T.INSTALL_MERGE_VIEW, merge_id=merge_id))
            gms.down_layer.down_msg(msg)

    # --- subgroup coordinator ----------------------------------------------------------------------------

    def handle_merge_request(self, sender: Address, merge_id: MergeId | None, mbrs: Sequence[Address | None]) -> None:
        gms = self.gms
        current = self.merge_id
        if not (self.match_merge_id(merge_id) or self.set_merge_id(None, merge_id)):
            self._count("MERGE_REQ ignored (another merge in progress)")
            self.log.debug("merge %s is already in progress, received merge-id=%s from %s", current, merge_id,
                           self._name(sender))
            return
        self.log.debug("got merge request from %s, merge_id=%s, mbrs=%s", self._name(sender), merge_id,
                       [self._name(m) for m in mbrs])
        view, me = gms.view, gms.local_addr
        if view is None or merge_id is None or me is None:
            self._fail_request(sender, merge_id, "view ID is null; cannot return merge response")
            return
        members: list[Address] = []
        for m in mbrs:
            if m is not None and m not in members and m in view.members:
                members.append(m)
        if me not in members:
            members.append(me)
        sub = View(view.view_id, tuple(members))
        if self.collection is not None and self.collection.timer is not None:
            self.collection.timer.cancel()
        if len(members) == 1:  # alone: no GET_DIGEST_REQ round needed
            own = gms.down_layer.query_down(GetDigest(me))
            self.collection = _DigestCollection(sender, merge_id, sub)
            self.collection.digests[me] = own
            self._digests_done(self.collection)
            return
        coll = self.collection = _DigestCollection(sender, merge_id, sub)
        req = Message(MsgType.EMPTY, flags=Flag.OOB, transient_flags=TransientFlag.DONT_LOOPBACK)
        req.put_header(gms.protocol_id, GmsHeader(T.GET_DIGEST_REQ, merge_id=merge_id))
        gms.down_layer.down_msg(req)
        coll.digests[me] = gms.down_layer.query_down(GetDigest(me))  # after the request: it is in the digest
        coll.timer = gms.timers.call_later(gms.merge_timeout // 2 * MS, self._digests_done, coll)

    def handle_digest_response(self, sender: Address | None, digest: Digest | None) -> None:
        coll = self.collection
        if coll is None or sender is None or sender not in coll.digests:
            self._count("GET_DIGEST_RSP not expected")
            return
        coll.digests[sender] = digest
        if all(d is not None for d in coll.digests.values()):
            self._digests_done(coll)

    def _digests_done(self, coll: _DigestCollection) -> None:
        if coll is not self.collection:
            return
        self.collection = None
        if coll.timer is not None:
            coll.timer.cancel()
        valid = [m for m in coll.view.members if coll.digests.get(m) is not None]
        entries: dict[Address, tuple[int, int]] = {}
        for d in coll.digests.values():
            if d is not None:
                for m, seqnos in zip(d.members, d.seqnos, strict=True):
                    if m in valid:
                        entries[m] = seqnos
        valid = [m for m in valid if m in entries]
        if not valid:
            self._fail_request(coll.leader, coll.merge_id,
                               "failed fetching digests from subpartition members; dropping merge response")
            return
        if len(valid) < len(coll.view.members):
            self.log.debug("fetched incomplete digests for %s", [self._name(m) for m in coll.view.members])
        digest = Digest(tuple(valid), tuple(entries[m] for m in valid))
        msg = Message(MsgType.BYTES, dest=coll.leader, flags=Flag.OOB, payload=encode_view_digest(coll.view, digest))
        msg.put_header(self.gms.protocol_id, GmsHeader(T.MERGE_RSP, merge_id=coll.merge_id))
        self._count("MERGE_RSP sent")
        self.gms.down_layer.down_msg(msg)

    def _fail_request(self, leader: Address, merge_id: MergeId | None, why: str) -> None:
        """handleMergeRequest's catch: cancel, then a rejection (an EmptyMessage Java's leader ignores)."""
        self._count("MERGE_REQ failed")
        self.log.error("failure handling the merge request from %s: %s", self._name(leader), why)
        self.cancel_merge(merge_id)
        msg = Message(MsgType.EMPTY, dest=leader, flags=Flag.OOB)
        msg.put_header(self.gms.protocol_id, GmsHeader(T.MERGE_RSP, merge_id=merge_id, merge_rejected=True))
        self.gms.down_layer.down_msg(msg)

    def handle_merge_view(self, view: View, digest: Digest | None, merge_id: MergeId | None) -> None:
        """INSTALL_MERGE_VIEW: cast the MergeView to our current members; the merge ends after the acks."""
        gms = self.gms
        if not self.match_merge_id(merge_id):
            self._count("INSTALL_MERGE_VIEW discarded (merge id does not match)")
            self.log.debug("merge_ids (mine: %s, received: %s) don't match; merge view %s is discarded",
                           self.merge_id, merge_id, view.view_id)
            return
        self.log.info("merge %s: installing merge view %s (%d members, %d subgroups)", merge_id, view.view_id,
                      len(view.members), len(view.subgroups) if isinstance(view, MergeView) else 0)
        self._count("merge views installed")
        gms.cast_view_change(view, digest, list(gms.members), (), None, resume_stable=False)
        if gms.view_change_in_flight:
            gms.on_view_change_done = lambda: self.cancel_merge(merge_id)
        else:
            self.cancel_merge(merge_id)

    def handle_merge_cancelled(self, merge_id: MergeId | None) -> None:
        self.log.debug("merge %s is cancelled", merge_id)
        self.cancel_merge(merge_id)

