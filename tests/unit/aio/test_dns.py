"""The driver's DNS handler without a network: one resolver per server and timeout, `ResolveDns` answered with
`DnsResolved` carrying every query's problems. The resolver against the DNS stand-in is tested in
tests/integration/aio/test_dns_resolver.py."""

from __future__ import annotations

import pytest

from pygroups.aio.dns import DnsLookups, DnsResolver
from pygroups.aio.handlers import default_io_handlers, handler_for
from pygroups.errors import ConfigError
from pygroups.protocols.dns.requests import DnsResolved, ResolveDns


def test_one_resolver_per_server_and_timeout() -> None:
    lookups = DnsLookups(srv_targets="server")
    r = lookups.resolver("127.0.0.1:5353", 2.0)
    assert isinstance(r, DnsResolver) and r.server == ("127.0.0.1", 5353) and r.srv_targets == "server"
    assert lookups.resolver("127.0.0.1:5353", 2.0) is r
    assert lookups.resolver("127.0.0.1:5353", 1.0) is not r
    assert lookups.resolver("", 2.0).server is None


def test_resolve_answers_with_the_request_id_and_every_querys_problems() -> None:
    answer = DnsLookups().resolve(ResolveDns(9, ("a.test", "b.test"), "MX", "127.0.0.1:5353"))
    assert isinstance(answer, DnsResolved) and answer.request_id == 9
    assert answer.resolution.addresses == () and len(answer.resolution.problems) == 2
    assert "unknown DNS record type 'MX'" in answer.resolution.problems[0]


def test_bad_settings_raise_and_so_become_io_failed_in_the_driver() -> None:
    with pytest.raises(ConfigError):
        DnsLookups().resolve(ResolveDns(1, ("a.test",), "A", "host:0"))
    assert ResolveDns(1, ("a.test",), "A").failed(ConfigError("x")).error == "dns failed: ConfigError('x')"


def test_the_default_table_has_a_dns_handler() -> None:
    handler = handler_for(default_io_handlers(), ResolveDns(1, (), "A"))
    assert handler is not None and isinstance(getattr(handler, "__self__", None), DnsLookups)
