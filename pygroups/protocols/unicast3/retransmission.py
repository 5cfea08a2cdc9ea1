"""UNICAST3's retransmit task (every ``xmit_interval``): pending ACKs, XMIT_REQs for gaps seen on two
consecutive runs, a re-send of the highest unacked message when nothing moved since the last run, and
the ageing of connections."""

from __future__ import annotations

from pygroups.address import Address
from pygroups.clock import MS
from pygroups.message import Message, MsgType
from pygroups.objects import SeqnoList
from pygroups.protocols.reliable import is_message, seqno_list, seqnos_of
from pygroups.wire.headers.unicast import XMIT_REQ, UnicastHeader3

from .base import NO_FC, OOB
from .connections import Connections


class Retransmitter(Connections):
    def on_xmit_timer(self) -> None:
        self._xmit_task = None
        if not self._running:
            return
        try:
            self.trigger_xmit()
        finally:
            if self._running:
                self._xmit_task = self.timers.call_later(self.xmit_interval * MS, self.on_xmit_timer)

    def trigger_xmit(self) -> None:
        """One run of the RetransmitTask (UNICAST3.triggerXmit)."""
        for target, r in list(self.recv_table.items()):
            win = r.win
            if r.send_ack:
                r.send_ack = False
                self.send_ack(target, win.highest_deliverable(), r.conn_id)
            missing = win.missing(self._max_xmit_req) if win.num_missing > 0 else None
            seqnos = seqnos_of(missing) if missing is not None else []
            if missing is not None and seqnos:
                highest = seqnos[-1]
                prev = self._xmit_task_map.get(target)
                if prev is None:
                    self._xmit_task_map[target] = highest
                else:
                    seqnos = [s for s in seqnos if s <= prev]  # only the previous run's gaps
                    if highest > prev:
                        self._xmit_task_map[target] = highest
                    if seqnos:
                        hd = win.highest_deliverable()
                        if seqnos[0] < hd:
                            seqnos = [s for s in seqnos if s > hd]
                        self.send_xmit_req(target, seqno_list(missing.size, missing.offset, seqnos), len(seqnos))
            else:
                self._xmit_task_map.pop(target, None)

        for dest, s in list(self.send_table.items()):
            win = s.win
            highest_acked, highest_sent = win.hd, win.hr
            if highest_acked < highest_sent and s.watermark == (highest_acked, highest_sent):
                msg = win.get(highest_sent)
                if is_message(msg):
                    self.log.debug("--> %s: resending #%d", dest, highest_sent)
                    self.counters["num_xmits"] += 1
                    self.down_layer.down_msg(msg.copy())
            else:
                s.watermark = (highest_acked, highest_sent)

        if self.conn_expiry_timeout > 0:
            self.close_idle_connections()
        if self.conn_close_timeout > 0:
            self.remove_expired_connections()

    def send_xmit_req(self, target: Address, missing: SeqnoList, count: int) -> None:
        msg = Message(MsgType.OBJECT, dest=target, flags=OOB | NO_FC, payload=missing)
        msg.put_header(self.protocol_id, UnicastHeader3(XMIT_REQ))
        self.log.debug("--> %s: XMIT_REQ(%s)", target, missing.seqnos)
        self.counters["xmit_reqs_sent"] += count
        self.down_layer.down_msg(msg)
