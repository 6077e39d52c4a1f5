"""DDL output: CREATE TABLE / CREATE INDEX statements compiled by SQLAlchemy per dialect."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
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


def statements(metadata: sa.MetaData, dialect_name: str) -> list[str]:
    compiled = dialect(dialect_name)
    result = []
    for table in ordered_tables(metadata):
        result.append(str(CreateTable(table).compile(dialect=compiled)).strip())
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            result.append(str(CreateIndex(index).compile(dialect=compiled)).strip())
    return result
