"""Kubernetes label selectors: parsing and matching as the API server does (``apimachinery/pkg/labels``).

Grammar (comma = AND; whitespace around tokens is ignored, an identifier ends at whitespace or at one of
``= ! ( ) , < >``)::

    selector    := [ requirement { "," requirement } ]
    requirement := key | "!" key
                 | key ( "=" | "==" | "!=" ) [ value ]
                 | key ( "in" | "notin" ) "(" [ value { "," value } ] ")"
                 | key ( ">" | "<" ) integer

Keys must be qualified names (``[prefix/]name``, prefix a DNS subdomain of at most 253 characters, name at
most 63 characters of ``[A-Za-z0-9._-]`` starting and ending alphanumeric); values are empty or follow the
name rule. ``!=`` and ``notin`` match objects that lack the key, like Kubernetes. An invalid selector
raises :class:`LabelSelectorError` (a ``ValueError``); the API stand-in answers it with 400 BadRequest.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["LabelSelectorError", "Operator", "Requirement", "Selector", "matches", "parse_selector"]


class LabelSelectorError(ValueError):
    """The selector text is not a valid Kubernetes label selector."""


class Operator(enum.Enum):
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


_NAME_RE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)\Z")
_DNS1123_SUBDOMAIN_RE = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\Z")
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")


def _key_error(key: str) -> str | None:
    prefix, sep, name = key.rpartition("/")
    if sep and not prefix:
        return f"invalid label key {key!r}: prefix part must be non-empty"
    if prefix:
        if "/" in prefix:
            return f"invalid label key {key!r}: a qualified name must have at most one '/'"
        if len(prefix) > 253 or not _DNS1123_SUBDOMAIN_RE.match(prefix):
            return (
                f"invalid label key {key!r}: prefix part must be a lowercase RFC 1123 subdomain "
                "(at most 253 characters)"
            )
    if not name:
        return f"invalid label key {key!r}: name part must be non-empty"
    if len(name) > 63:
        return f"invalid label key {key!r}: name part must be no more than 63 characters"
    if not _NAME_RE.match(name):
        return (
            f"invalid label key {key!r}: name part must consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return None


def _value_error(value: str) -> str | None:
    if value == "":
        return None
    if len(value) > 63:
        return f"invalid label value {value!r}: must be no more than 63 characters"
    if not _NAME_RE.match(value):
        return (
            f"invalid label value {value!r}: a valid label must be an empty string or consist of alphanumeric "
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return None


def is_valid_label_key(key: str) -> bool:
    return _key_error(key) is None


def is_valid_label_value(value: str) -> bool:
    return _value_error(value) is None


@dataclass(frozen=True)
class Requirement:
    """One ANDed term of a selector."""

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        has = self.key in labels
        if op is Operator.EXISTS:
            return has
        if op is Operator.DOES_NOT_EXIST:
            return not has
        if op in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN):
            return has and labels[self.key] in self.values
        if op in (Operator.NOT_EQUALS, Operator.NOT_IN):
            return not has or labels[self.key] not in self.values
        # GREATER_THAN / LESS_THAN: both sides must be integers; a non-integer label never matches
        if not has or not _INT_RE.match(labels[self.key]):
            return False
        have, want = int(labels[self.key]), int(next(iter(self.values)))
        return have > want if op is Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        if op in (Operator.IN, Operator.NOT_IN):
            return f"{self.key} {op.value} ({','.join(sorted(self.values))})"
        symbol = {Operator.GREATER_THAN: ">", Operator.LESS_THAN: "<"}.get(op, op.value)
        return f"{self.key}{symbol}{next(iter(self.values))}"


@dataclass(frozen=True)
class Selector:
    """ANDed requirements, sorted by key like Kubernetes. The empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        lab = labels or {}
        return all(r.matches(lab) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# --- lexer -------------------------------------------------------------------------------------------

_SPECIAL = frozenset("=!(),<>")
_WHITESPACE = frozenset(" \t\r\n")
_SYMBOLS = {"=": "=", "==": "==", "!=": "!=", "!": "!", "(": "(", ")": ")", ",": ",", ">": ">", "<": "<"}
_END = "END"
_ID = "ID"


@dataclass(frozen=True)
class _Token:
    kind: str  # _END, _ID, "in", "notin" or one of the symbols
    text: str


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n or text[i] == "\0":  # Go's lexer reads NUL as end of input
            tokens.append(_Token(_END, ""))
            return tokens
        if text[i] in _SPECIAL:
            # longest run of special characters that still forms a known operator
            j, best = i, None
            while j < n and text[j] in _SPECIAL:
                j += 1
                if text[i:j] in _SYMBOLS:
                    best = j
                elif best is not None:
                    break
            if best is None:
                raise LabelSelectorError(f"error expected: keyword found '{text[i:j]}'")
            tokens.append(_Token(_SYMBOLS[text[i:best]], text[i:best]))
            i = best
            continue
        j = i
        while j < n and text[j] not in _WHITESPACE and text[j] not in _SPECIAL and text[j] != "\0":
            j += 1
        word = text[i:j]
        tokens.append(_Token(word if word in ("in", "notin") else _ID, word))
        i = j


# --- parser ------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def _kind(self, tok: _Token, values: bool) -> str:
        # In "values" context the keywords in/notin are ordinary identifiers (``in=notin`` is valid).
        if values and tok.kind in ("in", "notin"):
            return _ID
        return tok.kind

    def peek(self, values: bool = True) -> tuple[str, str]:
        tok = self.tokens[self.pos]
        return self._kind(tok, values), tok.text

    def take(self, values: bool = True) -> tuple[str, str]:
        tok = self.tokens[self.pos]
        if tok.kind != _END:
            self.pos += 1
        return self._kind(tok, values), tok.text

    def parse(self) -> Selector:
        reqs: list[Requirement] = []
        while True:
            kind, text = self.peek()
            if kind in (_ID, "!"):
                try:
                    reqs.append(self.requirement())
                except LabelSelectorError as e:
                    raise LabelSelectorError(f"unable to parse requirement: {e}") from None
                kind, text = self.take()
                if kind == _END:
                    break
                if kind != ",":
                    raise LabelSelectorError(f"found '{text}', expected: ',' or 'end of string'")
                kind2, text2 = self.peek()
                if kind2 not in (_ID, "!"):
                    raise LabelSelectorError(f"found '{text2}', expected: identifier after ','")
            elif kind == _END:
                break
            else:
                raise LabelSelectorError(f"found '{text}', expected: !, identifier, or 'end of string'")
        return Selector(tuple(sorted(reqs, key=lambda r: r.key)))

    def requirement(self) -> Requirement:
        kind, text = self.take()
        negated = kind == "!"
        if negated:
            kind, text = self.take()
        if kind != _ID:
            raise LabelSelectorError(f"found '{text}', expected: identifier")
        key = text
        err = _key_error(key)
        if err:
            raise LabelSelectorError(err)
        if negated:  # "!key" takes no operator; whatever follows is the caller's problem
            return Requirement(key, Operator.DOES_NOT_EXIST)
        if self.peek()[0] in (_END, ","):
            return Requirement(key, Operator.EXISTS)
        kind, text = self.take(values=False)
        ops = {
            "in": Operator.IN,
            "notin": Operator.NOT_IN,
            "=": Operator.EQUALS,
            "==": Operator.DOUBLE_EQUALS,
            "!=": Operator.NOT_EQUALS,
            ">": Operator.GREATER_THAN,
            "<": Operator.LESS_THAN,
        }
        op = ops.get(kind)
        if op is None:
            raise LabelSelectorError(f"found '{text}', expected: in, notin, =, ==, !=, gt, lt")
        values = self.set_values() if op in (Operator.IN, Operator.NOT_IN) else self.exact_value()
        for v in values:
            err = _value_error(v)
            if err:
                raise LabelSelectorError(err)
        if op in (Operator.GREATER_THAN, Operator.LESS_THAN):
            (v,) = values
            if not _INT_RE.match(v) or not -(2**63) <= int(v) < 2**63:
                raise LabelSelectorError(f"for 'Gt', 'Lt' operators, the value must be an integer, got {v!r}")
        return Requirement(key, op, frozenset(values))

    def exact_value(self) -> set[str]:
        kind, _ = self.peek()
        if kind in (_END, ","):
            return {""}
        kind, text = self.take()
        if kind == _ID:
            return {text}
        raise LabelSelectorError(f"found '{text}', expected: identifier")

    def set_values(self) -> set[str]:
        kind, text = self.take()
        if kind != "(":
            raise LabelSelectorError(f"found '{text}' expected: '('")
        kind, text = self.peek()
        if kind == ")":
            self.take()
            return {""}
        if kind not in (_ID, ","):
            raise LabelSelectorError(f"found '{text}', expected: ',', ')' or identifier")
        values = self.identifiers()
        kind, text = self.take()
        if kind != ")":
            raise LabelSelectorError(f"found '{text}', expected: ')'")
        return values

    def identifiers(self) -> set[str]:
        # a possibly empty list of possibly empty values: "(a,b)", "(,a)", "(a,)", "(a,,b)"
        values: set[str] = set()
        while True:
            kind, text = self.take()
            if kind == _ID:
                values.add(text)
                kind2, text2 = self.peek()
                if kind2 == ",":
                    continue
                if kind2 == ")":
                    return values
                raise LabelSelectorError(f"found '{text2}', expected: ',' or ')'")
            if kind == ",":
                if not values:
                    values.add("")
                kind2, _ = self.peek()
                if kind2 == ")":
                    values.add("")
                    return values
                if kind2 == ",":
                    self.take()
                    values.add("")
                continue
            raise LabelSelectorError(f"found '{text}', expected: ',', or identifier")


def parse_selector(text: str) -> Selector:
    """Parse a label selector string (``"app=x,tier!=db,env in (a,b),!canary"``)."""
    return _Parser(text).parse()


def matches(selector: str | Selector, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy ``selector`` (a string is parsed first)."""
    sel = parse_selector(selector) if isinstance(selector, str) else selector
    return sel.matches(labels)
