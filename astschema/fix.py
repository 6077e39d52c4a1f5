"""Fix stage: rewrite what a finding has one right answer for, with libcst, keeping the rest of
each file (formatting, comments, every other import) as it was.

A rule that can fix its findings says how in its `fix(module, places)`: the libcst module of a
file, and its findings there by (line, col), to the module fixed; where a finding has no one
right answer, the module stays as it was for it and the finding stays. `fixes` gathers every
file's fixes (each checked to parse again), `write_fixes` writes them, whole or not at all, and
only over files unchanged since they were read; `diff` shows them. Fixed files are read here,
never imported.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .diagnostics import Diagnostic
from .output import write_file
from .parse import SUPPRESSION, dotted_name
from .rules.suppression import UnusedSuppression


@dataclass(frozen=True)
class Fix:
    path: str
    before: str
    after: str
    fixed: tuple[Diagnostic, ...]  # the findings the rewrite answers


def fixable(finding: Diagnostic) -> bool:
    return finding.location is not None and finding.rule.fixable()


def fixes(findings, within=None) -> tuple[list[Fix], list[str]]:
    """The fix of each file some of `findings` can be fixed in (only files under the paths
    `within`, when given: a scan reads support modules elsewhere too), and problems (a file
    that cannot be read back, a fix that would not parse), one line each."""
    roots = None if within is None else [Path(p).resolve() for p in within]
    by_path = defaultdict(list)
    for finding in findings:
        if fixable(finding) and (roots is None or any(Path(finding.location.path).resolve().is_relative_to(root)
                                                      for root in roots)):
            by_path[finding.location.path].append(finding)
    done, problems = [], []
    for path, found in sorted(by_path.items()):
        try:
            with open(path, encoding="utf-8", newline="") as file:  # newlines as they are
                before = file.read()
            module = cst.parse_module(before)
        except (OSError, UnicodeDecodeError, cst.ParserSyntaxError, RecursionError) as exc:
            problems.append(f"{path}: not fixed: cannot read it back: {type(exc).__name__}: {exc}")
            continue
        answered = set()
        try:
            for rule in sorted({f.rule for f in found}, key=lambda r: r.code):
                module, places = rule().fix(module, {(f.location.line, f.location.col): f for f in found
                                                     if f.rule is rule})
                answered |= {(rule.code, place) for place in places}
        except RecursionError:
            problems.append(f"{path}: not fixed: nested too deeply to rewrite")
            continue
        after = module.code
        if after == before:
            continue
        try:
            cst.parse_module(after)
        except cst.ParserSyntaxError as exc:  # a fix of ours is wrong: say so, write nothing
            problems.append(f"{path}: not fixed: the fixed source would not parse ({exc})")
            continue
        done.append(Fix(path, before, after, tuple(f for f in found
                                                     if (f.code, (f.location.line, f.location.col)) in answered)))
    return done, problems


def write_fixes(done: list[Fix]) -> list[str]:
    """Write each fix; a file changed since it was read is left alone (problems, one line each)."""
    problems = []
    for fix in done:
        try:
            current = Path(fix.path).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{fix.path}: not fixed: {exc}")
            continue
        if current != fix.before:
            problems.append(f"{fix.path}: not fixed: it changed while astschema read it")
            continue
        write_file(fix.path, fix.after.encode("utf-8"))
    return problems


def diff(fix: Fix) -> str:
    """A unified diff of one fix, as `git diff` shows it."""
    return "".join(difflib.unified_diff(fix.before.splitlines(keepends=True), fix.after.splitlines(keepends=True),
                                        f"a/{fix.path}", f"b/{fix.path}"))


def _positions(module: cst.Module):
    """A wrapper of `module` and each node's (line, col), col counted from 1 as findings are."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    ranges = wrapper.resolve(PositionProvider)
    return wrapper, {node: (r.start.line, r.start.column + 1) for node, r in ranges.items()}


class _Fixer(cst.CSTTransformer):
    """Rewrites nodes of `module` found at `places` (findings by their (line, col)) and keeps
    the places it answered: `fix()` gives (the module rewritten, those places)."""

    def __init__(self, module: cst.Module, places):
        super().__init__()
        self.wrapper, self.at = _positions(module)
        self.places, self.answered = places, set()

    def flagged(self, node: cst.CSTNode) -> bool:
        return self.at.get(node) in self.places

    def answer(self, node: cst.CSTNode, new: cst.CSTNode) -> cst.CSTNode:
        self.answered.add(self.at[node])
        return new

    def fix(self) -> tuple[cst.Module, set]:
        return self.wrapper.module.visit(self), self.answered


# -- AS401: get_database_base(...) -> DatabaseBase(...) ---------------------------------------

OLD_FACTORY, NEW_FACTORY, NEW_HOME = "get_database_base", "DatabaseBase", "core.database"


def _local(alias: cst.ImportAlias) -> str:
    """The name an import binds: `x` for `import a.b as x`, `b` for `from a import b`."""
    return dotted_name(alias.asname.name) if alias.asname else dotted_name(alias.name)


def _bound_names(module: cst.Module):
    """(names bound to the old factory by `from ... import`, the local name of `DatabaseBase`
    from `core.database` if imported, whether `DatabaseBase` is bound to anything else)."""
    old, new, clash = set(), None, False
    for node in _walk(module):
        if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
            source = dotted_name(node.module) if node.module is not None and not node.relative else ""
            for alias in node.names:
                local = _local(alias)
                if dotted_name(alias.name) == OLD_FACTORY:
                    old.add(local)
                elif dotted_name(alias.name) == NEW_FACTORY and source == NEW_HOME:
                    new = local
                elif local == NEW_FACTORY:
                    clash = True
        elif isinstance(node, cst.Import):
            clash |= any(_local(alias) == NEW_FACTORY for alias in node.names)
        elif isinstance(node, (cst.ClassDef, cst.FunctionDef)) and node.name.value == NEW_FACTORY:
            clash = True
        elif isinstance(node, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign)):
            clash |= dotted_name(node.target) == NEW_FACTORY
    return old, new, clash


def _walk(node: cst.CSTNode):
    yield node
    for child in node.children:
        yield from _walk(child)


def _uses(node: cst.CSTNode) -> set[str]:
    """Names a node uses (imports and attribute names are not uses)."""
    if isinstance(node, (cst.Import, cst.ImportFrom)):
        return set()
    if isinstance(node, cst.Attribute):
        return _uses(node.value)
    names = {node.value} if isinstance(node, cst.Name) else set()
    for child in node.children:
        names |= _uses(child)
    return names


def database_base(module: cst.Module, places) -> tuple[cst.Module, set]:
    """AS401's fix: each flagged `get_database_base(...)` call (the name imported from any
    module, or an attribute `x.get_database_base`) becomes `DatabaseBase(...)`, imported from
    `core.database` in place of the old import once nothing else uses that, else after it.
    Nothing is rewritten where `DatabaseBase` already names something else."""
    old, new, clash = _bound_names(module)
    if clash:
        return module, set()
    fixed, answered = _Calls(module, places, old, new or NEW_FACTORY).fix()
    if not answered:
        return module, answered
    return fixed.visit(_Imports(old - _uses(fixed), new is None)), answered


class _Calls(_Fixer):
    def __init__(self, module, places, old: set, name: str):
        super().__init__(module, places)
        self.old, self.name = old, name

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        func = original.func
        ours = (isinstance(func, cst.Name) and func.value in self.old) or (
            isinstance(func, cst.Attribute) and func.attr.value == OLD_FACTORY)
        if not ours or not self.flagged(original):
            return updated
        return self.answer(original, updated.with_changes(func=cst.Name(self.name)))


class _Imports(cst.CSTTransformer):
    """Drop the names in `unused` from their `from ... import`; with `add`, import
    `DatabaseBase` from `core.database`: in place of an import left empty, else after the
    first import that lost a name, else after the module's last top-level import."""

    def __init__(self, unused: set, add: bool):
        super().__init__()
        self.unused, self.add = unused, add
        self.line = cst.parse_statement(f"from {NEW_HOME} import {NEW_FACTORY}\n")
        self.after_this = False

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom):
        if isinstance(updated.names, cst.ImportStar):
            return updated
        kept = [alias for alias in updated.names if _local(alias) not in self.unused]
        if len(kept) == len(updated.names):
            return updated
        if not kept:
            if self.add:
                self.add = False
                return self.line.body[0]
            return cst.RemoveFromParent()
        self.after_this = self.add
        if not updated.lpar:  # a trailing comma is only allowed in parentheses
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(names=kept)

    def leave_SimpleStatementLine(self, original, updated):
        if self.after_this:
            self.after_this = self.add = False
            return cst.FlattenSentinel([updated, self.line])
        return updated

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not self.add:
            return updated
        body = list(updated.body)
        imports = [n for n, statement in enumerate(body) if isinstance(statement, cst.SimpleStatementLine)
                   and any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)]
        docstring = 1 if body and updated.get_docstring() is not None else 0
        where = imports[-1] + 1 if imports else docstring
        return updated.with_changes(body=[*body[:where], self.line, *body[where:]])


# -- AS402: __table_args__ = {"extend_existing": True} ----------------------------------------


def _quote(node: cst.CSTNode, default: str = '"') -> str:
    """The quote the first plain string of `node` uses (the file's style), else `default`."""
    return next((n.quote for n in _walk(node) if isinstance(n, cst.SimpleString) and n.quote in ('"', "'")), default)


def extend_existing(module: cst.Module, places) -> tuple[cst.Module, set]:
    """AS402's fix: a mapped class flagged at its name gets `__table_args__ = {"extend_existing":
    True}` after its `__tablename__`; flagged `__table_args__` written as a dict, or a tuple
    (ending in a dict or not), get the key added. Anything else (a call, a name, a function)
    has no one right answer and stays."""
    return _ExtendExisting(module, places).fix()


class _ExtendExisting(_Fixer):
    def __init__(self, module: cst.Module, places):
        super().__init__(module, places)
        self.quote = _quote(module)

    def _element(self, near: cst.CSTNode) -> cst.DictElement:
        """The new key, quoted as the strings `near` it are."""
        quote = _quote(near, self.quote)
        return cst.DictElement(cst.SimpleString(f"{quote}extend_existing{quote}"), cst.Name("True"))

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        if not self.flagged(original.name) or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        body = list(updated.body.body)
        if any(_assigns(statement, "__table_args__") or isinstance(statement, cst.FunctionDef)
               and statement.name.value == "__table_args__" for statement in body):
            return updated  # the class has them: the finding is theirs
        where = next((n + 1 for n, statement in enumerate(body) if _assigns(statement, "__tablename__")), 0)
        line = cst.SimpleStatementLine([cst.Assign(
            [cst.AssignTarget(cst.Name("__table_args__"))], cst.Dict([self._element(body[where - 1] if where else updated)]))])
        return self.answer(original.name,
                           updated.with_changes(body=updated.body.with_changes(body=[*body[:where], line, *body[where:]])))

    def leave_Dict(self, original: cst.Dict, updated: cst.Dict) -> cst.Dict:
        extended = self._extended(updated) if self.flagged(original) else updated
        return updated if extended is updated else self.answer(original, extended)

    def _extended(self, mapping: cst.Dict) -> cst.Dict:
        if any(isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
               and e.key.evaluated_value == "extend_existing" for e in mapping.elements):
            return mapping  # said already (False, say): not this fix's to change
        return mapping.with_changes(elements=_appended(mapping.elements, self._element(mapping),
                                                       mapping.lbrace.whitespace_after))

    def leave_Tuple(self, original: cst.Tuple, updated: cst.Tuple) -> cst.Tuple:
        if not self.flagged(original) or not updated.elements:
            return updated
        last = updated.elements[-1]
        if isinstance(last, cst.Element) and isinstance(last.value, cst.Dict):
            extended = self._extended(last.value)
            if extended is last.value:
                return updated
            return self.answer(original, updated.with_changes(
                elements=[*updated.elements[:-1], last.with_changes(value=extended)]))
        opening = updated.lpar[0].whitespace_after if updated.lpar else cst.SimpleWhitespace("")
        return self.answer(original, updated.with_changes(
            elements=_appended(updated.elements, cst.Element(cst.Dict([self._element(updated)])), opening)))


def _assigns(statement, name: str) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, (cst.Assign, cst.AnnAssign)) and name in
        ([dotted_name(t.target) for t in small.targets] if isinstance(small, cst.Assign) else [dotted_name(small.target)])
        for small in statement.body)


def _appended(elements, new, opening):
    """`elements` with `new` last, laid out as they are: one a line (each after the whitespace
    that follows the opening bracket, a trailing comma kept) or on one line."""
    if not elements:
        return [new]
    last = elements[-1]
    if isinstance(opening, cst.ParenthesizedWhitespace):
        return [*elements[:-1], last.with_changes(comma=cst.Comma(whitespace_after=opening)),
                new.with_changes(comma=last.comma)]
    return [*elements[:-1], last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), new]


# -- AS001: unused suppressions ---------------------------------------------------------------


def unused_suppressions(module: cst.Module, places) -> tuple[cst.Module, set]:
    """AS001's fix: the codes a suppression comment names that suppress nothing are taken out
    of it; a suppression left with none (or a bare one that suppresses nothing) goes, and the
    comment with it when nothing else is in it."""
    return _Suppressions(module, places).fix()


class _Suppressions(_Fixer):
    def _rewritten(self, comment: cst.Comment) -> tuple[cst.Comment | None, tuple | None]:
        """The comment without its unused codes (None: nothing left of it), and the place of
        the finding it answers (None: no finding here)."""
        if comment is None:
            return None, None
        line, col = self.at.get(comment, (0, 0))
        match = SUPPRESSION.search(comment.value)
        place = None if match is None else (line, col + match.start())
        if place not in self.places:
            return comment, None
        unused = UnusedSuppression.unused(self.places[place].message)
        codes = [c.strip() for c in (match.group(1) or "").split(",") if c.strip()]
        kept = [] if UnusedSuppression.ANY in unused else [c for c in codes if c.upper() not in unused]
        if kept == codes and codes:  # nothing of it is unused after all
            return comment, None
        text = match.group(0).replace(match.group(1), ", ".join(kept)) if kept else ""
        value = (comment.value[:match.start()].rstrip() + (" " if kept and match.start() else "")
                 + text + comment.value[match.end():]).strip()
        return (cst.Comment(value) if value.strip("# ") else None), place

    def leave_TrailingWhitespace(self, original, updated):
        comment, place = self._rewritten(original.comment)
        if place is None:
            return updated
        self.answered.add(place)
        return updated.with_changes(comment=comment, whitespace=updated.whitespace if comment
                                    else cst.SimpleWhitespace(""))  # no spaces left at the end of the line

    def leave_EmptyLine(self, original, updated):
        comment, place = self._rewritten(original.comment)
        if place is None:
            return updated
        self.answered.add(place)
        return updated.with_changes(comment=comment) if comment else cst.RemoveFromParent()
