"""Graph stage: foreign keys as a `networkx.MultiDiGraph` over `(database, table)` nodes.

Edges run from the referring table to the referenced one and carry the key: columns, target
columns, ondelete/onupdate, name, use_alter, location and whether it crosses databases.
Creation order, cycles and reachability come from networkx, not from walks of our own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import model, store

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True, slots=True)
class Key:
    """A foreign key of `table` (in `database`) and the table it points at, when known
    (`home` says in which database). What the rules read: a graph of every table is some
    100 MB at 100,000 tables, and these keys a few MB."""

    database: str
    table: model.Table
    foreign_key: model.ForeignKey
    target_database: str | None = None
    target: model.Table | None = None

    @property
    def cross_database(self) -> bool:
        return self.target is not None and self.target_database != self.database


def resolve_keys(schema: model.Schema) -> list[Key]:
    """Every foreign key of every table, in model order, with its target table if any."""
    return [key for database in schema.databases for key in keys_of(database, schema.homes, schema.table)]


def keys_of(database: model.Database, homes: dict[str, list[str]], find) -> list[Key]:
    """The foreign keys of one database's tables, in model order, each with its target table
    if any: `homes` names the databases that have each table (see `table_homes`), and
    `find(database, fullname)` gives a table of another database (the last of that name)."""
    own = {table.fullname: table for table in database.tables}  # the last of a name, as `find`
    keys = []
    for table in database.tables:
        for fk in foreign_keys(table):
            target = home(homes.get(fk.target_table, ()), database.name)
            found = None if target is None else own[fk.target_table] if target == database.name \
                else find(target, fk.target_table)
            keys.append(Key(database.name, table, fk, target, found))
    return keys


def table_homes(named) -> dict[str, list[str]]:
    """Each table's full name -> the databases that have it, in model order, from (database
    name, its tables' full names) pairs."""
    homes: dict[str, list[str]] = {}
    for database, fullnames in named:
        for fullname in fullnames:
            found = homes.setdefault(fullname, [])
            if not found or found[-1] != database:
                found.append(database)
    return homes


def build_graph(schema: model.Schema) -> nx.MultiDiGraph:
    import networkx as nx  # here: a run that needs no graph (an edit's checks) does without it

    graph = nx.MultiDiGraph()
    for database in schema.databases:
        for table in database.tables:
            graph.add_node((database.name, table.fullname), table=table, database=database.name,
                           location=table.location)
    for key in schema.keys:
        if key.target is None:
            continue  # an unknown target: the rules say so, the graph has no node for it
        fk = key.foreign_key
        graph.add_edge(
            (key.database, key.table.fullname),
            (key.target_database, fk.target_table),
            foreign_key=fk,
            columns=fk.columns,
            target_columns=fk.target_columns,
            ondelete=fk.ondelete,
            onupdate=fk.onupdate,
            name=fk.name,
            use_alter=fk.use_alter,
            location=fk.location,
            cross_database=key.cross_database,
        )
    return graph


def home(candidates, database: str) -> str | None:
    """The database a key from `database` points into, of the `candidates` (in model order)
    that have its target table: its own when it is one of them, else the first."""
    return database if database in candidates else next(iter(candidates), None)


def foreign_keys(table: model.Table) -> list[model.ForeignKey]:
    """Every key of a table: on its columns and as table-level constraints."""
    keys = [fk for column in table.columns for fk in column.foreign_keys]
    return keys + [c.foreign_key for c in table.constraints if c.foreign_key is not None]


def targets(table: model.Table) -> tuple[str, ...]:
    """The full names of the tables a table's keys point at, in order (a name once)."""
    return tuple(dict.fromkeys(fk.target_table for fk in foreign_keys(table)))


def creation_order(graph: nx.MultiDiGraph, database: str) -> list[str]:
    """Tables of one database, each after the tables it references (keys with use_alter and
    self-references do not order). Raises networkx.NetworkXUnfeasible on a cycle."""
    import networkx as nx

    order = nx.DiGraph()
    order.add_nodes_from(t for d, t in graph.nodes if d == database)
    for (sd, st), (td, tt), data in graph.edges(data=True):
        if sd == td == database and st != tt and not data["use_alter"]:
            order.add_edge(tt, st)
    return list(nx.lexicographical_topological_sort(order))


def database_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Databases as nodes, one edge per cross-database key (for creation order of databases)."""
    import networkx as nx

    databases = nx.MultiDiGraph()
    databases.add_nodes_from(sorted({d for d, _ in graph.nodes}))
    for source, target, data in graph.edges(data=True):
        if data["cross_database"]:
            databases.add_edge(source[0], target[0], **data)
    return databases


def cycles(pairs: list[tuple[str, str]], directory: Path | None = None) -> list[list[str]]:
    """The elementary cycles (networkx's `simple_cycles`) of the graph whose edges are `pairs`,
    kept in `directory/cycles` under a key of the pairs, in order: the databases' keys into
    each other mostly outlast an edit, whose check then does without networkx."""
    path = None
    if directory is not None:
        key = hashlib.blake2b(f"{store.identity()}\0{json.dumps(pairs)}".encode(), digest_size=16).hexdigest()
        path = directory / "cycles" / f"{key}.json"
        try:
            found = json.loads(path.read_bytes())
            edges = set(pairs)
            # whatever the entry says, each cycle runs along the pairs (the rules look each step up)
            if all(type(cycle) is list and cycle and all(type(name) is str for name in cycle)
                   and all(step in edges for step in zip(cycle, cycle[1:] + cycle[:1], strict=True)) for cycle in found):
                return found
        except store.UNREADABLE:
            pass
    import networkx as nx

    found = [list(cycle) for cycle in nx.simple_cycles(nx.DiGraph(pairs))]
    if path is not None:
        store.keep(directory, path, json.dumps(found))
    return found
