"""Comparing pygroups' canonical JSON with what the Java peer prints for the same bytes."""

from __future__ import annotations

from typing import Any

JAVA_HEADER_KEYS = ("protocol_id", "magic", "class")


def java_view(value: Any) -> Any:
    """pygroups' JSON restricted to what the jar prints: header objects keep only the keys the jar
    prints (it does not render header fields; the byte-exact re-encoding covers those)."""
    if isinstance(value, list):
        return [java_view(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "headers" and isinstance(v, dict):
                out[k] = {name: {f: h[f] for f in JAVA_HEADER_KEYS} for name, h in v.items()}
            else:
                out[k] = java_view(v)
        return out
    return value


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    """Where two JSON values first differ, for readable assertion messages."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'first' if k in a else 'second'}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b and type(a) is type(b) else f"{path}: {a!r} vs {b!r}"
