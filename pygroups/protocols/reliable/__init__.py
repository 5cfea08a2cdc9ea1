"""The reliable-delivery toolkit NAKACK2 and UNICAST3 share (see docs/design/reliable.md).

table.py: `Table`, the per-sender seqno window (org.jgroups.util.Table) with its missing list,
digest pair and purge, and the `SeqnoList` helpers of XMIT_REQ. delivery.py: the OOB placeholder,
the delivery filters and the one-loop-per-table guard. Merges reset and merge digests in these tables.
"""

from .delivery import (
    DUMMY_OOB,
    DeliveryGuard,
    add_received,
    deliverable,
    is_message,
    mark_oob_delivered,
    no_delivery_needed,
    oob_from_self,
)
from .table import Table, seqno_list, seqnos_of

__all__ = [
    "DUMMY_OOB", "DeliveryGuard", "Table", "add_received", "deliverable", "is_message", "mark_oob_delivered",
    "no_delivery_needed", "oob_from_self", "seqno_list", "seqnos_of",
]
