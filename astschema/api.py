"""The Python API: `scan(paths) -> Schema`, the pipeline end to end."""

from __future__ import annotations

from pathlib import Path

from .config import Config, find_pyproject, load_config
from .diagnostics import Diagnostic
from .discover import discover, read
from .extract import extract
from .model import Schema
from .resolve import Project, module_name, package_root


def scan(
    paths,
    *,
    include=None,
    exclude=None,
    default_database: str | None = None,
    base_factories=None,
    types=None,
    config: Config | None = None,
) -> Schema:
    """Read the models under `paths` statically and return the schema they declare.

    Options left as None come from `[tool.astschema]` in the nearest pyproject.toml
    (or astschema's defaults). Scanned code is parsed, never imported or executed.
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if config is None:
        config = load_config(find_pyproject(paths))
    config = config.with_overrides(
        include=include,
        exclude=exclude,
        default_database=default_database,
        base_factories=None if base_factories is None else (*config.base_factories, *base_factories),
        types=types,
    )
    files, diagnostics = discover(paths, config)
    roots = [p if p.is_dir() else p.parent for p in paths] + [package_root(f.path) for f in files]
    project = Project(roots, config)
    modules = []
    for source in files:
        data, problem = read(source.path, config.max_bytes)
        if problem is not None:
            diagnostics.append(problem)
            continue
        module = module_name(source.path, package_root(source.path))
        if module in project.summaries:  # two top-level modules of one name in different folders
            module = module_name(source.path, source.root.resolve())
        project.add(source.path, module, source.path.name == "__init__.py", data)
        modules.append(module)
    databases, found = extract(project, modules)
    diagnostics += project.diagnostics + found + cross_database_keys(databases)
    return Schema(tuple(databases), tuple(sorted(set(diagnostics), key=_order)))


def cross_database_keys(databases) -> list[Diagnostic]:
    """Foreign keys whose target is not in the referring table's database."""
    where = {t.fullname: d.name for d in databases for t in d.tables}
    columns = {(d.name, t.fullname): {c.key for c in t.columns} for d in databases for t in d.tables}
    found = []
    for database in databases:
        for table in database.tables:
            keys = [fk for c in table.columns for fk in c.foreign_keys]
            keys += [c.foreign_key for c in table.constraints if c.foreign_key is not None]
            for fk in keys:
                origin = f"{table.name}.{', '.join(fk.columns)}"
                target_columns = columns.get((database.name, fk.target_table))
                if target_columns is not None:
                    missing = [c for c in fk.target_columns if c not in target_columns]
                    if missing:
                        found.append(Diagnostic(
                            "AS302", f"foreign key {origin} -> {fk.target}: {fk.target_table} has no column "
                            f"{', '.join(missing)}; left out of the DDL", fk.location))
                    continue
                if fk.target_table in where:
                    found.append(Diagnostic(
                        "AS301",
                        f"foreign key {origin} -> {fk.target} crosses from database {database.name!r} "
                        f"to {where[fk.target_table]!r}; left out of the DDL",
                        fk.location,
                    ))
                else:
                    found.append(Diagnostic(
                        "AS302", f"foreign key {origin} -> {fk.target}: no such table; left out of the DDL", fk.location))
    return found


def _order(diagnostic: Diagnostic):
    loc = diagnostic.location
    return (loc.path, loc.line, loc.col, diagnostic.code) if loc else ("", 0, 0, diagnostic.code)
