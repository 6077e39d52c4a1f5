"""Static values: constants, SQL expressions and column types, from resolved expressions.

Everything here turns a resolved value into model data (`SQLCall`, `PyEnum`, constants) or
reports, through `Context.report`, why it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import parse, sqla
from ..diagnostics import Diagnostic, Location
from ..model import EnumValues, PyEnum, SQLCall, sql_call
from ..resolve import ClassRef, FuncRef, Lib, ModuleRef, Project

NOT_STATIC = object()


@dataclass
class Context:
    """What every extraction step shares: the project, the options, and what went wrong."""

    project: Project
    diagnostics: list[Diagnostic] = field(default_factory=list)
    origins: dict[str, Location] = field(default_factory=dict)  # database -> where it is named first
    _reported: set = field(default_factory=set)

    @property
    def config(self):
        return self.project.config

    def report(self, code: str, message: str, loc: Location | None) -> None:
        key = (code, message, loc)
        if key not in self._reported:  # the same expression may be read for several classes
            self._reported.add(key)
            self.diagnostics.append(Diagnostic(code, message, loc))


def report_non_static_name(ctx: Context, value, fallback: Location | None) -> None:
    """AS103 at the expression itself, so `DATABASE_NAME = f(...)` passed on to
    `DatabaseBase(DATABASE_NAME)` is one finding, not two."""
    ctx.report("AS103", f"the database name is not a static string ({describe(value)})", loc_of(value, fallback))


def loc_of(value, default: Location | None = None) -> Location | None:
    return getattr(value, "loc", None) or default


def describe(value) -> str:
    if isinstance(value, parse.Unknown):
        return value.text
    if isinstance(value, Lib):
        return value.qualname
    if isinstance(value, (ClassRef, FuncRef)):
        return f"{value.module}.{value.name}"
    if isinstance(value, ModuleRef):
        return value.module
    if isinstance(value, parse.Call):
        return f"{describe(value.func)}(...)"
    if isinstance(value, parse.Attribute):
        return f"{describe(value.value)}.{value.attr}"
    return type(value).__name__


def constant(value):
    """A plain Python value for literals and tuples/lists/dicts of them, else NOT_STATIC."""
    if isinstance(value, parse.Const):
        return value.value
    if isinstance(value, parse.Seq):
        items = tuple(constant(i) for i in value.items)
        return NOT_STATIC if NOT_STATIC in items else items
    if isinstance(value, parse.Mapping):
        pairs = [(constant(k), constant(v)) for k, v in value.items]
        if any(NOT_STATIC in p for p in pairs):
            return NOT_STATIC
        return dict(pairs)
    return NOT_STATIC


def kwargs_of(call: parse.Call) -> dict:
    return dict(call.kwargs)


def lib_kind(value) -> tuple[object, str | None]:
    """The SQLAlchemy object a (called or bare) value denotes, and its callable kind."""
    func = value.func if isinstance(value, parse.Call) else value
    obj = sqla.resolve(func)
    return obj, (sqla.callable_kind(obj) if obj is not sqla.MISSING else None)


def sql_value(ctx: Context, value, what: str):
    """A server default, SQL text or expression: a str, an SQLCall, or None when not static."""
    const = constant(value)
    if const is not NOT_STATIC and not isinstance(const, dict):
        return const
    obj, kind = lib_kind(value)
    if kind in ("sql", "schema"):
        return _replay(ctx, value, obj, what)
    ctx.report("AS204", f"{what} is not static ({describe(value)}); left out", loc_of(value))
    return None


def replay_target(obj, value) -> str:
    """The stable dotted name to replay `obj` by (`sqlalchemy.func.now` for any `func.now`)."""
    func = value.func if isinstance(value, parse.Call) else value
    name = sqla.qualname(func) or ""
    if ".func." in f".{name}":
        return "sqlalchemy.func." + name.split(".func.", 1)[1]
    return sqla.public_name(obj, name)


def _replay(ctx: Context, value, obj, what: str) -> SQLCall | None:
    target = replay_target(obj, value)
    if not isinstance(value, parse.Call):
        return sql_call(target)
    if value.starred:
        ctx.report("AS204", f"{what} uses *args or **kwargs that cannot be read statically; its arguments are left out", value.loc)
        return None
    args = []
    for arg in value.args:
        converted = argument(ctx, arg, what)
        if converted is NOT_STATIC:
            return None
        args.append(converted)
    kwargs = []
    for key, arg in value.kwargs:
        converted = argument(ctx, arg, what)
        if converted is NOT_STATIC:
            return None
        kwargs.append((key, converted))
    return sql_call(target, tuple(args), tuple(kwargs))


def argument(ctx: Context, value, what: str):
    """One argument of a replayed call: a constant, a nested call, a type or a Python enum."""
    const = constant(value)
    if const is not NOT_STATIC:
        return const
    if isinstance(value, parse.Unknown) and value.text == parse.ENUM_VALUES:
        return EnumValues()
    enum = python_enum(ctx, value)
    if enum is not None:
        return enum
    obj, kind = lib_kind(value)
    if kind is not None:
        return _replay(ctx, value, obj, what)
    if isinstance(value, ClassRef) or (isinstance(value, parse.Call) and isinstance(value.func, ClassRef)):
        spec = column_type(ctx, value, value.loc if hasattr(value, "loc") else None)
        if spec is not None:
            return spec
    ctx.report("AS204", f"argument of {what} is not static ({describe(value)})", loc_of(value))
    return NOT_STATIC


# -- types -------------------------------------------------------------------------------


def is_type_value(ctx: Context, value) -> bool:
    """Whether a positional Column argument is (probably) its type."""
    obj, _ = lib_kind(value)
    if sqla.is_type_class(obj):
        return True
    ref = value.func if isinstance(value, parse.Call) else value
    if isinstance(ref, ClassRef):
        return _type_root(ctx, ref) is not None
    if isinstance(ref, Lib) and not ref.qualname.startswith("sqlalchemy."):
        return True  # a library type astschema cannot see into: column_type says so
    return isinstance(ref, (parse.Unknown, FuncRef))  # FuncRef: made by a call, e.g. load_utility("X")


def column_type(ctx: Context, value, loc: Location | None) -> SQLCall | None:
    """The type of a column from a type expression; None (and a diagnostic) when unknown."""
    ref = value.func if isinstance(value, parse.Call) else value
    obj = sqla.resolve(ref)
    if sqla.is_type_class(obj):
        spec = _replay(ctx, value, obj, "column type")
        return spec if spec is not None else sql_call(sqla.public_name(obj, sqla.qualname(ref)))
    if isinstance(ref, ClassRef):
        root = _type_root(ctx, ref)
        if root == "decorator":  # a TypeDecorator: its impl decides the DDL
            return _decorator_impl(ctx, ref, value)
        if root is not None:  # a subclass of a SQLAlchemy type renders as that type
            return _replay(ctx, parse.Call(root, *_call_parts(value)), sqla.resolve(root), "column type")
    # A type made by a call of the scanned tree's own (X = load_utility("X")) cannot be followed.
    dynamic = isinstance(value, parse.Call) and isinstance(ref, FuncRef)
    configured = _configured_type(ctx, value if dynamic else ref)
    if configured is not None:
        return configured
    unique = _unique_class(ctx, value if dynamic else ref)
    if unique is not None:
        spec = column_type(ctx, unique, loc)
        if spec is not None:
            ctx.report(
                "AS205",
                f"type {unique.name} could not be followed statically ({describe(value)}); assumed to be "
                f"the only class of that name in the scanned tree, at {unique.loc}",
                loc,
            )
            return spec
    where = loc if isinstance(ref, Lib) else loc_of(value, loc)  # a Lib's own location is its import
    ctx.report("AS201", f"unresolved column type {describe(ref)}; built as NullType", where)
    return None


def _call_parts(value):
    if isinstance(value, parse.Call):
        return value.args, value.kwargs, value.loc, value.starred
    return (), (), getattr(value, "loc", None), False


def _type_root(ctx: Context, cls: ClassRef):
    """For a scanned class: "decorator" for a TypeDecorator, the SQLAlchemy type class value
    it derives from for other type subclasses, or None."""
    for entry in ctx.project.mro(cls)[1:]:
        obj = sqla.resolve(entry)
        if obj is sqla.MISSING or not sqla.is_type_class(obj):
            continue
        if issubclass(obj, sqla.sqlalchemy.types.TypeDecorator):
            return "decorator"
        if issubclass(obj, sqla.sqlalchemy.types.UserDefinedType):
            return None
        return entry
    return None


def _decorator_impl(ctx: Context, cls: ClassRef, usage) -> SQLCall | None:
    """A TypeDecorator's `impl`; arguments given to the decorator go to an impl class, as
    `TypeDecorator.__init__` passes them (`LowerCaseString(120)` with `impl = String`)."""
    for entry in ctx.project.mro(cls):
        if not isinstance(entry, ClassRef):
            continue
        for binding in entry.info.body:
            if binding.target == "impl" and binding.value is not None:
                impl = ctx.project.evaluate(binding.value, entry.module, entry)
                if isinstance(usage, parse.Call) and not isinstance(impl, parse.Call):
                    impl = parse.Call(impl, usage.args, usage.kwargs, usage.loc, usage.starred)
                return column_type(ctx, impl, binding.loc)
    ctx.report("AS201", f"TypeDecorator {cls.name} has no static `impl`; built as NullType", cls.loc)
    return None


def _configured_type(ctx: Context, ref) -> SQLCall | None:
    """`[tool.astschema.types]`: a name (dotted or bare) mapped to a dotted type expression."""
    name = _ref_name(ref)
    if not ctx.config.types or name is None:
        return None
    dotted = describe(ref) if isinstance(ref, (Lib, ClassRef, FuncRef)) else name
    for key, expression in ctx.config.types:
        if key in (dotted, name):
            return column_type(ctx, configured_expression(ctx, expression), None)
    return None


def configured_expression(ctx: Context, text: str):
    """Evaluate a dotted expression from configuration (`sqlalchemy.String(36)`,
    `core.types.GUID`) through the same resolver, as if a module imported its root."""
    root = text.split(".", 1)[0].split("(", 1)[0].strip()
    source = f"import {root}\n_ = {text}\n".encode()
    summary = parse.parse_source(source, str(ctx.config.source or "pyproject.toml"), "<config>")
    if not summary.bindings:
        return parse.Unknown(f"invalid type expression {text!r} in configuration", None)
    ctx.project.summaries["<config>"] = summary
    ctx.project._symbols.pop("<config>", None)
    return ctx.project.evaluate(summary.bindings[0].value, "<config>")


def _ref_name(ref) -> str | None:
    """The name a type reference was written under, where following it failed."""
    name = None
    if isinstance(ref, (Lib, ClassRef, FuncRef)):
        name = ref.name
    elif isinstance(ref, parse.Unknown) and ref.text.startswith("'"):
        name = ref.text.split("'")[1]  # "'X' is not defined in m": the name that was imported
    elif isinstance(ref, parse.Call) and ref.args and isinstance(ref.args[0], parse.Const):
        name = ref.args[0].value  # X = load_utility("X"): a dynamic facade names what it loads
    return name if isinstance(name, str) and name else None


def _unique_class(ctx: Context, ref) -> ClassRef | None:
    name = _ref_name(ref)
    if name is None or isinstance(ref, ClassRef):
        return None
    found = ctx.project.find_classes(name)
    return found[0] if len(found) == 1 else None


def python_enum(ctx: Context, value) -> PyEnum | None:
    """A scanned `enum.Enum` subclass as its name and members, for `Enum(MyEnum)`."""
    if not isinstance(value, ClassRef):
        return None
    mro = ctx.project.mro(value)
    if not any(isinstance(e, Lib) and e.qualname.startswith("enum.") for e in mro):
        return None
    members = []
    for binding in value.info.body:
        if binding.target.startswith("_") or binding.value is None:
            continue
        member = constant(ctx.project.evaluate(binding.value, value.module, value))
        members.append((binding.target, None if member is NOT_STATIC else member))
    return PyEnum(value.name, tuple(members))
