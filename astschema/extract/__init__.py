"""Extract stage: from resolved module summaries to the model (`Database`s of `Table`s).

The database of a table is decided as an import would decide it: by the base factory's
argument (`DatabaseBase("x")`) where there is one, else by the module's `DATABASE_NAME`,
else by the configured default database.
"""

from __future__ import annotations

from collections import defaultdict

from .. import model, parse
from ..diagnostics import Location
from ..resolve import ClassRef, Project
from .declarative import Declarative
from .tables import core_table, finalize, is_index_call, is_table_call, merge_redefinitions, module_index
from .values import Context, report_non_static_name


def extract(project: Project, modules: list[str]) -> tuple[list[model.Database], list]:
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
                Location(project.summaries[module].path, 1, 1),
            )
        return name or project.config.default_database

    declarative = Declarative(ctx, database_of_module)
    core_tables = {}
    order = []
    for module in _modules_in_order(project, modules):
        order.append(module)
        summary = project.summaries.get(module)
        if summary is None or not summary.parsed:
            continue
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

    drafts = [*declarative.tables, *core_tables.values()]
    position = {module: n for n, module in reversed(list(enumerate(order)))}
    drafts.sort(key=lambda d: (position.get(d.module, len(order)), d.loc.line))
    tables = finalize(declarative, merge_redefinitions(ctx, drafts), core_tables)
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


def _modules_in_order(project: Project, modules: list[str]):
    """The scanned modules, then the support modules they import (an import would register
    their mapped classes too); the list grows while support modules are read."""
    order, seen = list(modules), set(modules)
    index = 0
    while True:
        for module in project.imported:
            if module not in seen:
                seen.add(module)
                order.append(module)
        if index == len(order):
            return
        yield order[index]
        index += 1
