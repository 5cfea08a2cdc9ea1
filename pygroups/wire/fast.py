"""Hand-written codecs for the hot path (tier 2), proven equal to the construct spec by tests.

Only what every data message carries is hand-written: the frame envelope, the message body,
addresses, and the headers registered in FAST_HEADER_DECODERS / FAST_HEADER_ENCODERS.
Everything else (rare headers, unusual payloads) is delegated to the construct declaration
in place, so the fast path never disagrees with the spec on what it does not know.

Decoders raise whatever Python raises on bad bytes (IndexError, struct.error, ...); the single
entry point, pygroups.wire.codec, turns that into MalformedMessage after asking the spec why.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any

from pygroups.address import UUID, Address, java_equals
from pygroups.message import Header, Message, MsgType
from pygroups.wire.addresses import AddressFormat
from pygroups.wire.headers.base import HEADER_FORMATS
from pygroups.wire.headers.nakack import NakAckHeader2
from pygroups.wire.headers.rpc import RequestCorrelatorHeader
from pygroups.wire.headers.tp import TpHeader
from pygroups.wire.headers.unicast import UnicastHeader3
from pygroups.wire.message import (
    DEST_SET,
    PAYLOAD_FORMATS,
    SRC_SET,
    TP_LIST,
    RawMessageFormat,
    message_to_raw,
    raw_to_message,
)

_h = struct.Struct(">h")
_hBH = struct.Struct(">hBH")
_hBHh = struct.Struct(">hBHh")
_hh = struct.Struct(">hh")
_i = struct.Struct(">i")
_qq = struct.Struct(">qq")

_ADDR_CACHE: dict[bytes, UUID] = {}
_TP_CACHE: dict[bytes, TpHeader] = {}
_CACHE_LIMIT = 4096


def _spec_parse(fmt: Any, buf: bytes, off: int) -> tuple[Any, int]:
    """Parse one structure with the construct spec, starting at off."""
    stream = io.BytesIO(buf)
    stream.seek(off)
    value = fmt.parse_stream(stream)
    return value, stream.tell()


# ---------------------------------------------------------------- addresses


def decode_address(buf: bytes, off: int) -> tuple[Address | None, int]:
    tag = buf[off]
    if tag & 0x01:
        return None, off + 1
    if tag & 0x02:
        end = off + 17
        key = buf[off + 1 : end]
        addr = _ADDR_CACHE.get(key)
        if addr is None:
            if len(key) != 16:
                raise IndexError("truncated UUID")
            lsb, msb = _qq.unpack(key)
            addr = UUID(msb, lsb)
            if len(_ADDR_CACHE) >= _CACHE_LIMIT:
                _ADDR_CACHE.clear()
            _ADDR_CACHE[key] = addr
        return addr, end
    value, off = _spec_parse(AddressFormat, buf, off)
    return value, off


def encode_address(addr: Address | None, out: bytearray) -> None:
    if addr is None:
        out.append(0x01)
    elif type(addr) is UUID:
        out.append(0x02)
        out += _qq.pack(addr.lsb, addr.msb)
    else:
        out += AddressFormat.build(addr)


# ---------------------------------------------------------------- headers


def _decode_tp(buf: bytes, off: int) -> tuple[Header, int]:
    (n,) = _h.unpack_from(buf, off)
    if n < 0 or buf[off + 2 + n] != 0:  # null cluster or an RTT flag: let the spec do it
        return _spec_parse(TpHeader.FORMAT, buf, off)  # type: ignore[attr-defined]
    end = off + 3 + n
    key = buf[off:end]
    hdr = _TP_CACHE.get(key)
    if hdr is None:
        hdr = TpHeader(buf[off + 2 : off + 2 + n].decode("latin-1"))
        if len(_TP_CACHE) >= _CACHE_LIMIT:
            _TP_CACHE.clear()
        _TP_CACHE[key] = hdr
    return hdr, end


def _encode_tp(hdr: Any, out: bytearray) -> None:
    if hdr.cluster is None or hdr.rtt_flag != 0:
        out += TpHeader.FORMAT.build(hdr)  # type: ignore[attr-defined]
        return
    name = hdr.cluster.encode("latin-1")
    out += _h.pack(len(name))
    out += name
    out.append(0)


def _decode_vlong(buf: bytes, off: int, width: int = 8) -> tuple[int, int]:
    n = buf[off]
    if n == 0:
        return 0, off + 1
    end = off + 1 + n
    if n > width or end > len(buf):
        raise ValueError(f"bad compressed number length {n}")
    v = int.from_bytes(buf[off + 1 : end], "little")
    if n == width and v >> (8 * n - 1):
        v -= 1 << (8 * n)
    return v, end


def _encode_vlong(v: int, out: bytearray) -> None:
    if v == 0:
        out.append(0)
        return
    n = 8 if v < 0 else (v.bit_length() + 7) >> 3
    if n > 8:
        raise ValueError(f"{v} does not fit a long")
    out.append(n)
    out += (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")


_NAK_SEQNO_TYPES = (1, 3, 4)  # MSG, XMIT_RSP, HIGHEST_SEQNO carry a seqno


_new = object.__new__


def _slot_setters(cls: type, *names: str) -> tuple[Callable[[object, object], None], ...]:
    """The slot descriptors' own setters: they fill a frozen header without its __init__ (and without
    the frozen __setattr__ check). Only for objects this module has just created."""
    return tuple(cls.__dict__[n].__set__ for n in names)


_NAK_SET_TYPE, _NAK_SET_SEQNO, _NAK_SET_SENDER = _slot_setters(NakAckHeader2, "type", "seqno", "sender")
_NAK_TYPES = {t.value: t for t in NakAckHeader2.Type}


def _decode_nakack2(buf: bytes, off: int) -> tuple[Header, int]:
    t = buf[off]
    if t not in _NAK_SEQNO_TYPES:
        return _spec_parse(NakAckHeader2.FORMAT, buf, off)  # type: ignore[attr-defined]
    n = buf[off + 1]
    if n == 0:
        seqno, off = 0, off + 2
    elif n < 8:
        end = off + 2 + n
        if end > len(buf):
            raise IndexError("truncated seqno")
        seqno, off = int.from_bytes(buf[off + 2 : end], "little"), end
    else:
        seqno, off = _decode_vlong(buf, off + 1)
    # Bypass the dataclass __init__ (and its enum conversion): this runs once per data message.
    hdr = _new(NakAckHeader2)
    _NAK_SET_TYPE(hdr, _NAK_TYPES[t])
    _NAK_SET_SEQNO(hdr, seqno)
    _NAK_SET_SENDER(hdr, None)
    return hdr, off


def _encode_nakack2(hdr: Any, out: bytearray) -> None:
    if hdr.type not in _NAK_SEQNO_TYPES or hdr.sender is not None:
        out += NakAckHeader2.FORMAT.build(hdr)  # type: ignore[attr-defined]
        return
    out.append(hdr.type)
    _encode_vlong(hdr.seqno, out)


_UNI_DATA = UnicastHeader3.Type(0)  # type: ignore[attr-defined]
_UNI_SET = _slot_setters(UnicastHeader3, "type", "seqno", "conn_id", "first", "timestamp")


def _decode_unicast3(buf: bytes, off: int) -> tuple[Header, int]:
    t = buf[off]
    if t == 0:  # DATA: seqno, conn_id, first
        seqno, off = _decode_vlong(buf, off + 1)
        (conn_id,) = _h.unpack_from(buf, off)
        hdr = _new(UnicastHeader3)
        _UNI_SET[0](hdr, _UNI_DATA)
        _UNI_SET[1](hdr, seqno)
        _UNI_SET[2](hdr, conn_id)
        _UNI_SET[3](hdr, buf[off + 2] != 0)
        _UNI_SET[4](hdr, None)
        return hdr, off + 3
    if t == 1:  # ACK: seqno, conn_id, timestamp
        seqno, off = _decode_vlong(buf, off + 1)
        (conn_id,) = _h.unpack_from(buf, off)
        ts, off = _decode_vlong(buf, off + 2, 4)
        return UnicastHeader3(1, seqno, conn_id, None, ts), off
    return _spec_parse(UnicastHeader3.FORMAT, buf, off)  # type: ignore[attr-defined]


def _encode_unicast3(hdr: Any, out: bytearray) -> None:
    t = hdr.type
    if t == 0 and hdr.timestamp is None:
        out.append(0)
        _encode_vlong(hdr.seqno, out)
        out += _h.pack(hdr.conn_id)
        out.append(1 if hdr.first else 0)
    elif t == 1 and hdr.first is None and -(2**31) <= hdr.timestamp < 2**31:
        out.append(1)
        _encode_vlong(hdr.seqno, out)
        out += _h.pack(hdr.conn_id)
        ts = hdr.timestamp
        if ts == 0:
            out.append(0)
        else:
            n = 4 if ts < 0 else (ts.bit_length() + 7) >> 3
            out.append(n)
            out += (ts & ((1 << (8 * n)) - 1)).to_bytes(n, "little")
    else:
        out += UnicastHeader3.FORMAT.build(hdr)  # type: ignore[attr-defined]


_RPC_TYPES = {t.value: t for t in RequestCorrelatorHeader.Type}
_RPC_SET_TYPE, _RPC_SET_REQ_ID, _RPC_SET_CORR_ID = _slot_setters(RequestCorrelatorHeader, "type", "req_id", "corr_id")


def _decode_rpc(buf: bytes, off: int) -> tuple[Header, int]:
    """RequestCorrelator.Header (RpcDispatcher; Infinispan puts one on every command)."""
    t = buf[off]
    rtype = _RPC_TYPES.get(t)
    if rtype is None:
        return _spec_parse(RequestCorrelatorHeader.FORMAT, buf, off)  # type: ignore[attr-defined]
    n = buf[off + 1]
    if 0 < n < 8:
        end = off + 2 + n
        req_id, off = int.from_bytes(buf[off + 2 : end], "little"), end
    else:
        req_id, off = _decode_vlong(buf, off + 1)
    (corr_id,) = _h.unpack_from(buf, off)
    hdr = _new(RequestCorrelatorHeader)
    _RPC_SET_TYPE(hdr, rtype)
    _RPC_SET_REQ_ID(hdr, req_id)
    _RPC_SET_CORR_ID(hdr, corr_id)
    return hdr, off + 2


def _encode_rpc(hdr: Any, out: bytearray) -> None:
    out.append(hdr.type & 0xFF)
    _encode_vlong(hdr.req_id, out)
    out += _h.pack(hdr.corr_id)


FAST_HEADER_DECODERS: dict[int, Callable[[bytes, int], tuple[Header, int]]] = {
    RequestCorrelatorHeader.MAGIC: _decode_rpc,
    TpHeader.MAGIC: _decode_tp,
    NakAckHeader2.MAGIC: _decode_nakack2,
    UnicastHeader3.MAGIC: _decode_unicast3,
}
FAST_HEADER_ENCODERS: dict[int, Callable[[Any, bytearray], None]] = {
    RequestCorrelatorHeader.MAGIC: _encode_rpc,
    TpHeader.MAGIC: _encode_tp,
    NakAckHeader2.MAGIC: _encode_nakack2,
    UnicastHeader3.MAGIC: _encode_unicast3,
}


def encode_headers(headers: dict[int, Header], out: bytearray) -> None:
    out += _h.pack(len(headers))
    for pid, hdr in headers.items():
        magic = hdr.MAGIC
        out += _hh.pack(pid, magic)
        enc = FAST_HEADER_ENCODERS.get(magic)
        if enc is not None:
            enc(hdr, out)
        else:
            out += HEADER_FORMATS[magic].build(hdr)


# ---------------------------------------------------------------- messages


_MSG_TYPES = tuple(MsgType)
_FAST_DEC = FAST_HEADER_DECODERS


def decode_message(
    buf: bytes,
    off: int,
    dest: Address | None = None,
    src: Address | None = None,
    *,
    # globals bound as locals: this function runs once per message received
    _prefix: Callable[[bytes, int], tuple[int, int, int, int]] = _hBHh.unpack_from,
    _pid_magic: Callable[[bytes, int], tuple[int, int]] = _hh.unpack_from,
    _short: Callable[[bytes, int], tuple[int]] = _h.unpack_from,
    _int: Callable[[bytes, int], tuple[int]] = _i.unpack_from,
    _tp_get: Callable[[bytes], TpHeader | None] = _TP_CACHE.get,
    _dec_get: Callable[[int], Any] = _FAST_DEC.get,
    _types: tuple[MsgType, ...] = _MSG_TYPES,
    _new_msg: Callable[[type[Any]], Any] = object.__new__,
    _nak_type: Callable[[object, object], None] = _NAK_SET_TYPE,
    _nak_seqno: Callable[[object, object], None] = _NAK_SET_SEQNO,
    _nak_sender: Callable[[object, object], None] = _NAK_SET_SENDER,
    _nak_msg: object = NakAckHeader2.Type.MSG,  # type: ignore[attr-defined]
) -> tuple[Message, int]:
    """i16 type + message body at off; dest/src are the defaults inherited from a list."""
    mtype, leading, flags, count = _prefix(buf, off)
    if mtype < 0 or mtype > 7 or mtype == 5 or mtype == 7:  # composite/batch nest: use the spec
        raw, end = _spec_parse(RawMessageFormat, buf, off)
        return raw_to_message(raw, dest, src), end
    if leading & (DEST_SET | SRC_SET):
        off += 5
        if leading & DEST_SET:
            dest, off = decode_address(buf, off)
        if leading & SRC_SET:
            src, off = decode_address(buf, off)
        (count,) = _short(buf, off)
        off += 2
    else:
        off += 7
    # headers (inlined decode_headers: this is the per-message hot loop)
    if count < 0:
        raise ValueError("negative header count")
    headers: dict[int, Header] = {}
    for _ in range(count):
        pid, magic = _pid_magic(buf, off)
        off += 4
        if magic == 60:  # TpHeader, on every message: inlined cache lookup
            (n,) = _short(buf, off)
            end = off + 3 + n
            tp = _tp_get(buf[off:end]) if n >= 0 else None
            if tp is not None:
                headers[pid] = tp
                off = end
                continue
        elif magic == 78 and buf[off] == 1 and 0 < buf[off + 1] < 8:  # NAKACK2 MSG, on every multicast
            end = off + 2 + buf[off + 1]
            if end > len(buf):
                raise IndexError("truncated seqno")
            hdr = _new_msg(NakAckHeader2)
            _nak_type(hdr, _nak_msg)
            _nak_seqno(hdr, int.from_bytes(buf[off + 2 : end], "little"))
            _nak_sender(hdr, None)
            headers[pid] = hdr
            off = end
            continue
        dec = _dec_get(magic)
        if dec is not None:
            headers[pid], off = dec(buf, off)
        else:
            fmt = HEADER_FORMATS.get(magic)
            if fmt is None:
                raise KeyError(f"unknown header magic {magic}")
            headers[pid], off = _spec_parse(fmt, buf, off)
    if len(headers) != count:
        raise ValueError("a header id appears twice")
    payload: Any
    if mtype == 0:
        (n,) = _int(buf, off)
        off += 4
        if n < 0:
            payload = None
        else:
            end = off + n
            payload = buf[off:end]
            if len(payload) != n:
                raise IndexError("truncated payload")
            off = end
    elif mtype == 2:
        payload = None
    else:
        payload, off = _spec_parse(PAYLOAD_FORMATS[_types[mtype]], buf, off)
    msg = _new_msg(Message)
    msg.type = _types[mtype]
    msg.dest = dest
    msg.src = src
    msg.flags = flags
    msg.transient_flags = 0
    msg.headers = headers
    msg.payload = payload
    return msg, off


def encode_message(
    msg: Message, out: bytearray, *, no_addrs: bool = False, list_src: Address | None = None
) -> None:
    """i16 type + writeTo (or writeToNoAddrs(list_src) when no_addrs)."""
    mtype = msg.type
    if mtype == MsgType.COMPOSITE or mtype == MsgType.EARLYBATCH:
        out += RawMessageFormat.build(message_to_raw(msg, no_addrs_src=list_src, no_addrs=no_addrs))
        return
    src = msg.src
    if no_addrs:
        write_dest = False
        write_src = src is not None and not java_equals(src, list_src)
    else:
        write_dest = msg.dest is not None
        write_src = src is not None
    out += _hBH.pack(mtype, (DEST_SET if write_dest else 0) | (SRC_SET if write_src else 0), msg.flags)
    if write_dest:
        encode_address(msg.dest, out)
    if write_src:
        encode_address(src, out)
    encode_headers(msg.headers, out)
    payload = msg.payload
    if mtype == MsgType.BYTES:
        if payload is None:
            out += b"\xff\xff\xff\xff"
        else:
            out += _i.pack(len(payload))
            out += payload
    elif mtype != MsgType.EMPTY:
        out += PAYLOAD_FORMATS[mtype].build(payload)


# ---------------------------------------------------------------- frames


def decode_frame_fields(buf: bytes) -> tuple[int, int, Address | None, Address | None, str | None, list[Message]]:
    """(version, tp flags, list dest, list src, cluster, messages) of one TP payload."""
    version, flags = struct.unpack_from(">hB", buf, 0)
    off = 3
    if flags & TP_LIST:
        dest, off = decode_address(buf, off)
        src, off = decode_address(buf, off)
        (n,) = _h.unpack_from(buf, off)
        off += 2
        cluster = None
        if n >= 0:
            cluster = buf[off : off + n].decode("latin-1")
            if len(cluster) != n:
                raise IndexError("truncated cluster name")
            off += n
        (count,) = _i.unpack_from(buf, off)
        off += 4
        if count < 0:
            raise ValueError("negative message count")
        msgs = []
        for _ in range(count):
            msg, off = decode_message(buf, off, dest, src)
            msgs.append(msg)
    else:
        dest = src = None
        cluster = None
        msg, off = decode_message(buf, off)
        msgs = [msg]
    if off != len(buf):
        raise ValueError(f"{len(buf) - off} trailing bytes after the frame")
    return version, flags, dest, src, cluster, msgs

