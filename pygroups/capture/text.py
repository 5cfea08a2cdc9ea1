"""Human-readable dump lines, in the manner of JGroups' ParseMessages and Message.toString.

UUIDs print as the logical names the capture itself reveals (discovery PingData, MERGE3 INFO),
else as their first 8 hex digits: a 3-node trace stays readable at a glance.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from pygroups.address import UUID, Address
from pygroups.capture.records import Record, Summary
from pygroups.errors import MalformedMessage
from pygroups.message import Message, flag_names
from pygroups.view import DeltaView, Digest, View, ViewId
from pygroups.wire.codec import payload_length
from pygroups.wire.headers.gms import GmsHeader, decode_join_rsp, decode_view_digest
from pygroups.wire.headers.merge3 import MergeHeader, decode_view_rsp
from pygroups.wire.headers.ping import PingData, PingHeader, decode_ping_data_list
from pygroups.wire.headers.tp import TpHeader
from pygroups.wire.protocol_ids import protocol_name

_VIEW_DIGEST_TYPES = (GmsHeader.Type.VIEW, GmsHeader.Type.INSTALL_MERGE_VIEW)


class Names:
    """Logical names learnt from the capture."""

    def __init__(self) -> None:
        self.names: dict[Address, str] = {}

    def learn(self, msg: Message) -> None:
        for hdr in msg.headers.values():
            if isinstance(hdr, PingHeader) and isinstance(msg.payload, bytes) and msg.payload:
                try:
                    entries = decode_ping_data_list(msg.payload)
                except MalformedMessage:
                    continue
                for pd in entries:
                    if pd.sender is not None and pd.logical_name:
                        self.names[pd.sender] = pd.logical_name
            elif isinstance(hdr, MergeHeader) and hdr.logical_name and msg.src is not None:
                self.names[msg.src] = hdr.logical_name

    def addr(self, a: Address | None) -> str:
        if a is None:
            return "<all>"
        name = self.names.get(a)
        if name is not None:
            return name
        if isinstance(a, UUID):
            return a.uuid_string()[:8]
        return str(a)


class TextFormatter:
    """Formats records one per line, times relative (+0.004s) to the capture's first packet
    (`summary.first_time`, which the dump fills in before the first record) or the first record."""

    def __init__(self, *, with_payload: bool = False, summary: Summary | None = None) -> None:
        self.names = Names()
        self.with_payload = with_payload
        self._summary = summary
        self.first_time: float | None = None

    def format(self, rec: Record) -> str:
        if self.first_time is None:
            self.first_time = self._summary.first_time if self._summary is not None else None
            if self.first_time is None:
                self.first_time = rec.time
        when = "" if rec.time is None or self.first_time is None else f" +{rec.time - self.first_time:.3f}s"
        f = rec.fields
        if rec.kind == "message" and rec.message is not None:
            self.names.learn(rec.message)
            where = ""
            if f.get("batch"):
                where = f" batch[{f['index'] + 1}/{f.get('count', '?')}]"
            elif f.get("socket") == "fd_sock2":
                where = " fd_sock2"
            text = self.message(rec.message, bare=f.get("socket") == "fd_sock2")
            return f"#{f.get('n')} {rec.stream}{when}{where} {text}"
        if rec.kind == "preamble":
            return f"-- {rec.stream}{when} preamble: version {f['version']}, addr {f['addr']}"
        if rec.kind == "close":
            again = " (again)" if f.get("repeated") else ""
            return f"-- {rec.stream}{when} close marker{again} at offset {rec.offset}"
        if rec.kind == "note":
            return f"-- {rec.stream}{when} offset {rec.offset}: {f.get('detail')}"
        path = f" (at {f['path']}, byte {f.get('at')})" if f.get("path") else ""
        data = f" bytes={f['bytes']}" if f.get("bytes") else ""
        return f"!! {rec.stream}{when} offset {rec.offset}: {f.get('error')}{path}{data}"

    def message(self, msg: Message, *, bare: bool = False) -> str:
        n = len(msg.headers)
        dest = "<null>" if bare and msg.dest is None else self.names.addr(msg.dest)
        names = flag_names(msg.flags)
        flags = f", flags={'|'.join(names)}" if names else ""
        size = payload_length(msg)
        text = (
            f"[dst: {dest}, src: {self.names.addr(msg.src)} "
            f"({n} header{'s' if n != 1 else ''}), size={size}{flags}]"
        )
        parts = [text, *(self.header(pid, h) for pid, h in msg.headers.items())]
        content = self.content(msg)
        if content:
            parts.append(content)
        if self.with_payload and isinstance(msg.payload, bytes):
            parts.append(f"payload={msg.payload[:64].hex()}{'...' if len(msg.payload) > 64 else ''}")
        return ", ".join(parts)

    def content(self, msg: Message) -> str:
        """What the payload of a protocol message says (views, discovery data), if it decodes."""
        data = msg.payload
        if not isinstance(data, bytes) or not data:
            return ""
        try:
            for hdr in msg.headers.values():
                if isinstance(hdr, GmsHeader) and hdr.type in _VIEW_DIGEST_TYPES:
                    vd = decode_view_digest(data)
                    return "view: " + self.value(vd.view) if vd.view is not None else ""
                if isinstance(hdr, GmsHeader) and hdr.type == GmsHeader.Type.JOIN_RSP:
                    rsp = decode_join_rsp(data)
                    if rsp is None:
                        return ""
                    return (
                        f"join_rsp: {rsp.fail_reason}" if rsp.fail_reason else f"view: {self.value(rsp.view)}"
                    )
                if isinstance(hdr, MergeHeader) and hdr.type == MergeHeader.Type.VIEW_RSP:
                    view = decode_view_rsp(data)
                    return "view: " + self.value(view) if view is not None else ""
                if isinstance(hdr, PingHeader):
                    return "data: " + ", ".join(self._ping_data(pd) for pd in decode_ping_data_list(data))
        except MalformedMessage:
            return ""
        return ""

    def _ping_data(self, pd: PingData) -> str:
        roles = " coord" if pd.is_coord else " server" if pd.is_server else ""
        mbrs = f" mbrs={self.value(pd.mbrs)}" if pd.mbrs else ""
        return f"{self.names.addr(pd.sender)} {pd.physical_addr}{roles}{mbrs}"

    def header(self, protocol_id: int, hdr: Any) -> str:
        name = protocol_name(protocol_id)
        if isinstance(hdr, TpHeader):
            rtt = f", rtt={hdr.rtt_flag}/{hdr.rtt_index}" if hdr.rtt_flag else ""
            return f"{name}: [cluster={hdr.cluster}{rtt}]"
        if not dataclasses.is_dataclass(hdr):
            return f"{name}: {hdr!r}"
        parts: list[str] = []
        for fld in dataclasses.fields(hdr):
            v = getattr(hdr, fld.name)
            key = fld.name.rstrip("_")
            if fld.name == "type":
                parts.insert(0, v.name if isinstance(v, enum.Enum) else f"type={v}")
            elif v is None or v is False or v == ():
                continue
            elif v is True:
                parts.append(key)
            else:
                parts.append(f"{key}={self.value(v)}")
        return f"{name}: {' '.join(parts)}" if parts else name

    def value(self, v: Any) -> str:
        if isinstance(v, enum.Enum):
            return v.name
        if isinstance(v, Address):
            return self.names.addr(v)
        if isinstance(v, ViewId):
            return f"[{self.names.addr(v.creator)}|{v.id}]"
        if isinstance(v, View):
            return (
                f"{self.value(v.view_id)} ({len(v.members)}) [{', '.join(map(self.names.addr, v.members))}]"
            )
        if isinstance(v, DeltaView):
            return (
                f"delta {self.value(v.view_id)} ref={self.value(v.ref_view_id)} "
                f"left={self.value(v.left or ())} joined={self.value(v.joined or ())}"
            )
        if isinstance(v, Digest):
            return ", ".join(
                f"{self.names.addr(a)}: [{hd} ({hr})]"
                for a, (hd, hr) in zip(v.members, v.seqnos, strict=False)
            )
        if isinstance(v, bytes | bytearray):
            return f"{len(v)} bytes"
        if isinstance(v, tuple | list):
            return f"[{', '.join(self.value(x) for x in v)}]"
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            inner = " ".join(f"{f.name}={self.value(getattr(v, f.name))}" for f in dataclasses.fields(v))
            return f"({inner})"
        return str(v)

    @staticmethod
    def summary(s: Summary) -> str:
        lines = [
            f"{s.format}: {s.packets} packets, {s.connections} connections, {s.frames} frames, "
            f"{s.messages} messages, {s.errors} errors"
        ]
        for proto, types in sorted(s.headers.items()):
            counts = " ".join(f"{t}={n}" for t, n in sorted(types.items()))
            lines.append(f"  {proto}: {counts}")
        return "\n".join(lines)
