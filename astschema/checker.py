"""Check stage: run the rules over a scanned schema, honour selection and suppressions."""

from __future__ import annotations

from .diagnostics import Diagnostic, Location
from .model import Schema
from .rules import ALL_RULES, CheckContext, DatabaseRule
from .rules.suppression import UnusedSuppression


def selected(code: str, select, ignore) -> bool:
    """ruff-like selection by code or prefix ("AS3", "ALL"); the longer match wins."""

    def best(patterns):
        return max((len(p) if p != "ALL" else 0 for p in patterns if p == "ALL" or code.startswith(p)), default=-1)

    chosen, skipped = best(select), best(ignore)
    return chosen >= 0 and chosen > skipped


def check(schema: Schema, *, select=None, ignore=None) -> list[Diagnostic]:
    """Every finding of the selected rules, suppressions applied, sorted by location."""
    config = schema.config
    select = tuple(select or config.select)
    ignore = tuple(ignore if ignore is not None else config.ignore)
    context = CheckContext(schema, config)
    findings: set[Diagnostic] = set()
    rules = [rule() for rule in ALL_RULES if selected(rule.code, select, ignore)]
    each = [rule for rule in rules if isinstance(rule, DatabaseRule)]
    if each:
        for database in schema.databases:  # each database once, for every rule
            for rule in each:
                findings.update(rule.check_database(context, database))
    for rule in rules:
        findings.update(rule.check(context))
    kept, used = _suppress(findings, schema.suppressions)
    if selected(UnusedSuppression.code, select, ignore):
        kept += _unused(schema.suppressions, used, select, ignore)
    return sorted(kept, key=Diagnostic.order)


def _suppress(findings, suppressions):
    by_line = {(path, line): (path, line, col, codes) for path, line, col, codes in suppressions}
    kept, used = [], set()
    for finding in findings:
        where = finding.location
        entry = by_line.get((where.path, where.line)) if where else None
        if entry is not None and (not entry[3] or finding.code in entry[3]):
            used.add((entry, finding.code if entry[3] else None))
        else:
            kept.append(finding)
    return kept, used


def _unused(suppressions, used, select, ignore):
    for entry in suppressions:
        path, line, col, codes = entry
        if not codes:
            unused = [] if (entry, None) in used else ["any code"]
        else:
            unused = [c for c in codes if (entry, c) not in used and selected(c, select, ignore)]
        if unused:
            yield Diagnostic(UnusedSuppression.code,
                             f"suppression of {', '.join(unused)} matches no finding on this line",
                             Location(path, line, col))
