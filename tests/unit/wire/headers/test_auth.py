"""AuthHeader (magic 66) with its token classes."""

from __future__ import annotations

import construct
import pytest

from pygroups.wire.headers.auth import AuthHeader, FixedMembershipToken, RegexMembership, X509Token

F = AuthHeader.FORMAT


def test_fixed_membership_token() -> None:
    hdr = AuthHeader(FixedMembershipToken("a"))
    assert F.build(hdr).hex() == "01" "0010" "01000161"
    assert F.parse(bytes.fromhex("010010" "01000161")) == hdr
    assert hdr.to_json() == {"token": {"class": "FixedMembershipToken", "token": "a"}}


def test_x509_and_regex_and_null() -> None:
    assert F.build(AuthHeader(X509Token(b"\x09"))).hex() == "01" "0011" "010000000109"
    regex = F.build(AuthHeader(RegexMembership()))
    assert regex.hex() == "01" "ffff" "0020" + b"org.jgroups.auth.RegexMembership".hex()
    assert F.parse(regex) == AuthHeader(RegexMembership())
    assert F.build(AuthHeader(None)) == b"\x00"
    assert AuthHeader(None).to_json() == {"token": None}


@pytest.mark.parametrize("hexdata", ["01000f", "01ffff" "0003" "612e42"])
def test_unknown_token_classes_fail(hexdata: str) -> None:
    with pytest.raises(construct.ConstructError):
        F.parse(bytes.fromhex(hexdata))
