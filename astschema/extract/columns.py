"""Columns, foreign keys, constraints and indexes from resolved calls.

Works on one call at a time; where a column or key refers to a mapped class
(`ForeignKey(User.id)`), the reference is kept as a `PendingRef` for the tables stage
to settle once every table is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy

from .. import parse, sqla
from ..model import Column, ColumnRef, Constraint, Index, SQLCall, sql_call
from ..resolve import ClassRef, Lib
from .values import NOT_STATIC, Context, replay_target, argument, column_type, constant, describe, is_type_value, kwargs_of, lib_kind, loc_of, python_enum, sql_value

COLUMN_FACTORIES = (sqlalchemy.Column, sqlalchemy.orm.mapped_column)
FOREIGN_KEY_OPTIONS = ("name", "ondelete", "onupdate", "deferrable", "initially", "use_alter", "match")


@dataclass(frozen=True, slots=True)
class PendingRef:
    """A column reference to settle later: a string "table.col", or a class attribute.

    Once its module is extracted, `cls` and `table_value` give way to `table`: the location
    of the table they denote, which names it across modules."""

    text: str | None = None
    cls: ClassRef | None = None
    attribute: str | None = None
    table_value: object = None  # a Core `Table(...)` call, for `table.c.col`
    loc: object = None  # where the reference is written
    table: object = None


@dataclass(frozen=True, slots=True)
class PendingForeignKey:
    columns: tuple[str, ...]
    targets: tuple[PendingRef, ...]
    options: tuple[tuple[str, object], ...]
    loc: object
    constraint_name: str | None = None  # for ForeignKeyConstraint


@dataclass(slots=True)
class ColumnDraft:
    column: Column
    foreign_keys: tuple[PendingForeignKey, ...]  # most columns have none: one shared empty tuple
    type_from_foreign_key: bool = False
    nullable_given: bool = False  # an explicit nullable= survives a PrimaryKeyConstraint
    sort_order: int = 0  # mapped_column(sort_order=...): a stable sort of the table's columns


def reference(value) -> PendingRef | None:
    """What a column reference expression points at."""
    if isinstance(value, parse.Const) and isinstance(value.value, str):
        return PendingRef(text=value.value, loc=value.loc)
    if (isinstance(value, parse.Subscript) and len(value.index) == 1 and isinstance(value.index[0], parse.Const)
            and isinstance(value.index[0].value, str)):  # table.c["col"] is table.c.col
        return reference(parse.Attribute(value.value, value.index[0].value, value.loc))
    if isinstance(value, parse.Attribute):
        inner = value.value
        if isinstance(inner, ClassRef):
            return PendingRef(cls=inner, attribute=value.attr, loc=value.loc)
        # Model.__table__.c.col / table.c.col / Model.__table__.columns.col
        if isinstance(inner, parse.Attribute) and inner.attr in ("c", "columns"):
            table = inner.value
            if isinstance(table, parse.Attribute) and table.attr == "__table__" and isinstance(table.value, ClassRef):
                return PendingRef(cls=table.value, attribute=value.attr, text="__table__", loc=value.loc)
            return PendingRef(table_value=table, attribute=value.attr, loc=value.loc)
    return None


def foreign_key(ctx: Context, call: parse.Call, column_key: str) -> PendingForeignKey | None:
    kwargs = kwargs_of(call)
    target = call.args[0] if call.args else kwargs.get("column")
    ref = reference(target) if target is not None else None
    if ref is None:
        ctx.report("AS204", f"foreign key target is not static ({describe(target)}); key left out", call.loc)
        return None
    return PendingForeignKey((column_key,), (ref,), _options(ctx, kwargs, FOREIGN_KEY_OPTIONS), call.loc)


def _options(ctx: Context, kwargs: dict, names) -> tuple:
    options = []
    for name in names:
        if name in kwargs:
            value = constant(kwargs[name])
            if value is NOT_STATIC:
                ctx.report("AS204", f"{name}= is not static; left out", loc_of(kwargs[name]))
            else:
                options.append((name, value))
    return tuple(options)


# -- columns ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Annotation:
    """What a `Mapped[...]` (or SQLModel field) annotation says about a column."""

    type_value: object  # the inner Python type, resolved
    optional: bool
    mapped_column: parse.Call | None = None  # from `Annotated[X, mapped_column(...)]`


def read_annotation(ctx: Context, value) -> Annotation | None:
    """`Mapped[X]` / `Mapped[Optional[X]]` / `Mapped[X | None]` -> (X, optional)."""
    if not isinstance(value, parse.Subscript) or sqla.resolve(value.value) is not sqlalchemy.orm.Mapped:
        return None
    return unwrap_optional(value.index[0] if value.index else None)


def unwrap_optional(inner) -> Annotation:
    optional, carried = False, None
    while True:
        if isinstance(inner, parse.Subscript) and _qual(inner.value) in ("typing.Optional", "typing_extensions.Optional"):
            inner, optional = inner.index[0], True
        elif isinstance(inner, parse.Subscript) and _qual(inner.value) in ("typing.Union", "typing_extensions.Union"):
            rest = [i for i in inner.index if not _is_none(i)]
            optional = optional or len(rest) < len(inner.index)
            inner = rest[0] if len(rest) == 1 else inner
            if len(rest) != 1:
                break
        elif isinstance(inner, parse.BinOp) and inner.op == "BitOr":
            if _is_none(inner.right):
                inner, optional = inner.left, True
            elif _is_none(inner.left):
                inner, optional = inner.right, True
            else:
                break
        elif _is_annotated(inner) and any(column_call(extra) for extra in inner.index[1:]):
            carried = next(extra for extra in inner.index[1:] if column_call(extra))
            inner = inner.index[0]
        else:
            break  # other Annotated forms stay whole: they may be keys of type_annotation_map
    return Annotation(inner, optional, carried)


def _is_annotated(value) -> bool:
    return isinstance(value, parse.Subscript) and _qual(value.value) in ("typing.Annotated", "typing_extensions.Annotated")


def merge_column_calls(carried: parse.Call, explicit: parse.Call | None) -> parse.Call:
    """`Annotated[..., mapped_column(a)]` with `= mapped_column(b)`: b's arguments win."""
    if explicit is None:
        return carried
    kwargs = dict(carried.kwargs) | dict(explicit.kwargs)
    args = explicit.args or carried.args
    return parse.Call(explicit.func, args, tuple(kwargs.items()), explicit.loc, explicit.starred or carried.starred)


def _qual(value) -> str | None:
    return value.qualname if isinstance(value, Lib) else None


def _is_none(value) -> bool:
    return isinstance(value, parse.Const) and value.value is None


def annotation_type(ctx: Context, annotation: Annotation, type_map, loc) -> SQLCall | None:
    """The column type SQLAlchemy infers from an annotation, `type_annotation_map` first."""
    inner = annotation.type_value
    for key, type_value in type_map:
        if key == inner:
            return column_type(ctx, type_value, loc)
    if _is_annotated(inner):  # Annotated[X, ...] that no type map names: X decides
        return annotation_type(ctx, Annotation(inner.index[0], annotation.optional), type_map, loc)
    enum = python_enum(ctx, inner)
    if enum is not None:
        return sql_call("sqlalchemy.Enum", (enum,))
    python_type = sqla.PYTHON_TYPES.get(_qual(inner) or "")
    sql_type = sqla.python_type_map().get(python_type) if python_type is not None else None
    if sql_type is None:
        ctx.report("AS201", f"no column type for annotation {describe(inner)}; built as NullType", loc)
        return None
    return sql_call(sqla.public_name(type(sql_type), f"sqlalchemy.{type(sql_type).__name__}"))


def column_call(value) -> bool:
    return isinstance(value, parse.Call) and sqla.resolve(value.func) in COLUMN_FACTORIES


def column(
    ctx: Context,
    call: parse.Call | None,
    attribute: str | None,
    annotation: Annotation | None = None,
    type_map=(),
    loc=None,
) -> ColumnDraft | None:
    """A column from `Column(...)` / `mapped_column(...)` (or a bare `Mapped[...]` when call is None)."""
    args = list(call.args) if call is not None else []
    kwargs = kwargs_of(call) if call is not None else {}
    loc = call.loc if call is not None else loc
    if call is not None and call.starred:
        ctx.report("AS204", "column uses *args or **kwargs; only the static arguments are read", loc)
    name = None
    if args and isinstance(args[0], parse.Const) and isinstance(args[0].value, str):
        name = args.pop(0).value
    if "name" in kwargs:
        name = constant(kwargs["name"])
    name = name or attribute
    if not isinstance(name, str):
        ctx.report("AS204", "column name is not static; column left out", loc)
        return None
    key = constant(kwargs["key"]) if "key" in kwargs else name
    type_value = kwargs.get("type_")
    if type_value is None and args and is_type_value(ctx, args[0]):
        type_value = args.pop(0)
    foreign_keys, extras = [], []
    for arg in args:
        obj, kind = lib_kind(arg)
        if obj is sqlalchemy.ForeignKey and isinstance(arg, parse.Call):
            fk = foreign_key(ctx, arg, key)
            if fk is not None:
                foreign_keys.append(fk)
        elif kind == "schema" or kind == "sql":
            extra = argument(ctx, arg, f"column {name}")
            if isinstance(extra, SQLCall):
                extras.append(extra)
        else:
            ctx.report("AS204", f"column {name}: argument not understood ({describe(arg)}); left out", loc_of(arg, loc))

    flags = {}
    # A Python-side default has no DDL, but it turns off SQLAlchemy's automatic autoincrement
    # (SERIAL on PostgreSQL), so whether there is one matters.
    python_default = any(k in kwargs and constant(kwargs[k]) is not None for k in ("default", "insert_default"))
    for flag in ("primary_key", "nullable", "unique", "index", "autoincrement", "comment", "sort_order"):
        if flag in kwargs:
            value = constant(kwargs[flag])
            if value is NOT_STATIC:
                ctx.report("AS204", f"column {name}: {flag}= is not static; SQLAlchemy's default assumed", loc_of(kwargs[flag], loc))
            else:
                flags[flag] = value
    primary_key = bool(flags.get("primary_key", False))

    if type_value is not None:
        sql_type = column_type(ctx, type_value, loc)
    elif foreign_keys:
        sql_type = None  # taken from the referenced column, even over an annotation, as SQLAlchemy does
    elif annotation is not None:
        sql_type = annotation_type(ctx, annotation, type_map, loc)
    else:
        sql_type = None
        ctx.report("AS201", f"column {name} has no type; built as NullType", loc)

    if "nullable" in flags:
        nullable = bool(flags["nullable"])
    elif annotation is not None and not primary_key:
        nullable = annotation.optional
    else:
        nullable = not primary_key

    server = {}
    for option in ("server_default", "server_onupdate"):
        if option in kwargs:
            server[option] = sql_value(ctx, kwargs[option], f"column {name}: {option}")
    return ColumnDraft(
        Column(
            name=name,
            key=key,
            type=sql_type,
            nullable=nullable,
            primary_key=primary_key,
            unique=flags.get("unique"),
            index=flags.get("index"),
            autoincrement=flags.get("autoincrement", "auto"),
            server_default=server.get("server_default"),
            server_onupdate=server.get("server_onupdate"),
            comment=flags.get("comment"),
            python_default=python_default,
            extras=tuple(extras),
            attribute=attribute,
            location=loc,
        ),
        tuple(foreign_keys),
        type_from_foreign_key=type_value is None and bool(foreign_keys),
        nullable_given="nullable" in flags,
        sort_order=flags.get("sort_order", 0) if isinstance(flags.get("sort_order", 0), int) else 0,
    )


# -- table-level items ---------------------------------------------------------------------


def column_keys(ctx: Context, values, resolve_key, what: str, loc) -> tuple[str, ...] | None:
    keys = []
    for value in values:
        ref = reference(value)
        if ref is None:
            ctx.report("AS204", f"{what}: column reference not understood ({describe(value)}); left out", loc_of(value, loc))
            return None
        key = resolve_key(ref)  # reports an unknown column itself
        if key is None:
            return None
        keys.append(key)
    return tuple(keys)


def index_expression(ctx: Context, value, resolve_key, what: str):
    """An index element: a column key, or an SQLCall over ColumnRefs (`col.desc()`, `func.lower(col)`)."""
    ref = reference(value)
    if ref is not None:
        return resolve_key(ref)
    if isinstance(value, parse.Call) and not value.starred:
        func = value.func
        if isinstance(func, parse.Attribute) and func.attr in ("desc", "asc", "nulls_first", "nulls_last"):
            inner = index_expression(ctx, func.value, resolve_key, what)
            inner = ColumnRef(inner) if isinstance(inner, str) else inner
            return sql_call(f"sqlalchemy.{func.attr}", (inner,)) if inner is not None else None
        obj, kind = lib_kind(value)
        if kind == "sql":
            args = []
            for arg in value.args:
                converted = index_expression(ctx, arg, resolve_key, what) if reference(arg) or isinstance(arg, parse.Call) else argument(ctx, arg, what)
                if converted is None or converted is NOT_STATIC:
                    return None
                args.append(ColumnRef(converted) if reference(arg) else converted)
            call = replay_target(obj, value)
            return sql_call(call, tuple(args))
    ctx.report("AS204", f"{what}: expression not understood ({describe(value)}); left out", loc_of(value))
    return None


def table_item(ctx: Context, value, resolve_key):
    """A constraint, index or foreign-key constraint from a `__table_args__` / `Table()` entry.

    `resolve_key` maps a PendingRef to a column key of the table being built.
    Returns Constraint, Index, PendingForeignKey, or None (reported).
    """
    obj = sqla.resolve(value.func) if isinstance(value, parse.Call) else sqla.MISSING
    if not isinstance(value, parse.Call) or obj is sqla.MISSING:
        ctx.report("AS204", f"table argument not understood ({describe(value)}); left out", loc_of(value))
        return None
    kwargs = kwargs_of(value)
    name = constant(kwargs["name"]) if "name" in kwargs else None
    name = None if name is NOT_STATIC else name
    if obj is sqlalchemy.Index:
        index_name = constant(value.args[0]) if value.args else None
        keys = [index_expression(ctx, e, resolve_key, f"index {index_name}") for e in value.args[1:]]
        if None in keys or not isinstance(index_name, str | None):
            return None
        unique = constant(kwargs.get("unique", parse.Const(False, None)))
        options = _dialect_options(ctx, kwargs)
        return Index(index_name, tuple(keys), bool(unique), options, value.loc)
    if obj in (sqlalchemy.UniqueConstraint, sqlalchemy.PrimaryKeyConstraint):
        keys = column_keys(ctx, value.args, resolve_key, "constraint", value.loc)
        if keys is None:
            return None
        kind = "unique" if obj is sqlalchemy.UniqueConstraint else "primary_key"
        return Constraint(kind, name, keys, options=_options(ctx, kwargs, ("deferrable", "initially")), location=value.loc)
    if obj is sqlalchemy.CheckConstraint:
        sqltext = sql_value(ctx, value.args[0] if value.args else kwargs.get("sqltext"), "check constraint")
        if isinstance(sqltext, SQLCall) and sqltext.target == "sqlalchemy.text" and sqltext.args:
            sqltext = sqltext.args[0]
        if not isinstance(sqltext, str):
            return None
        return Constraint("check", name, sqltext=sqltext, options=_options(ctx, kwargs, ("deferrable", "initially")), location=value.loc)
    if obj is sqlalchemy.ForeignKeyConstraint:
        if len(value.args) < 2 or not all(isinstance(a, parse.Seq) for a in value.args[:2]):
            ctx.report("AS204", "ForeignKeyConstraint columns are not static; left out", value.loc)
            return None
        keys = column_keys(ctx, value.args[0].items, resolve_key, "foreign key", value.loc)
        targets = [reference(t) for t in value.args[1].items]
        if keys is None or None in targets:
            ctx.report("AS204", "ForeignKeyConstraint targets are not static; left out", value.loc)
            return None
        options = _options(ctx, kwargs, FOREIGN_KEY_OPTIONS)
        return PendingForeignKey(keys, tuple(targets), options, value.loc, constraint_name=name)
    ctx.report("AS204", f"table argument {describe(value.func)} is not modelled; left out", value.loc)
    return None


def _dialect_options(ctx: Context, kwargs: dict) -> tuple:
    return _options(ctx, kwargs, [k for k in kwargs if "_" in k and k.split("_", 1)[0] in DIALECTS])


DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb", "mssql", "oracle")
