"""Findings as text, JSON, SARIF 2.1.0 or GitHub Actions annotations: `render(findings, format)`.

`text` (the default, like ruff) is one `path:line:col: CODE message` line per finding, then a
summary (`Found 2 errors and 1 warning.`), or only `All checks passed.` when there is nothing.

`json` is a list, one object per finding, in the order given:

    [
      {
        "code": "AS301",
        "name": "cross-database-foreign-key",
        "severity": "error",            // or "warning"
        "message": "...",
        "location": {"path": "modules/a/db_models.py", "line": 12, "col": 5}   // or null
      }
    ]

`line` and `col` are 1-based. `sarif` is one SARIF 2.1.0 run with every rule described, ready
for GitHub code scanning; `github` is one `::error`/`::warning` workflow command per finding.

Paths and messages come from the scanned source, so they can hold anything a file name or a
string literal can: the human formats pass them through `escape` first.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections import Counter
from pathlib import PurePath
from urllib.parse import quote

from . import __version__
from .diagnostics import Diagnostic, Severity
from .model import finding_json
from .rules import ALL_RULES

FORMATS = ("text", "json", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# Shown by code scanning next to the tool's name; the project has no home page of its own yet.
INFORMATION_URI = "https://pypi.org/project/astschema/"

# Control and format characters (ESC, CR, NUL, DEL, bidi overrides, zero-width joiners...),
# lone surrogates (undecodable file names) and the Unicode line/paragraph separators.
_UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


LAYOUT = frozenset("\n\t")  # what SQLAlchemy's DDL uses for its own layout


def escape(text: str, keep: frozenset = frozenset()) -> str:
    """`text` with every control or invisible formatting character made a visible escape
    (but those in `keep`).

    So a name from untrusted source cannot move the cursor, recolour or clear a terminal,
    reorder what is shown (bidi overrides), or break one finding over two lines.
    """
    if text.isascii():  # the common case: ASCII's unsafe characters are its controls, found in C
        return _ascii_unsafe(keep).sub(lambda m: _escape_char(m.group()), text)
    return "".join(_escape_char(c) if unicodedata.category(c) in _UNSAFE and c not in keep else c for c in text)


@functools.lru_cache(maxsize=4)
def _ascii_unsafe(keep: frozenset) -> re.Pattern:
    """ASCII's controls (category Cc, all its unsafe characters) but those kept: a DDL
    statement's layout is not matched, newline by newline, only to be put back."""
    return re.compile("[%s]" % "".join(re.escape(chr(c)) for c in [*range(0x20), 0x7F] if chr(c) not in keep))


def _escape_char(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def render(findings: list[Diagnostic], output_format: str, *, statistics: bool = False,
           quiet: bool = False, colour: bool = False) -> str:
    """The findings in `output_format`, ending in a newline unless there is nothing to say.

    `statistics` adds a count per rule to `text`; `quiet` leaves the summary out of `text`;
    `colour` colours `text` for a terminal (the machine formats ignore all three).
    """
    if output_format == "text":
        return _text(findings, statistics, quiet, colour)
    if output_format == "json":
        return json.dumps([finding_json(f) for f in findings], indent=2) + "\n"
    if output_format == "sarif":
        return json.dumps(_sarif(findings), indent=2) + "\n"
    if output_format == "github":
        return "".join(_github(f) + "\n" for f in findings)
    raise ValueError(f"unknown output format {output_format!r}; expected one of {', '.join(FORMATS)}")


# --- text ---------------------------------------------------------------------------------------

# ANSI styles of `text` on a terminal: the location bold, the code and the summary by severity.
_STYLES = {"location": "1", Severity.ERROR: "1;31", Severity.WARNING: "1;33", "passed": "1;32"}


def _paint(text: str, style, colour: bool) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if colour else text


def _text(findings, statistics, quiet, colour) -> str:
    lines = [_text_line(f, colour) for f in findings]
    if statistics and findings:
        lines += [""] * bool(lines) + _statistics(findings)
    if not quiet:
        worst = Severity.ERROR if any(f.severity is Severity.ERROR for f in findings) else Severity.WARNING
        lines += ["", _paint(_summary(findings), worst, colour)] if findings else \
            [_paint("All checks passed.", "passed", colour)]
    return "".join(line + "\n" for line in lines)


def _text_line(finding: Diagnostic, colour: bool) -> str:
    where = finding.location
    prefix = _paint(f"{escape(where.path)}:{where.line}:{where.col}:", "location", colour) + " " if where else ""
    return f"{prefix}{_paint(finding.code, finding.severity, colour)} {escape(finding.message)}"


def _statistics(findings) -> list[str]:
    """One row per code, most frequent first (as `ruff --statistics`): count, code, name."""
    counts = Counter(f.code for f in findings)
    names = {f.code: f.name for f in findings}
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    width = len(str(rows[0][1]))
    code_width = max(len(code) for code in counts)
    return [f"{count:>{width}}  {code:<{code_width}}  {names[code]}" for code, count in rows]


def _summary(findings) -> str:
    counts = Counter(f.severity for f in findings)
    parts = [_plural(counts[severity], severity.value) for severity in (Severity.ERROR, Severity.WARNING)
             if counts[severity]]
    return f"Found {' and '.join(parts)}."


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- sarif --------------------------------------------------------------------------------------

def _sarif(findings) -> dict:
    index = {rule.code: n for n, rule in enumerate(ALL_RULES)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "astschema",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_sarif_rule(rule) for rule in ALL_RULES],
            }},
            "results": [_sarif_result(f, index[f.code]) for f in findings],
        }],
    }


def _sarif_rule(rule) -> dict:
    return {
        "id": rule.code,
        # SARIF asks for an identifier-like name; code scanning shows it beside the id.
        "name": "".join(word.capitalize() for word in rule.name.split("-")),
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": rule.doc()},
        "help": {"text": rule.doc()},
        "defaultConfiguration": {"level": rule.severity.value},
    }


def _sarif_result(finding: Diagnostic, rule_index: int) -> dict:
    result = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": finding.severity.value,  # SARIF's levels include "error" and "warning" as they are
        "message": {"text": finding.message},
    }
    where = finding.location
    if where is not None:
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(where.path)},
            "region": {"startLine": where.line, "startColumn": where.col},
        }}]
    return result


def _uri(path: str) -> str:
    """A relative path stays relative (code scanning resolves it against the checkout), with
    `/` separators and percent-encoding (a space, `#` or `%` in a name is not a URI character)."""
    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return quote(pure.as_posix(), safe="/")


# --- github -------------------------------------------------------------------------------------

def _github(finding: Diagnostic) -> str:
    """`::error file=...,line=...,col=...,title=CODE NAME::message` (a workflow command)."""
    command = "error" if finding.severity is Severity.ERROR else "warning"
    properties = []
    if finding.location is not None:
        where = finding.location
        properties += [f"file={_gh_property(where.path)}", f"line={where.line}", f"col={where.col}"]
    properties.append(f"title={_gh_property(f'{finding.code} {finding.name}')}")
    return f"::{command} {','.join(properties)}::{_gh_data(finding.message)}"


def _gh_data(text: str) -> str:
    # GitHub's own escapes first (`%` before the others, so they are not escaped twice); what
    # control characters remain become visible, since the runner's log shows ANSI sequences.
    return escape(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _gh_property(text: str) -> str:
    # In a property `:` and `,` would end the value, so they are escaped too.
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")
