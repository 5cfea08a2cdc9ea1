"""UNICAST3: reliable, FIFO unicast with positive (ACK) and negative (XMIT_REQ) acks, as in JGroups 5.5.6.

Modules: layer.py (the UNICAST3 layer: lifecycle, events, statistics; its docstring lists the
statistics keys), base.py (properties, state, ACKs), entries.py (send/receive entries, conn_ids,
timestamps), sender.py (DATA out; ACK, SEND_FIRST_SEQNO and XMIT_REQ in), receiver.py (DATA in,
delivery), retransmission.py (the retransmit task), connections.py (views, ageing, CLOSE). The windows,
the OOB placeholder and the delivery filters are the shared pygroups.protocols.reliable.
"""

from pygroups.protocols.reliable import seqno_list

from .layer import UNICAST3

__all__ = ["UNICAST3", "seqno_list"]
