"""SQLModel fields: `name: str = Field(...)` read as SQLModel turns it into a Column.

The field is rewritten as the `Column(...)` call SQLModel would make (its type rules, its
nullability rule `not primary_key and Optional`, `foreign_key=`, `sa_column=`, `sa_type=`,
`sa_column_kwargs=`) and then read like any other column.
"""

from __future__ import annotations

from .. import parse, sqla
from ..resolve import Lib
from .columns import ColumnDraft, column, column_call, unwrap_optional
from .values import NOT_STATIC, Context, constant, kwargs_of, python_enum

# Python type -> (SQLAlchemy type, keyword arguments taken from Field(...)), SQLModel's rules.
FIELD_TYPES = {
    "builtins.str": ("String", {"max_length": "length"}),
    "builtins.float": ("Float", {}),
    "builtins.bool": ("Boolean", {}),
    "builtins.int": ("Integer", {}),
    "datetime.datetime": ("DateTime", {}),  # SQLModel's UTCDateTime: DateTime(timezone=True)
    "datetime.date": ("Date", {}),
    "datetime.timedelta": ("Interval", {}),
    "datetime.time": ("Time", {}),
    "builtins.bytes": ("LargeBinary", {}),
    "decimal.Decimal": ("Numeric", {"max_digits": "precision", "decimal_places": "scale"}),
    "uuid.UUID": ("Uuid", {}),
}


def field_column(ctx: Context, table, name: str, value, annotation, binding) -> ColumnDraft | None:
    if annotation is None or _is_class_var(annotation):
        return None  # pydantic fields are the annotated attributes
    is_field = isinstance(value, parse.Call) and sqla.resolve(value.func) is sqla.SQLMODEL_FIELD
    if isinstance(value, parse.Call) and sqla.resolve(value.func) is sqla.SQLMODEL_RELATIONSHIP:
        return None
    kwargs = kwargs_of(value) if is_field else {}
    if "sa_column" in kwargs and column_call(kwargs["sa_column"]):
        return column(ctx, kwargs["sa_column"], name)
    loc = value.loc if is_field else binding.loc
    hint = unwrap_optional(annotation)
    type_value = kwargs.get("sa_type") or _field_type(ctx, hint.type_value, kwargs, loc)
    primary_key = constant(kwargs.get("primary_key", parse.Const(False, loc))) is True
    column_kwargs = [
        ("type_", type_value),
        ("primary_key", parse.Const(primary_key, loc)),
        ("nullable", kwargs.get("nullable", parse.Const(not primary_key and hint.optional, loc))),
        ("index", kwargs.get("index", parse.Const(False, loc))),
        ("unique", kwargs.get("unique", parse.Const(False, loc))),
    ]
    extra = kwargs.get("sa_column_kwargs")
    if isinstance(extra, parse.Mapping):
        column_kwargs += [(constant(k), v) for k, v in extra.items if isinstance(constant(k), str)]
    args = []
    if "foreign_key" in kwargs:
        fk_kwargs = (("ondelete", kwargs["ondelete"]),) if "ondelete" in kwargs else ()
        args.append(parse.Call(Lib("sqlalchemy.ForeignKey"), (kwargs["foreign_key"],), fk_kwargs, loc))
    call = parse.Call(Lib("sqlalchemy.Column"), tuple(args), tuple(dict(column_kwargs).items()), loc)
    return column(ctx, call, name)


def _field_type(ctx: Context, python_type, kwargs: dict, loc):
    if python_enum(ctx, python_type) is not None:
        return parse.Call(Lib("sqlalchemy.Enum"), (python_type,), (), loc)
    qualname = python_type.qualname if isinstance(python_type, Lib) else None
    if qualname not in FIELD_TYPES:
        return python_type  # column_type reports what it cannot follow
    type_name, options = FIELD_TYPES[qualname]
    type_kwargs = [(sa_name, kwargs[field_name]) for field_name, sa_name in options.items() if field_name in kwargs]
    if qualname == "datetime.datetime":
        type_kwargs.append(("timezone", parse.Const(True, loc)))
    type_kwargs = [(k, v) for k, v in type_kwargs if constant(v) not in (None, NOT_STATIC)]
    return parse.Call(Lib(f"sqlalchemy.{type_name}"), (), tuple(type_kwargs), loc)


def _is_class_var(annotation) -> bool:
    target = annotation.value if isinstance(annotation, parse.Subscript) else annotation
    return isinstance(target, Lib) and target.qualname in ("typing.ClassVar", "typing_extensions.ClassVar")
