"""Views, view ids and digests (org.jgroups.View, ViewId, MergeView, util.Digest)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pygroups.address import Address


@dataclass(frozen=True, slots=True, order=False)
class ViewId:
    """Views are ordered by `id` only (ViewId.compareToIDs); equality also compares the creator."""

    creator: Address | None
    id: int

    def __str__(self) -> str:
        return f"[{self.creator}|{self.id}]"


@dataclass(frozen=True, slots=True)
class View:
    """members[0] is the coordinator; joiners are appended at the end."""

    view_id: ViewId
    members: tuple[Address, ...]

    @property
    def coordinator(self) -> Address | None:
        return self.members[0] if self.members else None

    def __str__(self) -> str:
        return f"{self.view_id} ({len(self.members)}) [{', '.join(map(str, self.members))}]"


@dataclass(frozen=True, slots=True)
class MergeView(View):
    subgroups: tuple[View, ...] = ()


@dataclass(frozen=True, slots=True)
class DeltaView:
    """A view expressed against a reference view (only inside GMS VIEW messages)."""

    view_id: ViewId
    ref_view_id: ViewId
    left: tuple[Address, ...] | None
    joined: tuple[Address, ...] | None


@dataclass(frozen=True, slots=True)
class Digest:
    """Per member: (highest delivered, highest received) NAKACK2 seqno."""

    members: tuple[Address, ...]
    seqnos: tuple[tuple[int, int], ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.members) != len(self.seqnos):
            raise ValueError(f"digest has {len(self.members)} members but {len(self.seqnos)} seqno pairs")


@dataclass(frozen=True, slots=True)
class MutableDigest(Digest):
    """Same content as Digest; written with magic 10 when it is an ObjectMessage payload."""


def print_members(members: Sequence[Address], name_of: Callable[[Address], str]) -> str:
    """Membership.toString as probe shows it (GMS, FD_SOCK2, FD_ALL3): ``(3) A,B,C``, or ``(0)``."""
    return f"({len(members)}) " + ",".join(name_of(m) for m in members) if members else "(0)"
