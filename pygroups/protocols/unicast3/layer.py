"""The UNICAST3 layer: lifecycle, event dispatch and statistics over the section modules.

Why it looks the way it does: Java nodes talk to us through it, so conn_ids, seqnos, the `first`
flag, ACK timestamps, SEND_FIRST_SEQNO and XMIT_REQ follow org.jgroups.protocols.UNICAST3 exactly.

- Send side (per destination): a `_SenderEntry` with a conn_id from a node-wide counter (0, 1, ...
  wrapping to 0 after 32767), seqnos from 1 (``first`` set on seqno 1), every message kept until
  an ACK with the entry's conn_id and a newer timestamp purges it. Unicasts to ourselves go through
  the same send window and are delivered from it when the transport loops them back (Java's
  ``handleDataReceivedFromSelf``), unless ``loopback`` is set (then they bypass the window).
- Receive side (per sender): a `_ReceiverEntry` keyed by the sender's conn_id, created by a DATA
  with ``first``; a DATA that finds no entry (or another conn_id) without ``first`` is cached and
  answered with SEND_FIRST_SEQNO (rate-limited by ``sync_min_interval``). OOB messages are
  delivered on arrival and tracked with a placeholder so they are never delivered twice.
- The retransmit task (every ``xmit_interval``) sends pending ACKs, XMIT_REQs for gaps seen on two
  consecutive runs, re-sends the highest unacked message when nothing moved since the last run,
  and ages connections out (``conn_expiry_timeout`` -> CLOSING, ``conn_close_timeout`` -> removed,
  CLOSE sent to members). A batch of >= ``ack_threshold`` messages is acked at once.
- ``max_retransmit_time``: send entries to non-members are closed after that long (AgeOutCache).

Events: handles `ViewChange` going down (`members_changed`: closes entries of non-members, reopens members'); stop()
(after `Disconnect`) sends pending acks and clears all state. Everything else passes through.

Statistics keys (`statistics()`): counters ``num_msgs_sent``, ``num_msgs_received``,
``num_msgs_delivered``, ``num_acks_sent``, ``num_acks_received``, ``num_xmits`` (sender-side
re-sends of the highest unacked message), ``xmit_reqs_sent`` / ``xmit_reqs_received`` (seqnos
asked for), ``xmit_rsps_sent``, ``num_loopbacks``, ``num_duplicates``, ``num_first_seqno_reqs_sent``,
``num_first_seqno_resends``, ``num_close_sent``, ``num_close_received``, ``dropped_*`` (bad input);
gauges ``num_unacked_msgs`` (messages held in all send windows), ``num_send_connections``,
``num_receive_connections``, ``xmit_table_undelivered_msgs`` (messages held in receive windows),
``xmit_table_missing_msgs``, ``num_cached_msgs`` (messages waiting for a receive entry),
``age_out_cache_size``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pygroups.address import Address
from pygroups.events import Event, ViewChange
from pygroups.stack.registry import protocol

from .receiver import Receiver
from .retransmission import Retransmitter

# Java derives max_xmit_req_size from the bundler's max size (64000 by default) when it is 0.
_DEFAULT_BUNDLER_MAX_SIZE = 64000


@protocol("UNICAST3")
class UNICAST3(Receiver, Retransmitter):
    # --- lifecycle ------------------------------------------------------------------------------------

    def init(self) -> None:
        max_size = getattr(self.stack.transport, "max_bundle_size", _DEFAULT_BUNDLER_MAX_SIZE)
        estimated = ((max_size if isinstance(max_size, int) else _DEFAULT_BUNDLER_MAX_SIZE) - 50) * 8
        self._max_xmit_req = estimated if self.max_xmit_req_size <= 0 else min(self.max_xmit_req_size, estimated)
        if self.xmit_interval <= 0:
            self.log.warning("xmit_interval (%d) has to be > 0; using 500", self.xmit_interval)
            self.xmit_interval = 500

    def start(self) -> None:
        self._msg_cache.clear()
        self._running = True
        if self._xmit_task is None:
            self._xmit_task = self.timers.call_later(0, self.on_xmit_timer)

    def stop(self) -> None:
        self.send_pending_acks()
        self._running = False
        if self._xmit_task is not None:
            self._xmit_task.cancel()
            self._xmit_task = None
        self._xmit_task_map.clear()
        for handle in self._age_out.values():
            handle.cancel()
        self._age_out.clear()
        self.remove_all_connections()
        self._msg_cache.clear()

    def down(self, evt: Event) -> None:
        match evt:
            case ViewChange(view=v):
                self.track_view(v)
        self.down_layer.down(evt)

    # --- introspection --------------------------------------------------------------------------------

    def num_unacked_messages(self, dest: Address | None = None) -> int:
        if dest is not None:
            entry = self.send_table.get(dest)
            return entry.win.num_stored if entry is not None else 0
        return sum(e.win.num_stored for e in self.send_table.values())

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict(self.counters)
        stats.update(
            num_unacked_msgs=self.num_unacked_messages(),
            num_send_connections=len(self.send_table),
            num_receive_connections=len(self.recv_table),
            xmit_table_undelivered_msgs=sum(e.win.num_stored for e in self.recv_table.values()),
            xmit_table_missing_msgs=sum(e.win.num_missing for e in self.recv_table.values()),
            num_cached_msgs=sum(len(v) for v in self._msg_cache.values()),
            age_out_cache_size=len(self._age_out),
        )
        return MappingProxyType(stats)
