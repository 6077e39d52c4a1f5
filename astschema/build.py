"""Build stage: model -> real SQLAlchemy `MetaData`, one per database.

Types, server defaults and sequences are replayed from their `SQLCall`s on the installed
SQLAlchemy, so the objects are the ones importing the code would have made.  Objects are
created in the order an import creates them: table-level constraints before the table (they
are built in the class body), column-level ones while the table is assembled.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa

from . import model, sqla
from .graph import foreign_keys, home


class BuildError(Exception):
    def __init__(self, message: str, location=None):
        super().__init__(message)
        self.location = location


# Stands for the scanned code's Python-side default, which is never evaluated: only its
# presence changes DDL (SQLAlchemy's autoincrement rule), and it is never called here.
PYTHON_DEFAULT = "<python-side default>"


def replay(value, table: sa.Table | None = None):
    """A model value as the SQLAlchemy object (or constant) it stands for; `table` gives
    the columns that `ColumnRef`s name."""
    if isinstance(value, model.SQLCall):
        target = sqla.lookup(value.target)
        if target is sqla.MISSING or sqla.callable_kind(target) is None:
            raise BuildError(f"{value.target} is not a SQLAlchemy callable astschema may replay")
        args = [replay(a, table) for a in value.args]
        kwargs = {k: replay(v, table) for k, v in value.kwargs}
        return target(*args, **kwargs)
    if isinstance(value, model.ColumnRef):
        return table.c[value.key]
    if isinstance(value, model.EnumValues):
        return _member_values
    if isinstance(value, model.PyEnum):
        return enum.Enum(value.name, [(name, name if v is None else v) for name, v in value.members])
    if isinstance(value, tuple):
        return [replay(v, table) for v in value]
    return value


def _member_values(enum_class):
    return [member.value for member in enum_class]


def _type(column: model.Column):
    if column.type is None:
        return sa.types.NullType()
    try:
        return replay(column.type)
    except Exception as exc:  # bad static arguments: SQLAlchemy itself refuses them
        raise BuildError(f"column {column.name}: cannot build type {column.type}: {exc}", column.location) from exc


def _foreign_key_kwargs(fk: model.ForeignKey) -> dict:
    kwargs = {"name": fk.name, "ondelete": fk.ondelete, "onupdate": fk.onupdate, "deferrable": fk.deferrable,
              "initially": fk.initially, "match": fk.match}
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if fk.use_alter:
        kwargs["use_alter"] = True
    return kwargs


def _column(column: model.Column, target) -> sa.Column:
    args = [column.name, _type(column)]
    for fk in column.foreign_keys:
        table = target(fk)
        if table is not None:
            args.append(sa.ForeignKey(f"{table}.{fk.target_columns[0]}", **_foreign_key_kwargs(fk)))
    args += [replay(extra) for extra in column.extras]
    kwargs = {
        "key": column.key,
        "nullable": column.nullable,
        "primary_key": column.primary_key,
        "autoincrement": column.autoincrement,
        "comment": column.comment,
    }
    for option in ("unique", "index"):
        if getattr(column, option) is not None:
            kwargs[option] = getattr(column, option)
    if column.python_default:
        kwargs["default"] = PYTHON_DEFAULT
    if column.server_default is not None:
        kwargs["server_default"] = replay(column.server_default)
    if column.server_onupdate is not None:
        kwargs["server_onupdate"] = replay(column.server_onupdate)
    return sa.Column(*args, **kwargs)


def _constraint(item: model.Constraint, target):
    options = dict(item.options)
    if item.kind == "unique":
        return sa.UniqueConstraint(*item.columns, name=item.name, **options)
    if item.kind == "primary_key":
        return sa.PrimaryKeyConstraint(*item.columns, name=item.name, **options)
    if item.kind == "check":
        return sa.CheckConstraint(item.sqltext, name=item.name, **options)
    fk = item.foreign_key
    table = target(fk)
    if table is None:
        return None
    return sa.ForeignKeyConstraint(
        list(fk.columns), [f"{table}.{c}" for c in fk.target_columns], **_foreign_key_kwargs(fk)
    )


def _convention(database: model.Database) -> dict:
    convention = {}
    for key, template in database.naming_convention:
        target = sqla.lookup(key) if key.startswith("sqlalchemy.") else key
        convention[target] = template
    return convention


def _new_metadata(convention: dict) -> sa.MetaData:
    metadata = sa.MetaData(naming_convention=convention or sa.sql.schema.DEFAULT_NAMING_CONVENTION)
    metadata.info["astschema_problems"] = []
    return metadata


def declared(database: model.Database):
    """`target(fk)`: the table a key of `database` is declared to in its own DDL, or None
    when its target is not there (in another database, or no such table or column)."""
    columns = {t.fullname: {c.key for c in t.columns} for t in database.tables}

    def target(fk: model.ForeignKey) -> str | None:
        return fk.target_table if set(fk.target_columns) <= columns.get(fk.target_table, set()) else None

    return target


def undeclared(table: model.Table, target) -> tuple[tuple[str, str], ...]:
    """("foreign key t(c) -> u.id", "u") of each key of `table` that its database's DDL cannot
    declare (`target` from `declared`)."""
    return tuple((f"foreign key {table.name}({', '.join(fk.columns)}) -> {fk.target}", fk.target_table)
                 for fk in foreign_keys(table) if target(fk) is None)


def build_metadata(database: model.Database) -> sa.MetaData:
    """The database's tables as SQLAlchemy objects. Problems go to `info["astschema_problems"]`
    as (table key, message, location); the table concerned is left out rather than guessed.
    A key whose target is not in this database (another database, an unknown name: the
    rules report those) cannot be declared here and is left out."""
    metadata = _new_metadata(_convention(database))
    metadata.info["database"] = database.name
    target = declared(database)
    for table in database.tables:
        _add_table(metadata, table, target, table.schema)
    _drop_dangling_keys(metadata)
    return metadata


def build_schemas(schema: model.Schema) -> sa.MetaData:
    """Every database as a schema of one MetaData (PostgreSQL's one-server layout), so that
    keys between databases become real constraints: `framework.modules.id`."""
    conventions = {d.naming_convention for d in schema.databases}
    metadata = _new_metadata(_convention(schema.databases[0]) if len(conventions) == 1 and schema.databases else {})
    columns = {(d.name, t.fullname): {c.key for c in t.columns} for d in schema.databases for t in d.tables}
    for database in schema.databases:

        def target(fk: model.ForeignKey, source=database.name) -> str | None:
            owner = home(schema.homes.get(fk.target_table, ()), source)
            if owner is None or not set(fk.target_columns) <= columns[(owner, fk.target_table)]:
                return None
            return f"{owner}.{fk.target_table}"

        for table in database.tables:
            _add_table(metadata, table, target, database.name)
    _drop_dangling_keys(metadata)
    return metadata


def _add_table(metadata: sa.MetaData, table: model.Table, target, schema: str | None) -> None:
    problems = metadata.info["astschema_problems"]
    key = f"{schema}.{table.name}" if schema else table.name
    try:
        items = [c for c in (_constraint(i, target) for i in table.constraints) if c is not None]
        columns, names = [], set()
        for column in table.columns:
            if column.name not in names:  # a second column of one name: AS212 reports it
                names.add(column.name)
                columns.append(_column(column, target))
        built = sa.Table(table.name, metadata, *columns, *items, schema=schema, comment=table.comment,
                         **dict(table.options))
        for index in table.indexes:
            elements = [built.c[e] if isinstance(e, str) else replay(e, built) for e in index.columns]
            sa.Index(index.name, *elements, unique=index.unique, **dict(index.options))
    except BuildError as exc:
        problems.append((key, str(exc), exc.location or table.location))
    except Exception as exc:  # SQLAlchemy refuses the combination: say so, keep going
        problems.append((key, f"table {table.name}: SQLAlchemy cannot build it: {exc}", table.location))
        if key in metadata.tables:  # half-built: leave it out rather than guess
            metadata.remove(metadata.tables[key])


def _drop_dangling_keys(metadata: sa.MetaData) -> None:
    """Keys into a table that could not be built: left out, so the rest stays usable."""
    for table in metadata.tables.values():
        for constraint in list(table.foreign_key_constraints):
            target = constraint.elements[0].target_fullname.rsplit(".", 1)[0]
            if target not in metadata.tables:
                table.constraints.discard(constraint)
                for element in constraint.elements:
                    element.parent.foreign_keys.discard(element)
                    table.foreign_keys.discard(element)
                metadata.info["astschema_problems"].append(
                    (table.key, f"foreign key of {table.fullname} to {target} left out: {target} was not built", None))
