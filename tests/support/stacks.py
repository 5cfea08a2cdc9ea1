"""The stacks Java deployments run, as files: the JGroups jar's and Infinispan's, kept verbatim in tests/data/config,
and the one change Infinispan users make to run its TCP stack without IP multicast."""

from __future__ import annotations

import re
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "data" / "config"
JAR_TCP = CONFIG / "jgroups-5.5.6" / "tcp.xml"
INFINISPAN = CONFIG / "infinispan-16.2.2"
INFINISPAN_TCP = INFINISPAN / "default-jgroups-tcp.xml"
INFINISPAN_KUBERNETES = INFINISPAN / "default-jgroups-kubernetes.xml"
TCPPING = '<TCPPING initial_hosts="${jgroups.tcpping.initial_hosts:127.0.0.1[7800]}"/>'


def infinispan_tcp_with_tcpping(directory: Path) -> Path:
    """Infinispan's default-jgroups-tcp.xml with its MPING (IP multicast) swapped for TCPPING, as Infinispan users do
    with ``stack.combine="REPLACE"``; nothing else changes. Written into ``directory``; returns the new file."""
    swapped, n = re.subn(r"<MPING\b[^>]*/>", TCPPING, INFINISPAN_TCP.read_text())
    if n != 1:
        raise ValueError(f"{INFINISPAN_TCP} should hold exactly one MPING element, not {n}")
    path = directory / "infinispan-tcp-tcpping.xml"
    path.write_text(swapped)
    return path
