"""Create and diff: the bootstrap, done safely, from astschema's tables.

Never destructive: an existing database that matches is left alone, one that drifted is
reported (alembic's `compare_metadata` finds the differences) and left alone, unless
`add_missing` allows creating the missing tables and indexes, and nothing else. Each database
is created in one transaction, under a lock, so a failure or a concurrent run leaves it as it
was.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .build import build_schemas, declared, undeclared
from .ddl import left_out, statements
from .graph import database_graph
from .model import Schema
from .rules.safety import SAFE_NAME

DEFAULT_URL_TEMPLATE = "sqlite:///data/database/{name}.db"


class CreateError(Exception):
    """Something stops `create` or `diff` before or while it touches a database."""


@dataclass
class Outcome:
    """What a run did: log lines, drift per database, and whether anything failed."""

    lines: list[str] = field(default_factory=list)
    drift: dict[str, list] = field(default_factory=dict)
    failed: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or any(self.drift.values()) else 0


def database_order(schema: Schema) -> list[str]:
    """Databases with the ones they reference first (AS308 reports a cycle, which has none)."""
    graph = nx.DiGraph(database_graph(schema.graph)).reverse()
    return list(nx.lexicographical_topological_sort(graph))


def url_for(template: str, name: str) -> str:
    if not SAFE_NAME.fullmatch(name):  # also refused by check (AS502); never build a path from it
        raise CreateError(f"database name {name!r} is not safe as a file name")
    return template.replace("{name}", name)


# -- drift ------------------------------------------------------------------------------------


def compare(connection, metadata: sa.MetaData, schema_name: str | None = None) -> list:
    """alembic's differences between a live database and the models (empty: in sync)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    options = {"compare_type": True}
    if schema_name is not None:  # one schema of a shared database: its tables only
        options.update(
            include_schemas=True,
            include_name=lambda name, kind, parent: kind != "schema" or name == schema_name,
            include_object=lambda obj, name, kind, reflected, other: kind != "table" or obj.schema == schema_name,
        )
    context = MigrationContext.configure(connection, opts=options)
    return compare_metadata(context, metadata)


def describe_difference(difference) -> str:
    """One line for one of alembic's difference tuples."""
    if isinstance(difference, list):  # column modifications come grouped
        return "; ".join(describe_difference(d) for d in difference)
    kind = difference[0]
    if kind in ("add_table", "remove_table"):
        table = difference[1]
        return f"{'missing' if kind == 'add_table' else 'extra'} table {table.fullname}"
    if kind in ("add_column", "remove_column"):
        _, schema_name, table, column = difference
        return f"{'missing' if kind == 'add_column' else 'extra'} column {table}.{column.name}"
    if kind in ("add_index", "remove_index"):
        index = difference[1]
        return f"{'missing' if kind == 'add_index' else 'extra'} index {index.name} on {index.table.fullname}"
    if kind in ("add_fk", "remove_fk", "add_constraint", "remove_constraint"):
        constraint = difference[1]
        what = "foreign key" if "fk" in kind else "constraint"
        return f"{'missing' if kind.startswith('add') else 'extra'} {what} {constraint.name or ''} on {constraint.table.fullname}".replace("  ", " ")
    if kind.startswith("modify_"):
        _, schema_name, table, column, info, old, new = difference
        return f"column {table}.{column} {kind.removeprefix('modify_')} differs: database has {old}, models say {new}"
    return " ".join(str(part) for part in difference)


def _only_missing(differences) -> bool:
    return all(isinstance(d, tuple) and d[0] in ("add_table", "add_index") for d in differences)


# -- engines, locks and transactions -------------------------------------------------------------


def statement_count(sql: str) -> int:
    """How many SQL statements a string holds: `;` outside quotes, quoted identifiers,
    dollar quotes and comments ends one (PostgreSQL's lexical rules, which cover SQLite's)."""
    count, i, n = 0, 0, len(sql)
    pending = False  # text seen since the last `;`
    while i < n:
        char = sql[i]
        if char in "'\"":
            end = sql.find(char, i + 1)
            while end != -1 and sql[end + 1 : end + 2] == char:  # '' and "" are escapes
                end = sql.find(char, end + 2)
            i, pending = (n if end == -1 else end + 1), True
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                depth += 1 if sql.startswith("/*", i) else -1 if sql.startswith("*/", i) else 0
                i += 2 if sql.startswith(("/*", "*/"), i) else 1
        elif char == "$" and (tag := re.match(r"\$[A-Za-z_]*\$", sql[i:])):
            end = sql.find(tag.group(0), i + len(tag.group(0)))
            i, pending = (n if end == -1 else end + len(tag.group(0))), True
        elif char == ";":
            count, pending, i = count + pending, False, i + 1
        else:
            pending = pending or not char.isspace()
            i += 1
    return count + pending


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _one_statement(connection, cursor, statement, parameters, context, executemany):
        # Raw SQL from scanned code (text defaults, check constraints) runs only inside its own
        # single statement: some drivers (psycopg) would run `...; DROP TABLE x` as two.
        if statement_count(statement) > 1:
            raise CreateError(f"refusing to run more than one statement at once: {statement.strip()[:200]!r}")

    if engine.dialect.name == "sqlite":
        # pysqlite commits before DDL on its own; take over so CREATE TABLE is transactional
        # (SQLAlchemy's documented recipe), and turn foreign keys on as the bootstrap would.
        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

        @sa.event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    return engine


@contextlib.contextmanager
def _lock(url: sa.URL, name: str):
    """An exclusive lock per target, so two runs at once take turns instead of colliding.
    SQLite: a lock file beside the database file; PostgreSQL: an advisory lock (taken inside
    the transaction, see `_advisory_lock`)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    path = Path(url.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _advisory_lock(connection, name: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"astschema:{name}"})


def _existing(url: sa.URL) -> bool:
    """Whether the target database exists already (a file for SQLite, a database on a server)."""
    if url.get_backend_name() == "sqlite":
        return bool(url.database) and url.database != ":memory:" and Path(url.database).exists()
    return True


def _ensure_postgres_database(url: sa.URL) -> bool:
    """Create the database on a PostgreSQL server if it is missing; True when created."""
    if url.get_backend_name() != "postgresql":
        return False
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                        {"d": url.database}).scalar()
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote(url.database)
            try:
                connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
            except sa.exc.DBAPIError as exc:  # another run created it a moment ago
                if "already exists" not in str(exc.orig):
                    raise
                return False
            return True
    finally:
        server.dispose()


def _drop_postgres_database(url: sa.URL) -> None:
    """Only for a database this run created and could not fill: back to how it was."""
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {connection.dialect.identifier_preparer.quote(url.database)}")
    finally:
        server.dispose()


# -- create --------------------------------------------------------------------------------------


def create(schema: Schema, *, url_template: str = DEFAULT_URL_TEMPLATE, databases=None, dry_run: bool = False,
           add_missing: bool = False, postgres_schemas: str | None = None) -> Outcome:
    """Create every database of the schema (or those named), in dependency order."""
    outcome = Outcome()
    names = [n for n in database_order(schema) if not databases or n in databases]
    unknown = [n for n in databases or () if n not in names]
    if unknown:
        raise CreateError(f"no database named {', '.join(unknown)} (found: {', '.join(database_order(schema))})")
    if postgres_schemas:
        targets = [(name, postgres_schemas, name) for name in names]
        combined = build_schemas(schema)
    else:
        targets = [(name, url_for(url_template, name), None) for name in names]
        combined = None
    created = []
    for name, url, schema_name in targets:
        metadata = _schema_tables(combined, name) if combined is not None else schema.metadata(name)
        if dry_run:
            dialect = make_url(url).get_backend_name()
            outcome.lines.append(f"-- database: {name} ({url})")
            if schema_name:
                outcome.lines.append(f"CREATE SCHEMA IF NOT EXISTS {schema_name};")
            outcome.lines += [f"{s};" for s in statements(metadata, dialect)[0]]
            continue
        result = _create_one(schema, name, url, metadata, schema_name, add_missing, outcome)
        if result == "created":
            created.append(name)
            if combined is None:  # SQLite files (or separate servers) cannot hold these keys
                database = schema.database(name)
                target = declared(database)
                keys = [key for table in database.tables for key in undeclared(table, target)]
                outcome.lines += [f"{name}: warning: {key} is left out: it cannot be declared in this database"
                                  for key in left_out(schema, name, keys)]
    if not dry_run and not outcome.failed and not any(outcome.drift.values()):
        if created:
            outcome.lines.append(f"Created {len(created)} complete databases: {', '.join(created)}")
        else:
            outcome.lines.append("All databases are up to date.")
    return outcome


def _schema_tables(combined: sa.MetaData, name: str) -> sa.MetaData:
    """The part of the combined MetaData that lives in schema `name` (the keys stay bound to
    the other schemas' tables, which earlier databases created)."""
    part = sa.MetaData()
    for table in combined.sorted_tables:
        if table.schema == name:
            table.to_metadata(part)
    for table in combined.tables.values():  # referenced tables of other schemas, for the keys
        if table.schema != name and table.key not in part.tables:
            table.to_metadata(part)
    part.info["only_schema"] = name
    return part


def _create_one(schema: Schema, name: str, url: str, metadata: sa.MetaData, schema_name, add_missing, outcome) -> str:
    parsed = make_url(url)
    modules = ", ".join(m.removesuffix(".db_models") for m in schema.database(name).modules)
    tables = [t for t in metadata.sorted_tables if schema_name is None or t.schema == schema_name]
    with _lock(parsed, name):
        if schema_name is not None:
            existed = True  # the schema's database is the server's; its schema is created in the transaction
        elif parsed.get_backend_name() == "postgresql":
            existed = not _ensure_postgres_database(parsed)
        else:
            existed = _existing(parsed)
        engine = _engine(url)
        try:
            with engine.connect() as connection:
                with connection.begin():
                    _advisory_lock(connection, name)
                    if schema_name is not None:
                        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {connection.dialect.identifier_preparer.quote(schema_name)}")
                    present = set(sa.inspect(connection).get_table_names(schema=schema_name))
                    if present:
                        differences = compare(connection, metadata, schema_name)
                        if not differences:
                            outcome.lines.append(f"{name}: up to date ({len(tables)} tables)")
                            return "unchanged"
                        if add_missing and _only_missing(differences):
                            for difference in differences:
                                _create_missing(connection, difference)
                            outcome.lines.append(f"{name}: added {', '.join(describe_difference(d) for d in differences)}")
                            return "extended"
                        outcome.drift[name] = [describe_difference(d) for d in differences]
                        outcome.lines.append(f"{name}: drifted from the models; left unchanged:")
                        outcome.lines += [f"  {line}" for line in outcome.drift[name]]
                        return "drifted"
                    metadata.create_all(connection, tables=tables)
        except (sa.exc.SQLAlchemyError, CreateError) as exc:
            outcome.failed = True
            statement = (getattr(exc, "statement", None) or "").strip().splitlines()
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            where = f" while running: {statement[0]}" if statement else ""
            outcome.lines.append(f"{name}: failed{where}: {reason}; nothing was changed")
            if not existed:
                _remove_new(parsed)
            return "failed"
        finally:
            engine.dispose()
    outcome.lines.append(f"{name}: Database created with {len(tables)} tables from modules: {modules}")
    return "created"


def _create_missing(connection, difference) -> None:
    difference[1].create(connection)  # a Table or an Index: both know how to create themselves


def _remove_new(url: sa.URL) -> None:
    """A database file this run created and could not fill goes away again."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        with contextlib.suppress(FileNotFoundError):
            os.remove(url.database)
    elif url.get_backend_name() == "postgresql":
        _drop_postgres_database(url)


# -- diff ----------------------------------------------------------------------------------------


def diff(schema: Schema, *, url_template: str, databases=None, postgres_schemas: str | None = None) -> Outcome:
    """Compare each live database with the models; drift per database in `outcome.drift`."""
    outcome = Outcome()
    combined = build_schemas(schema) if postgres_schemas else None
    for name in database_order(schema):
        if databases and name not in databases:
            continue
        url = postgres_schemas or url_for(url_template, name)
        parsed = make_url(url)
        if combined is None and parsed.get_backend_name() == "sqlite" and not _existing(parsed):
            outcome.drift[name] = [f"missing database {parsed.database}"]
            continue
        metadata = _schema_tables(combined, name) if combined is not None else schema.metadata(name)
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                outcome.drift[name] = [describe_difference(d) for d in compare(connection, metadata, name if combined is not None else None)]
        except sa.exc.SQLAlchemyError as exc:
            raise CreateError(f"{name}: cannot compare with {parsed.render_as_string(hide_password=True)}: "
                              f"{str(getattr(exc, 'orig', None) or exc).strip().splitlines()[0]}") from exc
        finally:
            engine.dispose()
    return outcome

