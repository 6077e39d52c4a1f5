"""Source locations and diagnostics: what every stage reports instead of guessing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class Location:
    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    def __reduce__(self):
        # a model holds one per part: this pickles (for compile keys) and unpickles faster
        # than the generic state a slots dataclass gives
        return Location, (self.path, self.line, self.col)


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    location: Location | None

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def rule(self):
        from .rules import BY_CODE  # the rules document every code; they import this module

        return BY_CODE[self.code]

    def order(self) -> tuple:
        """Sort key: by place, then code, then message, so output never depends on discovery order."""
        where = self.location
        return (where.path, where.line, where.col, self.code, self.message) if where else ("", 0, 0, self.code, self.message)

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.code} {self.message}"
