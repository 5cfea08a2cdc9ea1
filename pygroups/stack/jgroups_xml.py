"""JGroups' own XML dialect, read as ``XmlConfigurator.parseXmlDocument`` reads it.

JGroups 5.5.6 does not use an XML parser but a small hand-written reader. We accept what it
accepts and reads unambiguously: nested ``<!-- -->`` comments anywhere (even between attributes),
``/ >``, ``\\"`` escapes (a backslash is always dropped), entities left undecoded, a ``<?xml?>``
prolog. Anything it would misread is a `ConfigError` with file and line: ``<`` or ``>`` inside a
value (Java cuts the element there), single quotes, text between elements, mismatched end tags,
duplicate attributes (Java keeps the last silently), unterminated comments or elements.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from pygroups.errors import ConfigError


def where_prefix(source: str | None, line: int) -> str:
    """``"tcp.xml:12: "`` (or what is known of it) to start an error message."""
    if source and line:
        return f"{source}:{line}: "
    return f"{source}: " if source else (f"line {line}: " if line else "")


_COMMENT_START = re.compile(r"<\s*!\s*-\s*-")
_COMMENT_END = re.compile(r"-\s*-\s*>")
_NAME = re.compile(r"[^\s/>=\"'<]+")
_SELF_CLOSE = re.compile(r"/\s*>")  # XmlConfigurator.sanitize turns "/  >" into "/>"


class _Doc:
    """Character-level reader over one document with line numbers for errors."""

    def __init__(self, text: str, source: str | None) -> None:
        self.source = source
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.text = self._strip_comments(text)
        self.pos = 0

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def error(self, msg: str, pos: int | None = None) -> ConfigError:
        at = self.line(self.pos if pos is None else pos)
        return ConfigError(f"{where_prefix(self.source, at)}{msg}")

    def _strip_comments(self, text: str) -> str:
        """XmlConfigurator.readNode: comments nest and may sit anywhere, even inside a tag."""
        out: list[str] = []
        depth, i, n = 0, 0, len(text)
        opened = 0
        while i < n:
            m = _COMMENT_START.match(text, i) if text[i] == "<" else None
            if m:
                opened = i if depth == 0 else opened
                depth += 1
            else:
                m = _COMMENT_END.match(text, i) if text[i] == "-" else None
                if m:
                    if depth == 0:
                        raise self.error("found '-->' without a matching '<!--'", i)
                    depth -= 1
            if m:
                out.append(re.sub(r"[^\n]", " ", m.group()))
                i = m.end()
                continue
            out.append(text[i] if depth == 0 or text[i] == "\n" else " ")
            i += 1
        if depth:
            raise self.error("unterminated comment '<!--'", opened)
        return "".join(out)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def name(self, what: str) -> str:
        m = _NAME.match(self.text, self.pos)
        if m is None:
            raise self.error(f"expected {what}")
        self.pos = m.end()
        return m.group()

    def quoted(self) -> str:
        """XmlConfigurator.readQuotedString: a backslash is dropped and makes the next char literal."""
        start = self.pos
        if self.text.startswith("'", self.pos):
            raise self.error("attribute values must use double quotes (JGroups' parser ignores single quotes)")
        if not self.text.startswith('"', self.pos):
            raise self.error("expected '\"' to start the attribute value")
        self.pos += 1
        chars: list[str] = []
        escaped = False
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == "\\":
                escaped = True
                continue
            if not escaped and ch == '"':
                value = "".join(chars)
                if "<" in value or ">" in value:
                    raise self.error("'<' or '>' inside an attribute value is not supported by JGroups' "
                                     "XML parser", start)
                return value
            escaped = False
            chars.append(ch)
        raise self.error("unterminated attribute value", start)


@dataclass
class RawNode:
    """A mutable element: ``<include>`` overrides are written into it before specs are frozen."""

    name: str
    line: int
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[RawNode] = field(default_factory=list)


def parse_document(text: str, source: str | None) -> RawNode:
    """The root element of `text` (children nested), or a ConfigError naming file and line."""
    doc = _Doc(text, source)
    stack: list[RawNode] = []
    root: RawNode | None = None
    t = doc.text
    while True:
        doc.skip_ws()
        if doc.pos >= len(t):
            break
        start = doc.pos
        if t[start] != "<":
            snippet = t[start:start + 20].split("\n")[0]
            raise doc.error(f"unexpected text {snippet!r} (JGroups' parser only reads elements)")
        if t.startswith("<?", start):
            end = t.find("?>", start)
            if end < 0 or stack or root is not None:
                raise doc.error("misplaced or unterminated '<?...?>'")
            doc.pos = end + 2
            continue
        if t.startswith("<!", start):
            raise doc.error("DOCTYPE and CDATA are not supported by JGroups' XML parser")
        if t.startswith("</", start):
            doc.pos += 2
            name = doc.name("an element name after '</'")
            doc.skip_ws()
            if not t.startswith(">", doc.pos):
                raise doc.error(f"expected '>' to close '</{name}'")
            doc.pos += 1
            if not stack or stack[-1].name != name:
                expected = f"</{stack[-1].name}>" if stack else "no end tag"
                raise doc.error(f"end tag </{name}> does not match: expected {expected}", start)
            stack.pop()
            continue
        if root is not None and not stack:
            raise doc.error("content after the root element", start)
        doc.pos += 1
        node = RawNode(doc.name("an element name after '<'"), doc.line(start))
        closed = _attributes(doc, node)
        if stack:
            stack[-1].children.append(node)
        else:
            root = node
        if not closed:
            stack.append(node)
    if stack:
        raise doc.error(f"element <{stack[-1].name}> (line {stack[-1].line}) is never closed")
    if root is None:
        raise doc.error("no XML element found")
    return root


def _attributes(doc: _Doc, node: RawNode) -> bool:
    """Reads attributes up to '>' or '/>'; True if the element closed itself."""
    t = doc.text
    while True:
        doc.skip_ws()
        if t.startswith(">", doc.pos):
            doc.pos += 1
            return False
        m = _SELF_CLOSE.match(t, doc.pos)
        if m:
            doc.pos = m.end()
            return True
        if doc.pos >= len(t):
            raise doc.error(f"unterminated element <{node.name}>")
        at = doc.pos
        attr = doc.name(f"an attribute name or '>' in <{node.name}>")
        doc.skip_ws()
        if not t.startswith("=", doc.pos):
            raise doc.error(f"attribute {attr!r} of <{node.name}> has no value", at)
        doc.pos += 1
        doc.skip_ws()
        value = doc.quoted()
        if attr in node.attrs:
            raise doc.error(f"duplicate attribute {attr!r} in <{node.name}> (Java would keep the last)", at)
        node.attrs[attr] = value
