"""Every protocol header pygroups can read or write, registered by magic id, and protocol names.

Importing this package imports every header module, which completes `HEADERS_BY_MAGIC`: headers
carry no length, so a frame with a header whose magic is missing there cannot be decoded.
"""

from __future__ import annotations

from pygroups.wire.headers import (
    auth,
    encrypt,
    fc,
    fd,
    fork,
    frag,
    gms,
    legacy,
    merge3,
    misc,
    nakack,
    ping,
    relay,
    rpc,
    rsvp,
    sequencer,
    stable,
    state,
    tp,
    unicast,
)
from pygroups.wire.headers.base import HEADERS_BY_MAGIC, header, header_format

#: protocol id -> Java simple class name: jg-protocol-ids.xml of 5.5.6 (what Headers.printHeaders
#: prints via ClassConfigurator.getProtocol), plus ids external jars register for themselves.
PROTOCOL_NAMES: dict[int, str] = {
    2: "FD_SOCK",
    3: "FRAG",
    4: "FRAG2",
    5: "PING",
    6: "MPING",
    8: "FILE_PING",
    9: "TCPPING",
    10: "TCPGOSSIP",
    11: "VERIFY_SUSPECT",
    12: "GMS",
    13: "STABLE",
    14: "STATE_TRANSFER",
    15: "COMPRESS",
    16: "UDP",
    17: "TCP",
    18: "TUNNEL",
    19: "SEQUENCER",
    20: "FD_ALL",
    21: "FD_ALL2",
    23: "AUTH",
    24: "STATE",
    25: "STATE_SOCK",
    26: "DISCARD",
    27: "SHARED_LOOPBACK",
    28: "DAISYCHAIN",
    30: "MFC",
    31: "UFC",
    32: "JDBC_PING",
    33: "STOMP",
    34: "BPING",
    37: "COUNTER",
    38: "MERGE3",
    39: "RSVP",
    40: "RACKSPACE_PING",
    41: "NAKACK2",
    43: "SWIFT_PING",
    44: "RELAY2",
    45: "RELAY3",
    46: "PDC",
    48: "UNICAST3",
    49: "PERF",
    50: "SHARED_LOOPBACK_PING",
    53: "SEQUENCER2",
    54: "FD_HOST",
    56: "TCP_NIO2",
    57: "TP",
    58: "SYM_ENCRYPT",
    59: "ASYM_ENCRYPT",
    61: "DNS_PING",
    62: "FRAG3",
    65: "DH_KEY_EXCHANGE",
    68: "LOCAL_PING",
    69: "FRAG4",
    70: "FD_ALL3",
    71: "FD_SOCK2",
    72: "VERIFY_SUSPECT2",
    74: "BATCH2",
    75: "JDBC_PING2",
    76: "NAKACK3",
    77: "NAKACK4",
    78: "UNICAST4",
    200: "RequestCorrelator",
    202: "MPerf",
    203: "FORK",
    # external="true" in jg-protocol-ids.xml: only known once the protocol's own jar registers it.
    520: "ELECTION",
    521: "RAFT",
    522: "REDIRECT",
    523: "CLIENT",
    530: "AZURE_PING",
    531: "MONGO_PING",
    550: "OPEN_TELEMETRY",
    # jgroups-kubernetes: KUBE_PING's static initializer calls ClassConfigurator.addProtocol(2017, ...).
    2017: "KUBE_PING",
}


def protocol_name(protocol_id: int) -> str:
    """The name Java prints for a header's protocol id; the decimal id if unknown."""
    return PROTOCOL_NAMES.get(protocol_id, str(protocol_id))


__all__ = [
    "HEADERS_BY_MAGIC",
    "PROTOCOL_NAMES",
    "auth",
    "encrypt",
    "fc",
    "fd",
    "fork",
    "frag",
    "gms",
    "header",
    "header_format",
    "legacy",
    "merge3",
    "misc",
    "nakack",
    "ping",
    "protocol_name",
    "relay",
    "rpc",
    "rsvp",
    "sequencer",
    "stable",
    "state",
    "tp",
    "unicast",
]

#: Ids whose protocol lives in another jar (external="true"): Java names them only when that jar is loaded.
EXTERNAL_PROTOCOL_IDS = frozenset({520, 521, 522, 523, 530, 531, 550})
