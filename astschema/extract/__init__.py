"""Extract stage: from resolved module summaries to the model (`Database`s of `Table`s).

The database of a table is decided as an import would decide it: by the base factory's
argument (`DatabaseBase("x")`) where there is one, else by the module's `DATABASE_NAME`,
else by the configured default database.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .. import model, parse
from ..diagnostics import Diagnostic, Location
from ..progress import track
from ..resolve import ClassRef, Project
from .assembly import Plan, assemble, outline
from .declarative import Declarative, Extension, TableDraft
from .tables import core_table, is_index_call, is_table_call, module_index, settled
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


def extract(project: Project, modules: list[str], kept=None) -> tuple[Sequence[model.Database], list[Diagnostic],
                                                                     tuple, dict]:
    """Databases, diagnostics and suppressions of the scanned modules and the support modules
    they import (an import would register their mapped classes too), and the digests of
    databases known on the way: each module extracted on its own (or its unit reused from
    `kept`, a `units.Kept`), then their tables together (see `assembly`), the units waiting in
    between as `units.Waiting`. The scanned modules that have no current kept unit are
    extracted on every core."""
    from ..units import Waiting  # it stores units: it imports this package

    plan, waiting = Plan(), Waiting(kept is not None, lambda module: extract_module(project, module))
    diagnostics, suppressions = [], {}
    order, seen, scanned = list(modules), set(modules), frozenset(modules)
    with _made_ahead(project, modules, kept) as made:
        for module in order:  # grows while support modules are reached
            found = kept.load(module) if kept is not None and module not in made else None
            if found is None:
                unit, sketch, text = next(made[module]) if module in made else _made(project, module, kept)
                waiting.put(sketch, unit, text)
            else:
                sketch, text = found
                waiting.put(sketch, text=text)
            if module in scanned:
                project.forget(module)  # a model file is mostly read by itself; the support modules by all
            plan.add(sketch)
            diagnostics += sketch.diagnostics
            suppressions.update(dict.fromkeys(sketch.suppressions))
            for name in sketch.reached:
                if name not in seen:
                    seen.add(name)
                    order.append(name)
                    project.locate(name)  # found by a worker's import, maybe: not here yet
    databases, found, digests = assemble(project, waiting, plan, None if kept is None else kept.databases())
    return databases, diagnostics + found, tuple(suppressions), digests


def _made(project: Project, module: str, kept):
    """(unit, its outline, its JSON text if kept) of a module extracted now."""
    unit = extract_module(project, module)
    sketch = outline(unit)
    return unit, sketch, kept.save(unit, sketch) if kept is not None else None


# Below this many modules to extract, forking workers costs more than it saves.
PARALLEL_FROM_MODULES = 50

_FORKED = None  # (project, kept) of the scan whose extracting workers are forked: they inherit it


@contextmanager
def _made_ahead(project: Project, modules: list[str], kept):
    """`_made` of each of `modules` without a current kept unit, on every core: module -> an
    iterator of its result, to be taken in the order given (empty for too few modules, one
    core, or a system that cannot fork: the workers inherit the project)."""
    from ..cache import FORKING, pool, workers_for

    def enough(found) -> bool:
        return FORKING and workers_for(len(found), PARALLEL_FROM_MODULES, project.config.jobs) >= 2

    # each entry's first line is read only if workers may take what it does not serve
    modules = [m for m in modules if kept is None or not kept.current(m)] if enough(modules) else []
    if not enough(modules):
        yield {}
        return
    global _FORKED
    _FORKED = project, kept
    try:
        with pool(len(modules), PARALLEL_FROM_MODULES, project.config.jobs) as workers:
            # a few modules a batch: results wait until taken, and a batch comes back whole
            made = workers.map(_made_forked, modules, chunk=8)
            yield dict.fromkeys(modules, iter(track(made, len(modules), "resolving", "modules")))
    finally:
        _FORKED = None


def _made_forked(module: str):
    """In a forked worker: `_made` for the scan's project, which then forgets the module."""
    project, kept = _FORKED
    made = _made(project, module, kept)
    project.forget(module)
    return made


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
