"""org.jgroups.protocols.dns: DNS_PING (discovery through DNS A/AAAA/SRV records).

Importing this package registers ``dns.DNS_PING``; `DnsResolver` (in `.resolver`, the only module
here doing I/O) is imported by the layer on first use."""

from pygroups.protocols.dns.dns_ping import DNS_PING
from pygroups.protocols.dns.records import DNSResolver, Resolution

__all__ = ["DNS_PING", "DNSResolver", "Resolution"]
