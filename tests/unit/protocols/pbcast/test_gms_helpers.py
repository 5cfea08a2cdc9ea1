"""Shared fixtures for the GMS tests (no tests here): addresses, a NAKACK2 stand-in, message builders."""

from __future__ import annotations

import json
from pathlib import Path

from pygroups.address import UUID, Address, IpAddress
from pygroups.events import DiscoveryResponse, Event, FindInitialMembers, GetDigest, ViewChange
from pygroups.message import Message, MsgType
from pygroups.protocols.pbcast.gms import GMS
from pygroups.stack.layer import Layer, answers
from pygroups.testing.harness import LayerHarness
from pygroups.view import Digest, View, ViewId
from pygroups.wire import codec
from pygroups.wire.headers.gms import GmsHeader, JoinRsp, encode_join_rsp, encode_view_digest
from pygroups.wire.headers.ping import PingData

PID = 12
T = GmsHeader.Type
# The capture's members (spec §9): A = coordinator, B = joiner; C as in the catalogue.
A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
B = UUID.parse("523c54d9-3ea9-4e0a-baa2-daf63e689d8b")
C = UUID(1, 2)
D = UUID(1, 3)
CATALOGUE = Path(__file__).parents[3] / "data" / "java" / "5.5.6" / "catalogue.jsonl"


def catalogue_entry(name: str) -> dict[str, object]:
    for line in CATALOGUE.read_text().splitlines():
        entry = json.loads(line)
        if entry["name"] == name:
            return entry  # type: ignore[no-any-return]
    raise KeyError(name)


def catalogue_message(name: str) -> Message:
    (msg,) = codec.decode_frame(bytes.fromhex(str(catalogue_entry(name)["hex"]))).messages
    return msg


class StubNakack(Layer):
    """Answers GetDigest like NAKACK2 (the members of the last view, seqnos from ``seqnos``)."""

    name = "STUB_NAKACK2"

    def __init__(self) -> None:
        super().__init__()
        self.members: tuple[Address, ...] = ()
        self.seqnos: dict[Address, tuple[int, int]] = {}
        self.answer = True

    def down(self, evt: Event) -> None:
        if isinstance(evt, ViewChange):
            self.members = evt.view.members
        self.down_layer.down(evt)

    @answers(GetDigest)
    def get_digest(self, q: GetDigest) -> Digest | None:
        if not self.answer:
            return None
        mbrs = self.members if q.member is None else (q.member,)
        return Digest(mbrs, tuple(self.seqnos.get(m, (0, 0)) for m in mbrs))


def make_gms(local: Address, *, connect: bool = True, **props: object) -> tuple[LayerHarness, GMS, StubNakack]:
    gms = GMS()
    gms.print_local_addr = False
    for k, v in props.items():
        setattr(gms, k, v)
    nak = StubNakack()
    h = LayerHarness(gms, below=[nak], local_addr=local, cluster=None)
    if connect:
        h.connect("demo")
    return h, gms, nak


def find_request(h: LayerHarness) -> FindInitialMembers:
    reqs = [e for e in h.take_down_events() if isinstance(e, FindInitialMembers)]
    assert len(reqs) == 1, reqs
    return reqs[0]


def ping(addr: Address, *, coord: bool = False, server: bool = True) -> PingData:
    return PingData(addr, server, coord, None, IpAddress("127.0.0.1", 7800))


def discovery(h: LayerHarness, *responses: PingData) -> None:
    req = find_request(h)
    h.up(DiscoveryResponse(req.request_id, responses))


def gms_msg(kind: int, *, src: Address, dest: Address | None, mbr: Address | None = None,
            payload: bytes | None = None, type: MsgType | None = None) -> Message:
    mtype = type if type is not None else (MsgType.BYTES if payload is not None else MsgType.EMPTY)
    msg = Message(mtype, dest=dest, src=src, payload=payload)
    return msg.put_header(PID, GmsHeader(kind, mbr=mbr))


def join_rsp_msg(view: View, digest: Digest | None, *, src: Address, dest: Address,
                 fail: str | None = None) -> Message:
    return gms_msg(T.JOIN_RSP, src=src, dest=dest, payload=encode_join_rsp(JoinRsp(view, digest, fail)))


def view_msg(view: object, *, src: Address) -> Message:
    return gms_msg(T.VIEW, src=src, dest=None, payload=encode_view_digest(view, None))  # type: ignore[arg-type]


def v(creator: Address, vid: int, *members: Address) -> View:
    return View(ViewId(creator, vid), tuple(members))


def zero_digest(*members: Address) -> Digest:
    return Digest(tuple(members), tuple((0, 0) for _ in members))


def join_as(h: LayerHarness, view: View, coord: Address) -> None:
    """Drive a client harness through discovery and a JOIN_RSP with ``view``."""
    discovery(h, ping(coord, coord=True))
    h.take_down()
    h.receive(join_rsp_msg(view, zero_digest(*view.members), src=coord, dest=h.local_addr))
    h.take_down()
    h.take_down_events()
    h.take_up_events()


def of_type(msgs: list[Message], kind: int) -> list[Message]:
    out = []
    for m in msgs:
        hdr = m.get_header(PID)
        if isinstance(hdr, GmsHeader) and hdr.type == kind:
            out.append(m)
    return out
