"""Extract stage: from resolved module summaries to the model (`Database`s of `Table`s).

The database of a table is decided as an import would decide it: by the base factory's
argument (`DatabaseBase("x")`) where there is one, else by the module's `DATABASE_NAME`,
else by the configured default database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .. import model, parse
from ..diagnostics import Diagnostic, Location
from ..resolve import ClassRef, Project
from .declarative import Declarative, Extension, TableDraft
from .tables import core_table, finalize, is_index_call, is_table_call, merge_redefinitions, module_index, settled
from .values import Context, report_non_static_name


@dataclass(frozen=True)
class Unit:
    """What extracting one module yields: a function of the summaries in `reads` alone (and,
    when `searched`, of every file under the scan roots), so it can be kept while those last."""

    module: str
    tables: tuple[TableDraft, ...]  # of its mapped classes, in source order
    core_tables: tuple[TableDraft, ...]  # of its module-level Table() calls
    extensions: tuple[Extension, ...]
    origins: tuple[tuple[str, Location], ...]  # database -> where it is named, first first
    diagnostics: tuple[Diagnostic, ...]
    suppressions: tuple[tuple, ...]  # (path, line, col, codes) of the summaries read
    reads: tuple[str, ...]
    reached: tuple[str, ...]  # modules it imports (directly or not): extracted after it
    searched: bool = False


def extract(project: Project, modules: list[str], kept=None) -> tuple[list[model.Database], list[Diagnostic], tuple]:
    """Databases, diagnostics and suppressions of the scanned modules and the support modules
    they import (an import would register their mapped classes too): each module extracted
    on its own (or its unit reused from `kept`, a `units.Kept`), then their tables together."""
    units, order, seen, scanned = [], list(modules), set(modules), frozenset(modules)
    for module in order:  # grows while support modules are reached
        unit = kept.load(module) if kept is not None else None
        if unit is None:
            unit = extract_module(project, module)
            if kept is not None:
                kept.save(unit)
        if module in scanned:
            project.forget(module)  # a model file is mostly read by itself; the support modules by all
        units.append(unit)
        for name in unit.reached:
            if name not in seen:
                seen.add(name)
                order.append(name)
    databases, diagnostics = assemble(project, units)
    return (databases, [d for u in units for d in u.diagnostics] + diagnostics,
            tuple(dict.fromkeys(s for u in units for s in u.suppressions)))


def extract_module(project: Project, module: str) -> Unit:
    """One module's unit, worked out afresh. Tables of other modules made on the way (a parent
    class's, a mixin holder's) are theirs and left out: every module an import reaches is
    extracted itself."""
    project.begin()
    ctx = Context(project)
    names: dict[str, str | None] = {}

    def database_name(module: str) -> str | None:
        """The module's static DATABASE_NAME, reporting a non-static one once."""
        if module not in names:
            names[module] = None
            if "DATABASE_NAME" in project.symbols(module):
                entry = project.symbols(module)["DATABASE_NAME"]
                value = project.lookup(module, "DATABASE_NAME")
                if isinstance(value, parse.Const) and isinstance(value.value, str):
                    names[module] = value.value
                    ctx.origins.setdefault(value.value, entry.loc)
                else:
                    report_non_static_name(ctx, value, entry.loc)
        return names[module]

    def database_of_module(module: str) -> str:
        """Where a table of `module` goes when no base factory says (asked once per table)."""
        name = database_name(module)
        if name is None and "DATABASE_NAME" not in project.symbols(module):
            ctx.report(
                "AS102",
                f"module defines tables but no DATABASE_NAME; they go to {project.config.default_database!r}",
                Location(project.summary(module).path, 1, 1),
            )
        return name or project.config.default_database

    declarative = Declarative(ctx, database_of_module)
    core_tables = {}
    summary = project.summary(module)
    if summary is not None and summary.parsed:
        for info in summary.classes:
            mapping = declarative.mapping(ClassRef(module, info.name, info))
            base = mapping.base
            declared = database_name(module)
            if mapping.table is not None and base and base.database and declared and base.database != declared:
                # once, at the base's call when it is in this module, else at each class using it
                here = base.origin if base.origin and base.origin.path == summary.path else info.loc
                ctx.report(
                    "AS104",
                    f"DATABASE_NAME is {declared!r} but this base is made for {base.database!r}; "
                    f"its tables go to {base.database!r}, as at import",
                    here,
                )
        for statement in [*(b.value for b in summary.bindings if b.value is not None), *summary.expressions]:
            value = project.evaluate(statement, module)
            if is_table_call(value):
                table = core_table(declarative, value, module)
                if table is not None:
                    core_tables[value.loc] = table
            elif is_index_call(value):
                module_index(declarative, value, core_tables)
            elif isinstance(value, parse.Call):
                declarative.base_of(value)  # a base made and not (yet) used is still reported on

    def own(tables):
        return tuple(settled(declarative, declarative.as_made(t)) for t in tables)

    tables = own(t for t in declarative.tables if t.module == module)
    core = own(core_tables.values())
    extensions = tuple(settled(declarative, e) for e in declarative.extensions)
    read = [project.summaries.get(name) for name in project.reads]  # settling may read more
    read = [s for s in read if s is not None]
    return Unit(
        module, tables, core, extensions, tuple(ctx.origins.items()),
        tuple(dict.fromkeys([*ctx.diagnostics, *project.diagnostics, *(d for s in read for d in s.diagnostics)])),
        tuple((s.path, line, col, codes) for s in read for line, col, codes in s.suppressions),
        tuple(project.reads), tuple(project.reached), project.searched,
    )


def assemble(project: Project, units: list[Unit]) -> tuple[list[model.Database], list[Diagnostic]]:
    """Every module's tables and what the others add to them, as databases. The units'
    drafts are added to in place, and emptied as their tables are made: a unit is assembled
    once (kept ones were stored before)."""
    ctx = Context(project)
    position = {unit.module: n for n, unit in enumerate(units)}
    tables, core_tables = [], {}
    for unit in units:
        tables += unit.tables
        for table in unit.core_tables:  # a Table() imported elsewhere is the same table
            core_tables[table.loc] = table
        for origin in unit.origins:
            ctx.origins.setdefault(*origin)
    drafts = [*tables, *core_tables.values()]
    by_loc = {**core_tables, **{t.loc: t for t in tables}}
    extended = set()
    for unit in units:
        for extension in unit.extensions:
            target = by_loc.get(extension.table)
            if target is None or (extension.table, extension.by) in extended:
                continue
            extended.add((extension.table, extension.by))
            target.columns += extension.columns
            target.items += extension.items
            target.relationships += extension.relationships
            target.attributes.update(extension.attributes)
    drafts.sort(key=lambda d: (position.get(d.module, len(units)), d.loc.line))
    tables = finalize(ctx, merge_redefinitions(ctx, drafts), by_loc)
    members_of, conventions_of = defaultdict(list), defaultdict(dict)  # grouped once: thousands of databases
    for table in tables:
        members_of[table.database].append(table)
    for draft in drafts:
        if draft.metadata.naming_convention:
            conventions_of[draft.database].setdefault(draft.metadata.naming_convention)
    databases = []
    for name in sorted(members_of):
        members = members_of[name]
        conventions = list(conventions_of[name])
        if len(conventions) > 1:
            ctx.report("AS204", f"tables of database {name!r} use different naming conventions; the first is used", None)
        convention = conventions[0] if conventions else ()
        databases.append(
            model.Database(
                name=name,
                tables=tuple(members),
                naming_convention=convention,
                modules=tuple(dict.fromkeys(t.module for t in members)),
                location=ctx.origins.get(name),
            )
        )
    return databases, ctx.diagnostics

