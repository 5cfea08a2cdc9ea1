"""Protocol properties: the `prop()` descriptor and converters with JGroups' value syntax.

Rules of this file:
1. Values are parsed exactly as JGroups 5.5.6 parses them (``Util.readDurationLong``,
   ``Util.readBytesLong``, ``PropertyConverters.Default``), except where Java silently accepts
   nonsense: there we raise `ConfigError` (``Boolean.parseBoolean("yes")`` is false in Java, an
   error here; trailing garbage after a size suffix is ignored by Java, an error here).
2. Every parse error is a `ConfigError`; nothing else escapes a converter.
3. Units stay JGroups units: durations are milliseconds, sizes are bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar, cast, overload

from pygroups.errors import ConfigError
from pygroups.stack.bind_addr import BindAddrSpec, parse_bind_addr

T = TypeVar("T")

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

# Util.readDuration: "ms" is looked for before "s", "s" before "m" (minutes), then "h", then "d".
_DURATION_UNITS = {"": 1, "ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION_RE = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(ms|s|m|h|d)?", re.IGNORECASE)
# Util.readBytes finds 'k' before "kib", so KiB/MiB/GiB are decimal too (a JGroups quirk we keep).
_SIZE_UNITS = {"": 1, "k": 1000, "m": 1_000_000, "g": 1_000_000_000}
_SIZE_RE = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*(?:([kmg])(?:i?b)?)?", re.IGNORECASE)


def parse_duration(text: str) -> int:
    """JGroups duration in milliseconds: ``500``, ``200ms``, ``1.5s``, ``1m``, ``1h``, ``1d``."""
    m = _DURATION_RE.fullmatch(text.strip())
    if m is None:
        raise ConfigError(f"{text!r} is not a duration (expected e.g. 500, 200ms, 1.5s, 1m, 1h, 1d)")
    try:
        value = int(Decimal(m.group(1)) * _DURATION_UNITS[(m.group(2) or "").lower()])
    except (InvalidOperation, OverflowError) as e:  # pragma: no cover - regex admits valid decimals only
        raise ConfigError(f"{text!r} is not a duration") from e
    return _in_range(value, INT64, text)


def format_duration(ms: int) -> str:
    """The shortest JGroups spelling of `ms` (``parse_duration(format_duration(x)) == x``)."""
    for suffix, factor in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if ms and ms % factor == 0:
            return f"{ms // factor}{suffix}"
    return f"{ms}ms" if ms else "0"


def parse_size(text: str, *, bounds: tuple[int, int] = INT64) -> int:
    """JGroups size in bytes: ``1500``, ``60K``, ``64kb``, ``4M``, ``1g``, ``1.5k`` (K=1000)."""
    value = _size_float(text)
    if value != value or value in (float("inf"), float("-inf")):  # pragma: no cover - regex bounds it
        raise ConfigError(f"{text!r} is not a size")
    if not bounds[0] <= value < bounds[1] + 1:
        raise ConfigError(f"{text!r} is out of range [{bounds[0]}, {bounds[1]}]")
    return int(value)  # Java: (long)(num * factor), truncating toward zero


def _size_float(text: str) -> float:
    m = _SIZE_RE.fullmatch(text.strip())
    if m is None:
        raise ConfigError(f"{text!r} is not a size (expected e.g. 1500, 60K, 64KB, 4M, 1G)")
    try:
        # float arithmetic on purpose: Java multiplies doubles, so 2.01k is 2009 there and here
        return float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "").lower()]
    except OverflowError as e:  # pragma: no cover - float() saturates to inf instead
        raise ConfigError(f"{text!r} is not a size") from e


def format_size(n: int) -> str:
    """The shortest JGroups spelling of `n` bytes (``parse_size(format_size(n)) == n``)."""
    for suffix, factor in (("G", 1_000_000_000), ("M", 1_000_000), ("K", 1000)):
        if n and n % factor == 0 and abs(n // factor) < 2**53:
            return f"{n // factor}{suffix}"
    return str(n)


def parse_bool(text: str) -> bool:
    """``true``/``false`` in any case (Java's parseBoolean would read anything else as false)."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    raise ConfigError(f"{text!r} is not a boolean (expected true or false)")


def _in_range(value: int, bounds: tuple[int, int], text: str) -> int:
    if not bounds[0] <= value <= bounds[1]:
        raise ConfigError(f"{text!r} is out of range [{bounds[0]}, {bounds[1]}]")
    return value


# ------------------------------------------------------------------------------------ host lists

@dataclass(frozen=True, slots=True)
class HostPort:
    """One ``host[port]`` entry of TCPPING.initial_hosts; `port` None means the transport's port."""

    host: str
    port: int | None

    def __str__(self) -> str:
        return self.host if self.port is None else f"{self.host}[{self.port}]"


_HOST_RE = re.compile(r"([^\[\]\s,]+)(?:\[(\d{1,5})\])?")


def parse_host_list(text: str) -> tuple[HostPort, ...]:
    """``a[7800],b[7801] c``: separators are commas and white space (Util.parseCommaDelimitedHostsInto)."""
    out: list[HostPort] = []
    for token in re.split(r"[\s,]+", text.strip()):
        if not token:
            continue
        m = _HOST_RE.fullmatch(token)
        if m is None:
            raise ConfigError(f"{token!r} is not host or host[port]")
        port = None if m.group(2) is None else int(m.group(2))
        if port is not None and port > 65535:
            raise ConfigError(f"{token!r}: port {port} is out of range [0, 65535]")
        out.append(HostPort(m.group(1), port))
    return tuple(out)


def expand_host_list(hosts: Sequence[HostPort], *, port_range: int, default_port: int) -> list[HostPort]:
    """Each host at port, port+1, ..., port+port_range (TCPPING's probing order)."""
    return [HostPort(h.host, (default_port if h.port is None else h.port) + i)
            for h in hosts for i in range(port_range + 1)]


# ------------------------------------------------------------------------------------ converters

class Converter(Generic[T]):
    """Turns an XML attribute string into a typed value and checks values set from Python."""

    expected: str = "a value"

    def parse(self, text: str) -> T:
        raise NotImplementedError

    def check(self, value: object) -> T:
        raise ConfigError(f"{value!r} is not {self.expected}")

    def format(self, value: T) -> str:
        return str(value)


class _Duration(Converter[int]):
    expected = "a duration in ms such as 500, 200ms, 2s, 1m, 1h or 1d"

    def parse(self, text: str) -> int:
        return parse_duration(text)

    def check(self, value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return _in_range(value, INT64, repr(value))
        return super().check(value)

    def format(self, value: int) -> str:
        return format_duration(value)


class _Integer(Converter[int]):
    """A Java int/long: JGroups reads them with readBytes, so ``60K`` and ``1.5`` (-> 1) are valid."""

    def __init__(self, bounds: tuple[int, int], java: str) -> None:
        self.bounds = bounds
        self.expected = f"an integer ({java}; suffixes K, M, G allowed)"

    def parse(self, text: str) -> int:
        return parse_size(text, bounds=self.bounds)

    def check(self, value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return _in_range(value, self.bounds, repr(value))
        return super().check(value)


class _Size(_Integer):
    def __init__(self) -> None:
        super().__init__(INT64, "long")
        self.expected = "a size in bytes such as 1500, 60K, 4M or 1G"

    def format(self, value: int) -> str:
        return format_size(value)


class _Float(Converter[float]):
    expected = "a number such as 0.4 (suffixes K, M, G allowed)"

    def parse(self, text: str) -> float:
        return _size_float(text)

    def check(self, value: object) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return super().check(value)


class _Bool(Converter[bool]):
    expected = "true or false"

    def parse(self, text: str) -> bool:
        return parse_bool(text)

    def check(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        return super().check(value)

    def format(self, value: bool) -> str:
        return "true" if value else "false"


class _Str(Converter[str]):
    expected = "a string"

    def parse(self, text: str) -> str:
        return text

    def check(self, value: object) -> str:
        if isinstance(value, str):
            return value
        return super().check(value)


class _StrList(Converter[tuple[str, ...]]):
    expected = "a comma-separated list"

    def parse(self, text: str) -> tuple[str, ...]:
        return tuple(s.strip() for s in text.split(",") if s.strip())

    def check(self, value: object) -> tuple[str, ...]:
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        return super().check(value)

    def format(self, value: tuple[str, ...]) -> str:
        return ",".join(value)


class _HostList(Converter[tuple[HostPort, ...]]):
    expected = "a host list such as 10.0.0.1[7800],10.0.0.2[7800]"

    def parse(self, text: str) -> tuple[HostPort, ...]:
        return parse_host_list(text)

    def check(self, value: object) -> tuple[HostPort, ...]:
        if isinstance(value, list | tuple) and all(isinstance(v, HostPort) for v in value):
            return tuple(value)
        return super().check(value)

    def format(self, value: tuple[HostPort, ...]) -> str:
        return ",".join(map(str, value))


class _BindAddr(Converter[BindAddrSpec]):
    expected = ("an address, a host name, a comma list of them, or a keyword: loopback, site_local, "
                "link_local, non_loopback, global, match-interface:RE, match-address:RE, match-host:RE")

    def parse(self, text: str) -> BindAddrSpec:
        return parse_bind_addr(text)

    def check(self, value: object) -> BindAddrSpec:
        if isinstance(value, BindAddrSpec):
            return value
        return super().check(value)

    def format(self, value: BindAddrSpec) -> str:
        return value.text


Duration: Converter[int] = _Duration()
Size: Converter[int] = _Size()
Int: Converter[int] = _Integer(INT32, "int")
Long: Converter[int] = _Integer(INT64, "long")
Float: Converter[float] = _Float()
Bool: Converter[bool] = _Bool()
Str: Converter[str] = _Str()
StrList: Converter[tuple[str, ...]] = _StrList()
HostList: Converter[tuple[HostPort, ...]] = _HostList()
BindAddr: Converter[BindAddrSpec] = _BindAddr()

_BUILTINS: dict[type, Converter[Any]] = {bool: Bool, int: Long, float: Float, str: Str}


# ------------------------------------------------------------------------------------ prop()

class Prop(Generic[T]):
    """Descriptor behind `prop()`: converts and validates on every set, as h2's config options."""

    def __init__(self, converter: Converter[T], default: T | None, doc: str, *, name: str | None,
                 env: tuple[str, ...], aliases: tuple[str, ...], deprecated: str | None,
                 deprecated_names: tuple[str, ...]) -> None:
        self.converter = converter
        self.default = default
        self.doc = doc
        self.name = name or ""
        self.env = env
        self.aliases = aliases
        self.deprecated = deprecated
        self.deprecated_names = deprecated_names
        self.attr = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr
        self.name = self.name or attr
        if self.default is not None:
            self.default = self.converter.check(self.default)

    @property
    def names(self) -> tuple[str, ...]:
        """Every XML attribute name accepted for this property, the canonical one first."""
        return (self.name, *self.aliases, *self.deprecated_names)

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Prop[T]: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...
    def __get__(self, obj: object | None, objtype: type | None = None) -> Prop[T] | T | None:
        if obj is None:
            return self
        return cast("T | None", vars(obj).get(self.attr, self.default))

    def __set__(self, obj: object, value: object) -> None:
        vars(obj)[self.attr] = self.convert(value, element=_element_of(obj))

    def convert(self, value: object, *, element: str, where: str = "") -> T:
        """`value` as T; a string is parsed with JGroups syntax, anything else type-checked."""
        try:
            if isinstance(value, str) and self.converter is not Str:
                return self.converter.parse(value)
            return self.converter.check(value)
        except ConfigError as e:
            raise ConfigError(f"{where}<{element}> {self.name}={value!r}: {e}; expected "
                              f"{self.converter.expected}") from None


def _element_of(obj: object) -> str:
    name = getattr(type(obj), "name", None)
    return name if isinstance(name, str) else type(obj).__name__


@overload
def prop(converter: Converter[T], default: T, doc: str = "", *, name: str | None = None,
         env: Sequence[str] = (), aliases: Sequence[str] = (), deprecated: str | None = None,
         deprecated_names: Sequence[str] = ()) -> T: ...
@overload
def prop(converter: type[T], default: T, doc: str = "", *, name: str | None = None,
         env: Sequence[str] = (), aliases: Sequence[str] = (), deprecated: str | None = None,
         deprecated_names: Sequence[str] = ()) -> T: ...
def prop(converter: Converter[T] | type[T], default: T, doc: str = "", *, name: str | None = None,
         env: Sequence[str] = (), aliases: Sequence[str] = (), deprecated: str | None = None,
         deprecated_names: Sequence[str] = ()) -> T:
    """Declare a JGroups property: ``join_timeout: int = prop(Duration, 2000, "ms to wait")``.

    `name` is the XML attribute when it differs from the Python attribute (``"bundler.max_size"``);
    `env` are JGroups ``systemProperty`` names consulted when the XML omits the attribute;
    `aliases` are extra accepted names (Java accepts a field's name besides ``@Property(name=)``);
    `deprecated_names` are accepted with a warning. The typed return is a white lie for mypy,
    as with ``dataclasses.field``: the object is a `Prop` descriptor.
    """
    conv = _BUILTINS.get(converter) if isinstance(converter, type) else converter
    if conv is None:
        raise TypeError(f"no converter for {converter!r}")
    return cast(T, Prop(conv, default, doc, name=name, env=tuple(env), aliases=tuple(aliases),
                        deprecated=deprecated, deprecated_names=tuple(deprecated_names)))


def properties_of(cls: type) -> dict[str, Prop[Any]]:
    """All properties of `cls` (inherited ones included) keyed by canonical XML name."""
    out: dict[str, Prop[Any]] = {}
    for klass in reversed(cls.__mro__):
        for value in vars(klass).values():
            if isinstance(value, Prop):
                out[value.name] = value
    return out


def iter_names(props: Mapping[str, Prop[Any]]) -> Iterator[tuple[str, Prop[Any]]]:
    """(accepted XML name, property) for every canonical, alias and deprecated name."""
    for p in props.values():
        for n in p.names:
            yield n, p


def apply_attributes(obj: object, attributes: Mapping[str, str], *, element: str, where: str = "",
                     lookup: Callable[[str], str | None] | None = None,
                     extra_env: Mapping[str, Sequence[str]] | None = None,
                     warn: Callable[[str], None] | None = None) -> dict[str, str]:
    """Set `obj`'s properties from XML attributes; returns the attributes no property claimed.

    A property absent from the XML takes the first of its `env` names (plus `extra_env[name]`)
    that `lookup` resolves, like a Java field's ``systemProperty`` (the XML wins; `build_layers` makes Java's
    one exception, the transport's ``bind_addr``).
    """
    props = properties_of(type(obj))
    by_name = dict(iter_names(props))
    leftover = dict(attributes)
    given: set[str] = set()
    for attr, value in attributes.items():
        p = by_name.get(attr)
        if p is None:
            continue
        del leftover[attr]
        given.add(p.name)
        if warn is not None and (attr in p.deprecated_names or p.deprecated):
            warn(f"<{element}> {attr} is deprecated" + (f": {p.deprecated}" if p.deprecated else ""))
        vars(obj)[p.attr] = p.convert(value, element=element, where=where)
    if lookup is not None:
        for p in props.values():
            if p.name in given:
                continue
            for env_name in (*p.env, *((extra_env or {}).get(p.name, ()))):
                found = lookup(env_name)
                if found is not None:
                    vars(obj)[p.attr] = p.convert(found, element=element, where=f"{where}${env_name}: ")
                    break
    return leftover
