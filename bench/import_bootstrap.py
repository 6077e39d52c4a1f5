"""The reference astschema is measured against: learn the schema by importing the models.

    python bench/import_bootstrap.py OUT [--dialect sqlite|postgresql]

Does what the bootstrap of database-architecture.md does, without creating any database: puts
OUT on sys.path, imports every db_models.py under OUT (sorted by path), groups the tables by
the database each belongs to (its MetaData's info["database"], as DatabaseBase sets it, else
the module's DATABASE_NAME), and prints their DDL in the text format of `astschema ddl`. The two
outputs compare byte for byte once astschema's `-- left out:` comment lines are dropped:

    diff <(python bench/import_bootstrap.py OUT) \\
         <(python -m astschema ddl OUT -q | grep -v '^-- left out:')

The bootstrap's log lines go to stderr.
"""

import argparse
import importlib
import logging
import sys
import warnings
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import CreateEnumType
from sqlalchemy.schema import CreateIndex, CreateTable

DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}

log = logging.getLogger("core.bootstrap")


def module_name(path: Path, root: Path) -> str:
    """modules/standard/foo/db_models.py -> modules.standard.foo.db_models"""
    return ".".join(path.relative_to(root).with_suffix("").parts)


def short_name(module: str) -> str:
    """How the bootstrap log names a module: modules.core.settings.db_models -> core.settings"""
    return module.removeprefix("modules.").removesuffix(".db_models")


def collect(root: Path) -> dict[str, dict]:
    """Import every model module; per database, its tables and the modules defining them."""
    databases: dict[str, dict] = {}
    seen = set()  # single-table inheritance: subclasses share their parent's table
    for path in sorted(root.rglob("db_models.py")):
        name = module_name(path, root)
        # By its dotted name, so that a module another one already imported (the deprecated
        # `from modules.core.database.db_models import get_database_base`) is not run twice.
        module = importlib.import_module(name)
        for obj in vars(module).values():
            table = getattr(obj, "__table__", None)
            if not isinstance(obj, type) or obj.__module__ != name or not isinstance(table, sa.Table):
                continue
            if table in seen:
                continue
            seen.add(table)
            database = table.metadata.info.get("database", getattr(module, "DATABASE_NAME", None))
            entry = databases.setdefault(database, {"tables": [], "modules": []})
            entry["tables"].append(table)
            if name not in entry["modules"]:
                entry["modules"].append(name)
    return databases


def declarable(fk: sa.ForeignKey, tables: dict[str, sa.Table]) -> bool:
    """Whether a foreign key points into the same database (`tables`, by key); a key into
    another database cannot be declared in this one's DDL."""
    table, _, column = fk.target_fullname.rpartition(".")
    return table in tables and column in tables[table].c


def statements(tables: list[sa.Table], dialect) -> list[str]:
    """One database's CREATE statements in astschema's order: tables in foreign-key order
    (SQLAlchemy's sort, as MetaData.sorted_tables), each preceded by the PostgreSQL enum types
    it is the first to use and followed by its indexes sorted by name.

    Keys into another database are left out of the sort and of CREATE TABLE (their columns
    stay). The imported tables are compiled as they are, not copied: Table.to_metadata copies
    constraints in set order, which would reorder them in CREATE TABLE."""
    by_key = {t.key: t for t in tables}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)  # dependency cycles: they go last
        ordered = sa.schema.sort_tables(sorted(tables, key=lambda t: t.key),
                                        skip_fn=lambda fk: not declarable(fk, by_key))
    result, enum_types = [], set()
    for table in ordered:
        if dialect.name == "postgresql":
            for column in table.columns:
                kind = column.type
                if isinstance(kind, sa.Enum) and kind.native_enum and kind.name and kind.name not in enum_types:
                    enum_types.add(kind.name)
                    result.append(str(CreateEnumType(kind).compile(dialect=dialect)).strip())
        keys = [c for c in table.foreign_key_constraints if all(declarable(fk, by_key) for fk in c.elements)]
        create = CreateTable(table, include_foreign_key_constraints=keys)
        result.append(str(create.compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            result.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, metavar="OUT", help="the application tree")
    parser.add_argument("--dialect", choices=sorted(DIALECTS), default="sqlite")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s - %(name)s - %(message)s")

    root = args.root.resolve()
    sys.path.insert(0, str(root))
    sys.dont_write_bytecode = True  # leave the tree as it was: no __pycache__ in it

    log.info("Bootstrap: Compiling database schema...")
    log.info("Bootstrap: Scanning modules for database schemas...")
    databases = collect(root)
    dialect = DIALECTS[args.dialect].dialect()
    lines = []
    for name in sorted(databases):
        entry = databases[name]
        modules = ", ".join(short_name(m) for m in entry["modules"])
        log.info("%s: Database created with %d tables from modules: %s", name, len(entry["tables"]), modules)
        lines.append(f"-- database: {name}")
        lines += [f"{statement};" for statement in statements(entry["tables"], dialect)]
        lines.append("")
    log.info("Bootstrap: Created %d complete databases: %s", len(databases), ", ".join(sorted(databases)))
    log.info("Bootstrap: Database compilation complete")
    # As `astschema ddl` joins them: a blank line after each database, one newline at the end.
    sys.stdout.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
