"""Protocol implementations, mirroring org.jgroups.protocols (the XML stacks live in the top-level
``protocols/`` directory, which is data).

`BUILTIN_PROTOCOLS` is the registry of every protocol pygroups implements, assembled here, above the
stack core (which never imports implementations): hand it to `pygroups.stack.registry.build_layers`,
or extend it with an application's own (`BUILTIN_PROTOCOLS.with_protocols(MyProtocol)`).
"""

from pygroups.protocols.barrier import BARRIER
from pygroups.protocols.discard import DISCARD
from pygroups.protocols.dns.dns_ping import DNS_PING
from pygroups.protocols.fd_all3 import FD_ALL3
from pygroups.protocols.fd_sock2 import FD_SOCK2
from pygroups.protocols.flow_control import MFC, UFC
from pygroups.protocols.frag import FRAG2, FRAG4
from pygroups.protocols.kubernetes.kube_ping import KUBE_PING
from pygroups.protocols.merge3 import MERGE3
from pygroups.protocols.pbcast.gms import GMS
from pygroups.protocols.pbcast.nakack2 import NAKACK2
from pygroups.protocols.pbcast.stable import STABLE
from pygroups.protocols.pbcast.state_transfer import STATE_TRANSFER
from pygroups.protocols.red import RED
from pygroups.protocols.shared_loopback import SHARED_LOOPBACK, SHARED_LOOPBACK_PING
from pygroups.protocols.tcp import TCP
from pygroups.protocols.tcpping import TCPPING
from pygroups.protocols.unicast3 import UNICAST3
from pygroups.protocols.verify_suspect2 import VERIFY_SUSPECT2
from pygroups.stack.registry import ProtocolRegistry

BUILTIN_PROTOCOLS = ProtocolRegistry([
    TCP, SHARED_LOOPBACK,
    TCPPING, KUBE_PING, DNS_PING, SHARED_LOOPBACK_PING,
    GMS, NAKACK2, UNICAST3, STABLE,
    UFC, MFC, FRAG2, FRAG4,
    DISCARD,
    FD_SOCK2, FD_ALL3, VERIFY_SUSPECT2,
    MERGE3,
    BARRIER, RED, STATE_TRANSFER,
])
"""Every protocol pygroups implements, by its JGroups name (TCP, pbcast.GMS, kubernetes.KUBE_PING, ...)."""

__all__ = ["BUILTIN_PROTOCOLS"]
