"""The shape of a rule (Fixit's pattern): one class, one code, its docstring is its documentation.

A rule has a stable `code`, a `name`, a `severity`, and `VALID` / `INVALID` examples that the
test suite scans and checks: each INVALID example lists the (path, line, col) its findings must
have. `check` reads the model and its resolved foreign keys through a `CheckContext`; it never
re-parses.
Rules whose findings are made while scanning (a file that cannot be parsed, a type that cannot
be followed) are `ScanRule`s: they document and select what the scan reported.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import ClassVar, Iterable

from ..diagnostics import Diagnostic, Location, Severity


@dataclass(frozen=True)
class Invalid:
    """An example that must produce findings of the rule at exactly these places."""

    files: dict[str, str] | str
    expected: tuple[tuple[str, int, int], ...]  # (path, line, col)
    config: dict = field(default_factory=dict)  # scan / check options, e.g. {"allow_cross_database": ...}


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


class ScanRule(Rule):
    """A rule whose findings the scan itself makes (it cannot go on as if nothing happened)."""

    def check(self, context):
        return [d for d in context.schema.diagnostics if d.code == self.code]


@dataclass
class CheckContext:
    schema: object  # model.Schema
    config: object  # config.Config

    @property
    def keys(self):
        """`graph.Key`s: rules need not build the graph of every table."""
        return self.schema.keys

    def allowed_across(self, source: str, target: str) -> bool:
        return [source, target] in [list(p) for p in self.config.allow_cross_database]
