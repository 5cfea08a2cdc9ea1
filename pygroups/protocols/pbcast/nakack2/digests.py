"""NAKACK2's digests and stability: which tables exist (one per member, created on a view or from a
digest), `SetDigest` / `MergeDigest` / `OverwriteDigest`, and STABLE's purge of delivered messages.
A merge resets and merges digests here (see docs/design/reliable.md)."""

from __future__ import annotations

from pygroups.protocols.reliable import Table
from pygroups.stack.layer import MembershipChange
from pygroups.view import Digest

from .retransmission import Retransmitter


class Digests(Retransmitter):
    def digest(self) -> Digest:
        """(highest delivered, highest received) for every sender we have a table for."""
        return Digest(tuple(self.xmit_table), tuple(t.digest() for t in self.xmit_table.values()))

    def members_changed(self, change: MembershipChange) -> None:
        """Drop the tables of non-members (never our own; new members start at seqno 0) and the
        per-member retransmission and warning state."""
        local = self.local_addr
        for mbr in change.non_members(self.xmit_table):
            if mbr != local:
                del self.xmit_table[mbr]
                self.log.debug("removed %s from xmit_table (not member anymore)", mbr)
        for mbr in change.members:
            if mbr not in self.xmit_table:
                self.xmit_table[mbr] = Table(0)
        for m in (self._xmit_task_map, self._announced, self._stable_xmit_map, self._non_member_warned):
            change.retain(m)

    def set_digest(self, digest: Digest, merge: bool) -> None:
        """SetDigest: create tables for members we lack. MergeDigest also replaces tables that are
        behind the digest (never our own)."""
        local = self.local_addr
        for mbr, (hd, _hr) in zip(digest.members, digest.seqnos, strict=False):
            if mbr is None:
                continue
            buf = self.xmit_table.get(mbr)
            if buf is not None:
                if not merge or mbr == local or buf.hd >= hd:
                    continue
                del self.xmit_table[mbr]
            self.xmit_table[mbr] = Table(hd)
        self.log.debug("%s: digest now %s", "merge_digest" if merge else "set_digest", self.digest())

    def overwrite_digest(self, digest: Digest) -> None:
        """Replace the tables of the digest's members (ours only gets its hd adjusted, JGRP-1251);
        members missing from the digest keep theirs."""
        local = self.local_addr
        for mbr, (hd, _hr) in zip(digest.members, digest.seqnos, strict=False):
            if mbr is None:
                continue
            buf = self.xmit_table.get(mbr)
            if buf is not None:
                if mbr == local:
                    buf.set_highest_delivered(hd)
                    continue
                del self.xmit_table[mbr]
            self.xmit_table[mbr] = Table(hd)
        self.log.debug("overwrite_digest: digest now %s", self.digest())

    def stable(self, digest: Digest) -> None:
        """Purge delivered messages up to each member's stable hd; if a member's hr from the
        previous stability round is still above ours, ask for it (a lost last message)."""
        if self.local_addr is None:
            return
        self.log.debug("received stable digest %s", digest)
        for mbr, (hd, hr) in zip(digest.members, digest.seqnos, strict=False):
            if mbr is None:
                continue
            buf = self.xmit_table.get(mbr)
            if buf is not None and self.xmit_interval > 0:
                prev_hr = self._stable_xmit_map.get(mbr)
                if prev_hr is not None and prev_hr > buf.hr:
                    self.log.debug("stability hr %d of %s > my hr %d: asking for it", prev_hr, mbr, buf.hr)
                    self.send_xmit_req_range(prev_hr, prev_hr, mbr)
                self._stable_xmit_map[mbr] = hr
            if hd >= 0 and buf is not None:
                buf.purge(hd)
