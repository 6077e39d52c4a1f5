"""The foreign-key graph of the bundled example, checked against SQLAlchemy's own view."""

import networkx as nx

import astschema
from astschema.graph import creation_order, database_graph
from support import FIXTURES

HUB = FIXTURES / "hub"


def test_nodes_and_edges_of_the_hub():
    schema = astschema.scan([HUB])
    graph = schema.graph
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.number_of_nodes() == 19
    assert graph.nodes[("framework", "modules")]["table"].name == "modules"
    cross = sorted((s[1], t[1], d["columns"]) for s, t, d in graph.edges(data=True) if d["cross_database"])
    assert cross == [
        ("analyses", "modules", ("requested_by_module_id",)),
        ("documents", "modules", ("module_id",)),
        ("embeddings", "document_chunks", ("chunk_id",)),
        ("embeddings", "documents", ("document_id",)),
        ("vector_indexes", "modules", ("module_id",)),
    ]
    edge = graph.get_edge_data(("framework", "error_logs"), ("framework", "modules"))[0]
    assert edge["ondelete"] == "CASCADE" and edge["target_columns"] == ("id",)
    assert edge["location"].path.endswith("error_handler/db_models.py")


def test_local_edges_are_the_keys_sqlalchemy_builds():
    """Every key inside a database is an edge, and every edge inside a database is a key of
    the MetaData astschema builds (which the fidelity tests compare with SQLAlchemy's)."""
    schema = astschema.scan([HUB])
    for database in schema.databases:
        built = {
            (table.fullname, fk.column.table.fullname, fk.parent.key)
            for table in schema.metadata(database.name).tables.values()
            for fk in table.foreign_keys
        }
        edges = {
            (s[1], t[1], column)
            for s, t, d in schema.graph.edges(data=True)
            if s[0] == database.name and not d["cross_database"]
            for column in d["columns"]
        }
        assert edges == built


def test_creation_order_and_database_order():
    graph = astschema.scan([HUB]).graph
    order = creation_order(graph, "framework")
    assert sorted(order) == sorted(t for d, t in graph.nodes if d == "framework")
    assert order.index("modules") < order.index("error_logs")
    for s, t in graph.edges():
        if s[0] == t[0] == "framework" and s != t:
            assert order.index(t[1]) < order.index(s[1])
    databases = database_graph(graph)
    assert list(nx.topological_sort(nx.DiGraph(databases).reverse())) == ["framework", "semantic_core", "vector_operations"]


def test_keys_point_into_their_own_database_first(tmp_path):
    """A key names a table, not a database: it points into its own database when that has
    the table, else into the first database (by name) that has it; an unknown one into none.
    The rules read these keys and the graph has one edge per key with a target."""
    header = "from sqlalchemy import Column, ForeignKey, Integer\nfrom sqlalchemy.orm import declarative_base\n"

    def module(database, body):
        return f'{header}DATABASE_NAME = "{database}"\nBase = declarative_base()\n{body}'

    def table(name, *targets):
        keys = "".join(f'    {t}_id = Column(Integer, ForeignKey("{t}.id"))\n' for t in targets)
        return f'class {name.title()}(Base):\n    __tablename__ = "{name}"\n    id = Column(Integer, primary_key=True)\n{keys}'

    files = {"a": table("t"), "b": table("t") + table("u", "t"), "c": table("v", "t", "nowhere")}
    for database, body in files.items():
        (tmp_path / database).mkdir()
        (tmp_path / database / "db_models.py").write_text(module(database, body))
    schema = astschema.scan([tmp_path])
    found = {(k.database, k.table.name, k.foreign_key.target_table): (k.target_database, k.cross_database)
             for k in schema.keys}
    assert found == {("b", "u", "t"): ("b", False), ("c", "v", "t"): ("a", True),
                     ("c", "v", "nowhere"): (None, False)}
    assert next(k for k in schema.keys if k.database == "c" and k.target).target is schema.database("a").table("t")
    edges = {(s, t) for s, t in schema.graph.edges()}
    assert edges == {(("b", "u"), ("b", "t")), (("c", "v"), ("a", "t"))}
