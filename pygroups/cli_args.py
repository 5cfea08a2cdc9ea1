"""Argument types the ``pygroups`` subcommands share (``chat``, ``doctor``), in a module of their own so the
command modules need not import each other."""

from __future__ import annotations

import argparse

__all__ = ["define_arg"]


def define_arg(text: str) -> tuple[str, str]:
    """argparse type of ``-D NAME=VALUE`` (a ${NAME} variable, like java -DNAME=VALUE)."""
    name, eq, value = text.partition("=")
    if not eq or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name, value
