"""Snapshots: the schema as stable, sorted JSON (`schema.lock.json`), and what changed since one.

A snapshot holds what the databases hold, as SQLAlchemy builds it from the models: each
database's tables, their columns (types as SQLAlchemy writes them), primary keys, unique and
check constraints, foreign keys (those into another database too) and indexes. Nothing only the
source knows is in it (locations, class and attribute names, relationships, Python-side
defaults), so moving a class, renaming an attribute or editing a comment leaves it as it was,
and writing a column's type another way (`String(36)`, `String(length=36)`) changes nothing.
Databases and tables are sorted by name, constraints, keys and indexes by what identifies them;
columns keep their order, as CREATE TABLE does. Each column, key, constraint and index is one
line, so a review (or a `git diff`) of the file reads one line per change.

`describe` takes any SQLAlchemy `Table`: the tests hold astschema's snapshot against the one of
the tables importing the models builds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import default

from .build import build_metadata, declared
from .config import ConfigError
from .diagnostics import Location
from .graph import foreign_keys, home
from .store import UNREADABLE, digest, identity, keep

FORMAT_VERSION = 1
PARTS = ("columns", "constraints", "foreign_keys", "indexes")  # a table's lists of items, in order
_DIALECT = default.DefaultDialect()


class SnapshotError(ConfigError):
    """A snapshot file that cannot be read; the message says where."""


def _sql(value) -> str | None:
    """A default, an expression or SQL text as SQL, without a dialect of its own."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, sa.sql.elements.TextClause):
        return value.text
    return str(value.compile(dialect=_DIALECT))


def _column(column: sa.Column) -> dict:
    described = {"name": column.name, "type": _type(column.type), "nullable": column.nullable,
                 "primary_key": column.primary_key, "autoincrement": column.autoincrement,
                 "server_default": _sql(getattr(column.server_default, "arg", None)),
                 "server_onupdate": _sql(getattr(column.server_onupdate, "arg", None)), "comment": column.comment}
    if column.computed is not None:
        described["computed"] = {"sqltext": _sql(column.computed.sqltext), "persisted": column.computed.persisted}
    if column.identity is not None:
        identity = column.identity
        described["identity"] = {key: getattr(identity, key) for key in
                                 ("always", "on_null", "start", "increment", "minvalue", "maxvalue", "cycle", "cache")
                                 if getattr(identity, key, None) is not None}
    if isinstance(column.default, sa.Sequence):
        described["sequence"] = column.default.name
    return described


def _name(item) -> str | None:
    name = item.name
    return None if name is None or name is sa.sql.base._NONE_NAME else str(name)


def _options(item) -> dict:
    return {key: _sql(value) if isinstance(value, sa.sql.ClauseElement) else value
            for key, value in sorted(item.dialect_kwargs.items())}


def _target(element: sa.ForeignKey) -> tuple[str, str]:
    """(table, column) a key points at: as resolved in its MetaData (a default schema applies),
    else as written."""
    try:
        column = element.column
    except sa.exc.SQLAlchemyError:
        table, _, name = element.target_fullname.rpartition(".")
        return table, name
    return column.table.fullname, column.name


def _key(key, columns: list, table: str, referred: list) -> dict:
    """A foreign key: a SQLAlchemy `ForeignKeyConstraint`, or the model's own `ForeignKey`
    (one into another database), which name their options alike."""
    return {"name": _name(key), "columns": columns, "references": table, "referred_columns": referred,
            **{option: getattr(key, option) for option in ("ondelete", "onupdate", "deferrable", "initially",
                                                           "match", "use_alter")}}


def _constraint_key(constraint: sa.ForeignKeyConstraint) -> dict:
    targets = [_target(element) for element in constraint.elements]
    return _key(constraint, [c.name for c in constraint.columns], targets[0][0], [name for _, name in targets])


def _type(type_: sa.types.TypeEngine) -> str:
    """A column's type as the database holds it: a `TypeDecorator` by the type it stores as, a
    subclass from elsewhere (SQLModel's `AutoString`) by the SQLAlchemy type it extends,
    written as SQLAlchemy writes that type with the column's arguments."""
    while isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    known = next(cls for cls in type(type_).__mro__ if cls.__module__.startswith("sqlalchemy."))
    written = sa.util.generic_repr(type_, to_inspect=[known])
    return known.__name__ + written[written.index("("):]


def describe(table: sa.Table) -> dict:
    """One table as a snapshot holds it."""
    constraints = []
    for constraint in table.constraints:
        if isinstance(constraint, sa.PrimaryKeyConstraint):
            if constraint.columns:
                constraints.append({"kind": "primary_key", "name": _name(constraint),
                                    "columns": [c.name for c in constraint.columns]})
        elif isinstance(constraint, sa.UniqueConstraint):
            constraints.append({"kind": "unique", "name": _name(constraint),
                                "columns": [c.name for c in constraint.columns], "options": _options(constraint)})
        elif isinstance(constraint, sa.CheckConstraint):
            constraints.append({"kind": "check", "name": _name(constraint), "sqltext": _sql(constraint.sqltext),
                                "options": _options(constraint)})
    indexes = [{"name": _name(index), "columns": [c.name if isinstance(c, sa.Column) else _sql(c)
                                                   for c in index.expressions],
                "unique": bool(index.unique), "options": _options(index)} for index in table.indexes]
    described = {
        "table": {"schema": table.schema, "comment": table.comment, "options": _options(table)},
        "columns": [_column(column) for column in table.columns],
        "constraints": sorted(constraints, key=identify),
        "foreign_keys": sorted((_constraint_key(c) for c in table.foreign_key_constraints), key=identify),
        "indexes": sorted(indexes, key=identify),
    }
    # as it reads back from the file: tuples of dialect options are lists, other values text
    return json.loads(json.dumps(described, default=str))


def identify(item: dict) -> str:
    """What names an item among its table's kind of items: its name, else its columns."""
    if item.get("name") is not None:
        return f"{item.get('kind', '')} {item['name']}".strip()
    return f"{item.get('kind', '')} ({', '.join(map(str, item.get('columns') or [item.get('sqltext')]))})".strip()


def snapshot(schema) -> tuple[dict, list]:
    """The whole schema as a snapshot (see the module's docstring), and the problems of the
    tables SQLAlchemy could not build, which it leaves out: (table, message, location) each."""
    databases, problems = {}, []
    for name, tables, left_out in each_database(schema):
        databases[name] = tables
        problems += left_out
    return {"format_version": FORMAT_VERSION, "databases": databases}, problems


def each_database(schema):
    """(name, tables, problems) of each database of the snapshot in turn, sorted by name, made
    as they are asked for (so a comparison need not hold the whole snapshot). Each foreign key
    names the database it points into (`null` when no database has its table); one into
    another database cannot be built into this one's tables, so it is described from the model."""
    for name in sorted(schema.names):
        database = schema.database(name)
        tables, problems = _described(schema, name, database)
        target = declared(database)
        for fullname, table in {t.fullname: t for t in database.tables if t.fullname in tables}.items():
            names = {column.key: column.name for column in table.columns}
            keys = [{**key, "database": name} for key in tables[fullname]["foreign_keys"]]
            keys += [{**_key(fk, [names.get(c, c) for c in fk.columns], fk.target_table, list(fk.target_columns)),
                      "database": home(schema.homes.get(fk.target_table, ()), name)}
                     for fk in foreign_keys(table) if target(fk) is None]
            tables[fullname]["foreign_keys"] = sorted(keys, key=identify)
        yield name, dict(sorted(tables.items())), problems


def _described(schema, name: str, database) -> tuple[dict, list]:
    """Database `name`'s tables as SQLAlchemy builds them, described, and the problems of those
    it cannot build. Kept in the cache (`snapshots/`) under the digest of the database's model,
    which is all they depend on: building them is most of a snapshot's time."""
    directory = schema.cache_dir
    key = None if directory is None else digest(f"{identity()}{schema.digest(name)}".encode())
    path = None if key is None else directory / "snapshots" / f"{key}.json"
    if path is not None:
        try:
            tables = json.loads(path.read_bytes())
            if _well_formed({name: tables}):  # else damaged: built again
                return tables, []
        except UNREADABLE:
            pass
    metadata = build_metadata(database)  # one database at a time: a large tree's tables are not all held
    tables = {key: describe(table) for key, table in metadata.tables.items()}
    problems = metadata.info["astschema_problems"]
    if path is not None and not problems:  # a table left out is worked out (and reported) again
        keep(directory, path, json.dumps(tables))
    return tables, problems


def _one_line(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _lines(document: dict):
    """(place, text) of each line of the snapshot's text; a place is the tuple of names that
    leads to what the line starts: (database,), (database, table), (database, table, part,
    item's name or column's name)."""
    yield (), "{"
    yield (), f'  "format_version": {_one_line(document["format_version"])},'
    databases = document["databases"]
    if not databases:
        yield (), '  "databases": {}'
    else:
        yield (), '  "databases": {'
        for d, (name, tables) in enumerate(databases.items()):
            end = "," if d < len(databases) - 1 else ""
            if not tables:
                yield (name,), f"    {_one_line(name)}: {{}}{end}"
                continue
            yield (name,), f"    {_one_line(name)}: {{"
            for t, (fullname, table) in enumerate(tables.items()):
                yield (name, fullname), f"      {_one_line(fullname)}: {{"
                yield (name, fullname, "table"), f'        "table": {_one_line(table["table"])},'
                for p, part in enumerate(PARTS):
                    comma = "," if p < len(PARTS) - 1 else ""
                    items = table[part]
                    if not items:
                        yield (name, fullname, part), f'        "{part}": []{comma}'
                        continue
                    yield (name, fullname, part), f'        "{part}": ['
                    for i, item in enumerate(items):
                        yield (name, fullname, part, label(part, item)), \
                            f"          {_one_line(item)}{',' if i < len(items) - 1 else ''}"
                    yield (name, fullname, part), f"        ]{comma}"
                yield (name, fullname), f"      }}{',' if t < len(tables) - 1 else ''}"
            yield (name,), f"    }}{end}"
        yield (), "  }"
    yield (), "}"


def render(document: dict) -> str:
    """The snapshot's text, as `snapshot` writes it."""
    return "".join(f"{text}\n" for _, text in _lines(document))


def read(path: Path) -> tuple[dict, str]:
    """A snapshot file: its document, and its text (for `places`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{path}: cannot read the snapshot: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{path}:{exc.lineno}:{exc.colno}: not a snapshot: {exc.msg}") from exc
    if not isinstance(document, dict) or document.get("format_version") != FORMAT_VERSION \
            or not _well_formed(document.get("databases")):
        raise SnapshotError(f"{path}:1:1: not a snapshot of format_version {FORMAT_VERSION} "
                            "(write one with `python -m astschema snapshot -o FILE`)")
    return document, text


def places(document: dict, text: str) -> dict:
    """The (line, col) of each place of a snapshot (see `_lines`) in its `text`, when it is laid
    out as astschema writes it; else none (the file's first line then stands for every place).
    Worked out only when something removed must be pointed at: it writes the snapshot again."""
    found, lines = {}, []
    for number, (place, line) in enumerate(_lines(document), 1):
        lines.append(f"{line}\n")
        found.setdefault(place, (number, len(line) - len(line.lstrip()) + 1))
    return found if "".join(lines) == text else {}


def _well_formed(databases) -> bool:
    """Whether `databases` has the shape a snapshot's comparison reads (a file edited by hand
    may not): tables of lists of items, each named by a text (or, but for columns, nothing)
    and over a list of columns."""
    def item(entry, part) -> bool:
        return isinstance(entry, dict) and isinstance(entry.get("columns", []), list) and (
            isinstance(entry.get("name"), str) or part != "columns" and entry.get("name") is None)

    return isinstance(databases, dict) and all(
        isinstance(tables, dict) and all(
            isinstance(table, dict) and isinstance(table.get("table"), dict)
            and all(isinstance(table.get(p), list) and all(item(i, p) for i in table[p]) for p in PARTS)
            for table in tables.values())
        for tables in databases.values())


@dataclass(frozen=True)
class Change:
    """One difference between a snapshot and the models: `place` as in `_lines`, and the item
    (column, key, constraint, index) concerned, as the models have it now, else as it was."""

    kind: str  # "added", "removed" or "changed"
    place: tuple[str, ...]
    message: str
    item: dict | None = None


def changes(old: dict, new) -> list[Change]:
    """What differs from snapshot `old` in the databases `new` gives ((name, tables) pairs
    sorted by name, as `each_database` makes them), database by database, table by table."""
    found, seen = [], set()
    databases = old["databases"]
    for name, tables in new:
        seen.add(name)
        if name not in databases:
            found.append(Change("added", (name,), f"database {name} added (not in the snapshot)"))
        else:
            found += _table_changes(name, databases[name], tables)
    found += [Change("removed", (name,), f"database {name} removed (it is in the snapshot)")
              for name in databases if name not in seen]
    return found


def _table_changes(database: str, old: dict, new: dict) -> list[Change]:
    found = []
    for fullname in sorted(old.keys() | new.keys()):
        place = (database, fullname)
        if fullname not in new:
            found.append(Change("removed", place, f"table {database}.{fullname} removed"))
        elif fullname not in old:
            found.append(Change("added", place, f"table {database}.{fullname} added"))
        else:
            before, after = old[fullname], new[fullname]
            if before["table"] != after["table"]:
                found.append(Change("changed", place, f"table {fullname} changed: "
                                                      f"{_fields(before['table'], after['table'])}"))
            for part in PARTS:
                found += _items(place, part, before[part], after[part])
            found += _order(place, before["columns"], after["columns"])
    return found


_LABELS = {"columns": "column", "constraints": "constraint", "foreign_keys": "foreign key", "indexes": "index"}


def label(part: str, item: dict) -> str:
    """What names an item in its table's `part`: a column by its name, others by `identify`."""
    return item["name"] if part == "columns" else identify(item)


def _items(place, part, old: list, new: list) -> list[Change]:
    """Items of one part added, removed or changed, matched by `label`."""
    before, after = {label(part, i): i for i in old}, {label(part, i): i for i in new}
    table, what = place[1], _LABELS[part]
    found = []
    for name in sorted(before.keys() | after.keys()):
        here = (*place, part, name)
        if name not in after:
            found.append(Change("removed", here, f"{what} {name} of {table} removed: {_summary(before[name])}",
                                before[name]))
        elif name not in before:
            found.append(Change("added", here, f"{what} {name} of {table} added: {_summary(after[name])}",
                                after[name]))
        elif before[name] != after[name]:
            found.append(Change("changed", here, f"{what} {name} of {table} changed: "
                                                 f"{_fields(before[name], after[name])}", after[name]))
    return found


def _order(place, old: list, new: list) -> list[Change]:
    """Columns kept but in another order (CREATE TABLE lists them in order)."""
    before, after = {c["name"] for c in old}, {c["name"] for c in new}
    kept = [c["name"] for c in old if c["name"] in after]
    order = [c["name"] for c in new if c["name"] in before]
    if kept == order:
        return []
    return [Change("changed", (*place, "columns"), f"columns of {place[1]} reordered: {', '.join(kept)} -> "
                                                   f"{', '.join(order)}")]


def _summary(item: dict) -> str:
    return ", ".join(f"{key} {_one_line(value)}" for key, value in item.items()
                     if key != "name" and value not in (None, {}, [], False, "auto"))


def _fields(old: dict, new: dict) -> str:
    def shown(item, key):
        return _one_line(item[key]) if key in item else "(none)"

    return "; ".join(f"{key} {shown(old, key)} -> {shown(new, key)}" for key in sorted(old.keys() | new.keys())
                     if key not in old or key not in new or old[key] != new[key])


def located(schema, change: Change) -> Location | None:
    """Where in the models what `change` concerns is declared: its column, key, constraint or
    index (matched by name, else by columns), else its table, else its database."""
    place = change.place
    if place[0] not in schema.names:
        return None
    table = schema.table(place[0], place[1]) if len(place) > 1 else None
    if table is None:
        return schema.database(place[0]).location
    if len(place) == 4 and change.item is not None:
        names = {column.key: column.name for column in table.columns}
        part, columns = place[2], change.item.get("columns")
        found = [location for name, kind, keys, location in _declared(table, part)
                 if location is not None and (name == change.item.get("name") and kind == change.item.get("kind")
                                              and name is not None or [names.get(k, k) for k in keys] == columns)]
        found += [c.location for c in table.columns if part == "columns" and c.name == place[3]]
        found += [c.location for c in table.columns if columns and [c.name] == columns[:1]]  # a column's flag
        if found:
            return found[0]
    return table.location


def _declared(table, part: str):
    """(name, kind, column keys, location) of the model's items of one part of `table`."""
    if part == "indexes":
        return [(i.name, None, [c for c in i.columns if isinstance(c, str)], i.location) for i in table.indexes]
    if part == "foreign_keys":
        return [(fk.name, None, list(fk.columns), fk.location) for fk in foreign_keys(table)]
    if part == "constraints":
        return [(c.name, c.kind, list(c.columns), c.location) for c in table.constraints if c.kind != "foreign_key"]
    return []
