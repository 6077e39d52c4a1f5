"""Declarative bases and mapped classes: which classes have tables, and what goes in them.

Follows SQLAlchemy's declarative scan: a mapped class's own attributes come first (class
variables and annotations merged in source order), then columns copied from mixins and
abstract bases in MRO order; a subclass without a table name adds its columns to its
parent's table (single-table inheritance).
"""

from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy

from .. import model, parse, sqla
from ..diagnostics import Location
from ..resolve import ClassRef, FuncRef, Lib
from .columns import ColumnDraft, column, column_call, merge_column_calls, read_annotation, unwrap_optional
from .sqlmodel import field_column
from .values import NOT_STATIC, Context, constant, describe, kwargs_of, loc_of, report_non_static_name

DECLARATIVE_BASE_FUNCTIONS = ("sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base")
DECLARATIVE_BASE_CLASSES = (sqlalchemy.orm.DeclarativeBase, sqlalchemy.orm.DeclarativeBaseNoMeta)
STRING_METHODS = frozenset({"lower", "upper", "title", "capitalize", "strip", "casefold"})
MAX_GENERATED_NAME = 200  # class names a generated-name regex runs on: bounded, so no ReDoS
COLUMN_WRAPPERS = (sqlalchemy.orm.deferred, sqlalchemy.orm.column_property)
DECLARED_ATTR = ("sqlalchemy.orm.declared_attr", "sqlalchemy.ext.declarative.declared_attr")


@dataclass(frozen=True, slots=True)
class MetaInfo:
    """The parts of a `MetaData(...)` that change DDL."""

    naming_convention: tuple = ()
    schema: str | None = None


@dataclass(frozen=True, slots=True)
class BaseInfo:
    style: str  # "declarative", "flask" or "sqlmodel"
    database: str | None  # given by a base factory's argument
    metadata: MetaInfo
    type_map: tuple = ()  # (python type value, column type value) pairs
    cls: ClassRef | None = None  # a base that is a class (its body may hold declared_attrs)
    origin: object = None  # where a base factory was called


@dataclass(slots=True)
class TableDraft:
    name: str
    schema: str | None
    database: str
    module: str
    class_name: str | None
    loc: object
    metadata: MetaInfo
    columns: list[ColumnDraft] = field(default_factory=list)
    items: list = field(default_factory=list)  # Constraint / Index / PendingForeignKey, in order
    comment: str | None = None
    options: tuple = ()
    relationships: list[model.Relationship] = field(default_factory=list)
    attributes: dict = field(default_factory=dict)  # mapped attribute name -> column key
    extend_existing: bool = False

    def copy(self) -> TableDraft:
        """The same table with lists of its own, to add to without changing this one."""
        return dataclasses.replace(self, columns=list(self.columns), items=list(self.items),
                                   relationships=list(self.relationships), attributes=dict(self.attributes))


@dataclass(frozen=True, slots=True)
class Extension:
    """What is added to a table after it is made, maybe from another module: a single-table
    subclass's columns, a module-level `Index(...)`. Tables are named by their location."""

    table: Location
    by: Location  # the subclass or the Index() call: the same addition met twice is made once
    columns: tuple = ()
    items: tuple = ()
    relationships: tuple = ()
    attributes: tuple = ()  # (attribute, column key) pairs


@dataclass(slots=True)
class Mapping:
    """What astschema knows of one class: its base, and the table its columns go to."""

    base: BaseInfo | None
    table: TableDraft | None = None  # own table, or the parent's for single-table inheritance
    mapped: bool = False
    abstract: bool = False


class Declarative:
    def __init__(self, ctx: Context, database_of_module):
        self.ctx = ctx
        self.project = ctx.project
        self.database_of_module = database_of_module
        self.tables: list[TableDraft] = []  # every table made, of this module or of those it reads
        self.extensions: list[Extension] = []
        self._made: dict[int, TableDraft] = {}  # by id: tables as made, before any extension
        self.elsewhere: dict[object, TableDraft | None] = {}  # Core tables of other modules, by location
        self._mappings: dict[ClassRef, Mapping] = {}
        self._bases: dict[object, BaseInfo | None] = {}

    @contextmanager
    def extending(self, table: TableDraft, by: Location):
        """Adds to `table` what the block adds, and records it as an `Extension`."""
        self._made.setdefault(id(table), table.copy())
        columns, items, relationships = len(table.columns), len(table.items), len(table.relationships)
        attributes = dict(table.attributes)
        yield
        self.extensions.append(Extension(
            table.loc, by, tuple(table.columns[columns:]), tuple(table.items[items:]),
            tuple(table.relationships[relationships:]),
            tuple((k, v) for k, v in table.attributes.items() if k not in attributes or attributes[k] != v)))

    def as_made(self, table: TableDraft) -> TableDraft:
        return self._made.get(id(table), table)

    # -- bases -------------------------------------------------------------------------

    def base_of(self, value) -> BaseInfo | None:
        """The declarative base a class-base value is, if it is one."""
        try:
            hashable = hash(value) is not None
        except TypeError:
            hashable = False
        if hashable and value in self._bases:
            return self._bases[value]
        info = self._base_of(value)
        if hashable:
            self._bases[value] = info
        return info

    def _base_of(self, value) -> BaseInfo | None:
        if isinstance(value, parse.Call):
            factory = _callable_name(value.func)
            if factory in self.ctx.config.base_factories:
                return self._factory_base(value, factory)
            obj = sqla.resolve(value.func)
            if sqla.is_any(obj, DECLARATIVE_BASE_FUNCTIONS):
                kwargs = kwargs_of(value)
                return self._function_base(kwargs, kwargs.get("cls"))
            if isinstance(value.func, parse.Attribute) and value.func.attr == "generate_base":
                registry = value.func.value
                if isinstance(registry, parse.Call) and sqla.resolve(registry.func) is sqlalchemy.orm.registry:
                    return self._function_base(kwargs_of(registry), kwargs_of(value).get("cls"))
            return None
        obj = sqla.resolve(value)
        if obj is sqla.FLASK_MODEL:
            kwargs = kwargs_of(_flask_db(value)) if _flask_db(value) else {}
            model_class = self.base_of(kwargs["model_class"]) if "model_class" in kwargs else None
            if model_class is not None:  # SQLAlchemy(model_class=Base): Base's metadata and type map
                return BaseInfo("flask", None, model_class.metadata, model_class.type_map, model_class.cls)
            return BaseInfo("flask", None, self.metadata_info(kwargs.get("metadata")))
        if obj is sqla.SQLMODEL:
            return BaseInfo("sqlmodel", None, MetaInfo())
        if isinstance(value, ClassRef):
            return self._class_base(value)
        return None

    def _function_base(self, kwargs: dict, cls) -> BaseInfo:
        """`declarative_base(metadata=..., type_annotation_map=..., cls=Mixin)` and the registry form."""
        holder = cls if isinstance(cls, ClassRef) else None  # cls=: its attributes reach every model
        return BaseInfo("declarative", None, self.metadata_info(kwargs.get("metadata")), _type_map(kwargs), holder)

    def _factory_base(self, call: parse.Call, factory: str) -> BaseInfo:
        if factory == "get_database_base":
            self.ctx.report("AS401", "get_database_base() is deprecated; use DatabaseBase() from core.database", call.loc)
        argument = call.args[0] if call.args else next(iter(dict(call.kwargs).values()), None)
        database = constant(argument) if argument is not None else NOT_STATIC
        if isinstance(database, str):
            self.ctx.origins.setdefault(database, loc_of(argument, call.loc))
        else:
            report_non_static_name(self.ctx, argument if argument is not None else call, call.loc)
            database = None
        return BaseInfo("declarative", database, MetaInfo(), origin=call.loc)

    def _class_base(self, cls: ClassRef) -> BaseInfo | None:
        """A class that is itself a declarative base: `class Base(DeclarativeBase)` or `@as_declarative()`."""
        bases = self.project.class_bases(cls)
        decorated = [
            d for d in (self.project.evaluate(d, cls.module) for d in cls.info.decorators)
            if sqla.resolve(d.func if isinstance(d, parse.Call) else d) is sqlalchemy.orm.as_declarative
        ]
        if not decorated and not any(sqla.resolve(b) in DECLARATIVE_BASE_CLASSES for b in bases):
            return None
        body = {b.target: b for b in cls.info.body}
        kwargs = kwargs_of(decorated[0]) if decorated and isinstance(decorated[0], parse.Call) else {}
        metadata = kwargs.get("metadata")
        type_map = _type_map(kwargs)
        if "metadata" in body and body["metadata"].value is not None:
            metadata = self.project.evaluate(body["metadata"].value, cls.module, cls)
        if "type_annotation_map" in body and body["type_annotation_map"].value is not None:
            mapping = self.project.evaluate(body["type_annotation_map"].value, cls.module, cls)
            type_map = _type_map({"type_annotation_map": mapping})
        if "registry" in body and body["registry"].value is not None:
            registry = self.project.evaluate(body["registry"].value, cls.module, cls)
            if isinstance(registry, parse.Call):
                metadata = kwargs_of(registry).get("metadata", metadata)
                type_map = _type_map(kwargs_of(registry)) or type_map
        return BaseInfo("declarative", None, self.metadata_info(metadata), type_map, cls)

    def metadata_info(self, value) -> MetaInfo:
        if not isinstance(value, parse.Call) or sqla.resolve(value.func) is not sqlalchemy.MetaData:
            if value is not None:
                info = self.metadata_of_value(value)
                if info is not None:
                    return info
            return MetaInfo()
        kwargs = kwargs_of(value)
        convention = ()
        if "naming_convention" in kwargs:
            pairs = kwargs["naming_convention"]
            if isinstance(pairs, parse.Mapping):
                converted = []
                for key, template in pairs.items:
                    key_value = constant(key)
                    if key_value is NOT_STATIC:
                        obj = sqla.resolve(key)
                        key_value = sqla.public_name(obj, "") if obj is not sqla.MISSING else None
                    template_value = constant(template)
                    if not key_value or not isinstance(template_value, str):
                        self.ctx.report("AS204", "naming convention entry is not static; left out", loc_of(template))
                        continue
                    converted.append((key_value, template_value))
                convention = tuple(converted)
            else:
                self.ctx.report("AS204", "naming_convention is not a static dict; left out", value.loc)
        schema = constant(kwargs["schema"]) if "schema" in kwargs else None
        return MetaInfo(convention, schema if isinstance(schema, str) else None)

    def _base_of_metadata(self, value) -> BaseInfo | None:
        """The base behind `Base.metadata` (or `Model.metadata` of a mapped class)."""
        if not (isinstance(value, parse.Attribute) and value.attr == "metadata"):
            return None
        base = self.base_of(value.value)
        if base is None and isinstance(value.value, ClassRef):
            base = self.mapping(value.value).base
        return base

    def metadata_of_value(self, value) -> MetaInfo | None:
        """`Base.metadata`, `db.metadata`, or a MetaData call: the MetaInfo it carries."""
        if isinstance(value, parse.Attribute) and value.attr == "metadata":
            base = self._base_of_metadata(value)
            return base.metadata if base is not None else None
        if sqla.resolve(value) is sqla.FLASK_METADATA:
            db = _flask_db(value)
            return self.metadata_info(kwargs_of(db).get("metadata") if db else None)
        if isinstance(value, parse.Call) and sqla.resolve(value.func) is sqlalchemy.MetaData:
            return self.metadata_info(value)
        return None

    def database_of_metadata(self, value, module: str) -> str:
        base = self._base_of_metadata(value)
        return base.database if base is not None and base.database else self.database_of_module(module)

    # -- classes -----------------------------------------------------------------------

    def mapping(self, cls: ClassRef) -> Mapping:
        if cls not in self._mappings:
            self._mappings[cls] = Mapping(None)  # guards hierarchy cycles
            self._mappings[cls] = self._map(cls)
        return self._mappings[cls]

    def _map(self, cls: ClassRef) -> Mapping:
        if self.base_of(cls) is not None:
            return Mapping(self.base_of(cls))
        mro = self.project.mro(cls)
        base, parent, contributors, unknown = self._registry_decorator(cls), None, [], False
        for entry in mro[1:] if base is None else ():
            base = self.base_of(entry)
            if base is not None:
                break
            if isinstance(entry, ClassRef):
                entry_mapping = self.mapping(entry)
                if entry_mapping.mapped and parent is None:
                    parent = entry
                elif not entry_mapping.mapped:
                    contributors.append(entry)
            elif isinstance(entry, parse.Unknown):
                unknown = True
                self.ctx.report("AS202", f"base class of {cls.name} not resolved: {entry.text}", entry.loc or cls.loc)
        if base is None:
            return Mapping(None)
        if base.cls is not None:
            contributors.append(base.cls)  # a base class's own columns are copied like a mixin's
        body = {b.target: b for b in cls.info.body}
        if "__abstract__" in body and constant(self._value(cls, body["__abstract__"])) is True:
            return Mapping(base, abstract=True)
        table_keyword = dict(cls.info.keywords).get("table")
        if base.style == "sqlmodel" and (table_keyword is None or constant(self.project.evaluate(table_keyword, cls.module)) is not True):
            return Mapping(base, abstract=True)  # a plain SQLModel: its fields go to table subclasses
        # Mixins already applied to a mapped parent are not applied again.
        if parent is not None:
            inherited = set(self.project.mro(parent))
            contributors = [c for c in contributors if c not in inherited]
        return self._map_table(cls, base, parent, contributors, unknown)

    def _registry_decorator(self, cls: ClassRef) -> BaseInfo | None:
        """`@registry.mapped` / `@registry.mapped_as_dataclass`: mapped without a base class."""
        for decorator in cls.info.decorators:
            value = self.project.evaluate(decorator, cls.module)
            if isinstance(value, parse.Call):
                value = value.func
            if isinstance(value, parse.Attribute) and value.attr in ("mapped", "mapped_as_dataclass"):
                registry = value.value
                if isinstance(registry, parse.Call) and sqla.resolve(registry.func) is sqlalchemy.orm.registry:
                    return self._function_base(kwargs_of(registry), None)
        return None

    def _value(self, cls: ClassRef, binding: parse.Binding):
        return self.project.evaluate(binding.value, cls.module, cls) if binding.value is not None else None

    def _map_table(self, cls, base, parent, contributors, unknown: bool) -> Mapping:
        """`cls` mapped to its table; `unknown`: a class of its MRO could not be resolved (AS202)."""
        body = {b.target: b for b in cls.info.body}
        if "__table__" in body:  # hybrid declarative: the class maps a Core Table it builds
            from .tables import core_table, is_table_call

            value = self._value(cls, body["__table__"])
            table = core_table(self, value, cls.module) if is_table_call(value) else None
            if table is None:
                self.ctx.report("AS203", f"__table__ of {cls.name} is not a Table(...) call", body["__table__"].loc)
                return Mapping(base, mapped=True)
            table.class_name = cls.name
            self.tables.append(table)
            return Mapping(base, table, mapped=True)
        own = [cls, *contributors]
        attributes = self._attributes(own, base)
        tablename = self._tablename(cls, base, parent, contributors, attributes)
        parent_table = self.mapping(parent).table if parent is not None else None
        if tablename is None and parent_table is not None:
            with self.extending(parent_table, cls.loc):  # single-table inheritance
                self._add_columns(parent_table, attributes, base, cls, sort=False)
            return Mapping(base, parent_table, mapped=True)
        if tablename is None:
            return Mapping(base, mapped=True)  # reported by _tablename
        table_args = self._table_args(own, cls, tablename)
        database = base.database or self.database_of_module(cls.module)
        table = TableDraft(
            name=tablename,
            schema=base.metadata.schema,
            database=database,
            module=cls.module,
            class_name=cls.name,
            loc=cls.loc,
            metadata=base.metadata,
        )
        self._add_columns(table, attributes, base, cls)
        self.apply_table_args(table, table_args, cls)
        value, holder = table_args
        # not where the table's arguments are unknown: from an unresolved base (AS202), or
        # not static (AS204)
        if self.project.config.require_extend_existing and not table.extend_existing and not unknown and (
                holder is None or isinstance(value, (parse.Mapping, parse.Seq))):
            # at the class when it has no __table_args__ (one goes there), else at them
            where = cls.loc if holder is None else loc_of(value, holder.loc)
            self.ctx.report("AS402", f"table {tablename} of {cls.name} is not declared with extend_existing=True, "
                                     "which the configuration requires", where)
        self.tables.append(table)
        return Mapping(base, table, mapped=True)

    def _attributes(self, classes, base: BaseInfo):
        """(name, binding, method, class) for every attribute, in the order the library
        builds columns: declarative puts the class first, then mixins in MRO order; pydantic
        (SQLModel) puts inherited fields first, a redefinition keeping its place."""
        result: dict[str, tuple] = {}
        for cls in reversed(classes) if base.style == "sqlmodel" else classes:
            attributes = list(_ordered_attributes(cls.info))
            if cls is not classes[0] and base.style != "sqlmodel":
                # a mixin's plain columns are copied first, its declared_attrs evaluated after
                attributes.sort(key=lambda attribute: attribute[2] is not None)
            for name, binding, method in attributes:
                if name.startswith("__") and name.endswith("__"):
                    continue
                if base.style == "sqlmodel" or name not in result:
                    result[name] = (name, binding, method, cls)
        return list(result.values())

    def _add_columns(self, table: TableDraft, attributes, base: BaseInfo, mapped: ClassRef,
                     sort: bool = True) -> None:
        """Columns in declarative order; `sort_order` applies when a table is made, not to the
        columns a single-table subclass appends (SQLAlchemy adds those as written)."""
        added = []
        for name, binding, method, cls in attributes:
            draft = self._attribute_column(table, name, binding, method, cls, base, mapped)
            if draft is not None:
                added.append(draft)
                table.attributes[name] = draft.column.key
        table.columns += sorted(added, key=lambda d: d.sort_order) if sort else added

    def _attribute_column(self, table, name, binding, method, cls, base: BaseInfo, mapped) -> ColumnDraft | None:
        if method is not None:
            decorators = [self.project.evaluate(d, cls.module) for d in method.decorators]
            if not any(_is_declared_attr(d) for d in decorators) or method.returns is None:
                return None
            value = self._declared_attr(method, cls, mapped, table.name)
            annotation = self.project.evaluate(method.annotation, cls.module, cls) if method.annotation else None
        else:
            value = self._value(cls, binding)
            annotation = self.project.evaluate(binding.annotation, cls.module, cls) if binding.annotation else None
        if base.style == "sqlmodel":
            return field_column(self.ctx, table, name, value, annotation, binding)
        if isinstance(value, parse.Call) and sqla.resolve(value.func) in COLUMN_WRAPPERS and value.args:
            value = value.args[0]  # deferred(Column(...)), column_property(Column(...))
        mapped = read_annotation(self.ctx, annotation) if annotation is not None else None
        if mapped is not None and mapped.mapped_column is not None and (value is None or column_call(value)):
            value = merge_column_calls(mapped.mapped_column, value)
        if column_call(value):
            is_mapped_column = sqla.resolve(value.func) is sqlalchemy.orm.mapped_column
            return column(self.ctx, value, name, mapped if is_mapped_column else None, base.type_map)
        if value is None and mapped is not None:
            return column(self.ctx, None, name, mapped, base.type_map, loc=binding.loc)
        if isinstance(value, parse.Call) and sqla.resolve(value.func) is sqlalchemy.orm.relationship:
            table.relationships.append(_relationship(name, value))
        return None

    def _tablename(self, cls, base, parent, contributors, attributes) -> str | None:
        body = {b.target: b for b in cls.info.body}
        if "__tablename__" in body:
            name = constant(self._value(cls, body["__tablename__"]))
            if name is None:
                return None
            if isinstance(name, str):
                return name
            self.ctx.report("AS203", f"__tablename__ of {cls.name} is not a static string", body["__tablename__"].loc)
            return None
        for holder in [cls, *contributors, *([base.cls] if base.cls else [])]:
            for method in holder.info.methods:
                if method.name == "__tablename__":
                    return self._generated_tablename(cls, holder, method)
            if holder is not cls:
                for binding in holder.info.body:
                    if binding.target == "__tablename__":
                        value = constant(self._value(holder, binding))
                        if isinstance(value, str):
                            return value
        if base.style == "flask":
            own_pk = any(_declares_primary_key(self, cls, a) for a in attributes)
            if parent is None or own_pk:
                return camel_to_snake(cls.name)
            return None
        if base.style == "sqlmodel":
            return cls.name.lower()
        if parent is None:
            self.ctx.report("AS203", f"mapped class {cls.name} has no __tablename__", cls.loc)
        return None

    def _generated_tablename(self, cls, holder, method) -> str | None:
        """A `declared_attr` `__tablename__` computed from `cls.__name__`: string methods,
        `re.sub` with static arguments, concatenation, and helpers of the scanned tree
        built from those, evaluated statically for this class."""
        name = self._name_expression(method.returns, holder.module, {method.first_param: cls}, 0)
        if name is None:
            self.ctx.report("AS203", f"generated __tablename__ for {cls.name} is not a form astschema reads", method.loc)
        return name

    def _name_expression(self, expr, module: str, env: dict, depth: int) -> str | None:
        if depth > 8 or expr is None:
            return None
        if isinstance(expr, parse.Const):
            return expr.value if isinstance(expr.value, str) else None
        if isinstance(expr, parse.Name) and isinstance(env.get(expr.id), str):
            return env[expr.id]
        if isinstance(expr, parse.Attribute) and expr.attr == "__name__" and isinstance(expr.value, parse.Name):
            cls = env.get(expr.value.id)
            return cls.name if isinstance(cls, ClassRef) else None
        if isinstance(expr, parse.BinOp) and expr.op in ("Add", "Format"):
            left = self._name_expression(expr.left, module, env, depth + 1)
            right = self._name_expression(expr.right, module, env, depth + 1)
            if left is None or right is None:
                return None
            return left + right if expr.op == "Add" else left
        if not isinstance(expr, parse.Call) or expr.kwargs or expr.starred:
            return None
        if isinstance(expr.func, parse.Attribute) and expr.func.attr in STRING_METHODS and not expr.args:
            inner = self._name_expression(expr.func.value, module, env, depth + 1)
            return getattr(inner, expr.func.attr)() if inner is not None else None
        args = [self._name_expression(a, module, env, depth + 1) for a in expr.args]
        function = self.project.evaluate(expr.func, module)
        if isinstance(function, Lib) and function.qualname == "re.sub" and len(args) == 3 and None not in args:
            if len(args[2]) > MAX_GENERATED_NAME:
                return None
            try:
                return re.sub(args[0], args[1], args[2])
            except re.error:
                return None
        if isinstance(function, FuncRef) and function.info.returns is not None and len(expr.args) == 1:
            # a helper of the tree: bind its parameter to the class (or the string) passed in
            value = args[0]
            if value is None and isinstance(expr.args[0], parse.Name):
                value = env.get(expr.args[0].id)
            return self._name_expression(function.info.returns, function.module, {function.info.first_param: value}, depth + 1)
        return None

    def _table_args(self, classes, mapped: ClassRef, tablename: str):
        for cls in classes:
            for binding in cls.info.body:
                if binding.target == "__table_args__" and binding.value is not None:
                    return self._value(cls, binding), cls
            for method in cls.info.methods:
                if method.name == "__table_args__" and method.returns is not None:
                    return self._declared_attr(method, cls, mapped, tablename), cls
        return None, None

    def _declared_attr(self, method: parse.Method, holder: ClassRef, mapped: ClassRef, tablename: str):
        """A declared_attr's returned value for one mapped class: `cls.__tablename__` and
        `cls.__name__` are that class's, as when SQLAlchemy calls it."""
        known = {"__tablename__": tablename, "__name__": mapped.name}
        return self.project.evaluate(_bind_cls(method.returns, method.first_param, known), holder.module, holder)

    def apply_table_args(self, table: TableDraft, table_args, cls) -> None:
        from .tables import add_items, apply_options

        value, holder = table_args
        if value is None:
            return
        items, options = [], None
        if isinstance(value, parse.Mapping):
            options = value
        elif isinstance(value, parse.Seq):
            items = list(value.items)
            if items and isinstance(items[-1], parse.Mapping):
                options = items.pop()
        else:
            self.ctx.report("AS204", f"__table_args__ of {holder.name} is not static; left out", loc_of(value, holder.loc))
            return
        add_items(self, table, items)
        if options is not None:
            apply_options(self.ctx, table, options)


def _relationship(name: str, call: parse.Call) -> model.Relationship:
    target = call.args[0] if call.args else kwargs_of(call).get("argument")
    if isinstance(target, ClassRef):
        text = target.name
    else:
        value = constant(target) if target is not None else NOT_STATIC
        text = value if isinstance(value, str) else describe(target)
    return model.Relationship(name, text, call.loc)


def _bind_cls(expr, param: str | None, known: dict):
    """`expr` with `param.__tablename__` / `param.__name__` replaced by constants."""
    if (
        isinstance(expr, parse.Attribute)
        and isinstance(expr.value, parse.Name)
        and expr.value.id == param
        and expr.attr in known
    ):
        return parse.Const(known[expr.attr], expr.loc)
    if isinstance(expr, tuple):
        return tuple(_bind_cls(e, param, known) for e in expr)
    if dataclasses.is_dataclass(expr) and not isinstance(expr, parse.Const):
        changes = {f.name: _bind_cls(getattr(expr, f.name), param, known) for f in dataclasses.fields(expr) if f.name != "loc"}
        folded = dataclasses.replace(expr, **changes)
        return parse._fold(folded) if isinstance(folded, parse.BinOp) else folded
    return expr


def _ordered_attributes(info: parse.ClassInfo):
    """(name, binding, method) per class attribute, with vars and annotations merged as
    SQLAlchemy merges them; a later definition in the body wins, as in `vars(cls)`."""
    variables: list[str] = []
    annotations: dict[str, object] = {}
    bindings: dict[str, parse.Binding] = {}
    methods: dict[str, parse.Method] = {}
    for item in sorted([*info.body, *info.methods], key=lambda i: i.loc.line):
        if isinstance(item, parse.Method):
            name = item.name
            methods[name] = item
            bindings.pop(name, None)
        else:
            name = item.target
            if item.annotation is not None:
                annotations.setdefault(name, item.annotation)
            if item.value is None and name in bindings:
                continue  # `x: int` after `x = ...` changes nothing but the annotation
            bindings[name] = item
            methods.pop(name, None)
            if item.value is None:
                continue  # annotation only: not in vars(cls)
        if name not in variables:
            variables.append(name)
    for name in merge_lists_w_ordering(variables, list(annotations)):
        binding = bindings.get(name)
        if binding is not None and binding.annotation is None and name in annotations:
            binding = dataclasses.replace(binding, annotation=annotations[name])
        yield name, binding, methods.get(name)


def merge_lists_w_ordering(a: list, b: list) -> list:
    """SQLAlchemy's own merge of `vars(cls)` and `__annotations__` orders."""
    overlap = set(a).intersection(b)
    result = []
    current, other = iter(a), iter(b)
    while True:
        for element in current:
            if element in overlap:
                overlap.discard(element)
                other, current = current, other
                break
            result.append(element)
        else:
            result.extend(other)
            break
    return result


def camel_to_snake(name: str) -> str:
    """Flask-SQLAlchemy's automatic table name."""
    name = re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name)
    return name.lower().lstrip("_")


def _declares_primary_key(declarative: Declarative, cls, attribute) -> bool:
    name, binding, method, holder = attribute
    if holder is not cls or binding is None or binding.value is None:
        return False
    value = declarative._value(cls, binding)
    return column_call(value) and constant(kwargs_of(value).get("primary_key", parse.Const(False, None))) is True


def _is_declared_attr(value) -> bool:
    func = value.func if isinstance(value, parse.Call) else value
    while isinstance(func, parse.Attribute):  # declared_attr.directive, declared_attr.cascading
        if sqla.is_any(sqla.resolve(func), DECLARED_ATTR):
            return True
        func = func.value
    return sqla.is_any(sqla.resolve(func), DECLARED_ATTR)


def _callable_name(func) -> str | None:
    if isinstance(func, (FuncRef, Lib, ClassRef)):
        return func.name
    if isinstance(func, parse.Attribute):
        return func.attr
    if isinstance(func, parse.Unknown) and func.text.startswith("'"):
        return func.text.split("'")[1]
    return None


def _type_map(kwargs: dict) -> tuple:
    mapping = kwargs.get("type_annotation_map")
    if not isinstance(mapping, parse.Mapping):
        return ()
    return tuple((unwrap_optional(k).type_value, v) for k, v in mapping.items)


def _flask_db(value):
    while isinstance(value, parse.Attribute):
        value = value.value
    return value if isinstance(value, parse.Call) else None
