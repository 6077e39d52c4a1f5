"""Diagram stage: the foreign-key graph drawn as Mermaid, Graphviz DOT, JSON, GraphML, SVG or PNG.

Every format is drawn from `schema.graph` (see `graph`): one cluster per database, one node per
table with its key columns, one edge per foreign key, cross-database keys made to stand out.
Names come from scanned code and may hold any character, so every label is escaped for its
format and every node gets a safe identifier of its own.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess

import networkx as nx

from . import model
from .output import write_file
from .report import escape
from .graph import foreign_keys

FORMATS = ("mermaid", "dot", "json", "graphml", "svg", "png")
START_MARKER = "<!-- astschema:graph:start -->"
END_MARKER = "<!-- astschema:graph:end -->"
CROSS_COLOUR = "#d62728"

_GRAPHVIZ_HINT = ("install Graphviz, which provides it (Debian/Ubuntu: apt-get install graphviz; "
                  "macOS: brew install graphviz), or use --format dot, mermaid, json or graphml")


class DiagramError(Exception):
    """A diagram that cannot be made: unknown format or database, no Graphviz, no markers."""


def render(schema: model.Schema, output_format: str, *, database: str | None = None,
           cross_only: bool = False) -> str | bytes:
    """The diagram as text (mermaid, dot, json, graphml) or bytes (svg, png)."""
    if output_format not in FORMATS:
        raise DiagramError(f"unknown diagram format {output_format!r}; choose one of {', '.join(FORMATS)}")
    graph = select(schema.graph, database=database, cross_only=cross_only)
    if output_format == "mermaid":
        return mermaid(graph)
    if output_format == "dot":
        return dot(graph)
    if output_format == "json":
        # networkx's own node-link shape, so `networkx.node_link_graph` reads it back.
        data = nx.node_link_data(export_graph(graph), edges="edges")
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output_format == "graphml":
        return "\n".join(nx.generate_graphml(_graphml_safe(export_graph(graph)), named_key_ids=True)) + "\n"
    return run_graphviz(dot(graph), output_format)


def select(graph: nx.MultiDiGraph, *, database: str | None = None, cross_only: bool = False) -> nx.MultiDiGraph:
    """The graph to draw: a database's tables and the keys that touch it (with the tables at
    their other ends), or only cross-database keys and their end tables."""
    if database is None and not cross_only:
        return graph
    if database is not None and not any(d == database for d, _ in graph):
        known = sorted({d for d, _ in graph})
        raise DiagramError(f"no database {database!r}; known: {', '.join(known) or 'none'}")

    def keep_edge(u, v, k):
        if cross_only and not graph.edges[u, v, k]["cross_database"]:
            return False
        return database is None or database in (u[0], v[0])

    edges = nx.subgraph_view(graph, filter_edge=keep_edge)
    # A table stays when it has a kept edge, or (without cross_only) when it is of the database.
    view = edges.subgraph(n for n in edges if edges.degree(n) or (not cross_only and n[0] == database))
    # Copied in the scan's order: views may iterate sets, and diagrams must be stable (`inject`
    # compares them byte for byte).
    out = nx.MultiDiGraph()
    out.add_nodes_from((n, d) for n, d in graph.nodes(data=True) if n in view)
    out.add_edges_from((u, v, k, d) for u, v, k, d in graph.edges(keys=True, data=True) if view.has_edge(u, v, k))
    return out


# --- shared ----------------------------------------------------------------------------------


def node_ids(nodes) -> dict:
    """A distinct safe identifier ([A-Za-z0-9_]) for each (database, table) node."""
    ids, used = {}, set()
    for node in nodes:
        ids[node] = _unique(f"{_ident(node[0])}__{_ident(node[1])}", used)
    return ids


def _ident(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text) or "_"


def _unique(base: str, used: set) -> str:
    # Different names can clean to the same identifier ("a-b", "a.b"): number the later ones.
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


def _clean(text) -> str:
    # Newlines and other control characters would end a line of Mermaid or DOT, or reach a
    # terminal: they become visible escapes, as in every other output.
    return escape(str(text))


def _type(column: model.Column) -> str:
    return "unknown" if column.type is None else str(column.type).removesuffix("()")


def key_columns(table: model.Table) -> list[tuple[str, str, str]]:
    """(PK/FK mark, column name, type) of the primary-key and foreign-key columns, in table order.
    Keys declared as table-level constraints count too, so read them through `foreign_keys`."""
    fk_keys = {key for fk in foreign_keys(table) for key in fk.columns}
    rows = []
    for column in table.columns:
        mark = ",".join(m for m, on in (("PK", column.primary_key), ("FK", column.key in fk_keys)) if on)
        if mark:
            rows.append((mark, column.name, _type(column)))
    return rows


def _groups(nodes):
    """Nodes grouped by database, databases in order of first appearance."""
    groups: dict[str, list] = {}
    for node in nodes:
        groups.setdefault(node[0], []).append(node)
    return groups


# --- Mermaid ---------------------------------------------------------------------------------

# Inside ["..."] Mermaid reads `#name;` as an entity; these characters would end the string,
# start an entity, a markdown string or HTML, so they are written as entities themselves.
_MERMAID_ESCAPES = {'"': "#quot;", "#": "#35;", "&": "#amp;", "<": "#lt;", ">": "#gt;",
                    "`": "#96;", "\\": "#92;", "[": "#91;", "]": "#93;", "{": "#123;", "}": "#125;", "|": "#124;"}


def _mermaid_label(text) -> str:
    return "".join(_MERMAID_ESCAPES.get(c, c) for c in _clean(text))


def mermaid(graph: nx.MultiDiGraph) -> str:
    nodes, edges = list(graph), list(graph.edges(keys=True, data=True))
    ids = node_ids(nodes)
    used = set(ids.values())
    lines = ["flowchart LR"]
    for database, members in _groups(nodes).items():
        lines.append(f'    subgraph {_unique("db_" + _ident(database), used)} ["{_mermaid_label(database)}"]')
        for node in members:
            table = graph.nodes[node]["table"]
            label = [_mermaid_label(table.fullname)]
            label += [_mermaid_label(f"{mark} {name}: {type_}") for mark, name, type_ in key_columns(table)]
            lines.append(f'        {ids[node]}["{"<br/>".join(label)}"]')
        lines.append("    end")
    # Edges after every subgraph: an edge written inside one would pull its nodes into it.
    cross = []
    for index, (u, v, _, data) in enumerate(edges):
        arrow = "-.->" if data["cross_database"] else "-->"
        if data["cross_database"]:
            cross.append(str(index))
        lines.append(f'    {ids[u]} {arrow}|"{_mermaid_label(", ".join(data["columns"]))}"| {ids[v]}')
    if cross:
        # No trailing ";": Mermaid would read "#d62728;" as an entity.
        lines.append(f"    linkStyle {','.join(cross)} stroke:{CROSS_COLOUR},stroke-width:2px,color:{CROSS_COLOUR}")
    return "\n".join(lines) + "\n"


# --- Graphviz --------------------------------------------------------------------------------


def _dot_quote(text) -> str:
    return '"' + _clean(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html(text) -> str:
    return html.escape(_clean(text), quote=True)


def dot(graph: nx.MultiDiGraph) -> str:
    nodes, edges = list(graph), list(graph.edges(keys=True, data=True))
    ids = node_ids(nodes)
    lines = [
        "digraph astschema {",
        '  graph [rankdir="LR", fontname="Helvetica"];',
        '  node [shape="plaintext", fontname="Helvetica", fontsize="10"];',
        '  edge [fontname="Helvetica", fontsize="9"];',
    ]
    for n, (database, members) in enumerate(_groups(nodes).items()):
        lines.append(f'  subgraph "cluster_{n}" {{')
        lines.append(f'    label={_dot_quote(database)}; style="rounded"; color="gray50";')
        for node in members:
            table = graph.nodes[node]["table"]
            rows = "".join(f"<TR><TD ALIGN=\"LEFT\">{_html(mark)}</TD><TD ALIGN=\"LEFT\">{_html(name)}</TD>"
                           f"<TD ALIGN=\"LEFT\">{_html(type_)}</TD></TR>"
                           for mark, name, type_ in key_columns(table))
            label = (f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
                     f'<TR><TD COLSPAN="3" BGCOLOR="gray90"><B>{_html(table.fullname)}</B></TD></TR>{rows}</TABLE>')
            lines.append(f"    {_dot_quote(ids[node])} [label=<{label}>];")
        lines.append("  }")
    for u, v, _, data in edges:
        attrs = [f"label={_dot_quote(', '.join(data['columns']))}"]
        if data["location"] is not None:
            attrs.append(f"tooltip={_dot_quote(data['location'])}")
        if data["cross_database"]:
            attrs.append(f'style="dashed", color="{CROSS_COLOUR}", fontcolor="{CROSS_COLOUR}", penwidth="2"')
        lines.append(f"  {_dot_quote(ids[u])} -> {_dot_quote(ids[v])} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def run_graphviz(dot_source: str, output_format: str) -> bytes:
    """`dot -T<format>` on the DOT text; Graphviz is a program, not a Python package."""
    program = shutil.which("dot")
    if program is None:
        raise DiagramError(f"--format {output_format} needs Graphviz's `dot` program, not found on PATH: {_GRAPHVIZ_HINT}")
    try:
        proc = subprocess.run([program, f"-T{output_format}"], input=dot_source.encode("utf-8"),
                              capture_output=True, check=False)
    except OSError as exc:
        raise DiagramError(f"cannot run {program}: {exc}; {_GRAPHVIZ_HINT}") from exc
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise DiagramError(f"Graphviz dot -T{output_format} failed: {detail}")
    return proc.stdout


# --- JSON and GraphML ------------------------------------------------------------------------


def export_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy with string node ids and plain attributes only (no model objects, no Locations)."""
    nodes, edges = list(graph), list(graph.edges(keys=True, data=True))
    ids = node_ids(nodes)
    out = nx.MultiDiGraph()
    for node in nodes:
        data = graph.nodes[node]
        table = data["table"]
        out.add_node(
            ids[node],
            database=node[0],
            table=table.fullname,
            columns=[{"name": c.name, "type": _type(c), "primary_key": c.primary_key, "nullable": c.nullable}
                     for c in table.columns],
            location=_location(data["location"]),
        )
    for u, v, k, data in edges:
        out.add_edge(
            ids[u], ids[v], k,
            columns=list(data["columns"]),
            target_columns=list(data["target_columns"]),
            ondelete=data["ondelete"],
            onupdate=data["onupdate"],
            name=data["name"],
            use_alter=data["use_alter"],
            cross_database=data["cross_database"],
            location=_location(data["location"]),
        )
    return out


def _location(location) -> str | None:
    return None if location is None else str(location)


def _graphml_safe(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """GraphML holds only str/int/float/bool: lists become text, missing values are left out,
    and `label`s are added for viewers such as yEd and Gephi."""
    for _, data in graph.nodes(data=True):
        data["columns"] = "\n".join(
            f"{c['name']}: {c['type']}{' PK' if c['primary_key'] else ''}{'' if c['nullable'] else ' NOT NULL'}"
            for c in data["columns"])
        data["label"] = data["table"]
        _drop_none(data)
    for _, _, data in graph.edges(data=True):
        data["columns"] = ", ".join(data["columns"])
        data["target_columns"] = ", ".join(data["target_columns"])
        data["label"] = data["columns"]
        _drop_none(data)
    return graph


def _drop_none(data: dict) -> None:
    for key in [k for k, v in data.items() if v is None]:
        del data[key]


# --- Markdown --------------------------------------------------------------------------------


def inject(markdown_path, mermaid_text: str, *, check: bool = False) -> bool:
    """Put the diagram in a ```mermaid block between the marker lines of a Markdown file.

    Returns True when the file already held exactly that block. With `check`, writes nothing.
    Markers must be lines of their own, outside code fences (so a README may show them in an
    example); the rest of the file is kept byte for byte.
    """
    path = os.path.realpath(markdown_path)  # replace a symlink's target, not the link
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise DiagramError(f"cannot read {markdown_path}: {exc.strerror or exc}") from exc
    lines = data.splitlines(keepends=True)
    start, end = _markers(lines)
    if start is None or end is None:
        raise DiagramError(
            f"{markdown_path}: no place for the diagram; add these two lines where it should go:\n"
            f"{START_MARKER}\n{END_MARKER}")
    newline = b"\r\n" if lines[start].endswith(b"\r\n") else b"\n"
    body = ["```mermaid", *mermaid_text.rstrip("\n").split("\n"), "```"]
    block = [line.encode("utf-8") + newline for line in body]
    if lines[start + 1:end] == block:
        return True
    if not check:
        write_file(path, b"".join(lines[:start + 1] + block + lines[end:]))
    return False


def _markers(lines: list[bytes]) -> tuple[int | None, int | None]:
    """Indexes of the first start marker line and the first end marker line after it."""
    start = end = None
    fence = None  # the opening fence (``` or ~~~, three or more) while inside a code block
    for index, raw in enumerate(lines):
        line = raw.decode("utf-8", "replace").strip()
        match = re.match(r"(`{3,}|~{3,})", line)
        if fence is not None:
            if match and line == match.group(1) and line[0] == fence[0] and len(line) >= len(fence):
                fence = None
        elif match:
            fence = match.group(1)
        elif line == START_MARKER and start is None:
            start = index
        elif line == END_MARKER and start is not None:
            end = index
            break
    return start, end
