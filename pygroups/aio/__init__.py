"""The asyncio side of pygroups: `StackDriver` runs a sans-IO stack over sockets, `Channel` is the
application API (JChannel), `BlockingChannel` its synchronous facade; `netif` reads interfaces. The blocking
clients the core's typed requests describe live here too: `kubernetes` (KUBE_PING's `ListPods`) and `dns`
(DNS_PING's `ResolveDns`), mapped by request type in `handlers`."""

from pygroups.aio.blocking import BlockingChannel
from pygroups.aio.channel import Channel, format_view, make_message, open_channel, payload_object
from pygroups.aio.driver import StackDriver

__all__ = ["BlockingChannel", "Channel", "StackDriver", "format_view", "make_message", "open_channel",
           "payload_object"]
