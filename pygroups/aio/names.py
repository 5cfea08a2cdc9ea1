"""Logical names and view text as Java prints them (JChannel's generated names, View.toString)."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from typing import Final

from pygroups.address import Address
from pygroups.view import MergeView, View


def generate_local_name(rng: random.Random) -> str:
    """Util.generateLocalName: the short host name, a dash and a number in 1..65534."""
    try:
        host = socket.gethostname() or "localhost"
    except OSError:
        host = "localhost"
    dot = host.find(".")
    if dot > 0 and not host[0].isdigit():
        host = host[:dot]
    return f"{host}-{rng.randint(1, 65534)}"


MAX_LIST_PRINT_SIZE: Final = 20  # Util.MAX_LIST_PRINT_SIZE


def format_view(view: View, name_of: Callable[[Address | None], str] = str) -> str:
    """View.toString (MergeView.toString for merge views), printing addresses with ``name_of``."""
    members = view.members
    shown = ", ".join(name_of(m) for m in members[:MAX_LIST_PRINT_SIZE])
    if len(members) > MAX_LIST_PRINT_SIZE:
        shown += " ..."
    text = f"[{name_of(view.view_id.creator)}|{view.view_id.id}] ({len(members)}) [{shown}]"
    if isinstance(view, MergeView):
        text = "MergeView::" + text
        if view.subgroups:
            subs = [format_view(v, name_of) for v in view.subgroups[:MAX_LIST_PRINT_SIZE]]
            more = " ..." if len(view.subgroups) > MAX_LIST_PRINT_SIZE else ""
            text += f", {len(view.subgroups)} subgroups: {', '.join(subs)}{more}"
    return text
