"""DDL output: CREATE TABLE / CREATE INDEX statements compiled by SQLAlchemy per dialect."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import CreateEnumType
from sqlalchemy.schema import CreateIndex, CreateTable

DIALECTS = ("sqlite", "postgresql", "mysql")


def dialect(name: str):
    from sqlalchemy.dialects import mysql, postgresql, sqlite

    return {"sqlite": sqlite, "postgresql": postgresql, "mysql": mysql}[name].dialect()


def ordered_tables(metadata: sa.MetaData) -> list[sa.Table]:
    """Tables in foreign-key dependency order (SQLAlchemy's own sort; cycles go last)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)  # cycles are reported by `check`
        return metadata.sorted_tables


def _new_enum_types(table: sa.Table, compiled, seen: set) -> list:
    """PostgreSQL enum types a table needs and no earlier table created (CREATE TYPE first)."""
    if compiled.name != "postgresql":
        return []
    found = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, sa.Enum) and kind.native_enum and kind.name and kind.name not in seen:
            seen.add(kind.name)
            found.append(kind)
    return found


def statements(metadata: sa.MetaData, dialect_name: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The CREATE statements, and (table, reason) for each table the dialect cannot express
    (e.g. a VARCHAR without length on MySQL): that table is left out, the others go on."""
    compiled = dialect(dialect_name)
    result, refused, types = [], [], set()
    for table in ordered_tables(metadata):
        try:
            ddl = [str(CreateEnumType(e).compile(dialect=compiled)).strip() for e in _new_enum_types(table, compiled, types)]
            ddl.append(str(CreateTable(table).compile(dialect=compiled)).strip())
            for index in sorted(table.indexes, key=lambda i: i.name or ""):
                ddl.append(str(CreateIndex(index).compile(dialect=compiled)).strip())
        # SQLAlchemy's compiler asserts (bare AssertionError) where a naming convention cannot
        # name an unnamed index; importing the models fails the same way, so it is a refusal.
        except (sa.exc.SQLAlchemyError, AssertionError) as exc:
            reason = str(exc).split(" (Background", 1)[0] or "SQLAlchemy cannot name an unnamed constraint or index here"
            refused.append((table.fullname, reason))
            continue
        result += ddl
    return result, refused


def refusals(metadata: sa.MetaData, dialect_name: str) -> list[tuple[str, str]]:
    return statements(metadata, dialect_name)[1]


def left_out_keys(schema, database_name: str) -> list[str]:
    """Foreign keys of a database that its DDL cannot declare (into another database, or to
    an unknown table or column), written out so the DDL says what it leaves out."""
    from .graph import foreign_keys

    database = schema.database(database_name)
    homes = {t.fullname: d.name for d in schema.databases for t in d.tables}
    lines = []
    for table in database.tables:
        for fk in foreign_keys(table):
            target = database.table(fk.target_table)
            if target is not None and all(target.column(c) for c in fk.target_columns):
                continue
            where = homes.get(fk.target_table)
            why = f"in database {where}" if where and where != database_name else "unknown target"
            lines.append(f"foreign key {table.name}({', '.join(fk.columns)}) -> {fk.target} ({why})")
    return lines
