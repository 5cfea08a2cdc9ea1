"""Python twin of the Java peer's ``node`` mode: a pygroups Channel driven by JSON lines.

    python3 conformance/pypeer.py node --config FILE --name NAME [--cluster C] [-Dkey=value ...]
                                       [--discard RATE] [--hex-limit BYTES]

Same options, commands, events and payload formats as conformance/java/.../Node.java (read its class comment),
so conformance/cluster.py treats Java and Python nodes alike:

* ``-Dkey=value`` is a ``${key}`` value for the XML (the Channel's ``variables``).
* ``--discard RATE`` inserts pygroups' DISCARD layer right above the transport (the XML stays unmodified); the
  ``discard`` command sets its up discard rate (to RATE), as the Java node does.
* stdout carries only JSON lines (anything else printed goes to stderr); stdin EOF closes the channel and exits.
* With KUBE_PING in the stack, a capture layer sits right above the transport (as the Java node's
  DiscoveryCapture) for ``kube_targets``; ``kube_pods`` and ``kube_targets`` answer like the Java node's.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import struct
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TRACKED, BIG, REQ, RSP = b"PGT1", b"PGB1", b"PGQ1", b"PGR1"
KINDS = ("mcast", "mcast_oob", "ucast", "ucast_oob")
TRACKED_HEADER = 13  # magic, kind (1 byte), seqno (8 bytes big-endian)
_LONG = struct.Struct(">q")


class Stream:
    """Receiver-side record of one (sender, kind) stream of tracked messages (as Node.Stream)."""

    __slots__ = ("count", "dups", "first_t", "kind", "last_t", "max", "min", "ooo", "seen", "src")

    def __init__(self, src: str, kind: str) -> None:
        self.src, self.kind = src, kind
        self.seen = bytearray()
        self.count = self.dups = self.ooo = 0
        self.max, self.min = -1, -1
        self.first_t = self.last_t = 0.0

    def add(self, seqno: int) -> None:
        now = time.monotonic()
        if self.count == 0:
            self.first_t = now
        self.count += 1
        self.last_t = now
        if seqno >= len(self.seen):
            self.seen.extend(bytes(max(seqno + 1 - len(self.seen), len(self.seen))))
        if self.seen[seqno]:
            self.dups += 1
            return
        self.seen[seqno] = 1
        if seqno < self.max:
            self.ooo += 1
        self.max = max(self.max, seqno)
        self.min = seqno if self.min < 0 else min(self.min, seqno)

    def summary(self) -> dict[str, Any]:
        missing: list[list[int]] = []
        gaps, i = 0, 0
        while i <= self.max:
            if not self.seen[i]:
                j = i
                while j + 1 <= self.max and not self.seen[j + 1]:
                    j += 1
                gaps += 1
                if gaps <= 20:
                    missing.append([i, j])
                i = j + 1
            else:
                i += 1
        distinct = sum(self.seen)
        return {"src": self.src, "kind": self.kind, "count": self.count, "distinct": distinct, "dups": self.dups,
                "ooo": self.ooo, "min": self.min, "max": self.max, "missing": missing, "gaps": gaps,
                "first_t": self.first_t, "last_t": self.last_t}


def emit_to(out: Any) -> Callable[[dict[str, Any]], None]:
    def emit(ev: dict[str, Any]) -> None:
        out.write(json.dumps(ev) + "\n")
        out.flush()
    return emit


def _discard_layer(rate: float) -> Any:
    """pygroups' DISCARD layer (pygroups/protocols/discard.py), rate 0 until the discard command."""
    from pygroups.protocols import discard as discard_mod

    cls = getattr(discard_mod, "DISCARD", None) or getattr(discard_mod, "Discard", None)
    if cls is None:
        raise RuntimeError("pygroups.protocols.discard has no DISCARD layer (yet)")
    return cls()


def _set_discard_rate(layer: Any, rate: float) -> None:
    setter = getattr(layer, "set_up_discard_rate", None)
    if callable(setter):
        setter(rate)
    elif hasattr(layer, "up_rate"):
        layer.up_rate = rate
    else:
        raise RuntimeError(f"cannot set the up discard rate of {layer!r}")


KUBE_PING_NAME = "kubernetes.KUBE_PING"
KUBE_SETTINGS = ("port_range", "useNotReadyAddresses", "split_clusters_during_rolling_update")


def _capture_layer() -> Any:
    """A pass-through layer that, while armed, swallows discovery requests and records their destinations
    (the Java node's DiscoveryCapture)."""
    from pygroups.stack.layer import Layer
    from pygroups.wire.headers.ping import PingHeader

    class DiscoveryCapture(Layer):
        def __init__(self) -> None:
            super().__init__()
            self.protocol: int | None = None  # the discovery layer's header id, while armed
            self.captured: list[Any] = []

        def down_msg(self, msg: Any) -> None:
            if self.protocol is not None:
                hdr = msg.get_header(self.protocol)
                if isinstance(hdr, PingHeader) and hdr.type == PingHeader.Type.GET_MBRS_REQ:
                    self.captured.append(msg.dest)
                    return
            super().down_msg(msg)

    return DiscoveryCapture()


def _host_port(addr: Any) -> str:
    from pygroups.protocols.kubernetes.pods import java_host_address

    return f"{java_host_address(addr)}:{addr.port}"


class PyNode:
    def __init__(self, args: argparse.Namespace, emit: Callable[[dict[str, Any]], None]) -> None:
        self.args = args
        self.emit = emit
        self.ch: Any = None
        self.discard: Any = None
        self.capture: Any = None
        self.streams: dict[str, Stream] = {}
        self.send_seqnos: dict[str, int] = {}
        self.big_count = 0
        self.jobs: asyncio.Queue[Callable[[], Awaitable[None]] | None] = asyncio.Queue()
        self.replies: asyncio.Queue[tuple[Any, bytes]] = asyncio.Queue()
        self.responses: asyncio.Queue[int] = asyncio.Queue()

    # -- helpers

    def name_of(self, addr: Any) -> str | None:
        if addr is None:
            return None
        try:
            n = self.ch.name_of(addr)
        except Exception:
            n = None
        return n or str(addr)

    @staticmethod
    def uuid_of(addr: Any) -> str:
        us = getattr(addr, "uuid_string", None)
        return us() if callable(us) else str(addr)

    def view_event(self, view: Any, event: str, cmd_id: Any = None) -> dict[str, Any]:
        from pygroups.view import MergeView

        vid = view.view_id
        ev = {"event": event, "view_id": f"[{self.name_of(vid.creator)}|{vid.id}]", "number": vid.id,
              "creator": self.name_of(vid.creator), "creator_uuid": self.uuid_of(vid.creator),
              "members": [self.name_of(m) for m in view.members],
              "member_uuids": [self.uuid_of(m) for m in view.members],
              "coord": self.name_of(view.members[0]) if view.members else None,
              "merge": isinstance(view, MergeView)}
        if cmd_id is not None:
            ev["id"] = cmd_id
        return ev

    def resolve(self, name: str | None) -> Any:
        if name is None:
            return None
        view = self.ch.view
        if view is not None:
            for m in view.members:
                if self.name_of(m) == name or str(m) == name:
                    return m
        raise ValueError(f"no member named {name} in view {view}")

    # -- channel callbacks

    def on_view(self, view: Any) -> None:
        self.emit(self.view_event(view, "view"))

    def on_message(self, msg: Any) -> None:
        from pygroups.message import MsgType

        payload = msg.payload
        if msg.type == MsgType.BYTES and isinstance(payload, (bytes, bytearray, memoryview)):
            data = bytes(payload)
            magic = data[:4]
            if magic == TRACKED and len(data) >= TRACKED_HEADER:
                self.track(self.name_of(msg.src) or "?", data[4], _LONG.unpack_from(data, 5)[0])
                return
            if magic == REQ and len(data) >= 12:
                self.replies.put_nowait((msg.src, RSP + data[4:]))
                return
            if magic == RSP and len(data) >= 12:
                self.responses.put_nowait(_LONG.unpack_from(data, 4)[0])
                return
            if magic == BIG:
                self.emit({"event": "big", "src": self.name_of(msg.src), "dest": self.name_of(msg.dest),
                           "length": len(data), "sha256": hashlib.sha256(data).hexdigest()})
                return
        ev: dict[str, Any] = {"event": "msg", "src": self.name_of(msg.src), "dest": self.name_of(msg.dest),
                              "type": getattr(msg.type, "name", str(msg.type)), "flags": int(msg.flags)}
        try:
            from pygroups.aio.channel import payload_object

            obj = payload_object(msg)
            if isinstance(obj, (bytes, bytearray, memoryview)):
                raw = bytes(obj)
                ev["length"] = len(raw)
                if len(raw) <= self.args.hex_limit:
                    ev["payload_hex"] = raw.hex()
                else:
                    ev["payload_sha256"] = hashlib.sha256(raw).hexdigest()
            else:
                ev["object"] = obj if obj is None or isinstance(obj, str) else str(obj)
        except Exception as e:
            ev["payload_error"] = repr(e)
        self.emit(ev)

    def track(self, src: str, kind: int, seqno: int) -> None:
        k = KINDS[kind] if 0 <= kind < len(KINDS) else f"kind{kind}"
        key = f"{src}/{k}"
        s = self.streams.get(key)
        if s is None:
            s = self.streams[key] = Stream(src, k)
        s.add(seqno)

    # -- sending jobs (one at a time, in order)

    async def send_seq(self, cmd_id: Any, dest_name: str | None, kind: int, count: int, size: int) -> None:
        from pygroups.message import Flag

        dest = self.resolve(dest_name)
        key = f"{KINDS[kind]}/{dest_name}"
        first = self.send_seqnos.get(key, 0)
        flags = Flag.OOB if kind % 2 else 0
        pad = bytes(size - TRACKED_HEADER)
        head = TRACKED + bytes([kind])
        t0 = time.monotonic()
        for i in range(count):
            await self.ch.send(dest, head + _LONG.pack(first + i) + pad, flags=flags)
        self.send_seqnos[key] = first + count
        self.emit({"event": "sent_done", "id": cmd_id, "cmd": "send_seq", "kind": KINDS[kind], "dest": dest_name,
                   "count": count, "first": first, "last": first + count - 1, "size": size,
                   "seconds": time.monotonic() - t0})

    async def send_big(self, cmd_id: Any, dest_name: str | None, size: int) -> None:
        dest = self.resolve(dest_name)
        self.big_count += 1  # distinct contents per message
        data = BIG + random.Random(size * 31 + self.big_count).randbytes(size - 4)
        t0 = time.monotonic()
        await self.ch.send(dest, data)
        self.emit({"event": "sent_done", "id": cmd_id, "cmd": "send_big", "dest": dest_name, "size": size,
                   "sha256": hashlib.sha256(data).hexdigest(), "seconds": time.monotonic() - t0})

    async def rtt(self, cmd_id: Any, dest_name: str, count: int, size: int, warmup: int) -> None:
        dest = self.resolve(dest_name)
        while not self.responses.empty():
            self.responses.get_nowait()
        times: list[float] = []
        pad = bytes(max(size - 12, 0))
        for i in range(count + warmup):
            t0 = time.perf_counter()
            await self.ch.send(dest, REQ + _LONG.pack(i) + pad)
            while True:
                got = await asyncio.wait_for(self.responses.get(), 10.0)
                if got == i:
                    break
            if i >= warmup:
                times.append(time.perf_counter() - t0)
        times.sort()
        self.emit({"event": "rtt_done", "id": cmd_id, "count": count, "size": size,
                   "p50_us": times[count // 2] * 1e6, "p99_us": times[min(count - 1, int(count * 0.99))] * 1e6,
                   "mean_us": sum(times) / count * 1e6, "min_us": times[0] * 1e6, "max_us": times[-1] * 1e6})

    async def _worker(self) -> None:
        while True:
            job = await self.jobs.get()
            if job is None:
                return
            await job()

    async def _replier(self) -> None:
        while True:
            dest, data = await self.replies.get()
            try:
                await self.ch.send(dest, data)
            except Exception as e:
                self.emit({"event": "error", "stage": "reply", "error": repr(e)})

    def _job(self, what: str, cmd_id: Any, coro: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                await coro()
            except Exception as e:
                self.emit({"event": "error", "cmd": what, "id": cmd_id, "error": f"{type(e).__name__}: {e}"})
        return run

    # -- main

    def make_channel(self) -> Any:
        from pygroups.aio.channel import Channel
        from pygroups.stack.config import load_stack_file

        spec = load_stack_file(self.args.config, self.args.variables)
        kube = any(p.name == KUBE_PING_NAME for p in spec.protocols)
        if self.args.discard <= 0 and not kube:
            return Channel(self.args.config, name=self.args.name, variables=self.args.variables)

        def layers() -> list[Any]:
            # the stock XML as is, plus DISCARD / the discovery capture right above the transport (Java:
            # insertProtocol ABOVE TP)
            from pygroups.protocols import BUILTIN_PROTOCOLS
            from pygroups.stack.layer import Layer
            from pygroups.stack.registry import build_layers

            built = build_layers(spec, BUILTIN_PROTOCOLS, variables=self.args.variables)
            built = [x for x in built if isinstance(x, Layer)]
            extra = []
            if self.args.discard > 0:
                self.discard = _discard_layer(self.args.discard)
                extra.append(self.discard)
            if kube:
                self.capture = _capture_layer()
                extra.append(self.capture)
            return [built[0], *extra, *built[1:]]

        return Channel(layers, name=self.args.name)

    # -- KUBE_PING (as the Java node's kube_pods / kube_targets)

    def kube_layer(self) -> Any:
        for layer in self.ch.stack.layers:
            if layer.name == KUBE_PING_NAME:
                return layer
        raise RuntimeError("the stack has no KUBE_PING")

    async def run_in_stack(self, fn: Callable[..., Any], *args: Any) -> None:
        self.ch._driver.call(self.ch.stack.run_input, fn, *args)

    async def kube_pods(self, cmd_id: Any) -> None:
        """KUBE_PING's fetchFromKube: one API call through the layer's own client."""
        layer = self.kube_layer()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()

        def answered(text: str) -> None:
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(text))

        await self.run_in_stack(layer.fetch_from_kube, answered)
        text = await asyncio.wait_for(done, 60.0)
        pods = [{"name": p.name, "ip": p.ip, "group": p.group, "ready": p.ready} for p in layer.last_pods]
        self.emit({"event": "kube_pods", "id": cmd_id, "text": text, "pods": pods})

    async def kube_targets(self, cmd: dict[str, Any], cmd_id: Any) -> None:
        """One KUBE_PING discovery round (API call included) with the given attribute values, its discovery
        requests swallowed by the capture layer; reports their destinations in send order."""
        from pygroups.events import GetPhysicalAddress
        from pygroups.protocols.discovery import Responses

        layer = self.kube_layer()
        saved = {k: getattr(layer, k) for k in KUBE_SETTINGS}
        used: dict[str, Any] = {}
        try:
            for k in KUBE_SETTINGS:
                if k in cmd:
                    setattr(layer, k, int(cmd[k]) if k == "port_range" else bool(cmd[k]))
                used[k] = getattr(layer, k)
            layer.last_plan = layer.last_result = None
            self.capture.captured = []
            self.capture.protocol = layer.protocol_id
            await self.run_in_stack(layer.find_members, None, True, Responses(0, False))
            # the API answer and the sends happen in one stack input (on this loop): the round is over
            # once the layer holds this round's result
            deadline = time.monotonic() + 60.0
            while layer.last_result is None and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            self.capture.protocol = None
            for k, v in saved.items():
                setattr(layer, k, v)
        plan = layer.last_plan
        own = layer.down_layer.query_down(GetPhysicalAddress(layer.local_addr))
        ev: dict[str, Any] = {"event": "kube_targets", "id": cmd_id,
                              "targets": [_host_port(a) for a in self.capture.captured],
                              "own": _host_port(own) if own is not None else None, "settings": used}
        if plan is not None and plan.split is not None and plan.split.aborted:
            ev["event"] = "kube_targets_failed"
            ev["error"] = "; ".join(plan.split.warnings)
        self.emit(ev)

    async def run(self, lines: asyncio.Queue[str | None]) -> int:
        try:
            self.ch = self.make_channel()
            self.ch.on_view = self.on_view
            self.ch.on_message = self.on_message
            self.state = b""  # the application state (set_state / on_state), handed out by state_provider
            self.ch.state_provider = self.provide_state
            self.ch.on_state = self.install_state
            t0 = time.monotonic()
            await self.ch.connect(self.args.cluster)
            connect_ms = (time.monotonic() - t0) * 1e3
        except BaseException as e:
            self.emit({"event": "error", "stage": "connect", "error": f"{type(e).__name__}: {e}"})
            return 1
        addr = self.ch.address
        self.emit({"event": "started", "name": self.args.name, "address": str(addr), "uuid": self.uuid_of(addr),
                   "physical": None, "cluster": self.args.cluster, "lang": "python", "connect_ms": connect_ms,
                   "discard": self.args.discard})
        worker = asyncio.create_task(self._worker())
        replier = asyncio.create_task(self._replier())
        try:
            while True:
                line = await lines.get()
                if line is None:
                    await self.close()
                    self.emit({"event": "exit", "reason": "stdin closed"})
                    return 0
                if line.strip() and not await self.command(line):
                    return 0
        finally:
            worker.cancel()
            replier.cancel()

    def provide_state(self) -> bytes:
        """Java's Receiver.getState(OutputStream)."""
        self.emit({"event": "state_provided", "size": len(self.state)})
        return self.state

    def install_state(self, data: bytes) -> None:
        """Java's Receiver.setState(InputStream)."""
        self.state = bytes(data)
        self.emit({"event": "state_set", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})

    async def get_state(self, cmd_id: Any, target: str | None, timeout_ms: int) -> None:
        try:
            await self.ch.get_state(self.resolve(target), timeout=timeout_ms / 1000)
        except Exception as e:
            self.emit({"event": "state_done", "id": cmd_id, "ok": False, "error": f"{type(e).__name__}: {e}"})
        else:
            self.emit({"event": "state_done", "id": cmd_id, "ok": True})

    async def close(self) -> None:
        closer = getattr(self.ch, "close", None)
        if closer is not None:
            await closer()
        else:
            await self.ch.__aexit__(None, None, None)

    async def command(self, line: str) -> bool:
        try:
            cmd = json.loads(line)
        except ValueError as e:
            self.emit({"event": "error", "error": f"bad JSON: {e}", "line": line})
            return True
        what, cmd_id = str(cmd.get("cmd")), cmd.get("id")
        try:
            if what == "send":
                await self.ch.send(self.resolve(cmd.get("dest")), str(cmd.get("text")))
                self.emit({"event": "sent", "cmd": what, "count": 1, "id": cmd_id})
            elif what == "send_bytes":
                from pygroups.message import Flag

                dest = self.resolve(cmd.get("dest"))
                size, count = int(cmd.get("size", 0)), int(cmd.get("count", 1))
                flags = Flag.OOB if cmd.get("oob") else 0
                for i in range(count):
                    await self.ch.send(dest, bytes((j * 31 + i) & 0xFF for j in range(size)), flags=flags)
                self.emit({"event": "sent", "cmd": what, "count": count, "id": cmd_id})
            elif what == "send_seq":
                dest_name = cmd.get("dest")
                self.resolve(dest_name)
                count, size = int(cmd.get("count", 1)), max(TRACKED_HEADER, int(cmd.get("size", TRACKED_HEADER)))
                kind = (0 if dest_name is None else 2) + (1 if cmd.get("oob") else 0)
                self.jobs.put_nowait(self._job(what, cmd_id,
                                               lambda: self.send_seq(cmd_id, dest_name, kind, count, size)))
            elif what == "send_big":
                dest_name, size = cmd.get("dest"), int(cmd.get("size", 5_000_000))
                self.resolve(dest_name)
                self.jobs.put_nowait(self._job(what, cmd_id, lambda: self.send_big(cmd_id, dest_name, size)))
            elif what == "rtt":
                dest_name = str(cmd.get("dest"))
                count, size = int(cmd.get("count", 1000)), max(12, int(cmd.get("size", 100)))
                warmup = int(cmd.get("warmup", 100))
                self.resolve(dest_name)
                self.jobs.put_nowait(self._job(what, cmd_id,
                                               lambda: self.rtt(cmd_id, dest_name, count, size, warmup)))
            elif what == "partition":  # DISCARD drops everything from these members (Java's addIgnoreMember)
                if self.discard is None:
                    raise RuntimeError("the node was started without --discard")
                names = list(cmd.get("ignore", ()))
                for n in names:
                    self.discard.add_ignore_member(self.resolve(n))
                self.emit({"event": "partitioned", "id": cmd_id, "ignored": names})
            elif what == "heal":
                if self.discard is None:
                    raise RuntimeError("the node was started without --discard")
                self.discard.reset_ignored_members()
                self.emit({"event": "healed", "id": cmd_id})
            elif what == "set_state":  # the same bytes as the Java peer's Fixtures.pattern(size, seed)
                size, seed = int(cmd.get("size", 0)), int(cmd.get("seed", 0))
                self.state = bytes((i * 31 + seed) & 0xFF for i in range(size))
                self.emit({"event": "state_stored", "id": cmd_id, "size": size,
                           "sha256": hashlib.sha256(self.state).hexdigest()})
            elif what == "get_state":
                target, timeout_ms = cmd.get("target"), int(cmd.get("timeout", 30_000))
                self.jobs.put_nowait(self._job(what, cmd_id, lambda: self.get_state(cmd_id, target, timeout_ms)))
            elif what == "discard":
                if self.discard is None:
                    raise RuntimeError("the node was started without --discard")
                rate = float(cmd.get("rate", self.args.discard))
                _set_discard_rate(self.discard, rate)
                self.emit({"event": "discarding", "id": cmd_id, "rate": rate})
            elif what == "stats":
                streams = {k: s.summary() for k, s in sorted(self.streams.items())}
                discarded = -1 if self.discard is None else int(self.discard.counters["dropped_up_messages"])
                self.emit({"event": "stats", "id": cmd_id, "streams": streams, "discarded": discarded})
            elif what == "reset":
                self.streams.clear()
                self.send_seqnos.clear()
                self.emit({"event": "reset", "id": cmd_id})
            elif what == "view":
                self.emit(self.view_event(self.ch.view, "current_view", cmd_id))
            elif what == "kube_pods":
                self.jobs.put_nowait(self._job(what, cmd_id, lambda: self.kube_pods(cmd_id)))
            elif what == "kube_targets":
                self.jobs.put_nowait(self._job(what, cmd_id, lambda: self.kube_targets(cmd, cmd_id)))
            elif what == "disconnect":
                await self.ch.disconnect()
                self.emit({"event": "disconnected", "id": cmd_id})
                self.emit({"event": "left", "id": cmd_id})
            elif what == "exit":
                await self.close()
                self.emit({"event": "exit", "id": cmd_id})
                return False
            else:
                self.emit({"event": "error", "error": f"unknown cmd {what}", "id": cmd_id})
        except Exception as e:
            self.emit({"event": "error", "cmd": what, "id": cmd_id, "error": f"{type(e).__name__}: {e}"})
        return True


def _stdin_reader(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    for line in sys.stdin:
        loop.call_soon_threadsafe(lines.put_nowait, line)
    loop.call_soon_threadsafe(lines.put_nowait, None)


async def _main(args: argparse.Namespace, emit: Callable[[dict[str, Any]], None]) -> int:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=_stdin_reader, args=(loop, lines), daemon=True, name="stdin").start()
    return await PyNode(args, emit).run(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    variables: dict[str, str] = {}
    rest = []
    for a in argv:
        if a.startswith("-D") and "=" in a:
            k, v = a[2:].split("=", 1)
            variables[k] = v
        else:
            rest.append(a)
    p = argparse.ArgumentParser(prog="pypeer.py")
    sub = p.add_subparsers(dest="mode", required=True)
    n = sub.add_parser("node", help="a pygroups Channel driven by JSON lines (as the Java peer's node mode)")
    n.add_argument("--config", required=True)
    n.add_argument("--name", required=True)
    n.add_argument("--cluster", default="chat")
    n.add_argument("--discard", type=float, default=0.0)
    n.add_argument("--hex-limit", type=int, default=2048)
    args = p.parse_args(rest)
    args.variables = variables
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr  # stdout carries JSON only
    os.dup2(sys.stderr.fileno(), 1)
    level = os.environ.get("PYGROUPS_PEER_LOG")  # e.g. INFO or DEBUG: pygroups' log lines on stderr
    if level:
        import logging

        logging.basicConfig(level=level.upper(), stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return asyncio.run(_main(args, emit_to(out)))


if __name__ == "__main__":
    sys.exit(main())
