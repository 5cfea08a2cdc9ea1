#!/usr/bin/env python3
"""Regenerate pygroups/stack/jgroups_catalogue.json and pygroups/wire/protocol_ids.json from JGroups' Java sources.

Reads the ``@Property``/``@Component`` annotations of an unpacked JGroups sources jar (no Java
code is copied: only names, literal defaults, types and descriptions end up in the JSON), the
protocol ids of ``jg-protocol-ids.xml`` and, optionally, ``javap -v`` of the jgroups-kubernetes
jar (KUBE_PING is not part of JGroups itself).

    python tools/gen_jgroups_catalogue.py /tmp/jgsrc \\
        --kube-jar ~/.m2/.../jgroups-kubernetes-3.0.0.Final.jar -o pygroups/stack/jgroups_catalogue.json \\
        --ids-output pygroups/wire/protocol_ids.json

The protocol ids go to their own file in the wire package, the one place pygroups keeps them: the wire
floor prints headers by protocol name and may not import the stack, and the catalogue looks each
protocol's id up there by Java class.

The rules mirror JGroups 5.5.6's Configurator/PropertyHelper: a field is accepted under its
``@Property(name=...)`` and under its Java name; a *public* one-argument method is accepted under
``Util.methodNameToAttributeName(name or method name)``; ``@Component`` fields contribute
``prefix.attr`` names from every concrete implementation of the component type.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess  # noqa: TID251 - runs javap
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROTOCOL_BASE = "org.jgroups.stack.Protocol"
PROTOCOLS_PKG = "org.jgroups.protocols."
DEFAULT_IDS_OUTPUT = Path(__file__).resolve().parents[1] / "pygroups" / "wire" / "protocol_ids.json"
JAVA_CONSTANTS = {
    "Integer.MAX_VALUE": 2**31 - 1, "Integer.MIN_VALUE": -(2**31), "Long.MAX_VALUE": 2**63 - 1,
    "Long.MIN_VALUE": -(2**63), "Short.MAX_VALUE": 2**15 - 1, "Byte.MAX_VALUE": 127,
}
MODIFIERS = {"public", "protected", "private", "static", "final", "volatile", "transient", "abstract",
             "synchronized", "native", "default", "strictfp", "sealed", "non-sealed"}


# ----------------------------------------------------------------------------------- lexing helpers

def mask(src: str) -> str:
    """Comments become spaces, string/char literal contents become '_' (same length, newlines kept)."""
    out = list(src)
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = [ch if ch == "\n" else " " for ch in src[i:j]]
            i = j
        elif src.startswith('"""', i):
            j = src.find('"""', i + 3) + 3
            out[i + 3:j - 3] = [ch if ch == "\n" else "_" for ch in src[i + 3:j - 3]]
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out[i + 1:j] = "_" * (j - i - 1)
            i = j + 1
        else:
            i += 1
    return "".join(out)


def matching(masked: str, i: int, open_: str = "(", close: str = ")") -> int:
    """Index of the bracket closing the one at masked[i]."""
    depth = 0
    for j in range(i, len(masked)):
        if masked[j] == open_:
            depth += 1
        elif masked[j] == close:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced")


def split_top(text: str, masked: str, sep: str = ",") -> list[str]:
    parts, depth, start = [], 0, 0
    for j, ch in enumerate(masked):
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:j])
            start = j + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def method_name_to_attribute_name(method: str) -> str:
    """Util.methodNameToAttributeName, including its quirks (a leading 'is'/'get'/'set' is dropped)."""
    name = method
    if (method.startswith(("get", "set"))) and len(method) > 3:
        name = method[3:]
    elif method.startswith("is") and len(method) > 2:
        name = method[2:]
    sb: list[str] = []
    last = 0
    end = 0
    for m in re.finditer(r"[A-Z]+", name):
        s = m.group().lower()
        if len(s) > 1:
            s = s[:-1] + "_" + s[-1]
        sb.append(name[last:m.start()])
        sb.append(s if m.start() == 0 else "_" + s)
        last = end = m.end()
    sb.append(name[end:])
    result = "".join(sb)
    return result or method


# ----------------------------------------------------------------------------------- model

@dataclass
class Prop:
    name: str
    java_name: str
    kind: str                  # "field" | "method"
    java_type: str
    args: dict[str, Any]
    default: Any = None
    returns: str | None = None


@dataclass
class JType:
    fqcn: str
    simple: str
    kind: str
    abstract: bool
    extends: list[str]
    implements: list[str]
    file: JFile
    props: list[Prop] = field(default_factory=list)
    components: list[tuple[str, str]] = field(default_factory=list)   # (prefix, raw type)
    constants: dict[str, Any] = field(default_factory=dict)
    outer: JType | None = None
    setters: set[str] = field(default_factory=set)      # public one-arg method names


@dataclass
class JFile:
    package: str
    imports: dict[str, str]
    wildcards: list[str]
    static_imports: dict[str, str]
    types: list[JType] = field(default_factory=list)


TYPE_RE = re.compile(r"\b(class|interface|enum|record|@interface)\s+([A-Za-z_]\w*)")


class Sources:
    def __init__(self, root: Path) -> None:
        self.types: dict[str, JType] = {}
        self.pending: list[tuple[JType, str, str, int]] = []
        for path in sorted(root.rglob("*.java")):
            self._scan(path.read_text(encoding="utf-8", errors="replace"))
        for t, text, masked, start in self.pending:
            self._members(t, text, masked, start)

    # -- structure
    def _scan(self, text: str) -> None:
        masked = mask(text)
        pkg = re.search(r"^\s*package\s+([\w.]+)\s*;", masked, re.M)
        package = pkg.group(1) if pkg else ""
        imports: dict[str, str] = {}
        wild: list[str] = []
        statics: dict[str, str] = {}
        for m in re.finditer(r"^\s*import\s+(static\s+)?([\w.]+)(\.\*)?\s*;", masked, re.M):
            name = m.group(2)
            if m.group(1):
                statics[name.rsplit(".", 1)[1]] = name
            elif m.group(3):
                wild.append(name)
            else:
                imports[name.rsplit(".", 1)[1]] = name
        jf = JFile(package, imports, wild, statics)
        found: list[tuple[re.Match[str], int, int]] = []
        for m in TYPE_RE.finditer(masked):
            if masked[max(0, m.start() - 1)] == ".":
                continue  # "Foo.class" literal
            brace = masked.find("{", m.end())
            if brace < 0:
                continue
            header = masked[m.end():brace]
            if ";" in header or "=" in header or ("(" in header and m.group(1) != "record"):
                continue
            found.append((m, brace, matching(masked, brace, "{", "}")))
        made: list[tuple[int, int, JType]] = []
        for m, brace, end in found:
            outer = None
            for b, e, cand in made:
                if b < m.start() < e and (outer is None or b > outer[0]):
                    outer = (b, e, cand)
            o = outer[2] if outer else None
            name = m.group(2)
            fq = f"{o.fqcn}${name}" if o else (f"{package}.{name}" if package else name)
            hdr = masked[m.end():brace]
            while re.search(r"<[^<>]*>", hdr):
                hdr = re.sub(r"<[^<>]*>", "", hdr)
            hdr = re.sub(r"\([^)]*\)", "", hdr)
            ext = re.search(r"\bextends\s+(.+?)(?=\bimplements\b|\bpermits\b|$)", hdr, re.S)
            imp = re.search(r"\bimplements\s+(.+?)(?=\bpermits\b|$)", hdr, re.S)
            line_start = masked.rfind("\n", 0, m.start()) + 1
            pre = masked[line_start:m.start()].split()
            kind = m.group(1)
            t = JType(
                fqcn=fq, simple=name, kind=kind, abstract="abstract" in pre or kind != "class",
                extends=[x.strip() for x in ext.group(1).split(",")] if ext else [],
                implements=[x.strip() for x in imp.group(1).split(",")] if imp else [],
                file=jf, outer=o,
            )
            jf.types.append(t)
            self.types[fq] = t
            made.append((brace, end, t))
            self.pending.append((t, text, masked, brace))

    # -- members
    def _members(self, t: JType, text: str, masked: str, brace: int) -> None:
        end = matching(masked, brace, "{", "}")
        d = 0  # brace depth inside the body: members of t sit at 0, nested types deeper
        i = brace + 1
        while i < end:
            ch = masked[i]
            if ch == "{":
                d += 1
            elif ch == "}":
                d -= 1
            elif d == 0 and ch == "@" and masked.startswith("@Property", i) and \
                    not masked[i + 9].isalnum():
                i = self._property(t, text, masked, i + 9, end)
                continue
            elif d == 0 and ch == "@" and masked.startswith("@Component", i) and \
                    not masked[i + 10].isalnum():
                i = self._component(t, text, masked, i + 10)
                continue
            i += 1
        self._constants(t, text, masked, brace, end)

    def _constants(self, t: JType, text: str, masked: str, brace: int, end: int) -> None:
        body = masked[brace + 1:end]
        flat = []
        d = 0
        for ch in body:
            d += ch == "{"
            flat.append(ch if d == 0 else " ")
            d -= ch == "}"
        flat_s = "".join(flat)
        for m in re.finditer(r"\bpublic\s+(?:[\w.<>\[\]?, ]+?\s+)?(\w+)\s*\(([^()]*)\)", flat_s):
            if m.group(2).strip() and "," not in re.sub(r"<[^<>]*>", "", m.group(2)):
                t.setters.add(m.group(1))
        for m in re.finditer(r"(?:static\s+final|final\s+static|(?<![\w.]))\s*(?:public\s+|protected\s+|private\s+)?"
                             r"(?:static\s+)?(?:final\s+)?(String|int|long|short|byte|double|float|boolean)\s+"
                             r"([A-Z_][A-Z0-9_]*)\s*=\s*([^;]+);", flat_s):
            if t.kind != "interface" and "static" not in flat_s[max(0, m.start() - 40):m.end()]:
                continue
            raw = text[brace + 1 + m.start(3):brace + 1 + m.end(3)]
            t.constants[m.group(2)] = raw

    def _component(self, t: JType, text: str, masked: str, i: int) -> int:
        args: dict[str, Any] = {}
        j = i
        while masked[j].isspace():
            j += 1
        if masked[j] == "(":
            close = matching(masked, j)
            args = self._args(t, text[j + 1:close], masked[j + 1:close])
            j = close + 1
        decl_end = masked.find(";", j)
        decl = masked[j:decl_end].split("=")[0]
        decl = re.sub(r"@\w+(\([^)]*\))?", " ", decl)
        decl = re.sub(r"<[^;=]*>", "", decl)
        words = [w for w in decl.split() if w not in MODIFIERS]
        fname, ftype = words[-1], words[-2]
        prefix = self.ann_name(t, args) or fname
        t.components.append((prefix, ftype))
        return decl_end

    def _property(self, t: JType, text: str, masked: str, i: int, end: int) -> int:
        j = i
        while masked[j].isspace():
            j += 1
        args: dict[str, Any] = {}
        if masked[j] == "(":
            close = matching(masked, j)
            args = self._args(t, text[j + 1:close], masked[j + 1:close])
            j = close + 1
        # skip further annotations
        while True:
            while masked[j].isspace():
                j += 1
            m = re.match(r"@[\w.]+", masked[j:])
            if not m:
                break
            j += m.end()
            k = j
            while masked[k].isspace():
                k += 1
            if masked[k] == "(":
                j = matching(masked, k) + 1
        # declaration: method if '(' comes before '=', ';', '{' (outside generics)
        gen = 0
        k = j
        while k < end:
            ch = masked[k]
            if ch == "<":
                gen += 1
            elif ch == ">":
                gen -= 1
            elif gen == 0 and ch in "(=;{":
                break
            k += 1
        head = masked[j:k]
        head_nogen = re.sub(r"<[^()]*?>(?=\s)", " ", head)
        words = [w for w in head_nogen.split() if w not in MODIFIERS]
        mods = set(head.split()) & MODIFIERS
        if masked[k] == "(":
            close = matching(masked, k)
            params = split_top(text[k + 1:close], masked[k + 1:close])
            mname = words[-1]
            if len(params) == 1 and ("public" in mods or t.kind == "interface"):
                ptype = re.sub(r"@\w+\s*", "", params[0]).rsplit(None, 1)[0].replace("final ", "").strip()
                pname = method_name_to_attribute_name(self.ann_name(t, args) or mname)
                ret = words[-2] if len(words) > 1 else "void"
                prop = Prop(pname, mname, "method", simple_type(ptype), args)
                prop.returns = self._return_bound(t, head, ret)
                t.props.append(prop)
            return close + 1
        fname = words[-1]
        ftype = " ".join(words[:-1]) if len(words) > 1 else "?"
        default = None
        stop = k
        if masked[k] == "=":
            stop = k + 1
            depth = 0
            while stop < end:
                ch = masked[stop]
                if ch in "([{":
                    depth += 1
                elif ch in ")]}":
                    depth -= 1
                elif ch == ";" and depth == 0:
                    break
                stop += 1
            default = text[k + 1:stop].strip()
        name = self.ann_name(t, args) or fname
        t.props.append(Prop(name, fname, "field", simple_type(ftype), args, default))
        return stop

    def ann_name(self, t: JType, args: dict[str, Any]) -> str:
        raw = args.get("name")
        if raw is None:
            return ""
        v = self.evaluate(t, raw[1])
        return v.strip() if isinstance(v, str) else ""

    def _return_bound(self, t: JType, head: str, ret: str) -> str | None:
        """The class a setter's return type must be a supertype of (Configurator.isSetPropertyMethod)."""
        if ret in ("void", "boolean", "int", "long", "String", "Object"):
            return None
        bound = re.search(rf"<\s*{re.escape(ret)}\s+extends\s+([\w.]+)", head)
        return self.resolve_type(t, bound.group(1) if bound else ret)

    def _args(self, t: JType, text: str, masked: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in split_top(text, masked):
            if "=" not in part:
                continue
            key, val = part.split("=", 1)
            out[key.strip()] = ("raw", val.strip())
        return out

    # -- resolution
    def resolve_type(self, ctx: JType, name: str) -> str | None:
        name = re.sub(r"<.*", "", name).strip()
        if name in self.types:
            return name
        first, _, rest = name.partition(".")
        cand: list[str] = []
        o: JType | None = ctx
        while o is not None:
            cand.append(f"{o.fqcn}${first}")
            o = o.outer
        f = ctx.file
        if first in f.imports:
            cand.append(f.imports[first])
        cand.append(f"{f.package}.{first}")
        cand += [f"{w}.{first}" for w in f.wildcards]
        for c in cand:
            full = c + ("$" + rest.replace(".", "$") if rest else "")
            if full in self.types:
                return full
        return None

    def supers(self, t: JType) -> list[JType]:
        out = []
        for s in t.extends + t.implements:
            fq = self.resolve_type(t, s)
            if fq:
                out.append(self.types[fq])
        return out

    def superclass(self, t: JType) -> JType | None:
        if t.kind == "interface" or not t.extends:
            return None
        fq = self.resolve_type(t, t.extends[0])
        return self.types.get(fq) if fq else None

    def is_subtype(self, t: JType, target: str) -> bool:
        seen: set[str] = set()
        todo = [t]
        while todo:
            x = todo.pop()
            if x.fqcn == target:
                return True
            if x.fqcn in seen:
                continue
            seen.add(x.fqcn)
            todo += self.supers(x)
        return False

    def constant(self, ctx: JType, expr: str) -> Any:
        expr = expr.strip()
        if expr in JAVA_CONSTANTS:
            return JAVA_CONSTANTS[expr]
        if "." in expr:
            cls, _, name = expr.rpartition(".")
            fq = self.resolve_type(ctx, cls)
            if fq is None:
                return None
            return self._lookup_const(self.types[fq], name)
        o: JType | None = ctx
        while o is not None:
            v = self._lookup_const(o, expr)
            if v is not None:
                return v
            o = o.outer
        if expr in ctx.file.static_imports:
            return self.constant(ctx, ctx.file.static_imports[expr])
        return None

    def _lookup_const(self, t: JType, name: str) -> Any:
        todo, seen = [t], set()
        while todo:
            x = todo.pop(0)
            if x.fqcn in seen:
                continue
            seen.add(x.fqcn)
            if name in x.constants:
                return self.evaluate(x, x.constants[name])
            todo += self.supers(x)
        return None

    def evaluate(self, ctx: JType, expr: str | None) -> Any:
        """A literal Java expression (numbers, strings, arithmetic, known constants) or None."""
        if expr is None:
            return None
        e = expr.strip()
        e = re.sub(r"^\((?:int|long|short|byte|double|float)\)\s*", "", e)
        if e in ("true", "false"):
            return e == "true"
        if e == "null":
            return None
        tokens = re.findall(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[\w.$]+|\S', e)
        py: list[str] = []
        for tok in tokens:
            if tok[0] == '"':
                py.append(repr(ast.literal_eval(tok.replace("\\'", "'"))))
            elif tok[0] == "'":
                py.append(repr(ast.literal_eval(tok)))
            elif re.fullmatch(r"0[xX][0-9a-fA-F_]+[lL]?", tok):
                py.append(str(int(tok.rstrip("lL").replace("_", ""), 16)))
            elif re.fullmatch(r"[0-9][0-9_]*[lL]?", tok):
                py.append(str(int(tok.rstrip("lL").replace("_", ""))))
            elif re.fullmatch(r"([0-9][0-9_]*\.?[0-9_]*|\.[0-9_]+)([eE][+-]?\d+)?[fFdD]?", tok):
                py.append(repr(float(tok.rstrip("fFdD").replace("_", ""))))
            elif tok in "+-*/%()":
                py.append(tok)
            elif re.fullmatch(r"[A-Za-z_][\w.]*", tok):
                v = self.constant(ctx, tok)
                if v is None or isinstance(v, bool):
                    return None
                py.append(repr(v))
            else:
                return None
        try:
            tree = ast.parse(" ".join(py), mode="eval")
            return _safe_eval(tree.body)
        except Exception:
            return None


def _safe_eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_safe_eval(node.operand)
    if isinstance(node, ast.BinOp):
        a, b = _safe_eval(node.left), _safe_eval(node.right)
        if isinstance(node.op, ast.Add):
            if isinstance(a, str) or isinstance(b, str):
                return f"{a}{b}"
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            return int(a / b) if isinstance(a, int) and isinstance(b, int) else a / b
        if isinstance(node.op, ast.Mod):
            return a % b
    raise ValueError(ast.dump(node))


def simple_type(t: str) -> str:
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"^(final )", "", t)
    base = re.sub(r"<.*>", "", t).strip()
    return base.rsplit(".", 1)[-1] + ("<" + t.split("<", 1)[1] if "<" in t else "")


# ----------------------------------------------------------------------------------- catalogue

def annotation_string(src: Sources, ctx: JType, raw: str) -> Any:
    """Evaluates annotation element values: strings, arrays of strings, enums, classes, booleans."""
    raw = raw.strip()
    if raw.startswith("{"):
        inner = raw[1:-1]
        return [annotation_string(src, ctx, p) for p in split_top(inner, mask(inner))]
    if raw.endswith(".class"):
        return raw[:-6].rsplit(".", 1)[-1]
    m = re.fullmatch(r"(?:[\w.]*\.)?(TIME|BYTES|SCALAR|UNDEFINED|NANOSECONDS|MICROSECONDS|MILLISECONDS|SECONDS|"
                     r"MINUTES|HOURS|DAYS)", raw)
    if m:
        return m.group(1)
    v = src.evaluate(ctx, raw)
    return v


def attribute_record(src: Sources, t: JType, p: Prop) -> dict[str, Any]:
    a = {k: annotation_string(src, t, v[1]) for k, v in p.args.items()}
    rec: dict[str, Any] = {"java_type": p.java_type}
    kind = a.get("type")
    if kind and kind != "UNDEFINED":
        rec["kind"] = kind
    if a.get("unit") and a["unit"] != "MILLISECONDS":
        rec["unit"] = a["unit"]
    if p.kind == "field":
        d = src.evaluate(t, p.default)
        if isinstance(d, int) and not isinstance(d, bool) and p.java_type in ("double", "float"):
            d = float(d)
        if d is not None:
            rec["default"] = d
        if p.java_name != p.name:
            rec["aliases"] = [p.java_name]
    ipv4 = a.get("defaultValueIPv4")
    if ipv4:
        rec["default_ip"] = ipv4
    sysprops = a.get("systemProperty")
    if isinstance(sysprops, str):
        sysprops = [sysprops]
    if sysprops:
        rec["system_properties"] = [s for s in sysprops if s]
    dep = a.get("deprecatedMessage")
    if dep:
        rec["deprecated"] = dep
    conv = a.get("converter")
    if conv and conv != "Default":
        rec["converter"] = conv
    desc = a.get("description")
    if isinstance(desc, str) and desc:
        rec["description"] = re.sub(r"\s+", " ", desc).strip()
    if p.kind == "method":
        rec["setter"] = True
    if p.returns and p.returns != t.fqcn:
        rec["setter_returns"] = p.returns
    rec["declared_in"] = t.fqcn
    return rec


def class_attributes(src: Sources, t: JType) -> dict[str, dict[str, Any]]:
    """Attributes declared directly by t (fields: any visibility; methods: public one-arg only)."""
    out: dict[str, dict[str, Any]] = {}
    for p in t.props:
        if p.name in out:
            continue
        out[p.name] = attribute_record(src, t, p)
    return out


def protocol_id_table(ids_xml: str, kube: dict[str, Any] | None) -> list[dict[str, Any]]:
    """jg-protocol-ids.xml as a list sorted by id, plus KUBE_PING's id (its jar registers it itself)."""
    table: list[dict[str, Any]] = []
    for m in re.finditer(r'<class\s+id="(\d+)"\s+name="([\w.]+)"\s*(external="true")?', ids_xml):
        entry: dict[str, Any] = {"id": int(m.group(1)), "class": m.group(2)}
        if m.group(3):
            entry["external"] = True
        table.append(entry)
    if kube is not None and kube["id"] is not None:
        table.append({"id": kube["id"], "class": kube["class"], "registered_by": "jgroups-kubernetes"})
    return sorted(table, key=lambda e: e["id"])


def layout(version: str, extras: dict[str, str], protocols: dict[str, dict[str, Any]],
           classes: dict[str, dict[str, Any]], id_table: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two JSON documents: the catalogue (no ids) and the protocol id table."""
    catalogue = {
        "format": 2,
        "generated_by": "tools/gen_jgroups_catalogue.py",
        "jgroups_version": version,
        "extras": extras,
        "protocols": dict(sorted(protocols.items())),
        "classes": dict(sorted(classes.items())),
    }
    ids = {
        "format": 1,
        "generated_by": "tools/gen_jgroups_catalogue.py",
        "jgroups_version": version,
        "extras": extras,
        "protocol_ids": id_table,
    }
    return catalogue, ids


def build(root: Path, kube_jar: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    src = Sources(root)
    version = "unknown"
    pom = root / "META-INF" / "maven" / "org.jgroups" / "jgroups" / "pom.properties"
    if pom.exists():
        m = re.search(r"^version=(\S+)", pom.read_text(errors="replace"), re.M)
        version = m.group(1) if m else version
    classes: dict[str, dict[str, Any]] = {}

    def add_class(t: JType) -> None:
        if t.fqcn in classes:
            return
        sup = src.superclass(t)
        entry: dict[str, Any] = {"attributes": class_attributes(src, t)}
        ifaces = [s for s in src.supers(t) if s.kind == "interface" and s.props]
        if sup is not None:
            entry["extends"] = sup.fqcn
            add_class(sup)
        if ifaces:
            entry["interfaces"] = [i.fqcn for i in ifaces]
            for i in ifaces:
                add_class(i)
        if t.components:
            comps: dict[str, list[str]] = {}
            for prefix, raw in t.components:
                fq = src.resolve_type(t, raw)
                if fq is None:
                    continue
                base = src.types[fq]
                impls = sorted(x.fqcn for x in src.types.values()
                               if not x.abstract and "$" not in x.fqcn and src.is_subtype(x, fq))
                if not base.abstract and fq not in impls:
                    impls.insert(0, fq)
                for impl in impls:
                    add_class(src.types[impl])
                comps[prefix] = impls
            entry["components"] = comps
        hidden = sorted(
            p.name for a in ancestors(t) for p in a.props
            if p.kind == "method" and p.java_name in t.setters
            and p.java_name not in {q.java_name for q in t.props if q.kind == "method"})
        if hidden:
            entry["hides"] = hidden
        classes[t.fqcn] = entry

    def ancestors(t: JType) -> list[JType]:
        out, x = [], src.superclass(t)
        while x is not None:
            out.append(x)
            x = src.superclass(x)
        return out

    protocols: dict[str, dict[str, Any]] = {}
    for t in sorted(src.types.values(), key=lambda x: x.fqcn):
        if t.abstract or "$" in t.fqcn or not t.fqcn.startswith(PROTOCOLS_PKG):
            continue
        if not src.is_subtype(t, PROTOCOL_BASE):
            continue
        add_class(t)
        protocols[t.fqcn[len(PROTOCOLS_PKG):]] = {"class": t.fqcn}
    extras: dict[str, str] = {}
    kube: dict[str, Any] | None = None
    if kube_jar is not None:
        kube = javap_protocol(kube_jar, "org.jgroups.protocols.kubernetes.KUBE_PING")
        classes[kube["class"]] = kube["entry"]
        protocols["kubernetes.KUBE_PING"] = {"class": kube["class"]}
        extras["jgroups-kubernetes"] = kube_jar.name.removeprefix("jgroups-kubernetes-").removesuffix(".jar")
    id_table = protocol_id_table((root / "jg-protocol-ids.xml").read_text(), kube)
    return layout(version, extras, protocols, classes, id_table)


def javap_protocol(jar: Path, cls: str) -> dict[str, Any]:
    """Fields, @Property annotations, constructor constants and the static protocol id from javap -v."""
    out = subprocess.run(["javap", "-v", "-p", "-constants", "-classpath", str(jar), cls],
                         check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    attrs: dict[str, dict[str, Any]] = {}
    i = 0
    cur: tuple[str, str] | None = None
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^  (?:(?:public|protected|private|static|final|volatile|transient) )*([\w.$<>\[\]]+) (\w+);$",
                     line)
        if m:
            cur = (m.group(2), m.group(1).rsplit(".", 1)[-1])
        if line.strip() == "org.jgroups.annotations.Property(" and cur is not None:
            rec: dict[str, Any] = {"java_type": cur[1]}
            name = cur[0]
            i += 1
            while lines[i].strip() != ")":
                k, _, v = lines[i].strip().partition("=")
                v = v.replace("\\'", "'")
                if k == "description":
                    rec["description"] = json.loads(v)
                elif k == "systemProperty":
                    rec["system_properties"] = json.loads(v)
                elif k == "name":
                    name = json.loads(v) or name
                elif k == "deprecatedMessage":
                    rec["deprecated"] = json.loads(v)
                elif k == "type":
                    rec["kind"] = v.rsplit(".", 1)[-1]
                i += 1
            rec["declared_in"] = cls
            attrs[name] = rec
        i += 1
    # constructor defaults: <push constant> followed by putfield
    ctor = out.split(f"public {cls}();", 1)[1].split("LineNumberTable", 1)[0]
    last: Any = None
    for line in ctor.splitlines():
        m = re.search(r"(iconst_(m1|\d)|bipush\s+(-?\d+)|sipush\s+(-?\d+)|ldc2?_w?\s+#\d+\s+// (?:long|int) (-?\d+)l?"
                      r"|ldc\s+#\d+\s+// String (.*))", line)
        if m:
            if m.group(2):
                last = -1 if m.group(2) == "m1" else int(m.group(2))
            else:
                last = next(int(g) for g in (m.group(3), m.group(4), m.group(5)) if g) if not m.group(6) \
                    else m.group(6)
            continue
        f = re.search(r"putfield\s+#\d+\s+// Field (\w+):(\S+)", line)
        if f and last is not None and f.group(1) in attrs:
            val = last
            if f.group(2) == "Z":
                val = bool(last)
            attrs[f.group(1)]["default"] = val
        last = None if f else last
    static = out.split("static {};", 1)[-1]
    pid = re.search(r"sipush\s+(\d+)\s*\n\s+\d+: ldc\s+#\d+\s+// class", static)
    ext = re.search(rf"class {re.escape(cls)} extends ([\w.]+)", out)
    return {"class": cls, "id": int(pid.group(1)) if pid else None,
            "entry": {"attributes": attrs, "extends": ext.group(1) if ext else PROTOCOL_BASE}}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sources", type=Path, help="unpacked jgroups-<version>-sources.jar")
    ap.add_argument("--kube-jar", type=Path, help="jgroups-kubernetes jar (read with javap)")
    ap.add_argument("-o", "--output", type=Path, required=True, help="the catalogue (jgroups_catalogue.json)")
    ap.add_argument("--ids-output", type=Path, default=DEFAULT_IDS_OUTPUT,
                    help=f"the protocol id table (default: {DEFAULT_IDS_OUTPUT})")
    ns = ap.parse_args(argv)
    data, ids = build(ns.sources, ns.kube_jar)
    ns.output.write_text(dump(data), encoding="utf-8")
    ns.ids_output.write_text(dump(ids), encoding="utf-8")
    print(f"{len(data['protocols'])} protocols, {len(data['classes'])} classes -> {ns.output}", file=sys.stderr)
    print(f"{len(ids['protocol_ids'])} protocol ids -> {ns.ids_output}", file=sys.stderr)
    return 0


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
