"""A large scan's model kept as text, a database at a time: beyond `units.HELD_TABLES` tables,
each table is encoded as it is made (the parse cache's codec, never pickle) and the `Schema`'s
databases are decoded one at a time when they are read, and let go after. The rules, the
compiling and the DDL read the databases in turn, so only those being read are held (at 10,000
modules the model of every table was some 330 MB).
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from . import cache, model, store, units  # units registers the model's classes with the codec
from .graph import table_homes, targets

cache.register(model.Table)


def spool_for(tables: int, on_disk: bool) -> store.Spool | None:
    """Where a scan of `tables` tables keeps them as it makes them, if it is that large (as
    large as one whose units wait as text)."""
    return store.Spool(on_disk) if tables > units.HELD_TABLES else None


def database_digest(name: str, rest: tuple, texts) -> str:
    """`Schema.digest` of database `name` (`rest` as `model.Database` takes it after the
    tables) from its tables' text (bytes) in order: held, spilled or kept, one digest."""
    digest = hashlib.blake2b(repr((name, *rest)).encode() + b"\0", digest_size=16)
    for text in texts:
        digest.update(text + b"\n")
    return digest.hexdigest()


def held_digest(database: model.Database) -> str:
    """`database_digest` of a database held in memory."""
    return database_digest(database.name, (database.naming_convention, database.modules, database.location),
                           (cache.encode(table).encode("ascii") for table in database.tables))


def table_digest(text: bytes) -> str:
    """`Schema.table_digest` of a table, from its text."""
    return store.digest(text)


class Spilled(NamedTuple):
    """A table kept as text: what grouping tables by database and the checks' keys need of
    it, and its place."""

    database: str
    fullname: str
    module: str
    place: tuple[int, int]
    targets: tuple[str, ...]  # the tables its keys point at


class SpooledDatabases(Sequence):
    """The databases of a scan, as `Schema.databases`: each made when it is read (a `Database`
    equal to the one held in memory), from its tables' JSON in a `store.Spool`."""

    def __init__(self, spool: store.Spool, databases: list[tuple]):
        # per database: (name, (`Spilled`, ...), naming convention, modules, location)
        self._spool, self._entries = spool, databases
        self._at = {entry[0]: n for n, entry in enumerate(databases)}
        self._places: dict[str, dict] = {}  # database -> fullname -> place, for those looked in
        self.table = lru_cache(maxsize=4096)(self._table)  # keys point at a few tables many times

    @staticmethod
    def put(spool: store.Spool, table: model.Table) -> Spilled:
        """Keep a table made now."""
        return Spilled(table.database, table.fullname, table.module, spool.put([cache.encode(table)]),
                       targets(table))

    @staticmethod
    def read_back(entry, places) -> tuple:
        """A database read back from the cache whole (an `assembled.Entry`, its tables' text
        at `places` in the spool), as `SpooledDatabases` takes it."""
        return (entry.name, tuple(Spilled(entry.name, fullname, module, place, targets)
                                  for (fullname, module, targets), place in zip(entry.tables, places, strict=True)),
                *entry.rest)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, n):
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(len(self)))]
        name, tables, *rest = self._entries[n]
        return model.Database(name, tuple(self._decoded(table.place) for table in tables), *rest)

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and all(map(operator.eq, self, other))

    __hash__ = None  # as a list's

    def _decoded(self, place) -> model.Table:
        return cache.decode(json.loads(self._spool.get(place)))

    def names(self) -> list[str]:
        return [entry[0] for entry in self._entries]

    def outline(self) -> list[tuple[str, int, tuple[str, ...]]]:
        """`Schema.outline`: no decoding."""
        return [(name, len(tables), modules) for name, tables, _, modules, _ in self._entries]

    def digest(self, name: str) -> str:
        """`Schema.digest` of a database, by its text: no decoding."""
        name, tables, *rest = self._entries[self._at[name]]
        return database_digest(name, tuple(rest), (self._spool.get(table.place) for table in tables))

    def table_digest(self, database: str, fullname: str) -> str | None:
        """`Schema.table_digest`, by the table's text."""
        place = self._places_in(database).get(fullname)
        return None if place is None else table_digest(self._spool.get(place))

    def references(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """`Schema.references`, from what was noted of each table as it was kept."""
        tables = self._entries[self._at[name]][1]
        return (tuple(table.fullname for table in tables),
                tuple(dict.fromkeys(target for table in tables for target in table.targets)))

    def database(self, name: str) -> model.Database:
        return self[self._at[name]]

    def homes(self) -> dict[str, list[str]]:
        """`graph.table_homes`, from the names alone."""
        return table_homes((name, (table.fullname for table in tables)) for name, tables, *_ in self._entries)

    def _table(self, database: str, fullname: str) -> model.Table | None:
        """The last table `fullname` of `database`, as `Schema.table`."""
        place = self._places_in(database).get(fullname)
        return None if place is None else self._decoded(place)

    def _places_in(self, database: str) -> dict:
        """Full name -> place of the last table of that name, in `database`."""
        if database not in self._places:
            self._places[database] = {table.fullname: table.place for table in self._entries[self._at[database]][1]}
        return self._places[database]
