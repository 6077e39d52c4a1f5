"""DDL output: CREATE TABLE / CREATE INDEX statements compiled by SQLAlchemy per dialect."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import CreateEnumType
from sqlalchemy.schema import CreateIndex, CreateTable

from .diagnostics import Location

DIALECTS = ("sqlite", "postgresql", "mysql")
CHECKED_DIALECTS = ("sqlite", "postgresql")  # every table must be creatable on these (AS207)


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
            reason = re.sub(r"<([\w.]+) object at 0x[0-9a-f]+>", r"\1", reason)  # same text every run
            refused.append((table.fullname, reason))
            continue
        result += ddl
    return result, refused


@dataclass(frozen=True)
class Compiled:
    """What SQLAlchemy makes of one database: plain data, so that worker processes can
    build and compile databases side by side and send only this back."""

    problems: tuple[tuple[str, Location | None], ...]  # tables SQLAlchemy refused to build
    statements: dict[str, tuple[str, ...]]  # per dialect, in foreign-key order
    refusals: dict[str, tuple[tuple[str, str], ...]]  # per dialect: (table, reason) left out
    names: dict[str, tuple[tuple[str, Location | None], ...]]  # per table: index and constraint names


def compile_database(database, dialects) -> Compiled:
    from .build import build_metadata
    from .cache import collector_paused
    from .rules.tables import constraint_names

    with collector_paused():  # SQLAlchemy's objects for thousands of tables; cycles wait
        metadata = build_metadata(database)
        compiled = {name: statements(metadata, name) for name in dialects}
        return Compiled(
            problems=tuple(metadata.info["astschema_problems"]),
            statements={name: tuple(ddl) for name, (ddl, _) in compiled.items()},
            refusals={name: tuple(refused) for name, (_, refused) in compiled.items()},
            names={table.fullname: tuple(constraint_names(metadata, table)) for table in database.tables},
        )


def compile_databases(databases, dialects, jobs: int | None = None, directory=None) -> dict[str, Compiled]:
    """`compile_database` for each database, on every core when there is enough to share;
    with a cache `directory`, a database whose model did not change is not compiled again."""
    from .cache import pool

    dialects = tuple(sorted(dialects))
    keys = {d.name: _key(d, dialects) for d in databases} if directory is not None else {}
    done = {name: found for name, key in keys.items() if (found := _load(directory, key)) is not None}
    work = sorted((d for d in databases if d.name not in done), key=lambda d: -len(d.tables))  # largest first
    # shared, not sent: forked workers inherit the databases, where pickling them costs more
    # than compiling the small ones
    with pool(sum(len(d.tables) for d in work), PARALLEL_FROM_TABLES, jobs, shared=work) as workers:
        results = workers.map(_compile_shared, range(len(work)), [dialects] * len(work))
        for database, result in zip(work, results, strict=True):
            done[database.name] = result
            if directory is not None:
                _save(directory, keys[database.name], result)
    return done


def _compile_shared(index: int, dialects) -> Compiled:
    from .cache import shared

    return compile_database(shared()[index], dialects)


def _key(database, dialects) -> str:
    """The model's pickle, hashed: equal models give equal keys (the pickle is never stored).
    Pickled without its memo, so that objects shared in one model and equal copies in another
    (a model extracted now, or decoded from kept units) pickle alike."""
    import hashlib
    import io
    import pickle

    from .store import identity

    digest = hashlib.blake2b(f"{identity()}\0{dialects}\0".encode(), digest_size=16)
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True  # no memo (documented as deprecated, and still supported)
    pickler.dump(database)
    digest.update(buffer.getvalue())
    return digest.hexdigest()


def _load(directory, key: str) -> Compiled | None:
    import json

    def where(value):
        return None if value is None else Location(*value)

    try:
        document = json.loads((directory / "databases" / f"{key}.json").read_bytes())
        if document["key"] != key:
            return None
        return Compiled(
            problems=tuple((message, where(at)) for message, at in document["problems"]),
            statements={d: tuple(ddl) for d, ddl in document["statements"].items()},
            refusals={d: tuple((t, r) for t, r in refused) for d, refused in document["refusals"].items()},
            names={t: tuple((n, where(at)) for n, at in names) for t, names in document["names"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _save(directory, key: str, compiled: Compiled) -> None:
    import json

    from .store import prepare, write

    def where(location):
        return None if location is None else [location.path, location.line, location.col]

    try:
        prepare(directory)
        (directory / "databases").mkdir(exist_ok=True)
        write(directory / "databases" / f"{key}.json", json.dumps({
            "key": key,
            "problems": [[message, where(at)] for message, at in compiled.problems],
            "statements": compiled.statements,
            "refusals": compiled.refusals,
            "names": {t: [[n, where(at)] for n, at in names] for t, names in compiled.names.items()},
        }))
    except OSError:
        pass


# Below this many tables, starting worker processes costs more than building in-process.
PARALLEL_FROM_TABLES = 200


def left_out_keys(schema, database_name: str) -> list[str]:
    """Foreign keys of a database that its DDL cannot declare (into another database, or to
    an unknown table or column), written out so the DDL says what it leaves out."""
    from .graph import foreign_keys

    database = schema.database(database_name)
    homes = schema.homes
    here = {}
    for table in database.tables:
        here.setdefault(table.fullname, table)
    lines = []
    for table in database.tables:
        for fk in foreign_keys(table):
            target = here.get(fk.target_table)
            if target is not None and all(target.column(c) for c in fk.target_columns):
                continue
            where = homes.get(fk.target_table)
            why = f"in database {where}" if where and where != database_name else "unknown target"
            lines.append(f"foreign key {table.name}({', '.join(fk.columns)}) -> {fk.target} ({why})")
    return lines
