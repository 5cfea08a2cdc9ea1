"""reliable.Table against Java Table's semantics, plus a hypothesis model check."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pygroups.objects import SeqnoList
from pygroups.protocols.reliable.table import Table, seqno_list, seqnos_of
from pygroups.wire.message import SeqnoListFormat


def filled(offset: int, seqnos: list[int]) -> Table[int]:
    t: Table[int] = Table(offset)
    for s in seqnos:
        t.add(s, s)
    return t


def test_initial_state_is_the_offset() -> None:
    t: Table[str] = Table(5)
    assert (t.low, t.hd, t.hr, t.size) == (5, 5, 5, 0)
    assert t.digest() == (5, 5)
    assert t.missing() is None
    assert not t.add(5, "x") and not t.add(3, "x")


def test_add_rejects_duplicates_and_tracks_highest_received() -> None:
    t = filled(0, [1, 2, 4, 5, 9])
    assert not t.add(4, 40)
    assert (t.hd, t.hr, t.size, t.num_missing) == (0, 9, 5, 4)
    assert t.highest_deliverable() == 2
    assert t.get(4) == 4 and t.get(3) is None and t.get(10) is None


def test_remove_many_stops_at_the_first_gap() -> None:
    t = filled(0, [1, 2, 4])
    assert t.remove_many(True) == [1, 2]
    assert (t.low, t.hd, t.size) == (2, 2, 1)
    assert t.remove_many(True) == []
    t.add(3, 3)
    assert t.remove_many(True, max_results=1) == [3]
    assert t.remove_many(True) == [4]
    assert t.num_stored == 0


def test_remove_many_filter_skips_but_advances() -> None:
    t = filled(0, [1, 2, 3])
    assert t.remove_many(False, accept=lambda e: e != 2) == [1, 3]
    assert t.hd == 3 and t.low == 0 and t.num_stored == 3  # kept (sender side) until purged
    assert t.get(2) == 2


def test_purge_is_capped_at_highest_delivered() -> None:
    t = filled(0, [1, 2, 3, 4])
    t.remove_many(False, max_results=2)
    t.purge(10)
    assert (t.low, t.hd, t.num_stored) == (2, 2, 2)
    assert t.get(2) is None and t.get(3) == 3


def test_purge_force_delivers_up_to_seqno() -> None:
    t = filled(0, [1, 2, 5, 6])
    t.purge(5, force=True)
    assert (t.low, t.hd, t.hr, t.size) == (5, 5, 6, 1)
    assert t.remove_many(True) == [6]


def test_add_with_remove_filter_counts_matching_run_as_delivered() -> None:
    t: Table[str] = Table(0)
    t.add(1, "skip", lambda e: e == "skip")
    assert t.hd == 1 and t.size == 0 and t.get(1) == "skip"
    t.add(3, "skip", lambda e: e == "skip")
    assert t.hd == 1  # 2 is missing, so 3 waits
    t.add(2, "keep", lambda e: e == "skip")
    assert t.hd == 1
    assert t.remove_many(False) == ["keep", "skip"]


def test_missing_has_javas_size_and_offset() -> None:
    t = filled(0, [1, 2, 5, 9])
    m = t.missing()
    assert m is not None
    # Java: new SeqnoList(hr - start, start) with start = highest deliverable + 1 = 3
    assert (m.size, m.offset, seqnos_of(m)) == (6, 3, [3, 4, 6, 7, 8])
    capped = t.missing(2)
    assert capped is not None and (capped.size, capped.offset, seqnos_of(capped)) == (2, 3, [3, 4])


def test_seqno_list_bytes_match_java() -> None:
    # conformance/java/NOTES.md 2: {34, 35, 40} in 10 bits from 34 is word 0x43
    lst = seqno_list(10, 34, [34, 35, 40])
    assert SeqnoListFormat.build(lst) == bytes.fromhex("0000000a 0000000000000022 0000000000000043")
    assert seqnos_of(lst) == [34, 35, 40]
    assert seqno_list(0, 7, []) == SeqnoList(0, 7, ())
    wide = seqno_list(130, 0, [0, 63, 64, 129])
    assert len(wide.words) == 3 and wide.words[0] < 0  # bit 63 set: a negative Java long
    assert seqnos_of(wide) == [0, 63, 64, 129]


def test_huge_seqno_does_not_allocate_the_gap() -> None:
    t = filled(0, [1, 1 << 40])
    assert t.num_stored == 2 and t.num_missing == (1 << 40) - 2
    m = t.missing(1024)
    assert m is not None and m.size == 1024 and seqnos_of(m)[0] == 2
    t.purge(1 << 41, force=True)
    assert t.num_stored == 0 and t.hd == 1 << 40


# --- model check --------------------------------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 40)),
        st.tuples(st.just("remove"), st.booleans(), st.integers(0, 3)),
        st.tuples(st.just("purge"), st.integers(0, 45), st.booleans()),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(offset=st.integers(0, 5), operations=ops)
def test_table_matches_a_set_model(offset: int, operations: list[tuple[object, ...]]) -> None:
    t: Table[int] = Table(offset)
    added: set[int] = set()  # seqnos accepted by add
    hd = low = hr = offset
    gone: set[int] = set()  # seqnos no longer retrievable
    for op in operations:
        if op[0] == "add":
            s = int(op[1])  # type: ignore[call-overload]
            expect = s > hd and s not in added
            assert t.add(s, s) == expect
            if expect:
                added.add(s)
                hr = max(hr, s)
        elif op[0] == "remove":
            nullify, max_results = bool(op[1]), int(op[2])  # type: ignore[call-overload]
            run: list[int] = []
            while hd + 1 in added and (max_results == 0 or len(run) < max_results):
                hd += 1
                run.append(hd)
            assert t.remove_many(nullify, max_results) == run
            if nullify and run:
                gone.update(run)
                low = max(low, run[-1])
        else:
            p, force = int(op[1]), bool(op[2])  # type: ignore[call-overload]
            t.purge(p, force)
            if p > low:
                p = min(p, hr) if force else min(p, hd)
                low = max(low, p)
                if force and p > hd:
                    low = hd = p
                gone.update(s for s in added if s <= p)
        assert (t.low, t.hd, t.hr) == (low, hd, hr)
        undelivered = {s for s in added if s > hd}
        assert t.size == len(undelivered)
        assert t.num_missing == hr - hd - len(undelivered)
        assert t.num_stored == len({s for s in added if s > low} - gone)
        for s in range(offset, hr + 2):
            want = s if (s in added and s > low and s not in gone) else None
            assert t.get(s) == want
        deliverable = hd
        while deliverable + 1 in added:
            deliverable += 1
        assert t.highest_deliverable() == deliverable
        m = t.missing()
        gaps = [s for s in range(deliverable + 1, hr) if s not in added]
        if not undelivered or hr - deliverable - 1 <= 0:
            assert m is None
        else:
            assert m is not None and seqnos_of(m) == gaps and m.offset == deliverable + 1


def test_nullifying_removal_frees_what_an_earlier_keeping_removal_left_below_low() -> None:
    """Found by hypothesis: removing 6 without nullify and then 7 with nullify left 6 stored below low, where
    neither get nor purge reaches it again (a leak)."""
    t: Table[int] = Table(5)
    t.add(6, 6)
    t.add(7, 7)
    assert t.remove_many(False, 1) == [6]
    assert t.remove_many(True, 0) == [7]
    assert (t.low, t.hd, t.hr, t.num_stored) == (7, 7, 7, 0)
