"""pygroups: a JGroups-compatible group communication stack (JGroups 5.5.x wire format, JGroups XML stacks).

The names here are the stable public surface; the wire codec lives in `pygroups.wire.codec`, XML loading in
`pygroups.stack.config`, the sans-IO stack in `pygroups.stack`.
"""

from pygroups.address import UUID, Address, ExtendedUUID, IpAddress
from pygroups.errors import (
    ConfigError,
    LocalProtocolError,
    MalformedFrame,
    MalformedMessage,
    ProtocolError,
    PyGroupsError,
    RemoteProtocolError,
)
from pygroups.message import Flag, Message, MsgType
from pygroups.view import Digest, MergeView, View, ViewId
from pygroups.wire.version import DEFAULT_VERSION, WireVersion

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_VERSION",
    "UUID",
    "Address",
    "ConfigError",
    "Digest",
    "ExtendedUUID",
    "Flag",
    "IpAddress",
    "LocalProtocolError",
    "MalformedFrame",
    "MalformedMessage",
    "MergeView",
    "Message",
    "MsgType",
    "ProtocolError",
    "PyGroupsError",
    "RemoteProtocolError",
    "View",
    "ViewId",
    "WireVersion",
    "__version__",
]
