"""Protocol implementations, mirroring org.jgroups.protocols (the XML stacks live in the top-level
``protocols/`` directory, which is data). Importing this package registers every protocol."""

from pygroups.protocols import discard, flow_control, frag, shared_loopback, tcp, tcpping, unicast3
from pygroups.protocols.dns import dns_ping as dns_ping
from pygroups.protocols.kubernetes import kube_ping
from pygroups.protocols.pbcast import gms, nakack2, stable

__all__ = [
    "discard", "flow_control", "frag", "gms", "kube_ping", "nakack2", "shared_loopback", "stable", "tcp", "tcpping",
    "unicast3",
]
