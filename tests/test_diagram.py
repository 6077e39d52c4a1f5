"""Diagrams of the foreign-key graph, each read back by a parser of its format."""

import collections
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

import astschema
from astschema.diagram import END_MARKER, START_MARKER, DiagramError, inject, node_ids, render
from support import FIXTURES

HUB = FIXTURES / "hub"
DATABASES = ["framework", "semantic_core", "vector_operations"]

# Names that would break Mermaid or DOT if written as they are.
ODD_TABLE = 'we"ird] -->\nx #quot; `|{<b>}& \\ end'
ODD_DATABASE = 'sub"graph] -->\nend\\'


@pytest.fixture(scope="module")
def hub():
    return astschema.scan([HUB])


@pytest.fixture
def odd(tmp_path):
    """Two databases whose names and tables hold quotes, brackets, newlines and arrows."""
    target = repr(ODD_TABLE + '.i"d]')
    header = ("from sqlalchemy import Column, ForeignKey, Integer\n"
              "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "db_models.py").write_text(
        f"DATABASE_NAME = 'end'\n{header}"
        f"class Odd(Base):\n    __tablename__ = {ODD_TABLE!r}\n"
        f"    id = Column('i\"d]', Integer, primary_key=True)\n"
        "class Child(Base):\n    __tablename__ = 'end'\n    id = Column(Integer, primary_key=True)\n"
        f"    odd_id = Column('odd\"]-->id', Integer, ForeignKey({target}))\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "db_models.py").write_text(
        f"DATABASE_NAME = {ODD_DATABASE!r}\n{header}"
        "class Other(Base):\n    __tablename__ = 'o-ther'\n    id = Column(Integer, primary_key=True)\n"
        f"    odd_id = Column(Integer, ForeignKey({target}))\n")
    schema = astschema.scan([tmp_path])
    assert schema.graph.number_of_nodes() == 3 and schema.graph.number_of_edges() == 2
    return schema


def keys(graph):
    """The foreign keys of the scanned graph as a multiset of (source, target, columns, cross)."""
    return collections.Counter(
        (u, v, tuple(d["columns"]), d["cross_database"]) for u, v, d in graph.edges(data=True))


# --- GraphML and JSON: networkx reads them back ----------------------------------------------


def exported_keys(graph, split):
    nodes = {n: (d["database"], d["table"]) for n, d in graph.nodes(data=True)}
    return collections.Counter(
        (nodes[u], nodes[v], split(d["columns"]), d["cross_database"]) for u, v, d in graph.edges(data=True))


def test_graphml_reads_back(hub):
    graph = nx.parse_graphml(render(hub, "graphml"))
    assert isinstance(graph, nx.MultiDiGraph)
    assert {(d["database"], d["table"]) for _, d in graph.nodes(data=True)} == set(hub.graph.nodes)
    assert graph.number_of_nodes() == 19
    assert exported_keys(graph, lambda c: tuple(c.split(", "))) == keys(hub.graph)
    assert sum(d["cross_database"] for _, _, d in graph.edges(data=True)) == 5
    modules = graph.nodes["framework__modules"]
    assert modules["label"] == "modules" and "id: Integer PK" in modules["columns"]
    assert re.fullmatch(r".*core/database/db_models\.py:\d+:\d+", modules["location"])
    edge = graph.get_edge_data("framework__error_logs", "framework__modules")[0]
    assert edge["ondelete"] == "CASCADE" and edge["target_columns"] == "id" and edge["use_alter"] is False


def test_json_is_networkx_node_link_data(hub):
    text = render(hub, "json")
    graph = nx.node_link_graph(json.loads(text), edges="edges")
    assert graph.is_directed() and graph.is_multigraph()
    assert {(d["database"], d["table"]) for _, d in graph.nodes(data=True)} == set(hub.graph.nodes)
    assert exported_keys(graph, tuple) == keys(hub.graph)
    assert sum(d["cross_database"] for _, _, d in graph.edges(data=True)) == 5
    columns = graph.nodes["framework__modules"]["columns"]
    assert {"name": "name", "type": "String(100)", "primary_key": False, "nullable": False} in columns
    # both keys from similarity_cache to embeddings, told apart by their multigraph keys
    pair = graph.get_edge_data("vector_operations__similarity_cache", "vector_operations__embeddings")
    assert sorted(d["columns"][0] for d in pair.values()) == ["source_id", "target_id"]


def test_graphml_and_json_keep_odd_names_exactly(odd):
    for graph in (nx.parse_graphml(render(odd, "graphml")),
                  nx.node_link_graph(json.loads(render(odd, "json")), edges="edges")):
        assert {(d["database"], d["table"]) for _, d in graph.nodes(data=True)} == set(odd.graph.nodes)
        assert len(set(graph.nodes)) == 3


# --- DOT -------------------------------------------------------------------------------------

DOT_CLUSTER = re.compile(r'^  subgraph "cluster_(\d+)" \{\n    label="((?:[^"\\]|\\.)*)";', re.M)
DOT_NODE = re.compile(r'^    "(\w+)" \[label=<(.*)>\];$', re.M)
DOT_EDGE = re.compile(r'^  "(\w+)" -> "(\w+)" \[label="((?:[^"\\]|\\.)*)"(.*)\];$', re.M)


def test_dot_structure(hub):
    text = render(hub, "dot")
    assert text.startswith("digraph astschema {") and text.rstrip().endswith("}")
    assert [label for _, label in DOT_CLUSTER.findall(text)] == DATABASES
    ids = node_ids(hub.graph)
    nodes = DOT_NODE.findall(text)
    assert sorted(n for n, _ in nodes) == sorted(ids.values())
    labels = dict(nodes)
    assert all(f"<B>{table}</B>" in labels[i] for (_, table), i in ids.items())
    by_id = {i: node for node, i in ids.items()}
    edges = DOT_EDGE.findall(text)
    found = collections.Counter(
        (by_id[u], by_id[v], tuple(label.split(", ")), 'style="dashed"' in rest and "penwidth" in rest)
        for u, v, label, rest in edges)
    assert found == keys(hub.graph)


def test_dot_is_accepted_by_graphviz(hub, odd):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    for schema, clusters, nodes, edges in ((hub, 3, 19, 18), (odd, 2, 3, 2)):
        proc = subprocess.run(["dot", "-Tsvg"], input=render(schema, "dot").encode(), capture_output=True, check=True)
        assert proc.stderr == b""
        svg = ET.fromstring(proc.stdout)
        groups = collections.Counter(g.get("class") for g in svg.iter("{http://www.w3.org/2000/svg}g"))
        assert (groups["cluster"], groups["node"], groups["edge"]) == (clusters, nodes, edges)
    # render() does the same through dot itself
    assert ET.fromstring(render(hub, "svg")).tag == "{http://www.w3.org/2000/svg}svg"
    assert render(hub, "png").startswith(b"\x89PNG")


def test_dot_escapes_odd_names(odd):
    text = render(odd, "dot")
    # the newline is written as a visible \n escape (whose backslash DOT doubles)
    assert [label for _, label in DOT_CLUSTER.findall(text)] == ["end", 'sub\\"graph] -->\\\\nend\\\\']
    assert "<B>we&quot;ird] --&gt;\\nx #quot; `|{&lt;b&gt;}&amp; \\ end</B>" in text
    assert len(DOT_NODE.findall(text)) == 3 and len(DOT_EDGE.findall(text)) == 2


def test_svg_without_graphviz_says_how_to_install_it(hub, monkeypatch):
    monkeypatch.setenv("PATH", "")
    for output_format in ("svg", "png"):
        with pytest.raises(DiagramError, match="(?i)graphviz") as error:
            render(hub, output_format)
        assert "apt-get install graphviz" in str(error.value) and "brew install graphviz" in str(error.value)


# --- Mermaid ---------------------------------------------------------------------------------

MERMAID_LINES = {
    "subgraph": re.compile(r'^    subgraph (\w+) \["([^"\[\]\n]*)"\]$'),
    "end": re.compile(r"^    end$"),
    "node": re.compile(r'^        (\w+)\["([^"\[\]\n]*)"\]$'),
    "edge": re.compile(r'^    (\w+) (-->|-\.->)\|"([^"|\n]*)"\| (\w+)$'),
    "linkStyle": re.compile(r"^    linkStyle ([\d,]+) (\S+)$"),
}


def parse_mermaid(text):
    """The flowchart by structure: every line must be one of the forms the renderer writes."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    subgraphs, nodes, edges, styles, current = {}, {}, [], [], None
    for line in lines[1:]:
        kind, match = next(((k, m) for k, p in MERMAID_LINES.items() if (m := p.match(line))), (None, None))
        assert kind, f"unexpected Mermaid line: {line!r}"
        if kind == "subgraph":
            assert current is None and match[1] not in subgraphs
            current = match[1]
            subgraphs[current] = (unescape(match[2]), [])
        elif kind == "end":
            assert current is not None
            current = None
        elif kind == "node":
            assert current is not None and match[1] not in nodes, "a node defined twice or outside a subgraph"
            nodes[match[1]] = unescape(match[2]).split("<br/>")
            subgraphs[current][1].append(match[1])
        elif kind == "edge":
            assert current is None and match[1] in nodes and match[4] in nodes
            edges.append((match[1], match[2], unescape(match[3]), match[4]))
        else:
            styles.append(([int(i) for i in match[1].split(",")], match[2]))
    assert current is None and not set(subgraphs) & set(nodes)
    return subgraphs, nodes, edges, styles


def unescape(label):
    # Mermaid's entity codes; "<" and ">" are escaped, so any "<br/>" left is a line break.
    named = {"quot": '"', "amp": "&", "lt": "<", "gt": ">"}
    return re.sub(r"#(\w+);", lambda m: chr(int(m[1])) if m[1].isdigit() else named[m[1]], label)


def test_mermaid_structure(hub):
    subgraphs, nodes, edges, styles = parse_mermaid(render(hub, "mermaid"))
    assert [title for title, _ in subgraphs.values()] == DATABASES
    ids = node_ids(hub.graph)
    for (database, table), i in ids.items():
        members = next(m for title, m in subgraphs.values() if title == database)
        assert i in members and nodes[i][0] == table
    assert len(nodes) == 19
    assert nodes[ids[("vector_operations", "embeddings")]][1:] == [
        "PK id: Integer", "FK document_id: Integer", "FK chunk_id: Integer", "FK model_id: Integer"]
    by_id = {i: node for node, i in ids.items()}
    found = collections.Counter((by_id[u], by_id[v], tuple(label.split(", ")), arrow == "-.->")
                                for u, arrow, label, v in edges)
    assert found == keys(hub.graph)
    dotted = [i for i, (_, arrow, _, _) in enumerate(edges) if arrow == "-.->"]
    assert len(dotted) == 5
    assert styles == [(dotted, "stroke:#d62728,stroke-width:2px,color:#d62728")]


def test_mermaid_odd_names_do_not_break_the_syntax(odd):
    subgraphs, nodes, edges, styles = parse_mermaid(render(odd, "mermaid"))
    assert [title for title, _ in subgraphs.values()] == ["end", ODD_DATABASE.replace("\n", "\\n")]
    assert sorted(label[0] for label in nodes.values()) == ["end", "o-ther", ODD_TABLE.replace("\n", "\\n")]
    assert sorted(label for _, _, label, _ in edges) == ['odd"]-->id', "odd_id"]
    assert [arrow for _, arrow, _, _ in edges].count("-.->") == 1 and len(styles) == 1


# --- filters ---------------------------------------------------------------------------------


def drawn(schema, **options):
    graph = nx.node_link_graph(json.loads(render(schema, "json", **options)), edges="edges")
    nodes = {n: (d["database"], d["table"]) for n, d in graph.nodes(data=True)}
    return set(nodes.values()), sorted((nodes[u][1], nodes[v][1], d["cross_database"]) for u, v, d in graph.edges(data=True))


def test_one_database_with_the_tables_its_keys_cross_to(hub):
    nodes, edges = drawn(hub, database="vector_operations")
    assert nodes == {("vector_operations", t) for t in ("embedding_models", "embeddings", "similarity_cache", "vector_indexes")} | {
        ("semantic_core", "documents"), ("semantic_core", "document_chunks"), ("framework", "modules")}
    assert len(edges) == 7 and sum(cross for _, _, cross in edges) == 3
    # the other ends are drawn in clusters of their own
    subgraphs, _, _, _ = parse_mermaid(render(hub, "mermaid", database="vector_operations"))
    assert [title for title, _ in subgraphs.values()] == DATABASES
    # a database referenced from others keeps its own tables without keys, and the referrers
    nodes, edges = drawn(hub, database="framework")
    assert len([n for n in nodes if n[0] == "framework"]) == 9 and len(edges) == 4 + 3
    with pytest.raises(DiagramError, match="no database 'nope'"):
        render(hub, "mermaid", database="nope")


def test_cross_only(hub):
    nodes, edges = drawn(hub, cross_only=True)
    assert edges == [
        ("analyses", "modules", True), ("documents", "modules", True), ("embeddings", "document_chunks", True),
        ("embeddings", "documents", True), ("vector_indexes", "modules", True)]
    assert {t for _, t in nodes} == {"analyses", "documents", "modules", "embeddings", "document_chunks", "vector_indexes"}
    nodes, edges = drawn(hub, cross_only=True, database="framework")
    assert [(s, t) for s, t, _ in edges] == [("analyses", "modules"), ("documents", "modules"), ("vector_indexes", "modules")]
    text = render(hub, "dot", cross_only=True)
    assert text.count("->") == 5 and text.count('style="dashed"') == 5


def test_output_is_stable(hub):
    for options in ({}, {"database": "semantic_core"}, {"cross_only": True}):
        assert render(hub, "mermaid", **options) == render(astschema.scan([HUB]), "mermaid", **options)


def test_unknown_format(hub):
    with pytest.raises(DiagramError, match="unknown diagram format"):
        render(hub, "pdf")


# --- inject ----------------------------------------------------------------------------------


def test_inject_between_markers(tmp_path, hub):
    diagram = render(hub, "mermaid")
    before = "# Title\n\nSome text.\n\n```\nexample markers in a fence are not used:\n" \
             f"{START_MARKER}\n{END_MARKER}\n```\n\n{START_MARKER}\n"
    after = f"{END_MARKER}\n\nMore text, no newline at the end"
    readme = tmp_path / "README.md"
    readme.write_text(before + "old diagram\n" + after)
    readme.chmod(0o644)

    assert inject(readme, diagram, check=True) is False
    assert readme.read_text() == before + "old diagram\n" + after  # check writes nothing

    assert inject(readme, diagram) is False
    assert readme.read_text() == before + "```mermaid\n" + diagram + "```\n" + after
    assert oct(readme.stat().st_mode & 0o777) == oct(0o644)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]  # no temporary file left

    mtime = readme.stat().st_mtime_ns
    assert inject(readme, diagram) is True
    assert inject(readme, diagram, check=True) is True
    assert readme.stat().st_mtime_ns == mtime

    other = render(hub, "mermaid", cross_only=True)
    assert inject(readme, other, check=True) is False
    assert inject(readme, other) is False and inject(readme, other) is True
    assert readme.read_text().count("```mermaid") == 1


def test_inject_keeps_crlf_and_other_bytes(tmp_path, hub):
    readme = tmp_path / "README.md"
    head = "caf\u00e9 \u2014 notes\r\n".encode() + b"\xff stray byte\r\n" + START_MARKER.encode() + b"\r\n"
    tail = END_MARKER.encode() + b"\r\ntrailing\r\n"
    readme.write_bytes(head + tail)
    diagram = render(hub, "mermaid", cross_only=True)
    assert inject(readme, diagram) is False
    data = readme.read_bytes()
    assert data.startswith(head) and data.endswith(tail)
    assert data[len(head):-len(tail)] == ("```mermaid\n" + diagram + "```\n").replace("\n", "\r\n").encode()
    assert inject(readme, diagram) is True


def test_inject_without_markers_says_what_to_add(tmp_path, hub):
    readme = tmp_path / "README.md"
    for text in ("# no markers\n", f"only the start\n{START_MARKER}\n", f"{END_MARKER}\n{START_MARKER}\n",
                 f"```\n{START_MARKER}\n{END_MARKER}\n```\n"):
        readme.write_text(text)
        with pytest.raises(DiagramError) as error:
            inject(readme, render(hub, "mermaid"))
        assert f"{START_MARKER}\n{END_MARKER}" in str(error.value)
        assert readme.read_text() == text


def test_inject_through_a_symlink_keeps_the_link(tmp_path, hub):
    target = tmp_path / "docs.md"
    target.write_text(f"{START_MARKER}\n{END_MARKER}\n")
    link = tmp_path / "README.md"
    os.symlink(target, link)
    assert inject(link, render(hub, "mermaid")) is False
    assert link.is_symlink() and "```mermaid" in target.read_text()


def test_inject_into_a_missing_file(tmp_path):
    with pytest.raises(DiagramError, match="cannot read"):
        inject(tmp_path / "nope.md", "flowchart LR\n")


def test_keys_declared_on_the_table_are_key_columns(tmp_path):
    (tmp_path / "db_models.py").write_text(
        "from sqlalchemy import Column, ForeignKeyConstraint, Integer, String\n"
        "from sqlalchemy.orm import declarative_base\nDATABASE_NAME = 'shop'\nBase = declarative_base()\n"
        "class Item(Base):\n    __tablename__ = 'items'\n    id = Column(Integer, primary_key=True)\n"
        "class Line(Base):\n    __tablename__ = 'lines'\n"
        "    __table_args__ = (ForeignKeyConstraint(['item_id'], ['items.id']),)\n"
        "    id = Column(Integer, primary_key=True)\n    item_id = Column(Integer)\n    note = Column(String(20))\n")
    _, nodes, edges, _ = parse_mermaid(render(astschema.scan([tmp_path]), "mermaid"))
    assert nodes["shop__lines"] == ["lines", "PK id: Integer", "FK item_id: Integer"]
    assert edges == [("shop__lines", "-->", "item_id", "shop__items")]
