"""Check stage: run the rules over a scanned schema, honour selection and suppressions."""

from __future__ import annotations

import hashlib
import json

from . import cache, store
from . import units  # noqa: F401  (it registers the model's classes with the codec)
from .diagnostics import Diagnostic, Location, Severity
from .graph import home
from .model import ForeignKey, Schema
from .rules import ALL_RULES, CheckContext, DatabaseRule, ScanRule
from .rules.suppression import UnusedSuppression
from .store import identity


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
        for name in schema.names:  # each database once, for every rule
            found, crossing = _database_findings(context, name, each)
            findings.update(found)
            context.crossing += crossing
    for rule in rules:
        findings.update(rule.check(context))
    kept, used = _suppress(findings, schema.suppressions)
    if selected(UnusedSuppression.code, select, ignore):
        kept += _unused(schema.suppressions, used, select, ignore)
    return sorted(kept, key=Diagnostic.order)


# Warnings of the scan that leave a schema incomplete: a column whose type is unknown (AS201),
# a class that may be a model left out (AS202), an argument left out (AS204). What is made
# from a schema without them (a migration, a snapshot) would be wrong, so they stop it as
# errors do.
INCOMPLETE = frozenset({"AS201", "AS202", "AS204"})


def unreadable(schema: Schema) -> list[Diagnostic]:
    """What keeps the models from being read whole: the scan's errors, and its warnings in
    `INCOMPLETE` (suppressions and the configuration's `ignore` apply, as for `check`)."""
    return check(schema, select=[rule.code for rule in ALL_RULES if issubclass(rule, ScanRule)
                                 and (rule.severity is Severity.ERROR or rule.code in INCOMPLETE)])


def _database_findings(context: CheckContext, name: str, rules) -> tuple[list, list]:
    """What `rules` find in database `name`, and its keys into other databases (for AS308):
    kept in the cache (`checks/`) under a key of everything they read, and read back from it
    without making the database, when the schema has a cache."""
    directory = context.schema.cache_dir
    key = _findings_key(context, name, rules) if directory is not None else None
    if key is not None and (kept := _load(directory / "checks" / f"{key}.json")) is not None:
        return kept
    database = context.schema.database(name)
    found = [finding for rule in rules for finding in rule.check_database(context, database)]
    crossing = [((k.database, k.target_database), k.foreign_key) for k in context.keys(database) if k.cross_database]
    if key is not None:
        _save(directory, key, found, crossing)
    return found, crossing


def _findings_key(context: CheckContext, name: str, rules) -> str:
    """Everything the database rules read of and around database `name`: its model, where
    each of its tables' names is first found (AS210) and which table that is, where each table
    its keys point at is and, in another database, which table it is; the rules, the databases
    allowed to cross, astschema's code."""
    schema = context.schema
    fullnames, targets = schema.references(name)
    homes = schema.homes
    parts = [identity(), repr(sorted(rule.code for rule in rules)), repr(context.config.allow_cross_database),
             schema.digest(name)]
    for fullname in fullnames:
        first = homes[fullname][0]
        parts.append(f"{fullname}<{first}:{schema.table_digest(first, fullname) if first != name else ''}")
    for target in targets:
        owner = home(homes.get(target, ()), name)
        parts.append(f"{target}>{owner}:{schema.table_digest(owner, target) if owner not in (None, name) else ''}")
    return hashlib.blake2b("\0".join(map(str, parts)).encode(), digest_size=16).hexdigest()


def _load(path) -> tuple[list, list] | None:
    try:
        found, crossing = cache.decode(json.loads(path.read_bytes()))
        if all(type(f) is Diagnostic for f in found) and all(type(c[1]) is ForeignKey for c in crossing):
            return list(found), [(tuple(pair), fk) for pair, fk in crossing]
    except store.UNREADABLE:
        pass
    return None


def _save(directory, key: str, found, crossing) -> None:
    try:
        text = cache.encode((tuple(found), tuple(crossing)))
    except (TypeError, ValueError, RecursionError):
        return  # a value the codec cannot store: checked again next time
    store.keep(directory, directory / "checks" / f"{key}.json", text)


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
            unused = [] if (entry, None) in used else [UnusedSuppression.ANY]
        else:
            unused = [c for c in codes if (entry, c) not in used and selected(c, select, ignore)]
        if unused:
            yield Diagnostic(UnusedSuppression.code, UnusedSuppression.message(unused), Location(path, line, col))
