"""pygroups: a JGroups-compatible group communication stack (JGroups 5.5.x wire format, JGroups XML stacks).

The names here are the stable public surface; the wire codec lives in `pygroups.wire.codec`, XML loading in
`pygroups.stack.config`, the sans-IO stack in `pygroups.stack`, the asyncio channel in `pygroups.aio`.
The channel names (`Channel`, `open_channel`, `BlockingChannel`, `payload_object`) load lazily, so
``import pygroups`` does not pull in asyncio.
"""

from typing import TYPE_CHECKING, Any

from pygroups.address import UUID, Address, ExtendedUUID, IpAddress
from pygroups.errors import (
    ChannelClosed,
    ConfigError,
    ConnectError,
    ConnectTimeout,
    LocalProtocolError,
    MalformedFrame,
    MalformedMessage,
    ProtocolError,
    PyGroupsError,
    RemoteProtocolError,
    StateTransferError,
)
from pygroups.message import Flag, Message, MsgType
from pygroups.stack.io import Received, ViewInstalled
from pygroups.view import Digest, MergeView, View, ViewId
from pygroups.wire.version import DEFAULT_VERSION, WireVersion

if TYPE_CHECKING:
    from pygroups.aio.blocking import BlockingChannel
    from pygroups.aio.channel import Channel, open_channel, payload_object

__version__ = "0.1.0"

def __getattr__(name: str) -> Any:
    # Plain imports (not import_module strings), so import-graph checks see these edges too.
    if name in ("Channel", "open_channel", "payload_object"):
        from pygroups.aio import channel

        return getattr(channel, name)
    if name == "BlockingChannel":
        from pygroups.aio import blocking

        return blocking.BlockingChannel
    raise AttributeError(f"module 'pygroups' has no attribute {name!r}")


__all__ = [
    "DEFAULT_VERSION",
    "UUID",
    "Address",
    "BlockingChannel",
    "Channel",
    "ChannelClosed",
    "ConfigError",
    "ConnectError",
    "ConnectTimeout",
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
    "Received",
    "RemoteProtocolError",
    "StateTransferError",
    "View",
    "ViewId",
    "ViewInstalled",
    "WireVersion",
    "__version__",
    "open_channel",
    "payload_object",
]
