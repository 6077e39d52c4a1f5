"""The shape of a rule (Fixit's pattern): one class, one code, its docstring is its documentation.

A rule has a stable `code`, a `name`, a `severity`, and `VALID` / `INVALID` examples that the
test suite scans and checks: each INVALID example lists the (path, line, col) its findings must
have, and, for a rule that can fix its findings (`fix`), the files as fixed. Most rules look
at one database at a time (`DatabaseRule.check_database`), with the
resolved foreign keys of its tables, through a `CheckContext`: the check runner gives every such
rule each database in turn, so that a database is read once whatever the rules. `check` sees
the whole schema; a rule never re-parses.
Rules whose findings are made while scanning (a file that cannot be parsed, a type that cannot
be followed) are `ScanRule`s: they document and select what the scan reported.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import ClassVar, Iterable

from ..diagnostics import Diagnostic, Location, Severity
from ..graph import keys_of


@dataclass(frozen=True)
class Invalid:
    """An example that must produce findings of the rule at exactly these places."""

    files: dict[str, str] | str
    expected: tuple[tuple[str, int, int], ...]  # (path, line, col)
    config: dict = field(default_factory=dict)  # scan / check options, e.g. {"allow_cross_database": ...}
    fixed: dict[str, str] | str | None = None  # the files `fix` makes of `files` (those it changes)


@dataclass(frozen=True)
class Valid:
    files: dict[str, str] | str
    config: dict = field(default_factory=dict)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    VALID: ClassVar[tuple] = ()
    INVALID: ClassVar[tuple] = ()

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.doc().split("\n", 1)[0]

    def check(self, context: "CheckContext") -> Iterable[Diagnostic]:
        raise NotImplementedError

    def finding(self, message: str, location: Location | None) -> Diagnostic:
        return Diagnostic(self.code, message, location)

    @classmethod
    def fixable(cls) -> bool:
        return cls.fix is not Rule.fix

    def fix(self, module, places):
        """A rule with one right answer for its findings rewrites them (`python -m astschema
        fix`): the libcst `module` of a file with its findings `places` (by (line, col)) fixed,
        unchanged where a finding has none, and the places it fixed. Only rules that can fix
        define it."""
        raise NotImplementedError


class DatabaseRule(Rule):
    """A rule over each database in turn (`check_database`); its `check`, called after the
    last database, reports what needs them all (nothing, unless overridden)."""

    def check_database(self, context: "CheckContext", database) -> Iterable[Diagnostic]:
        raise NotImplementedError

    def check(self, context):
        return ()


class ScanRule(Rule):
    """A rule whose findings the scan itself makes (it cannot go on as if nothing happened)."""

    def check(self, context):
        return [d for d in context.schema.diagnostics if d.code == self.code]


@dataclass
class CheckContext:
    schema: object  # model.Schema
    config: object  # config.Config
    _keys: tuple = (None, [])  # the last database's name and keys
    # ((database, target database), foreign key) of every key into another database, gathered
    # as the databases are checked (for AS308)
    crossing: list = field(default_factory=list)

    def keys(self, database) -> list:
        """The `graph.Key`s of a database's tables (rules need not build the graph of every
        table), worked out once for the database being checked."""
        if self._keys[0] != database.name:
            self._keys = (database.name, keys_of(database, self.schema.homes, self.schema.table))
        return self._keys[1]

    def allowed_across(self, source: str, target: str) -> bool:
        return [source, target] in [list(p) for p in self.config.allow_cross_database]
