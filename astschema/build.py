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


class BuildError(Exception):
    def __init__(self, message: str, location=None):
        super().__init__(message)
        self.location = location


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


def _resolvable(fk: model.ForeignKey, local_tables: dict[str, set[str]]) -> bool:
    """Whether a key's target is a table and columns of this database. Others (other
    databases, unknown names: reported by the scan) cannot be declared here."""
    return set(fk.target_columns) <= local_tables.get(fk.target_table, set())


def _column(column: model.Column, local_tables: dict[str, set[str]]) -> sa.Column:
    args = [column.name, _type(column)]
    for fk in column.foreign_keys:
        if _resolvable(fk, local_tables):
            args.append(sa.ForeignKey(f"{fk.target_table}.{fk.target_columns[0]}", **_foreign_key_kwargs(fk)))
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
    if column.server_default is not None:
        kwargs["server_default"] = replay(column.server_default)
    if column.server_onupdate is not None:
        kwargs["server_onupdate"] = replay(column.server_onupdate)
    return sa.Column(*args, **kwargs)


def _constraint(item: model.Constraint, local_tables: dict[str, set[str]]):
    options = dict(item.options)
    if item.kind == "unique":
        return sa.UniqueConstraint(*item.columns, name=item.name, **options)
    if item.kind == "primary_key":
        return sa.PrimaryKeyConstraint(*item.columns, name=item.name, **options)
    if item.kind == "check":
        return sa.CheckConstraint(item.sqltext, name=item.name, **options)
    fk = item.foreign_key
    if not _resolvable(fk, local_tables):
        return None
    return sa.ForeignKeyConstraint(
        list(fk.columns), [f"{fk.target_table}.{c}" for c in fk.target_columns], **_foreign_key_kwargs(fk)
    )


def _convention(database: model.Database) -> dict:
    convention = {}
    for key, template in database.naming_convention:
        target = sqla.lookup(key) if key.startswith("sqlalchemy.") else key
        convention[target] = template
    return convention


def build_metadata(database: model.Database) -> sa.MetaData:
    """The database's tables as SQLAlchemy objects. Problems go to `info["astschema_problems"]`
    as (message, location) pairs; the table concerned is left out rather than guessed."""
    metadata = sa.MetaData(naming_convention=_convention(database) or sa.sql.schema.DEFAULT_NAMING_CONVENTION)
    metadata.info["database"] = database.name
    problems = metadata.info["astschema_problems"] = []
    local_tables = {t.fullname: {c.key for c in t.columns} for t in database.tables}
    for table in database.tables:
        try:
            items = [c for c in (_constraint(i, local_tables) for i in table.constraints) if c is not None]
            columns, names = [], set()
            for column in table.columns:
                if column.name not in names:  # a second column of one name: AS212 reports it
                    names.add(column.name)
                    columns.append(_column(column, local_tables))
            built = sa.Table(
                table.name,
                metadata,
                *columns,
                *items,
                schema=table.schema,
                comment=table.comment,
                **dict(table.options),
            )
            for index in table.indexes:
                elements = [built.c[e] if isinstance(e, str) else replay(e, built) for e in index.columns]
                sa.Index(index.name, *elements, unique=index.unique, **dict(index.options))
        except BuildError as exc:
            problems.append((str(exc), exc.location or table.location))
        except Exception as exc:  # SQLAlchemy refuses the combination: say so, keep going
            problems.append((f"table {table.name}: SQLAlchemy cannot build it: {exc}", table.location))
            if table.fullname in metadata.tables:
                metadata.remove(metadata.tables[table.fullname])
    _drop_dangling_keys(metadata, problems)
    return metadata


def _drop_dangling_keys(metadata: sa.MetaData, problems: list) -> None:
    """Keys into a table that could not be built: left out, so the rest stays usable."""
    for table in metadata.tables.values():
        for constraint in list(table.foreign_key_constraints):
            target = constraint.elements[0].target_fullname.rsplit(".", 1)[0]
            if target not in metadata.tables:
                table.constraints.discard(constraint)
                for element in constraint.elements:
                    element.parent.foreign_keys.discard(element)
                    table.foreign_keys.discard(element)
                problems.append((f"foreign key of {table.fullname} to {target} left out: {target} was not built", None))
