"""The argument types the ``pygroups`` subcommands share."""

from __future__ import annotations

import argparse

import pytest

from pygroups.cli_args import define_arg


def test_define_arg_splits_at_the_first_equals_sign() -> None:
    assert define_arg("a=b") == ("a", "b")
    assert define_arg("a=") == ("a", "")
    assert define_arg("url=x=y") == ("url", "x=y")
    for bad in ("a", "=b", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME=VALUE"):
            define_arg(bad)
