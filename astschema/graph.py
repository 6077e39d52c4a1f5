"""Graph stage: foreign keys as a `networkx.MultiDiGraph` over `(database, table)` nodes.

Edges run from the referring table to the referenced one and carry the key: columns, target
columns, ondelete/onupdate, name, use_alter, location and whether it crosses databases.
Creation order, cycles and reachability come from networkx, not from walks of our own.
"""

from __future__ import annotations

import networkx as nx

from . import model


def build_graph(schema: model.Schema) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    homes: dict[str, list[str]] = {}  # table fullname -> databases that have it
    for database in schema.databases:
        for table in database.tables:
            graph.add_node((database.name, table.fullname), table=table, database=database.name,
                           location=table.location)
            homes.setdefault(table.fullname, []).append(database.name)
    for database in schema.databases:
        for table in database.tables:
            for fk in foreign_keys(table):
                target = home(homes, fk.target_table, database.name)
                if target is None:
                    continue  # an unknown target: the rules say so, the graph has no node for it
                graph.add_edge(
                    (database.name, table.fullname),
                    (target, fk.target_table),
                    foreign_key=fk,
                    columns=fk.columns,
                    target_columns=fk.target_columns,
                    ondelete=fk.ondelete,
                    onupdate=fk.onupdate,
                    name=fk.name,
                    use_alter=fk.use_alter,
                    location=fk.location,
                    cross_database=target != database.name,
                )
    return graph


def home(homes: dict[str, list[str]], table: str, database: str) -> str | None:
    """The database a key from `database` to `table` points into: its own when it has such a
    table, else the first that has one (`homes`: table fullname -> databases)."""
    candidates = homes.get(table, [])
    return database if database in candidates else (candidates[0] if candidates else None)


def foreign_keys(table: model.Table) -> list[model.ForeignKey]:
    """Every key of a table: on its columns and as table-level constraints."""
    keys = [fk for column in table.columns for fk in column.foreign_keys]
    return keys + [c.foreign_key for c in table.constraints if c.foreign_key is not None]


def creation_order(graph: nx.MultiDiGraph, database: str) -> list[str]:
    """Tables of one database, each after the tables it references (keys with use_alter and
    self-references do not order). Raises networkx.NetworkXUnfeasible on a cycle."""
    order = nx.DiGraph()
    order.add_nodes_from(t for d, t in graph.nodes if d == database)
    for (sd, st), (td, tt), data in graph.edges(data=True):
        if sd == td == database and st != tt and not data["use_alter"]:
            order.add_edge(tt, st)
    return list(nx.lexicographical_topological_sort(order))


def database_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Databases as nodes, one edge per cross-database key (for creation order of databases)."""
    databases = nx.MultiDiGraph()
    databases.add_nodes_from(sorted({d for d, _ in graph.nodes}))
    for source, target, data in graph.edges(data=True):
        if data["cross_database"]:
            databases.add_edge(source[0], target[0], **data)
    return databases
