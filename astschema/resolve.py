"""Resolve stage: joins module summaries and follows names to what they denote.

`Project.evaluate` turns a parsed expression into the same IR with every name replaced by
what it refers to: a constant, a class or function of a scanned module (`ClassRef`,
`FuncRef`), a scanned module (`ModuleRef`), or an object of a library outside the tree
(`Lib("sqlalchemy.String")`).  Support modules are found on disk under the scan roots and
parsed on demand, never imported.  What cannot be followed becomes `Unknown`, never a guess.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import parse, store
from .cache import Parser
from .diagnostics import Diagnostic, Location
from .discover import package_root, python_files, read, unique_roots
from .parse import Attribute, BinOp, Call, ClassInfo, Const, Mapping, Method, Name, Seq, Starred, Subscript, Unknown

MAX_HIERARCHY_DEPTH = 100  # classes deriving from classes: real models use a handful

BUILTINS = frozenset(
    "int float bool str bytes dict list tuple set frozenset object type bytearray complex".split()
)


@dataclass(frozen=True, slots=True)
class Lib:
    """Something defined outside the scanned tree, by its dotted import path."""

    qualname: str
    loc: Location | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class ModuleRef:
    module: str


@dataclass(frozen=True, slots=True)
class ClassRef:
    module: str
    name: str
    info: ClassInfo = field(compare=False, repr=False)

    @property
    def loc(self) -> Location:
        return self.info.loc


@dataclass(frozen=True, slots=True)
class FuncRef:
    module: str
    name: str
    info: Method = field(compare=False, repr=False)


Value = object  # parse IR nodes (Names resolved away) plus the four reference types above


class Project:
    """All summaries of one scan, with lookups across modules."""

    def __init__(self, roots, config, parser=None):
        """`roots`: directories to find modules under, the scan paths as given first (paths
        of support modules are shown relative to those, as the user wrote them)."""
        self.given = unique_roots(roots)
        self.roots = [resolved for resolved, _ in self.given]
        self.config = config
        self.parser = parser or Parser(None)
        self.sources: dict[str, tuple[str, bool, str] | None] = {}  # (path, is package, key), None if not found
        self.summaries: dict[str, parse.ModuleSummary] = {}  # parsed (or decoded) when first read
        self._problems: dict[str, Diagnostic] = {}  # modules that could not be read, by name
        self._files: list | None = None
        self._tree: str | None = None
        self._fingerprints: dict[str, str] = {}
        self.begin()

    def begin(self) -> None:
        """Start extracting one module afresh: what it reads is recorded, and nothing
        worked out for another module is reused, so its result depends on nothing else."""
        self.diagnostics: list[Diagnostic] = []
        self.reads: dict[str, None] = {}  # modules whose summaries were asked for, found or not
        self.reached: dict[str, None] = {}  # modules found through imports (an import runs them)
        self.searched = False  # a class was looked for by name in every file under the roots
        self._symbols: dict[str, dict[str, object]] = {}
        self._values: dict[tuple[str, str], Value] = {}
        self._busy: set[tuple[str, str]] = set()
        self._mros: dict[ClassRef, list] = {}
        self._scopes: dict[int, tuple[ClassInfo, frozenset[str]]] = {}
        self._depth = 0

    def summary(self, name: str) -> parse.ModuleSummary | None:
        """The summary of a module already found (None if not), recorded as read."""
        self.reads[name] = None
        if name in self._problems:
            self.diagnostics.append(self._problems[name])
        if name not in self.summaries and self.sources.get(name) is not None:
            path, is_package, key = self.sources[name]
            summary = self.parser.summary(key, path, name, is_package)
            if summary is None:  # its cache entry went meanwhile: the file is read again
                data, problem = read(Path(path), self.config.max_bytes)
                if problem is None and store.entry_key(data) != key:
                    problem = Diagnostic("AS100", "file changed while it was scanned; scan again", Location(path, 1, 1))
                if problem is not None:  # and the module is what it now is to every later read
                    self.sources[name], self._problems[name] = None, problem
                    self._fingerprints.pop(name, None)
                    self.diagnostics.append(problem)
                    return None
                summary = self.parser.summary(key, path, name, is_package, data)
            self.summaries[name] = summary
        return self.summaries.get(name)

    def module_at(self, path: str) -> str | None:
        """The module of a file already found, by its path as shown."""
        return next((name for name, source in self.sources.items() if source is not None and source[0] == path), None)

    def forget(self, name: str) -> None:
        """Drop a summary not needed any more (read again, it is decoded again)."""
        self.summaries.pop(name, None)

    # -- modules ------------------------------------------------------------------------

    def register(self, path: Path, module: str, is_package: bool, data: bytes | str) -> None:
        """A module of the scan, parsed now unless parsed before: its bytes are not kept. Its
        cache key may be given instead, when the parser knows it (`Parser.known`)."""
        self.sources[module] = (str(path), is_package, data if type(data) is str else self.parser.hold(data, str(path)))

    def module(self, name: str) -> parse.ModuleSummary | None:
        """The summary of a module of the scanned tree, found on first use."""
        self.locate(name)
        summary = self.summary(name)
        if summary is not None:
            self.reached[name] = None
        return summary

    def locate(self, name: str) -> None:
        """Find a module's file under the roots, unless it is found (or looked for) already."""
        if name in self.sources:
            return
        self.sources[name] = None
        relative = Path(*name.split(".")) if name else None
        for root in self.roots if relative else ():
            for candidate, is_package in ((root / relative / "__init__.py", True), (root / f"{relative}.py", False)):
                if not candidate.is_file():
                    continue
                if not self.config.follow_symlinks and not candidate.resolve().is_relative_to(root):
                    continue  # never read outside the scanned root through a link
                data, problem = read(candidate, self.config.max_bytes)
                if problem is not None:
                    self._problems[name] = problem
                else:
                    self.register(self.display(candidate), name, is_package, data)
                return

    def fingerprint(self, name: str) -> str | None:
        """What a module is to a scan, known without parsing it: its file and its meaning,
        or why there is none; None when its meaning is not known yet."""
        if name in self._fingerprints:  # asked for by every module that read it
            return self._fingerprints[name]
        self.locate(name)
        if self.sources[name] is None:
            found = f"problem:{self._problems[name].message}" if name in self._problems else "absent"
        else:
            path, is_package, key = self.sources[name]
            meaning = self.parser.known_meaning(key)
            if meaning is None:
                return None
            found = f"{path}:{is_package}:{meaning}"
        self._fingerprints[name] = found
        return found

    def tree(self) -> str:
        """A digest of every Python file under the roots, by path and bytes (what a search
        of all files depends on)."""
        if self._tree is None:
            digest = hashlib.blake2b(digest_size=16)
            for _, path in self._python_files():
                data, problem = read(path, self.config.max_bytes)
                digest.update(f"{path}\0{problem.message if problem else ''}\0".encode() + (data or b""))
            self._tree = digest.hexdigest()
        return self._tree

    def find_classes(self, name: str) -> list[ClassRef]:
        """Every class called `name` in the Python files under the roots (parsed, not imported).

        A byte search picks the candidate files first, so only those are parsed.
        """
        pattern = re.compile(rb"^[ \t]*class[ \t]+" + re.escape(name.encode()) + rb"\b", re.MULTILINE)
        found = []
        for root, path in self._python_files():
            if not self.config.follow_symlinks and not path.resolve().is_relative_to(root):
                continue  # never read outside the scanned root through a link
            data, problem = read(path, self.config.max_bytes)
            if problem is not None or not pattern.search(data):
                continue
            module = module_name(path, package_root(path))
            known = self.sources.get(module)
            if known is None or Path(known[0]).resolve() != path.resolve():
                if known is not None:  # that name belongs to another file: keep both apart
                    module = str(path)
                if self.sources.get(module) is None:
                    self.register(self.display(path), module, path.name == "__init__.py", data)
            summary = self.summary(module)
            found += [ClassRef(summary.module, c.name, c) for c in summary.classes if c.name == name]
        self.searched = True
        return found

    def _python_files(self):
        if self._files is None:
            self._files = python_files(self.roots)
        return self._files

    def display(self, path: Path) -> Path:
        """A support module's path as the user would write it: under the scan root it was
        found in, in the form that root was given (relative or absolute)."""
        real = path.resolve()
        for resolved, given in self.given:
            if real.is_relative_to(resolved):
                return given / real.relative_to(resolved)
        return path

    def has_package(self, name: str) -> bool:
        return self.module(name) is not None

    def symbols(self, module: str) -> dict[str, object]:
        """Name -> Binding / Import / ClassInfo / Method; the later definition in source wins."""
        if module not in self._symbols:
            summary = self.summary(module)
            entries = []
            if summary is not None:
                entries += [(b.loc.line, b.target, b) for b in summary.bindings]
                entries += [(i.loc.line, i.local, i) for i in summary.imports]
                entries += [(c.loc.line, c.name, c) for c in summary.classes]
                entries += [(f.loc.line, f.name, f) for f in summary.functions]
            entries.sort(key=lambda e: e[0])
            self._symbols[module] = {name: entry for _, name, entry in entries}
        return self._symbols[module]

    # -- names --------------------------------------------------------------------------

    def lookup(self, module: str, name: str, loc: Location | None = None) -> Value:
        """What `name` denotes at the top level of a scanned module."""
        key = (module, name)
        if key in self._values:
            return self._values[key]
        if key in self._busy:
            return Unknown(f"circular definition of {name!r} in {module}", loc)
        self._busy.add(key)
        try:
            value = self._lookup(module, name, loc)
        finally:
            self._busy.discard(key)
        self._values[key] = value
        return value

    def _lookup(self, module: str, name: str, loc) -> Value:
        entry = self.symbols(module).get(name)
        if isinstance(entry, parse.Binding):
            if entry.value is None:
                return Unknown(f"{name!r} is only annotated in {module}", entry.loc)
            return self.evaluate(entry.value, module)
        if isinstance(entry, parse.Import):
            return self._imported(module, entry)
        if isinstance(entry, ClassInfo):
            return ClassRef(module, name, entry)
        if isinstance(entry, Method):
            return FuncRef(module, name, entry)
        summary = self.summaries.get(module)
        if summary is not None and summary.is_package and self.has_package(f"{module}.{name}"):
            return ModuleRef(f"{module}.{name}")
        return Unknown(f"{name!r} is not defined in {module}", loc)

    def _imported(self, module: str, imp: parse.Import) -> Value:
        target = self.absolute(module, imp.module)
        if imp.name is None:
            return ModuleRef(target) if self.has_package(target) else Lib(target, imp.loc)
        if self.has_package(target):
            return self.lookup(target, imp.name, imp.loc)
        if target and self.has_package(f"{target}.{imp.name}"):
            return ModuleRef(f"{target}.{imp.name}")
        return Lib(f"{target}.{imp.name}", imp.loc)

    def absolute(self, module: str, target: str) -> str:
        """Resolve a relative import path against the importing module."""
        level = len(target) - len(target.lstrip("."))
        if not level:
            return target
        summary = self.summaries.get(module)
        package = module.split(".") if summary is not None and summary.is_package else module.split(".")[:-1]
        base = package[: len(package) - (level - 1)] if level > 1 else package
        rest = target[level:]
        return ".".join([*base, rest] if rest else base)

    # -- expressions --------------------------------------------------------------------

    def evaluate(self, expr, module: str, cls: ClassRef | None = None) -> Value:
        """`expr` with names resolved; `cls` gives class-body scope (its names come first)."""
        if isinstance(expr, Name):
            return self._name(expr, module, cls)
        if isinstance(expr, Attribute):
            value = self.evaluate(expr.value, module, cls)
            return self.attribute(value, expr.attr, expr.loc)
        if isinstance(expr, Call):
            args, starred = [], expr.starred
            for arg in expr.args:
                if not isinstance(arg, Starred):
                    args.append(self.evaluate(arg, module, cls))
                    continue
                value = self.evaluate(arg.value, module, cls)  # `*STATUSES`: a known tuple or list is spliced in
                if isinstance(value, Seq) and value.kind in ("tuple", "list"):
                    args += value.items
                else:
                    starred = True
            kwargs = tuple((k, self.evaluate(v, module, cls)) for k, v in expr.kwargs)
            return Call(self.evaluate(expr.func, module, cls), tuple(args), kwargs, expr.loc, starred)
        if isinstance(expr, Seq):
            return Seq(expr.kind, tuple(self.evaluate(i, module, cls) for i in expr.items), expr.loc)
        if isinstance(expr, Mapping):
            return Mapping(
                tuple((self.evaluate(k, module, cls), self.evaluate(v, module, cls)) for k, v in expr.items),
                expr.loc,
            )
        if isinstance(expr, Subscript):
            return Subscript(
                self.evaluate(expr.value, module, cls),
                tuple(self.evaluate(i, module, cls) for i in expr.index),
                expr.loc,
            )
        if isinstance(expr, BinOp):
            return parse._fold(
                BinOp(expr.op, self.evaluate(expr.left, module, cls), self.evaluate(expr.right, module, cls), expr.loc)
            )
        return expr  # Const, Unknown

    def attribute(self, value: Value, attr: str, loc: Location | None = None) -> Value:
        if isinstance(value, ModuleRef):
            return self.lookup(value.module, attr, loc)
        if isinstance(value, Lib):
            return Lib(f"{value.qualname}.{attr}", value.loc)
        if isinstance(value, Unknown):
            return value
        return Attribute(value, attr, loc)

    def _name(self, expr: Name, module: str, cls: ClassRef | None) -> Value:
        if cls is not None and expr.id in self._class_scope(cls.info):
            return Attribute(cls, expr.id, expr.loc)
        if expr.id in self.symbols(module):
            return self.lookup(module, expr.id, expr.loc)
        if expr.id in ("True", "False", "None"):
            return Const({"True": True, "False": False, "None": None}[expr.id], expr.loc)
        if expr.id in BUILTINS:
            return Lib(f"builtins.{expr.id}", expr.loc)
        return Unknown(f"undefined name {expr.id!r}", expr.loc)

    def _class_scope(self, info: ClassInfo) -> frozenset[str]:
        """The names a class body binds (kept with the class, by identity: two classes of
        one name in a module are two scopes)."""
        known = self._scopes.get(id(info))
        if known is None or known[0] is not info:
            known = self._scopes[id(info)] = (info, frozenset(b.target for b in info.body))
        return known[1]

    # -- classes ------------------------------------------------------------------------

    def class_bases(self, cls: ClassRef) -> list[Value]:
        return [self.evaluate(b, cls.module) for b in cls.info.bases]

    def mro(self, cls: ClassRef) -> list[Value]:
        """C3 linearisation over scanned classes; library classes end a branch as `Lib`.

        Memoised; a hierarchy cycle across files ends where it comes back, and a chain deeper
        than MAX_HIERARCHY_DEPTH is cut there (reported), so no input makes this slow or deep.
        """
        if cls in self._mros:
            return self._mros[cls]
        self._mros[cls] = [cls]  # what a cycle back to this class sees
        if self._depth >= MAX_HIERARCHY_DEPTH:
            return self._mros[cls]
        self._depth += 1
        try:
            bases = self.class_bases(cls)
            lines = [self.mro(b) if isinstance(b, ClassRef) else [b] for b in bases]
        finally:
            self._depth -= 1
        # single inheritance needs no merge: chains stay linear however long they are
        merged = list(lines[0]) if len(lines) == 1 else _merge([list(s) for s in [*lines, list(bases)] if s])
        if len(merged) >= MAX_HIERARCHY_DEPTH:
            self.diagnostics.append(Diagnostic(
                "AS202", f"class hierarchy deeper than {MAX_HIERARCHY_DEPTH} levels; {cls.name}'s is cut there",
                cls.loc))
            merged = merged[:MAX_HIERARCHY_DEPTH]
        self._mros[cls] = [cls, *merged]
        return self._mros[cls]


def _merge(sequences: list[list]) -> list:
    """C3's merge; an inconsistent hierarchy (Python would refuse it) falls back to depth-first."""
    result = []
    while sequences:
        for seq in sequences:
            head = seq[0]
            if not any(head in s[1:] for s in sequences):
                break
        else:
            head = sequences[0][0]
        result.append(head)
        sequences = [[x for x in s if x != head] for s in sequences]
        sequences = [s for s in sequences if s]
    return result


def module_name(path: Path, root: Path) -> str:
    parts = list(path.resolve().relative_to(root).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)
