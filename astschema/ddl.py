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
        except sa.exc.SQLAlchemyError as exc:
            refused.append((table.fullname, str(exc).split(" (Background", 1)[0]))
            continue
        result += ddl
    return result, refused
