"""pbcast.NAKACK2: reliable, FIFO-per-sender multicast with negative acknowledgements.

Modules: layer.py (the NAKACK2 layer: lifecycle, events, statistics; its docstring lists the
statistics keys), base.py (properties and state), sender.py (seqnos, our own table), receiver.py (MSG,
XMIT_RSP, delivery, the become-server queue), retransmission.py (XMIT_REQ, HIGHEST_SEQNO, the
retransmit task), digests.py (tables per member, SetDigest/MergeDigest/OverwriteDigest, STABLE).
The tables, the OOB placeholder and the delivery filters are the shared pygroups.protocols.reliable.
"""

from .layer import NAKACK2

__all__ = ["NAKACK2"]
