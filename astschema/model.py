"""Model stage: the schema as plain frozen dataclasses, each part with its source location.

This is the one shape every later stage reads.  Values that SQLAlchemy would build from
calls (types, server defaults, sequences) are kept as `SQLCall`s: the dotted name of a
SQLAlchemy callable and static arguments, which `build` replays on the real library.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakValueDictionary

from .diagnostics import Diagnostic, Location

# The version of the JSON shape written by `dump`; bump on any incompatible change.
FORMAT_VERSION = 1


def _pickled_by_fields(cls):
    """Pickle as the class called with its fields' values. A slots dataclass pickles through
    Python-level `__getstate__` and `__setstate__`, and compile keys and compiling workers
    pickle every column of every database."""
    values = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
    cls.__reduce__ = lambda self: (cls, values(self))
    return cls


@_pickled_by_fields
@dataclass(frozen=True, slots=True, weakref_slot=True)  # shared through a WeakValueDictionary
class SQLCall:
    """`target(*args, **kwargs)`: a SQLAlchemy type, schema item or SQL function, static args."""

    target: str  # e.g. "sqlalchemy.String", "sqlalchemy.func.now"
    args: tuple = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        parts = [_render(a) for a in self.args] + [f"{k}={_render(v)}" for k, v in self.kwargs]
        name = self.target.removeprefix("sqlalchemy.").removeprefix("dialects.")
        return f"{name}({', '.join(parts)})"


_CALLS: WeakValueDictionary = WeakValueDictionary()


def sql_call(target: str, args: tuple = (), kwargs: tuple = ()) -> SQLCall:
    """`SQLCall(target, args, kwargs)`, one object for equal calls while any is alive: a type
    such as `String(40)` is given to thousands of columns."""
    call = SQLCall(target, args, kwargs)
    try:
        return _CALLS.setdefault(call, call)
    except TypeError:  # an unhashable argument: a call of its own
        return call


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class PyEnum:
    """A Python `enum.Enum` class of the scanned tree, by name and members (for `Enum(cls)`)."""

    name: str
    members: tuple[tuple[str, Any], ...]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class EnumValues:
    """`values_callable=lambda e: [m.value for m in e]`: store member values, not names."""

    def __str__(self) -> str:
        return "<member values>"


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """A table's own column inside an expression (functional and DESC indexes), by key."""

    key: str

    def __str__(self) -> str:
        return self.key


def _render(value) -> str:
    return repr(value) if isinstance(value, (str, bytes)) else str(value)


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class ForeignKey:
    columns: tuple[str, ...]  # keys of the referring columns
    target_table: str  # "table" or "schema.table"
    target_columns: tuple[str, ...]
    name: str | None = None
    ondelete: str | None = None
    onupdate: str | None = None
    deferrable: bool | None = None
    initially: str | None = None
    use_alter: bool = False
    match: str | None = None
    location: Location | None = None

    @property
    def target(self) -> str:
        return ", ".join(f"{self.target_table}.{c}" for c in self.target_columns)


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Column:
    name: str
    key: str
    type: SQLCall | None  # None only where nothing could be known (built as NullType)
    nullable: bool
    primary_key: bool = False
    unique: bool | None = None
    index: bool | None = None
    autoincrement: Any = "auto"
    server_default: Any = None  # str or SQLCall
    server_onupdate: Any = None
    comment: str | None = None
    python_default: bool = False  # a default= / insert_default= (no DDL, but no autoincrement either)
    foreign_keys: tuple[ForeignKey, ...] = ()
    extras: tuple[SQLCall, ...] = ()  # Sequence, Identity, Computed, FetchedValue...
    attribute: str | None = None  # the mapped attribute name, when it differs or matters
    location: Location | None = None


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Constraint:
    kind: str  # "primary_key", "unique", "check" or "foreign_key"
    name: str | None = None
    columns: tuple[str, ...] = ()
    sqltext: str | None = None  # check constraints
    foreign_key: ForeignKey | None = None
    options: tuple[tuple[str, Any], ...] = ()
    location: Location | None = None


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Index:
    name: str | None
    columns: tuple[Any, ...]  # column keys, or SQLCall expressions
    unique: bool = False
    options: tuple[tuple[str, Any], ...] = ()
    location: Location | None = None


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Relationship:
    """An ORM `relationship()`: recorded for the graph of references; it has no DDL."""

    attribute: str
    target: str
    location: Location | None = None


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Table:
    name: str
    database: str
    columns: tuple[Column, ...]
    schema: str | None = None
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    comment: str | None = None
    options: tuple[tuple[str, Any], ...] = ()  # dialect keyword arguments such as sqlite_autoincrement
    relationships: tuple[Relationship, ...] = ()
    module: str = ""
    class_name: str | None = None
    location: Location | None = None

    @property
    def fullname(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Database:
    name: str
    tables: tuple[Table, ...]
    naming_convention: tuple[tuple[str, str], ...] = ()
    modules: tuple[str, ...] = ()
    location: Location | None = None  # where its name is first given (DATABASE_NAME or a base factory)

    def table(self, fullname: str) -> Table | None:
        return next((t for t in self.tables if t.fullname == fullname), None)


@dataclass(frozen=True, slots=True)
class Schema:
    databases: Sequence[Database]  # a tuple, or for a large scan `spill.SpooledDatabases`: read in turn
    diagnostics: tuple[Diagnostic, ...] = ()
    # `# astschema: ignore[CODE]` comments: (path, line, col, codes or () for every code)
    suppressions: tuple[tuple[str, int, int, tuple[str, ...]], ...] = ()
    config: Any = field(default=None, compare=False, repr=False)
    cache_dir: Any = field(default=None, compare=False, repr=False)  # where compiled databases are kept
    digests: dict = field(default_factory=dict, compare=False, repr=False)  # by name: those known (see `digest`)
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def database(self, name: str) -> Database:
        if not self.held:
            return self.databases.database(name)
        if "by_name" not in self._cache:
            self._cache["by_name"] = {database.name: database for database in self.databases}
        return self._cache["by_name"][name]

    @property
    def names(self) -> list[str]:
        """The databases' names, in order."""
        return [database.name for database in self.databases] if self.held else self.databases.names()

    @property
    def outline(self) -> list[tuple[str, int, tuple[str, ...]]]:
        """(name, number of tables, modules) of each database, in order, without making them."""
        if not self.held:
            return self.databases.outline()
        return [(database.name, len(database.tables), database.modules) for database in self.databases]

    @property
    def held(self) -> bool:
        """Whether every database is held in memory (else each is made when read)."""
        return isinstance(self.databases, (tuple, list))

    @property
    def homes(self) -> dict[str, list[str]]:
        """Each table's full name -> the databases that have it, in order."""
        if "homes" not in self._cache:
            from .graph import table_homes

            self._cache["homes"] = table_homes((d.name, (t.fullname for t in d.tables)) for d in self.databases) \
                if self.held else self.databases.homes()
        return self._cache["homes"]

    def digest(self, name: str) -> str:
        """A digest of database `name`'s model, by its tables' text in the parse cache's codec:
        equal models, equal digests, held or not (made once, unless assembly knew it)."""
        if name not in self.digests:
            from .spill import held_digest

            self.digests[name] = held_digest(self.database(name)) if self.held else self.databases.digest(name)
        return self.digests[name]

    def table_digest(self, database: str, fullname: str) -> str | None:
        """A digest of the table `table(database, fullname)` gives, if any, by its text."""
        if not self.held:
            return self.databases.table_digest(database, fullname)
        from .cache import encode
        from .spill import table_digest

        table = self.table(database, fullname)
        return None if table is None else table_digest(encode(table).encode("ascii"))

    def references(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The full names of database `name`'s tables, and of the tables its keys point at,
        in order, without making the database when it is not held."""
        if not self.held:
            return self.databases.references(name)
        from .graph import targets

        tables = self.database(name).tables
        return (tuple(t.fullname for t in tables),
                tuple(dict.fromkeys(target for t in tables for target in targets(t))))

    def table(self, database: str, fullname: str) -> Table | None:
        """The table `fullname` of `database` (the last of that name, as a key finds it)."""
        if not self.held:
            return self.databases.table(database, fullname)
        key = ("tables", database)
        if key not in self._cache:
            self._cache[key] = {table.fullname: table for table in self.database(database).tables}
        return self._cache[key].get(fullname)

    @property
    def graph(self):
        """The foreign keys of every database as a networkx MultiDiGraph (see `graph`)."""
        if "graph" not in self._cache:
            from .graph import build_graph

            self._cache["graph"] = build_graph(self)
        return self._cache["graph"]

    @property
    def keys(self) -> list:
        """Every foreign key with the table it points at (`graph.Key`), in model order."""
        if "keys" not in self._cache:
            from .graph import resolve_keys

            self._cache["keys"] = resolve_keys(self)
        return self._cache["keys"]

    def metadata(self, name: str):
        """A `sqlalchemy.MetaData` holding this database's tables, built once."""
        key = ("metadata", name)
        if key not in self._cache:
            from .build import build_metadata

            self._cache[key] = build_metadata(self.database(name))
        return self._cache[key]

    def compiled(self, name: str, dialect: str):
        """What SQLAlchemy makes of database `name` on `dialect` (see `ddl.Compiled`). The
        first call builds and compiles every database, for the dialects `check` needs and
        this one, in parallel."""
        from .ddl import CHECKED_DIALECTS, compile_databases

        done = self._cache.setdefault("compiled", {})  # dialect -> {database: Compiled}
        if dialect not in done:
            dialects = sorted({*CHECKED_DIALECTS, dialect} - set(done))
            jobs = self.config.jobs if self.config else None
            digests = None if self.cache_dir is None else [self.digest(name) for name in self.names]
            results = compile_databases(self.databases, dialects, jobs, self.cache_dir, digests)
            for each in dialects:
                done[each] = results
        return done[dialect][name]

    def to_json(self, findings=None) -> dict:
        """The `dump` document; `findings` (from `check`) replace the scan's own diagnostics."""
        return {
            "format_version": FORMAT_VERSION,
            "databases": [to_json(d) for d in self.databases],
            "diagnostics": [finding_json(d) for d in (self.diagnostics if findings is None else findings)],
        }


def finding_json(diagnostic: Diagnostic) -> dict:
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
        "location": to_json(diagnostic.location),
    }


_PAIR_FIELDS = {"kwargs", "options", "naming_convention", "members"}


def to_json(value, name: str = ""):
    """Plain JSON data for any model value; pairs become objects, calls become {call, args}."""
    if isinstance(value, SQLCall):
        return {"call": value.target, "args": to_json(value.args), "kwargs": to_json(value.kwargs, "kwargs")}
    if isinstance(value, PyEnum):
        return {"enum": value.name, "members": to_json(value.members, "members")}
    if isinstance(value, ColumnRef):
        return {"column": value.key}
    if isinstance(value, EnumValues):
        return {"callable": "enum member values"}
    if isinstance(value, Location):
        return {"path": value.path, "line": value.line, "col": value.col}
    if dataclasses.is_dataclass(value):
        return {
            f.name: to_json(getattr(value, f.name), f.name)
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, tuple):
        if name in _PAIR_FIELDS:
            return {str(k): to_json(v) for k, v in value}
        return [to_json(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value
