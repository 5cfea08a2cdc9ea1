"""GmsHeader, JoinRsp, the view/digest block and the small GMS payloads (spec §6.3, §9.2, §9.3, §9.5)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygroups.address import UUID
from pygroups.errors import LocalProtocolError, MalformedMessage
from pygroups.view import DeltaView, Digest, MergeView, View, ViewId
from pygroups.wire.headers.gms import (
    GmsHeader,
    JoinRsp,
    MergeId,
    ViewDigest,
    decode_current_view_id,
    decode_join_rsp,
    decode_merge_members,
    decode_view_digest,
    encode_current_view_id,
    encode_join_rsp,
    encode_merge_members,
    encode_view_digest,
)
from tests.strategies.headers import join_rsps, view_digests

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"
B = UUID.parse("523c54d9-3ea9-4e0a-baa2-daf63e689d8b")
B_WIRE = "02" "baa2daf63e689d8b" "523c54d93ea94e0a"
C = UUID.parse("00000000-0000-0001-0000-000000000002")
C_WIRE = "02" "0000000000000002" "0000000000000001"
FMT = GmsHeader.FORMAT


def test_join_req_header_bytes() -> None:  # spec §9.2
    hdr = GmsHeader(GmsHeader.Type.JOIN_REQ, B)
    assert FMT.build(hdr).hex() == "01" "0000" + B_WIRE
    assert FMT.parse(bytes.fromhex("010000" + B_WIRE)) == hdr


def test_join_rsp_header_bytes() -> None:  # spec §9.3
    assert FMT.build(GmsHeader(2)).hex() == "02000001"
    assert FMT.parse(bytes.fromhex("02000001")) == GmsHeader(GmsHeader.Type.JOIN_RSP)


def test_merge_id_and_rejected_flags() -> None:
    mid = MergeId(A, 7)
    req = GmsHeader(GmsHeader.Type.MERGE_REQ, A, mid)
    assert FMT.build(req).hex() == "06" "0004" + A_WIRE + A_WIRE + "00000007"
    rej = GmsHeader(GmsHeader.Type.MERGE_RSP, None, mid, True)
    assert FMT.build(rej).hex() == "07" "0014" "01" + A_WIRE + "00000007"
    assert FMT.build(GmsHeader(7, merge_rejected=True)).hex() == "07" "0010" "01"
    assert FMT.parse(FMT.build(rej)) == rej


def test_unknown_flag_bits_are_ignored() -> None:
    # 5.3.x set 0x08 USE_FLUSH on JOIN_REQ; readFrom only tests 0x04 and 0x10
    assert FMT.parse(bytes.fromhex("010008" + B_WIRE)) == GmsHeader(1, B)


def test_unknown_type_reads_like_any_other() -> None:
    assert FMT.parse(bytes.fromhex("0c000001")) == GmsHeader(12)
    assert GmsHeader(12).to_json()["type"] == 12


def test_header_json() -> None:
    hdr = GmsHeader(GmsHeader.Type.MERGE_REQ, A, MergeId(A, 7))
    assert hdr.to_json() == {
        "type": "MERGE_REQ",
        "mbr": {"uuid": str(A)},
        "merge_id": {"initiator": {"uuid": str(A)}, "id": 7},
        "merge_rejected": False,
    }


JOIN_RSP_HEX = (  # spec §9.3: payload of 61 bytes
    "01" "03" + A_WIRE + "0101" + "0002" + A_WIRE + B_WIRE + "0002" "00" "00"
)


def test_join_rsp_payload_bytes() -> None:
    rsp = JoinRsp(View(ViewId(A, 1), (A, B)), Digest((A, B), ((0, 0), (0, 0))))
    data = encode_join_rsp(rsp)
    assert data.hex() == JOIN_RSP_HEX
    assert len(data) == 61
    assert decode_join_rsp(data) == rsp


def test_join_rsp_fail_reason_and_null() -> None:
    assert encode_join_rsp(JoinRsp(None, None, "no")).hex() == "01" "04" "0002" "6e6f"
    assert encode_join_rsp(None) == b"\x00"
    assert decode_join_rsp(b"\x00") is None


def test_join_rsp_refuses_a_merge_view() -> None:
    with pytest.raises(LocalProtocolError):
        encode_join_rsp(JoinRsp(MergeView(ViewId(A, 3), (A, B), ()), None))


def test_join_rsp_digest_must_have_the_view_members() -> None:
    with pytest.raises(LocalProtocolError):
        encode_join_rsp(JoinRsp(View(ViewId(A, 1), (A, B)), Digest((B, A), ((0, 0), (0, 0)))))


@pytest.mark.parametrize(
    "hexdata",
    [
        "01" "02" "0000",  # digest without a view: Java's view.getMembersRaw() throws
        "01" "03" + A_WIRE + "0101" + "0002" + A_WIRE + B_WIRE + "0001" "00",  # 1 seqno pair for 2 members
        "01" "03" + A_WIRE + "0101" + "0001" + A_WIRE + "ffff",  # negative count
        JOIN_RSP_HEX + "00",  # trailing byte
        JOIN_RSP_HEX[:-2],  # truncated
    ],
)
def test_malformed_join_rsp(hexdata: str) -> None:
    with pytest.raises(MalformedMessage):
        decode_join_rsp(bytes.fromhex(hexdata))


def test_full_view_block() -> None:  # VIEW without digest: flags VIEW_PRESENT | READ_ADDRS
    data = encode_view_digest(View(ViewId(A, 1), (A, B)), None)
    assert data.hex() == "0011" + A_WIRE + "0101" + "0002" + A_WIRE + B_WIRE


def test_delta_view_block() -> None:  # spec §9.5 gms-view-delta-mcast
    delta = DeltaView(ViewId(A, 2), ViewId(A, 1), (), (C,))
    data = encode_view_digest(delta, None)
    assert data.hex() == "0019" + A_WIRE + "0102" + A_WIRE + "0101" + "0000" + "0001" + C_WIRE
    assert decode_view_digest(data) == ViewDigest(delta, None)


def test_merge_view_with_digest_block() -> None:  # flags 0x0007: digest members are the view's
    mv = MergeView(ViewId(A, 5), (A, B), (View(ViewId(A, 4), (A,)), View(ViewId(B, 3), (B,))))
    digest = Digest((A, B), ((10, 10), (20, 21)))
    data = encode_view_digest(mv, digest)
    assert data.hex() == (
        "0007" + A_WIRE + "0105" + "0002" + A_WIRE + B_WIRE
        + "0002" + "0000" + "0000000000000004" + "0001" + "0000"
        + "0001" + "0000000000000003" + "0001" + "0001"
        + "0002" + "110a00" + "111401"
    )  # fmt: skip
    assert decode_view_digest(data) == ViewDigest(mv, digest)


def test_merge_rsp_and_digest_rsp_blocks() -> None:
    merge_rsp = encode_view_digest(View(ViewId(B, 5), (B, C)), Digest((B, C), ((3, 3), (4, 4))))
    assert merge_rsp[:2].hex() == "0003"
    digest_rsp = encode_view_digest(None, Digest((C,), ((7, 8),)))
    assert digest_rsp.hex() == "0012" + "0001" + C_WIRE + "1107" "01"
    # a digest whose members differ from the view's carries them (READ_ADDRS)
    assert encode_view_digest(View(ViewId(B, 5), (B, C)), Digest((C,), ((0, 0),)))[:2].hex() == "0013"


def test_merge_view_wins_over_delta_and_unknown_bits_are_ignored() -> None:
    body = A_WIRE + "0101" + "0001" + A_WIRE + "0000"
    assert decode_view_digest(bytes.fromhex("002d" + body)).view == MergeView(ViewId(A, 1), (A,), ())


def test_empty_block() -> None:
    assert encode_view_digest(None, None).hex() == "0010"
    assert decode_view_digest(bytes.fromhex("0000")) == ViewDigest(None, None)


@pytest.mark.parametrize(
    "hexdata",
    [
        "0002" "0000",  # member-less digest without a view (NPE in Java)
        # a member-less digest after a DeltaView (Java never writes one: a DeltaView has no members)
        "000b" + A_WIRE + "0102" + A_WIRE + "0101" + "0000" + "0000" + "0000",
        "0003" + A_WIRE + "0101" + "0001" + A_WIRE + "0002" "00" "00",  # count differs from the view
        "0011",  # truncated view
    ],
)
def test_malformed_blocks(hexdata: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        decode_view_digest(bytes.fromhex(hexdata))
    assert "view/digest block" in str(info.value)


def test_merge_members_and_current_view_id_payloads() -> None:
    assert encode_merge_members((B, C)).hex() == "0002" + B_WIRE + C_WIRE
    assert decode_merge_members(bytes.fromhex("ffff")) is None
    assert encode_current_view_id(ViewId(A, 2)).hex() == "01" + A_WIRE + "0102"
    assert decode_current_view_id(b"\x00") is None
    assert decode_current_view_id(bytes.fromhex("01" + A_WIRE + "0102")) == ViewId(A, 2)


@given(view_digests())
def test_view_digest_round_trip(vd: ViewDigest) -> None:
    data = encode_view_digest(vd.view, vd.digest)
    back = decode_view_digest(data)
    assert back == vd
    assert encode_view_digest(back.view, back.digest) == data


@given(st.one_of(st.none(), join_rsps()))
def test_join_rsp_round_trip(rsp: JoinRsp | None) -> None:
    data = encode_join_rsp(rsp)
    assert decode_join_rsp(data) == rsp


@given(st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_malformed_message(data: bytes) -> None:
    for decode in (decode_view_digest, decode_join_rsp, decode_merge_members, decode_current_view_id):
        with contextlib.suppress(MalformedMessage):
            decode(data)
