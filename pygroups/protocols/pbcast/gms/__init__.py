"""pbcast.GMS: group membership (org.jgroups.protocols.pbcast.GMS and its GmsImpl roles).

Modules: layer.py (the GMS layer: events, view installation, VIEW cast and VIEW_ACK collection),
handlers.py (one function per GmsHeader type), client.py
(joining), participant.py, coordinator.py (roles), view_handler.py (request batching),
leaver.py (LEAVE_REQ/LEAVE_RSP), membership.py (next-view arithmetic), merger.py (merging subgroups).
The events GMS sends to the channel (JoinFailed, Leave, LeaveComplete) live in pygroups.events.
"""

from pygroups.events import JoinFailed, Leave, LeaveComplete

from .layer import GMS

__all__ = ["GMS", "JoinFailed", "Leave", "LeaveComplete"]
