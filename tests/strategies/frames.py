"""Strategies for whole TP frames: single messages and message lists."""

from __future__ import annotations

from hypothesis import strategies as st

from pygroups.address import java_equals
from pygroups.wire.codec import Frame
from tests.strategies.core import addresses, adopt_src, messages, opt_addresses

versions = st.sampled_from([0x2946, 0x2940, 0x290C, 0x28D7, 0x2980]) | st.integers(-(2**15), 2**15 - 1)
clusters = st.one_of(st.none(), st.text(alphabet=st.characters(max_codepoint=255), max_size=10))


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    version = draw(versions)
    multicast = draw(st.booleans())
    if draw(st.booleans()):
        return Frame(version, multicast, [draw(messages())])
    dest, src = draw(opt_addresses), draw(opt_addresses)
    src_choice = st.just(src) if src is not None else addresses
    msgs = draw(st.lists(messages(dest=st.just(dest), src=st.one_of(src_choice, addresses)), min_size=1, max_size=4))
    for m in msgs:
        if java_equals(m.src, src):  # the writer omits it; the reader takes the list's src (its class too)
            adopt_src(m, src)
    return Frame(version, multicast, msgs, True, dest, src, draw(clusters))
