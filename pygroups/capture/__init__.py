"""Reading captured JGroups traffic: pcap/pcapng files, TCP reassembly, frame files, hex lines.

Everything here is sans-IO apart from reading the input file; `pygroups dump` (pygroups.cli) is
the user-facing front end and `pygroups.capture.dump` its engine.
"""

from __future__ import annotations

from pygroups.errors import PyGroupsError


class CaptureError(PyGroupsError):
    """The capture file itself is unreadable (bad magic, truncated record, absurd length).

    The only exception the capture readers and the TCP reassembly raise, whatever the input.
    """


__all__ = ["CaptureError"]
