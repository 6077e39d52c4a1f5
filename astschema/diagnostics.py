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


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


# Code -> (severity, short name). The check stage (issue 3) turns these into documented rules.
CODES: dict[str, tuple[Severity, str]] = {
    "AS100": (Severity.ERROR, "unreadable-file"),
    "AS101": (Severity.ERROR, "syntax-error"),
    "AS102": (Severity.WARNING, "missing-database-name"),
    "AS103": (Severity.ERROR, "non-static-database-name"),
    "AS104": (Severity.WARNING, "database-name-disagrees-with-base"),
    "AS201": (Severity.ERROR, "unresolved-type"),
    "AS202": (Severity.WARNING, "unresolved-name"),
    "AS203": (Severity.ERROR, "unknown-table-name"),
    "AS204": (Severity.WARNING, "non-static-argument"),
    "AS205": (Severity.WARNING, "type-assumed"),
    "AS206": (Severity.ERROR, "unknown-column-in-constraint"),
    "AS207": (Severity.ERROR, "not-expressible-in-dialect"),
    "AS208": (Severity.ERROR, "table-defined-twice"),
    "AS209": (Severity.ERROR, "not-buildable"),
    "AS301": (Severity.WARNING, "cross-database-foreign-key"),
    "AS302": (Severity.ERROR, "unknown-foreign-key-target"),
    "AS401": (Severity.WARNING, "deprecated-get-database-base"),
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    location: Location | None

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]

    @property
    def name(self) -> str:
        return CODES[self.code][1]

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.code} {self.message}"
