"""GMS message handlers: one function per GmsHeader type, dispatched from `GMS.up_msg` (GMS.handle).

Each mirrors its case in Java's ``GMS.handle``; payload problems are counted and dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pygroups.errors import RemoteProtocolError
from pygroups.events import GetDigest, MergeDigest
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.view import DeltaView, ViewId
from pygroups.wire.headers.gms import (
    GmsHeader,
    ViewDigest,
    decode_current_view_id,
    decode_join_rsp,
    decode_merge_members,
    decode_view_digest,
    encode_view_digest,
)

from .client import ClientRole
from .membership import DeltaMismatch, apply_delta_view
from .view_handler import ReqType, Request

if TYPE_CHECKING:
    from .layer import GMS

T = GmsHeader.Type


def handle_join_req(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    if hdr.mbr is None:
        gms.counters["malformed: JOIN_REQ without member"] += 1
        return
    kind = ReqType.JOIN if hdr.type == T.JOIN_REQ else ReqType.JOIN_WITH_STATE_TRANSFER
    if gms.merger.in_progress and gms.view_handler.suspended:
        # Java's suspended ViewHandler discards it; the joiner's next JOIN_REQ will find the merge done
        gms.counters["JOIN_REQ discarded (merge in progress)"] += 1
        gms.log.debug("discarding JOIN_REQ from %s: merge %s in progress", gms.stack.name_of(hdr.mbr),
                      gms.merger.merge_id)
    gms.view_handler.add(Request(kind, hdr.mbr))


def handle_join_rsp(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    data = _array(gms, msg, "JOIN_RSP")
    if data is None:
        return
    try:
        rsp = decode_join_rsp(data)
    except RemoteProtocolError as e:
        _malformed(gms, "JOIN_RSP", msg, e)
        return
    if rsp is not None:
        gms.role.handle_join_rsp(rsp)


def handle_leave_req(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    if hdr.mbr is not None:
        gms.view_handler.add(Request(ReqType.LEAVE, hdr.mbr))


def handle_leave_rsp(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    gms.role.handle_leave_rsp(msg.src)


def handle_view(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    data = _array(gms, msg, "VIEW")
    if data is None:
        return
    try:
        block = decode_view_digest(data)
    except RemoteProtocolError as e:
        _malformed(gms, "VIEW", msg, e)
        return
    new_view = block.view
    if new_view is None:
        return
    if gms.view is not None and new_view.view_id.id <= gms.view.view_id.id:
        gms.counters["stale views dropped"] += 1
        if gms.log_view_warnings:
            gms.log.debug("view %s <= current view %s; discarding it", new_view.view_id, gms.view.view_id)
        return
    if isinstance(new_view, DeltaView):
        try:
            new_view = apply_delta_view(gms.view, new_view, gms.compute_new_membership)
        except DeltaMismatch as e:
            gms.counters["delta views not applicable"] += 1
            gms.log.debug("failed to create view from delta-view; asking %s for the full view: %s",
                          gms.stack.name_of(msg.src), e)
            if msg.src is not None:
                gms.send_empty(msg.src, T.GET_CURRENT_VIEW, Flag.OOB | Flag.NO_FC)
            return
    coord = msg.src
    if coord is not None and coord not in new_view.members:
        gms.send_view_ack(coord)  # before installing, or the connection to coord is gone
        gms.role.handle_view_change(new_view, block.digest)
    else:
        gms.role.handle_view_change(new_view, block.digest)
        if coord is not None:
            gms.send_view_ack(coord)


def handle_view_ack(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    gms.ack_collector.ack(msg.src)
    gms.check_acks()


def handle_get_current_view(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    their: ViewId | None = None
    if msg.type is MsgType.BYTES and msg.payload is not None:
        try:
            their = decode_current_view_id(msg.payload)
        except RemoteProtocolError as e:  # Java reads null and answers with the view anyway
            _malformed(gms, "GET_CURRENT_VIEW", msg, e)
    if gms.view is None or msg.src is None:
        return
    if their is not None and gms.view.view_id.id <= their.id:
        return
    reply = Message(MsgType.BYTES, dest=msg.src, flags=Flag.OOB | Flag.NO_FC,
                    transient_flags=TransientFlag.DONT_BLOCK, payload=encode_view_digest(gms.view, None))
    reply.put_header(gms.protocol_id, GmsHeader(T.VIEW))
    gms.down_layer.down_msg(reply)


def handle_get_digest_req(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    if msg.src is None or msg.src not in gms.members:
        gms.counters["GET_DIGEST_REQ from a non-member dropped"] += 1
        return
    merger = gms.merger
    mid = hdr.merge_id
    if mid is not None and not (merger.match_merge_id(mid) or merger.set_merge_id(None, mid)):
        gms.counters["GET_DIGEST_REQ dropped (another merge in progress)"] += 1
        return
    digest = gms.down_layer.query_down(GetDigest(gms.local_addr))
    if digest is not None:
        rsp = Message(MsgType.BYTES, dest=msg.src, flags=Flag.OOB | Flag.NO_FC,
                     transient_flags=TransientFlag.DONT_BLOCK, payload=encode_view_digest(None, digest))
        rsp.put_header(gms.protocol_id, GmsHeader(T.GET_DIGEST_RSP))
        gms.down_layer.down_msg(rsp)


def handle_install_digest(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    data = _array(gms, msg, "INSTALL_DIGEST")
    if data is None:
        return
    try:
        block = decode_view_digest(data)
    except RemoteProtocolError as e:
        _malformed(gms, "INSTALL_DIGEST", msg, e)
        return
    if block.digest is not None:
        gms.down_layer.down(MergeDigest(block.digest))


def handle_merge_req(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    """A merge leader asks us (a subgroup coordinator) for our view and digest. The leader is by nature
    outside our view, so a stranger's request is handled like any other: the merge killer ends it."""
    if msg.src is None or isinstance(gms.role, ClientRole):
        gms.counters["MERGE_REQ ignored (client)"] += 1
        return
    data = _array(gms, msg, "MERGE_REQ")
    if data is None:
        return
    try:
        mbrs = decode_merge_members(data)
    except RemoteProtocolError as e:
        _malformed(gms, "MERGE_REQ", msg, e)
        return
    if mbrs is not None:
        gms.merger.handle_merge_request(msg.src, hdr.merge_id, mbrs)


def handle_merge_rsp(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    if msg.type is not MsgType.BYTES or not isinstance(msg.payload, bytes):
        # Java: readViewAndDigest(null) -> null, so a rejection (an EmptyMessage) is ignored
        gms.counters["MERGE_RSP without view/digest ignored"] += 1
        return
    block = _view_digest(gms, msg, "MERGE_RSP")
    if block is None or isinstance(block.view, DeltaView):
        return
    if not isinstance(gms.role, ClientRole):
        gms.merger.handle_merge_response(msg.src, block.view, block.digest, hdr.merge_rejected, hdr.merge_id)


def handle_install_merge_view(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    block = _view_digest(gms, msg, "INSTALL_MERGE_VIEW")
    if block is None:
        return
    if block.view is None or isinstance(block.view, DeltaView):
        gms.counters["malformed INSTALL_MERGE_VIEW"] += 1
        return
    if isinstance(gms.role, ClientRole):
        gms.counters["merge messages ignored (client)"] += 1
        return
    gms.merger.handle_merge_view(block.view, block.digest, hdr.merge_id)


def handle_cancel_merge(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    if not isinstance(gms.role, ClientRole):
        gms.merger.handle_merge_cancelled(hdr.merge_id)


def handle_get_digest_rsp(gms: GMS, hdr: GmsHeader, msg: Message) -> None:
    block = _view_digest(gms, msg, "GET_DIGEST_RSP")
    if block is not None and not isinstance(gms.role, ClientRole):
        gms.merger.handle_digest_response(msg.src, block.digest)


DISPATCH: dict[int, Callable[[GMS, GmsHeader, Message], None]] = {
    T.JOIN_REQ: handle_join_req,
    T.JOIN_REQ_WITH_STATE_TRANSFER: handle_join_req,
    T.JOIN_RSP: handle_join_rsp,
    T.LEAVE_REQ: handle_leave_req,
    T.LEAVE_RSP: handle_leave_rsp,
    T.VIEW: handle_view,
    T.VIEW_ACK: handle_view_ack,
    T.GET_CURRENT_VIEW: handle_get_current_view,
    T.GET_DIGEST_REQ: handle_get_digest_req,
    T.INSTALL_DIGEST: handle_install_digest,
    T.MERGE_REQ: handle_merge_req,
    T.MERGE_RSP: handle_merge_rsp,
    T.INSTALL_MERGE_VIEW: handle_install_merge_view,
    T.CANCEL_MERGE: handle_cancel_merge,
    T.GET_DIGEST_RSP: handle_get_digest_rsp,
}


def _array(gms: GMS, msg: Message, what: str) -> bytes | None:
    """msg.getArray(): None (ignored, as Java) without an array; non-Bytes messages are malformed."""
    if msg.type is not MsgType.BYTES:
        gms.counters[f"malformed {what}"] += 1
        gms.log.debug("dropped %s from %s: a %s, not a BytesMessage", what, msg.src, msg.type.name)
        return None
    return msg.payload if isinstance(msg.payload, bytes) else None


def _malformed(gms: GMS, what: str, msg: Message, e: Exception) -> None:
    gms.counters[f"malformed {what}"] += 1
    gms.log.warning("failed reading %s from %s: %s", what, gms.stack.name_of(msg.src), e)


def _view_digest(gms: GMS, msg: Message, what: str) -> ViewDigest | None:
    data = _array(gms, msg, what)
    if data is None:
        return None
    try:
        return decode_view_digest(data)
    except RemoteProtocolError as e:
        _malformed(gms, what, msg, e)
        return None
