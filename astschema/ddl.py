"""DDL output: CREATE TABLE / CREATE INDEX statements compiled by SQLAlchemy per dialect."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import CreateEnumType
from sqlalchemy.schema import CreateIndex, CreateTable

from .diagnostics import Location
from .model import Schema
from .store import UNREADABLE, Spool, json_lines

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


def _enum_types(table: sa.Table, compiled) -> list:
    """PostgreSQL enum types a table needs (each created, once, before the first table)."""
    if compiled.name != "postgresql":
        return []
    found = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, sa.Enum) and kind.native_enum and kind.name:
            found.setdefault(kind.name, kind)
    return list(found.values())


def _table_statements(table: sa.Table, compiled):
    """((enum name, CREATE TYPE), ...), (CREATE TABLE, CREATE INDEX ...) for one table, or the
    reason the dialect cannot express it (e.g. a VARCHAR without length on MySQL)."""
    try:
        enums = tuple((e.name, str(CreateEnumType(e).compile(dialect=compiled)).strip())
                      for e in _enum_types(table, compiled))
        ddl = [str(CreateTable(table).compile(dialect=compiled)).strip()]
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            ddl.append(str(CreateIndex(index).compile(dialect=compiled)).strip())
    # SQLAlchemy's compiler asserts (bare AssertionError) where a naming convention cannot
    # name an unnamed index; importing the models fails the same way, so it is a refusal.
    except (sa.exc.SQLAlchemyError, AssertionError) as exc:
        reason = str(exc).split(" (Background", 1)[0] or "SQLAlchemy cannot name an unnamed constraint or index here"
        return re.sub(r"<([\w.]+) object at 0x[0-9a-f]+>", r"\1", reason)  # same text every run
    return enums, tuple(ddl)


def _in_order(made) -> tuple[list, list[tuple[str, str]]]:
    """The statements of (table, `_table_statements`) pairs in creation order, each enum type
    created before the first table that needs it; and (table, reason) for those refused. A
    table's statements may be `_Spooled`, and stay so."""
    result, refused, types = [], [], set()
    for name, statements in made:
        if isinstance(statements, str):
            refused.append((name, statements))
            continue
        enums, ddl = statements
        result += [create for enum, create in enums if enum not in types]
        types.update(enum for enum, _ in enums)
        result += [ddl] if isinstance(ddl, _Spooled) else ddl
    return result, refused


def statements(metadata: sa.MetaData, dialect_name: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The CREATE statements, and (table, reason) for each table the dialect cannot express:
    that table is left out, the others go on."""
    compiled = dialect(dialect_name)
    return _in_order([(t.fullname, _table_statements(t, compiled)) for t in ordered_tables(metadata)])


@dataclass(frozen=True)
class _Spooled:
    """Statements kept in the run's spool (see `Statements.put`): where, and how many."""

    place: tuple[int, int]
    count: int


class Statements(Mapping):
    """A database's statements per dialect (a tuple each, in foreign-key order), spooled: a
    database of 30,000 tables has 20 MB of DDL per dialect, never held whole."""

    def __init__(self, spool: Spool, kept: dict[str, _Spooled]):
        self._spool, self._kept = spool, kept  # per dialect, its statements

    @staticmethod
    def put(spool: Spool, statements) -> _Spooled:
        """Keep a sequence of statements (strings, or `_Spooled` ones, copied) in `spool`, a
        JSON string a line (ASCII: a newline in a statement is escaped)."""
        count = sum(statement.count if isinstance(statement, _Spooled) else 1 for statement in statements)
        return _Spooled(spool.put(piece for statement in statements
                                  for piece in ((statement.place,) if isinstance(statement, _Spooled)
                                                else (json.dumps(statement), "\n"))), count)

    def __getitem__(self, dialect: str) -> tuple[str, ...]:
        return tuple(self.each(dialect))

    def __iter__(self):
        return iter(self._kept)

    def __len__(self) -> int:
        return len(self._kept)

    def each(self, dialect: str):
        """The dialect's statements one at a time, read in pieces."""
        rest = ""
        for piece in self.lines(dialect):
            lines, _, rest = (rest + piece).rpartition("\n")
            if lines:
                yield from json_lines(lines + "\n")

    def lines(self, dialect: str):
        """The dialect's statements as kept, a JSON string a line, in pieces."""
        return self._spool.text(self._kept[dialect].place)

    def count(self, dialect: str) -> int:
        return self._kept[dialect].count


@dataclass(frozen=True)
class Compiled:
    """What SQLAlchemy makes of one database, joined here from the `_CompiledTable`s that
    workers send back (its statements in the run's `Spool`)."""

    problems: tuple[tuple[str, Location | None], ...]  # tables SQLAlchemy refused to build
    statements: Statements  # per dialect, in foreign-key order
    refusals: dict[str, tuple[tuple[str, str], ...]]  # per dialect: (table, reason) left out
    names: dict[str, tuple[tuple[str, Location | None], ...]]  # per table: index and constraint names
    left_out: tuple[tuple[str, str], ...]  # ("foreign key t(c) -> u.id", "u") per key the DDL cannot declare


@dataclass(frozen=True)
class _CompiledTable:
    """One table of a `Compiled`, made in a piece of its database."""

    name: str  # its key in the MetaData
    depends: tuple[str, ...] | None  # tables its keys make it follow; None: not built
    problems: tuple[tuple[str, Location | None], ...]
    names: tuple[tuple[str, Location | None], ...]
    left_out: tuple[tuple[str, str], ...]
    statements: dict  # per dialect: `_table_statements`, its statements `_Spooled` once received

    def spooled(self, spool: Spool) -> _CompiledTable:
        """This table with its statements in `spool` (those of 100,000 tables take some 200 MB)."""
        return replace(self, statements={dialect: made if isinstance(made, str) else
                                         (made[0], Statements.put(spool, made[1]))
                                         for dialect, made in self.statements.items()})


# Most tables one job builds: SQLAlchemy's objects take some 30 KB a table, so a database of
# thousands of tables is built and compiled in pieces, each in a fresh worker's bounded memory.
PIECE_TABLES = 500


def pieces(database) -> list[tuple]:
    """The database as (model, names) jobs: each a run of at most `PIECE_TABLES` of its
    tables (`names`), with the tables their keys reference, which SQLAlchemy needs to
    compile them (a table is built the same wherever it is built)."""
    from .graph import foreign_keys

    tables = database.tables
    if len(tables) <= PIECE_TABLES:
        return [(database, tuple(t.fullname for t in tables))]
    position = {t.fullname: i for i, t in enumerate(tables)}
    found = []
    for start in range(0, len(tables), PIECE_TABLES):
        run = range(start, min(start + PIECE_TABLES, len(tables)))
        needed = set(run) | {position[fk.target_table] for i in run for fk in foreign_keys(tables[i])
                             if fk.target_table in position}
        found.append((replace(database, tables=tuple(tables[i] for i in sorted(needed))),
                      tuple(tables[i].fullname for i in run)))
    return found


def compile_piece(database, names, dialects) -> list[_CompiledTable]:
    """Build the piece's model and compile the tables `names` of it."""
    from .build import build_metadata, declared, undeclared
    from .cache import collector_paused
    from .rules.tables import constraint_names

    with collector_paused():  # SQLAlchemy's objects for hundreds of tables; cycles wait
        metadata = build_metadata(database)
        problems = {}
        for key, message, location in metadata.info["astschema_problems"]:
            problems.setdefault(key, []).append((message, location))
        compilers = [(name, dialect(name)) for name in dialects]
        target, wanted, made = declared(database), set(names), []
        for table in database.tables:
            if table.fullname not in wanted:
                continue
            built = metadata.tables.get(table.fullname)
            made.append(_CompiledTable(
                name=table.fullname,
                depends=None if built is None else tuple(sorted(
                    {k.referred_table.key for k in built.foreign_key_constraints
                     if k.use_alter is not True and k.referred_table is not built})),
                problems=tuple(problems.get(table.fullname, ())),
                names=tuple(constraint_names(metadata, table)),
                left_out=undeclared(table, target),
                statements={} if built is None else {name: _table_statements(built, c) for name, c in compilers},
            ))
        return made


def _creation_order(tables: list[_CompiledTable]) -> list[_CompiledTable]:
    """The built tables in `MetaData.sorted_tables` order: SQLAlchemy's topological sort of
    the names, sorted; on a cycle, the tables in it do not order by their keys (SQLAlchemy
    leaves them out of the sort the same way, with a warning: `check` reports cycles)."""
    from sqlalchemy.exc import CircularDependencyError
    from sqlalchemy.util import topological

    built = {t.name: t for t in tables if t.depends is not None}
    names = sorted(built)
    edges = {(parent, t.name) for t in built.values() for parent in t.depends}
    try:
        order = list(topological.sort(edges, names))
    except CircularDependencyError as cycle:
        order = list(topological.sort({e for e in edges if e[1] not in cycle.cycles}, names))
    return [built[name] for name in order]


def _joined(tables: list[_CompiledTable], dialects, spool: Spool) -> Compiled:
    """A database's `Compiled` from its tables (in model order), however they were pieced."""
    order = _creation_order(tables)
    places, refusals = {}, {}
    for name in dialects:  # one dialect at a time: each is spooled before the next is made
        ddl, refused = _in_order([(t.name, t.statements[name]) for t in order])
        places[name], refusals[name] = Statements.put(spool, ddl), tuple(refused)
    return Compiled(
        problems=tuple(p for t in tables for p in t.problems),
        statements=Statements(spool, places),
        refusals=refusals,
        names={t.name: t.names for t in tables},
        left_out=tuple(key for t in tables for key in t.left_out),
    )


def compile_databases(databases, dialects, jobs: int | None = None, directory=None,
                      digests=None) -> dict[str, Compiled]:
    """What SQLAlchemy makes of each database, its pieces compiled on every core when there
    is enough to share; with a cache `directory`, a database whose model did not change (by
    its digest: from `digests` in order, else worked out here) is not compiled again.
    `databases` (a `Schema`'s) are read one at a time, as the workers are ready for their
    pieces, the largest first."""
    from .cache import pool
    from .progress import bar

    dialects = tuple(sorted(dialects))
    spool = Spool(on_disk=directory is not None)
    schema = Schema(databases)  # what it knows of held and spilled databases alike
    outline = schema.outline
    names, sizes = [name for name, _, _ in outline], [size for _, size, _ in outline]
    if directory is not None and digests is None:
        digests = [schema.digest(name) for name in names]
    keys = {} if directory is None else {
        name: _key(dialects, digest) for name, digest in zip(names, digests, strict=True)}
    done = {name: found for name, key in keys.items() if (found := _load(directory, key, spool)) is not None}
    todo = sorted((n for n, name in enumerate(names) if name not in done), key=lambda n: -sizes[n])
    left: Counter = Counter()

    def batches():
        """Lists of (name, n, model, names) pieces of about `PIECE_TABLES` tables: a batch is
        pickled whole, so a share of the work per batch would put a share of a large model
        in flight at once."""
        batch, size = [], 0
        for n in todo:
            found = pieces(databases[n])
            left[names[n]] = len(found)
            for number, (model, wanted) in enumerate(found):
                if size >= PIECE_TABLES:
                    yield batch
                    batch, size = [], 0
                batch.append((names[n], number, model, wanted))
                size += len(model.tables)
        if batch:
            yield batch

    made: dict[str, list] = {}
    shown = bar(len(todo), "compiling", "databases")
    # workers start fresh (not forked from this process and its whole scan) and are sent their
    # pieces: each holds only what it compiles
    with pool(sum(sizes[n] for n in todo), PARALLEL_FROM_TABLES, jobs, fresh=True) as workers, \
            contextlib.closing(shown):
        for (batch, _), compiled in workers.each(_compile_batch, ((batch, dialects) for batch in batches())):
            for (name, n, *_), tables in zip(batch, compiled, strict=True):
                # spooled as they come, then copied in order when the database is whole; a
                # spool in memory would keep both copies, so there they wait as they are
                made.setdefault(name, []).append((n, [t.spooled(spool) for t in tables] if spool.on_disk else tables))
                left[name] -= 1
                if not left[name]:  # joined as soon as whole, so that pieces are not all held
                    parts = sorted(made.pop(name), key=lambda part: part[0])
                    done[name] = _joined([t for _, tables in parts for t in tables], dialects, spool)
                    if directory is not None:
                        _save(directory, keys[name], done[name])
                    shown.update()
    return done


def _compile_batch(batch, dialects) -> list[list[_CompiledTable]]:
    """In a worker: `compile_piece` of each piece of a batch."""
    return [compile_piece(model, names, dialects) for _, _, model, names in batch]


def _key(dialects, digest: str) -> str:
    """The key of a database's compiled statements: its model's digest (`Schema.digest`)."""
    import hashlib

    from .store import identity

    return hashlib.blake2b(f"{identity()}\0{dialects}\0{digest}".encode(), digest_size=16).hexdigest()


def _load(directory, key: str, spool: Spool) -> Compiled | None:
    """A compiled database kept in the cache, checked as it is read (statements included):
    its statements are copied to `spool` as they are kept, a JSON string a line."""
    from .store import Lined

    def at(value):
        return None if value is None else Location(*value)

    try:
        with (directory / "databases" / f"{key}.json").open("rb") as file:
            lined = Lined(file)
            document = lined.head
            if document["key"] != key:
                return None
            names = {str.__str__(table): tuple((str.__str__(name), at(where)) for name, where in found)
                     for table, found in lined.items(document["names"])}
            places = {}
            for dialect, count in document["statements"]:
                text = lined.take(count)
                if not all(type(statement) is str for statement in json_lines(text)):
                    return None  # a statement is never spooled unchecked
                places[dialect] = _Spooled(spool.put([text]), count)
            lined.end()
        return Compiled(
            problems=tuple((message, at(where)) for message, where in document["problems"]),
            statements=Statements(spool, places),
            refusals={d: tuple((t, r) for t, r in refused) for d, refused in document["refusals"].items()},
            names=names,
            left_out=tuple((str.__str__(line), str.__str__(table)) for line, table in document["left_out"]),
        )
    except UNREADABLE:
        return None


def _save(directory, key: str, compiled: Compiled) -> None:
    """Written a line at a time: the names a table at a time, then the statements copied from
    the spool."""
    from .store import keep, lined

    def where(location):
        return None if location is None else [location.path, location.line, location.col]

    statements = compiled.statements
    head = {"key": key, "problems": [[message, where(at)] for message, at in compiled.problems],
            "refusals": compiled.refusals, "left_out": compiled.left_out, "names": len(compiled.names),
            "statements": [[dialect, statements.count(dialect)] for dialect in statements]}
    lines = itertools.chain(
        (json.dumps([table, [[name, where(at)] for name, at in names]]) + "\n" for table, names in compiled.names.items()),
        (piece for dialect in statements for piece in statements.lines(dialect)))
    keep(directory, directory / "databases" / f"{key}.json", lined(head, lines))


# Below this many tables, starting worker processes costs more than building in-process: a
# spawned worker imports Python's, SQLAlchemy's and astschema's modules again (about 1.5 s
# here), and at 1,000 tables two workers compiled in 2.4-3.0 s what one process did in 3.0-3.8 s.
PARALLEL_FROM_TABLES = 1000


def left_out(schema, name: str, keys):
    """What a database's DDL says of the keys it cannot declare ((key, target table) pairs
    from `build.undeclared`): where their target is."""
    from .graph import home

    for key, target in keys:
        found = home(schema.homes.get(target, ()), name)
        yield f"{key} ({'unknown target' if found in (None, name) else f'in database {found}'})"
