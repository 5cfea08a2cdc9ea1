"""Hypothesis strategies for every protocol header and the GMS / discovery / MERGE3 payloads.

Each strategy only builds values that have exactly one wire form, so build -> parse gives back an
equal object and re-encodes to the same bytes (fields a header type does not carry are None).
`any_header` is what tests.strategies.core puts on random messages.
"""

from __future__ import annotations

from hypothesis import strategies as st

from pygroups.address import Address, java_equals
from pygroups.message import Header
from pygroups.view import DeltaView, Digest, MergeView, View, ViewId
from pygroups.wire.headers.auth import AuthHeader, FixedMembershipToken, RegexMembership, X509Token
from pygroups.wire.headers.encrypt import DhHeader, EncryptHeader
from pygroups.wire.headers.fc import FcHeader
from pygroups.wire.headers.fd import FdHeader, HeartbeatHeader, VerifyHeader
from pygroups.wire.headers.fork import ForkHeader
from pygroups.wire.headers.frag import Frag3Header, FragHeader
from pygroups.wire.headers.gms import GmsHeader, JoinRsp, MergeId, ViewDigest
from pygroups.wire.headers.legacy import FdSockHeader, VerifySuspectHeader
from pygroups.wire.headers.merge3 import MergeHeader
from pygroups.wire.headers.misc import (
    Batch2Header,
    CompressHeader,
    CounterHeader,
    DaisyHeader,
    InfoHeader,
    MPerfHeader,
    PerfHeader,
    ProtPerfHeader,
    RTTHeader,
    StompHeader,
)
from pygroups.wire.headers.nakack import NakAckHeader, NakAckHeader2
from pygroups.wire.headers.ping import PingData, PingHeader
from pygroups.wire.headers.relay import RelayHeader
from pygroups.wire.headers.rpc import MultiDestinationHeader, RequestCorrelatorHeader
from pygroups.wire.headers.rsvp import RsvpHeader
from pygroups.wire.headers.sequencer import Sequencer2Header, SequencerHeader
from pygroups.wire.headers.stable import StableHeader
from pygroups.wire.headers.state import StateHeader, StreamingStateHeader
from pygroups.wire.headers.unicast import UnicastHeader, UnicastHeader3
from tests.strategies.core import addresses, ip_addresses, logical_addresses, opt_addresses, tp_headers

i8 = st.integers(-128, 127)
i16 = st.integers(-(2**15), 2**15 - 1)
i32 = st.integers(-(2**31), 2**31 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
seqnos = st.integers(0, 2**63 - 1)
names = st.one_of(st.none(), st.text(max_size=12))
small_bytes = st.binary(min_size=1, max_size=16)
opt_bytes = st.one_of(st.none(), small_bytes)
opt_ip = st.one_of(st.none(), ip_addresses)
addr_tuples = st.lists(opt_addresses, max_size=4).map(tuple)
opt_addr_tuples = st.one_of(st.none(), addr_tuples)


def _types(known: list[int], lo: int = -128, hi: int = 127) -> st.SearchStrategy[int]:
    """Mostly known type values, sometimes any value of the field's width."""
    return st.one_of(st.sampled_from(known), st.integers(lo, hi))


# ---------------------------------------------------------------- views and digests

view_ids = st.builds(ViewId, opt_addresses, seqnos)
member_lists = st.lists(addresses, max_size=5).map(tuple)
views = st.builds(View, view_ids, member_lists)


@st.composite
def merge_views(draw: st.DrawFn) -> MergeView:
    members = draw(member_lists)
    pool = st.one_of(st.sampled_from(members), addresses) if members else addresses
    subgroups = draw(
        st.lists(
            st.builds(
                View,
                # Java cannot build a subgroup view without a creator (View.create throws; the reader
                # leaves a null subgroup that it cannot write again), so subgroups always have one
                st.builds(ViewId, pool, i64),
                st.lists(pool, max_size=4).map(tuple),
            ),
            max_size=3,
        )
    )

    def as_read(a: Address | None) -> Address | None:
        # MergeView writes a subgroup address as the index of the first member it Java-equals (all
        # null-site SiteMasters are equal), so that member is what any reader gets back; generate
        # that form so round trips are exact (the index rule has its own test in tests/unit/wire/test_views.py)
        return next((m for m in members if java_equals(a, m)), a)

    subgroups = [View(ViewId(as_read(v.view_id.creator), v.view_id.id), tuple(map(as_read, v.members)))
                 for v in subgroups]
    return MergeView(draw(view_ids), members, tuple(subgroups))


opt_member_lists = st.one_of(st.none(), member_lists)
delta_views = st.builds(DeltaView, view_ids, view_ids, opt_member_lists, opt_member_lists)


@st.composite
def seqno_pairs(draw: st.DrawFn) -> tuple[int, int]:
    hd = draw(st.integers(0, 2**63 - 1))
    return hd, hd + draw(st.integers(0, 2**63 - 1 - hd))


def digests_for(members: tuple[Address, ...]) -> st.SearchStrategy[Digest]:
    return st.lists(seqno_pairs(), min_size=len(members), max_size=len(members)).map(
        lambda pairs: Digest(members, tuple(pairs))
    )


digests = member_lists.flatmap(digests_for)


@st.composite
def view_digests(draw: st.DrawFn) -> ViewDigest:
    view = draw(st.one_of(st.none(), views, merge_views(), delta_views))
    if view is not None and not isinstance(view, DeltaView) and draw(st.booleans()):
        digest: Digest | None = draw(digests_for(view.members))  # written without members
    else:
        digest = draw(st.one_of(st.none(), digests))
    return ViewDigest(view, digest)


@st.composite
def join_rsps(draw: st.DrawFn) -> JoinRsp:
    view = draw(st.one_of(st.none(), views))
    digest = draw(st.one_of(st.none(), digests_for(view.members))) if view is not None else None
    return JoinRsp(view, digest, draw(names))


ping_datas = st.builds(
    PingData,
    st.one_of(st.none(), logical_addresses),
    st.booleans(),
    st.booleans(),
    names,
    opt_ip,
    opt_addr_tuples,
)

# ---------------------------------------------------------------- headers


def _seqno_header(
    cls: type[Header], seqno_types: list[int], addr_types: list[int]
) -> st.SearchStrategy[Header]:
    return st.one_of(
        st.builds(cls, st.sampled_from(seqno_types), seqnos),
        st.builds(cls, st.sampled_from(addr_types), st.none(), opt_addresses),
        st.builds(cls, st.integers(-128, 127).filter(lambda t: t not in seqno_types + addr_types)),
    )


def _unicast(cls: type[Header]) -> st.SearchStrategy[Header]:
    return st.one_of(
        st.builds(cls, st.just(0), seqnos, i16, st.booleans()),
        st.builds(cls, st.just(1), seqnos, i16, st.none(), i32),
        st.builds(cls, st.just(2), timestamp=i32),
        st.builds(cls, st.just(3)),
        st.builds(cls, st.just(4), conn_id=i16),
        st.builds(cls, st.integers(-128, 127).filter(lambda t: not 0 <= t <= 4)),
    )


merge_ids = st.builds(MergeId, opt_addresses, i32)


@st.composite
def relay_headers(draw: st.DrawFn) -> RelayHeader:
    htype = draw(_types(list(range(1, 8))))
    sites = st.lists(names, max_size=3).map(tuple)
    site_set = draw(sites.filter(bool) if htype in (4, 5) else sites)
    nested = st.lists(
        st.tuples(i16, st.one_of(tp_headers, nakack2_headers, unicast3_headers, fork_headers)), max_size=3
    )
    return RelayHeader(
        htype,
        draw(st.booleans()),
        draw(opt_addresses),
        draw(opt_addresses),
        site_set,
        draw(sites),
        tuple(draw(nested)),
        draw(i16),
    )


nakack2_headers = _seqno_header(NakAckHeader2, [1, 3, 4], [2])
unicast3_headers = _unicast(UnicastHeader3)
fork_headers = st.builds(ForkHeader, names, names)

HEADER_STRATEGIES: dict[type[Header], st.SearchStrategy[Header]] = {
    PingHeader: st.builds(PingHeader, _types([1, 2]), names, st.booleans()),
    GmsHeader: st.builds(
        GmsHeader, _types(list(range(1, 17))), opt_addresses, st.one_of(st.none(), merge_ids), st.booleans()
    ),
    NakAckHeader2: nakack2_headers,
    NakAckHeader: _seqno_header(NakAckHeader, [1, 3, 4, 5], [2]),
    UnicastHeader3: unicast3_headers,
    UnicastHeader: _unicast(UnicastHeader),
    StableHeader: st.builds(StableHeader, _types([1, 2]), st.one_of(st.none(), view_ids)),
    HeartbeatHeader: st.builds(HeartbeatHeader),
    FdHeader: st.builds(FdHeader, _types([1, 2, 3, 4]), addr_tuples, names, opt_addresses),
    VerifyHeader: st.builds(VerifyHeader, _types([1, 2], -(2**15), 2**15 - 1), opt_addresses),
    MergeHeader: st.builds(
        MergeHeader, st.sampled_from(list(MergeHeader.Type)), st.one_of(st.none(), view_ids), names, opt_ip
    ),
    FragHeader: st.builds(FragHeader, i64, i32, i32, st.booleans(), i16),
    Frag3Header: st.builds(Frag3Header, i32, i32, i32, i32, i32, st.booleans()),
    FcHeader: st.builds(FcHeader, _types([1, 2])),
    StateHeader: st.builds(StateHeader, _types([1, 2, 3]), st.one_of(st.none(), digests)),
    StreamingStateHeader: st.builds(
        StreamingStateHeader,
        _types([1, 2, 3, 4, 5]),
        st.one_of(st.none(), digests),
        st.one_of(st.none(), ip_addresses),
    ),
    RequestCorrelatorHeader: st.builds(RequestCorrelatorHeader, _types([0, 1, 2]), i64, i16),
    MultiDestinationHeader: st.builds(MultiDestinationHeader, _types([0, 1, 2]), i64, i16, opt_addr_tuples),
    ForkHeader: fork_headers,
    RsvpHeader: st.builds(RsvpHeader, _types([1, 2, 3]), i16),
    SequencerHeader: st.builds(SequencerHeader, _types([1, 2, 3, 4]), i64, st.booleans()),
    Sequencer2Header: st.builds(Sequencer2Header, _types([1, 2, 3]), i64, st.integers(0, 65535)),
    EncryptHeader: st.builds(
        EncryptHeader, _types([0, 1, 2]), st.booleans(), opt_bytes, opt_addresses, opt_bytes
    ),
    DhHeader: st.one_of(
        st.builds(DhHeader, st.just(DhHeader.Type.SECRET_KEY_REQ), opt_bytes),
        st.builds(DhHeader, st.just(DhHeader.Type.SECRET_KEY_RSP), opt_bytes, opt_bytes, opt_bytes),
    ),
    AuthHeader: st.builds(
        AuthHeader,
        st.one_of(
            st.none(),
            st.builds(FixedMembershipToken, names),
            st.builds(X509Token, st.binary(max_size=16)),
            st.builds(RegexMembership),
        ),
    ),
    FdSockHeader: st.builds(
        FdSockHeader,
        _types(list(range(10, 16))),
        opt_addresses,
        st.one_of(st.none(), ip_addresses),
        addr_tuples,
    ),
    VerifySuspectHeader: st.builds(VerifySuspectHeader, _types([1, 2], -(2**15), 2**15 - 1), opt_addresses),
    CompressHeader: st.builds(CompressHeader, i32, st.booleans()),
    DaisyHeader: st.builds(DaisyHeader, opt_addresses),
    StompHeader: st.builds(
        StompHeader,
        st.sampled_from(list(StompHeader.Type)),
        # Java keeps these in a Map: keys are unique
        st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=3, unique_by=lambda t: t[0]).map(tuple),
    ),
    CounterHeader: st.builds(CounterHeader),
    Batch2Header: st.builds(Batch2Header),
    ProtPerfHeader: st.builds(ProtPerfHeader),
    MPerfHeader: st.builds(MPerfHeader, _types([1, 2, 4, 6, 7, 8, 9])),
    PerfHeader: st.builds(PerfHeader, i64),
    RTTHeader: st.builds(RTTHeader, i64, i64, i64, i64, i64, i64, i64, i64),
    InfoHeader: st.builds(
        InfoHeader, st.lists(st.tuples(names, names), max_size=3, unique_by=lambda t: t[0]).map(tuple)
    ),
    RelayHeader: relay_headers(),
}

any_header: st.SearchStrategy[Header] = st.one_of(*HEADER_STRATEGIES.values())
