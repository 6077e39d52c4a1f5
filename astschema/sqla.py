"""What astschema knows of SQLAlchemy's own names: one place for both reading and building.

A resolved library reference (`Lib("sqlalchemy.types.Integer")`) is looked up by walking
attributes of the installed SQLAlchemy package, so every alias of a name leads to the same
object and the installed version decides what exists.  Flask-SQLAlchemy's `db.X` and
SQLModel's re-exports map onto SQLAlchemy names without importing either library.
Only objects in `callable_kind` may ever be called, and only with static arguments.
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import functools
import sys
import uuid as _uuid

import sqlalchemy
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite
import sqlalchemy.orm
from sqlalchemy.sql import functions as sql_functions
from sqlalchemy.sql import sqltypes

from . import parse
from .resolve import Lib

MISSING = object()

# SQLAlchemy's modules imported when a name is first looked up in them (`_rest`), not at
# start-up (a tenth of a second or more of every run's): the dialects `ddl` does not compile by
# default, and the legacy declarative extension.
_LATER = frozenset({"sqlalchemy.dialects.mysql", "sqlalchemy.dialects.mssql", "sqlalchemy.dialects.oracle",
                    "sqlalchemy.ext", "sqlalchemy.ext.declarative"})


@functools.cache
def _rest() -> None:
    """Import the modules of `_LATER` (SQLAlchemy's own, named here: never a scanned name)."""
    import sqlalchemy.dialects.mssql  # noqa: F401
    import sqlalchemy.dialects.mysql  # noqa: F401
    import sqlalchemy.dialects.oracle  # noqa: F401
    import sqlalchemy.ext.declarative  # noqa: F401


class Special(str):
    """A library name with a meaning of its own for astschema (a base, a field factory...)."""


FLASK_DB = "flask_sqlalchemy.db"  # the qualname prefix given to attributes of `db = SQLAlchemy()`
FLASK_MODEL = Special("flask.Model")
FLASK_TABLE = Special("flask.Table")
FLASK_METADATA = Special("flask.metadata")
SQLMODEL = Special("sqlmodel.SQLModel")
SQLMODEL_FIELD = Special("sqlmodel.Field")
SQLMODEL_RELATIONSHIP = Special("sqlmodel.Relationship")

_SPECIAL = {
    f"{FLASK_DB}.Model": FLASK_MODEL,
    f"{FLASK_DB}.Table": FLASK_TABLE,
    f"{FLASK_DB}.metadata": FLASK_METADATA,
    "sqlmodel.SQLModel": SQLMODEL,
    "sqlmodel.main.SQLModel": SQLMODEL,
    "sqlmodel.Field": SQLMODEL_FIELD,
    "sqlmodel.main.Field": SQLMODEL_FIELD,
    "sqlmodel.Relationship": SQLMODEL_RELATIONSHIP,
    "sqlmodel.main.Relationship": SQLMODEL_RELATIONSHIP,
    # SQLModel's str type is a String subclass rendering as VARCHAR.
    "sqlmodel.AutoString": sqlalchemy.String,
    "sqlmodel.sql.sqltypes.AutoString": sqlalchemy.String,
}

FLASK_EXTENSIONS = ("flask_sqlalchemy.SQLAlchemy", "flask_sqlalchemy.extension.SQLAlchemy")


def qualname(value) -> str | None:
    """The dotted library path a resolved value denotes, if it denotes one."""
    if isinstance(value, Lib):
        return value.qualname
    if isinstance(value, parse.Attribute):
        inner = qualname(value.value)
        return f"{inner}.{value.attr}" if inner else None
    if isinstance(value, parse.Call) and qualname(value.func) in FLASK_EXTENSIONS:
        return FLASK_DB
    return None


@functools.cache  # asked hundreds of thousands of times, for a few dozen names
def lookup(name: str | None):
    """The SQLAlchemy object (or `Special`) a dotted path denotes, or MISSING."""
    if name is None:
        return MISSING
    if name in _SPECIAL:
        return _SPECIAL[name]
    parts = name.split(".")
    if parts[0] == "sqlmodel" or name.startswith(FLASK_DB + "."):
        # Both re-export SQLAlchemy's public names (db.Column, db.relationship, sqlmodel.Column).
        rest = parts[1:] if parts[0] == "sqlmodel" else parts[2:]
        for root in ("sqlalchemy", "sqlalchemy.orm"):
            found = lookup(".".join([root, *rest]))
            if found is not MISSING:
                return found
        return MISSING
    if parts[0] != "sqlalchemy":
        return MISSING
    obj = sqlalchemy
    for n, part in enumerate(parts[1:], 2):
        if part.startswith("_"):
            return MISSING
        found = getattr(obj, part, MISSING)
        if found is MISSING and ".".join(parts[:n]) in _LATER:
            _rest()
            found = getattr(obj, part, MISSING)
        obj = found
        if obj is MISSING:
            return MISSING
    return obj


def resolve(value):
    return lookup(qualname(value))


def is_any(obj, names) -> bool:
    """Whether `obj` is what one of the dotted `names` denotes, in the modules imported: what a
    module not imported yet exports cannot be at hand (see `_LATER`), so it is not imported
    for the question."""
    for name in names:
        module, _, attribute = name.rpartition(".")
        if module in sys.modules and getattr(sys.modules[module], attribute, MISSING) is obj:
            return True
    return False


def is_type_class(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, sqltypes.TypeEngine)


SQL_FUNCTIONS = frozenset(
    ["text", "literal_column", "literal", "null", "true", "false", "cast", "desc", "asc", "nulls_first", "nulls_last"]
)


def callable_kind(obj) -> str | None:
    """Why astschema may call `obj` with static arguments ("type", "schema", "sql"), or None."""
    if is_type_class(obj):
        return "type"
    if isinstance(obj, type) and issubclass(obj, (sqlalchemy.schema.SchemaItem, sqlalchemy.schema.FetchedValue)):
        return "schema"
    if isinstance(obj, sql_functions._FunctionGenerator):
        return "sql"
    if any(obj is getattr(sqlalchemy, name) for name in SQL_FUNCTIONS):
        return "sql"
    return None


def public_name(obj, fallback: str) -> str:
    """A short stable dotted name: `sqlalchemy.X` when SQLAlchemy exports it at the top level."""
    name = getattr(obj, "__name__", None)
    if name and getattr(sqlalchemy, name, None) is obj:
        return f"sqlalchemy.{name}"
    _rest()  # an object of any dialect may be at hand
    for dialect in ("postgresql", "mysql", "sqlite", "mssql", "oracle"):
        module = getattr(sqlalchemy.dialects, dialect)
        if name and getattr(module, name, None) is obj:
            return f"sqlalchemy.dialects.{dialect}.{name}"
    return fallback


def python_type_map() -> dict:
    """SQLAlchemy's own map from Python types to column types (`Mapped[int]` -> Integer)."""
    return sqltypes._type_map


# Python types an annotation may name, reachable without importing anything of the scanned code.

PYTHON_TYPES = {
    "builtins.int": int,
    "builtins.float": float,
    "builtins.bool": bool,
    "builtins.str": str,
    "builtins.bytes": bytes,
    "datetime.datetime": _dt.datetime,
    "datetime.date": _dt.date,
    "datetime.time": _dt.time,
    "datetime.timedelta": _dt.timedelta,
    "decimal.Decimal": _decimal.Decimal,
    "uuid.UUID": _uuid.UUID,
}
