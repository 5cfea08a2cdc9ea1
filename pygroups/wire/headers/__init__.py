"""Every protocol header pygroups can read or write, registered by magic id.

Importing this package imports every header module, which completes `HEADERS_BY_MAGIC`: headers
carry no length, so a frame with a header whose magic is missing there cannot be decoded.
Protocol ids and the names Java prints for them are in `pygroups.wire.protocol_ids`.
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

__all__ = [
    "HEADERS_BY_MAGIC",
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
    "relay",
    "rpc",
    "rsvp",
    "sequencer",
    "stable",
    "state",
    "tp",
    "unicast",
]
