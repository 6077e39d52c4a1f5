"""Hypothesis strategies for tests/test_fuzz.py.

`model_trees()` writes random but importable SQLAlchemy model files from a grammar of
declarations: a `db_models.py` (and sometimes a sibling `mixins.py`) with a base
(`declarative_base()` or `class Base(DeclarativeBase)`, optionally with a naming convention
and a type_annotation_map), one to four mapped classes, typed columns in every declaration
style, keys, constraints and indexes. Every tree it makes imports cleanly: each table has a
primary key, keys point at earlier tables' (or the table's own) primary keys, autoincrement,
Identity and Sequence only go on a single integer primary key, and every name is unique.

`arbitrary_sources()` gives the bytes of files that are mostly not valid models at all:
hypothesmith's random Python, and byte- and line-level mutations of the fixture files and of
generated models.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Constructs astschema gets wrong today (each reported, each an xfail example in test_fuzz.py).
# The random grammar leaves them out, so that the fuzzer keeps looking for new bugs; once
# astschema is fixed the xfail example passes, strict mode turns it red, and the construct's
# name comes out of this set.
KNOWN_BUGS: frozenset[str] = frozenset()  # constructs left out of the grammar while astschema gets them wrong

# Identifiers are a stem of letters plus a counter unique within the tree: never a Python or
# SQL keyword (none ends in a digit), never an imported name, never a duplicate, and never
# containing "_", so that automatic index names ix_<table>_<column> cannot collide.
LOWER = string.ascii_lowercase
MIXED = string.ascii_lowercase + "ABCXYZ"
# Text inside string literals (comments, server defaults, table comments): quotes, backslashes,
# percent signs, newlines and non-ASCII, all written with repr() so the literal stays valid.
TEXT = st.text(alphabet="abz09 '\"\\%:-_.()\n\té☃", max_size=12)
ONDELETE = [None, "CASCADE", "SET NULL", "RESTRICT", "NO ACTION", "SET DEFAULT"]
ONUPDATE = [None, "CASCADE", "RESTRICT"]


@dataclass
class Tree:
    """Files of a generated source tree, by relative path."""

    files: dict[str, str]

    def write(self, root: Path) -> None:
        for path, text in self.files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def listing(self) -> str:
        """The files, readable (test_fuzz notes it for a falsifying example)."""
        return "".join(f"\n# ---- {path}\n{text}" for path, text in self.files.items())


@dataclass(frozen=True)
class TypeSpec:
    expr: str  # Python source, with {sa} where the SQLAlchemy prefix goes
    py: str  # the Python type a Mapped[] annotation names for it
    plain: bool  # the default type_annotation_map gives exactly this type for `py`
    integer: bool = False
    temporal: bool = False
    boolean: bool = False


INTEGER = TypeSpec("{sa}Integer", "int", True, integer=True)


@dataclass
class Col:
    attr: str
    name: str  # the SQL name
    type: TypeSpec  # what the column ends up with (for the generator's own choices)
    primary_key: bool = False
    indexed: bool = False  # index=True: its automatic index is named after this column


@dataclass
class Tbl:
    cls: str
    name: str
    fullname: str
    columns: list[Col] = field(default_factory=list)
    pk_names: list[str] = field(default_factory=list)
    index_firsts: set = field(default_factory=set)  # first columns of automatically named indexes

    @property
    def pk(self) -> list[Col]:
        return [c for c in self.columns if c.primary_key or c.name in self.pk_names]


class Ctx:
    """What the whole tree shares: unique names, the base's options."""

    def __init__(self, draw):
        self.draw = draw
        self.count = 0
        self.type_map: dict[str, TypeSpec] = {}  # the Base's type_annotation_map, by Python type
        self.convention: dict[str, str] = {}

    def name(self, alphabet: str = LOWER, max_size: int = 5) -> str:
        stem = self.draw(st.text(alphabet=alphabet, min_size=1, max_size=max_size))
        self.count += 1
        return f"{stem}{self.count}"

    def annotated(self, spec: TypeSpec) -> TypeSpec:
        """The type a bare Mapped[spec.py] gets from the base."""
        return self.type_map.get(spec.py, spec)


# -- types ------------------------------------------------------------------------------------


@st.composite
def type_specs(draw, ctx: Ctx, *, key_types=False):
    """A column type with its arguments; `key_types`: only what a primary key usually is."""
    kinds = ["Integer", "BigInteger", "String"]
    if not key_types:
        kinds += ["Text", "Boolean", "Numeric", "Float", "DateTime", "Date", "LargeBinary", "Enum", "JSON"]
    kind = draw(st.sampled_from(kinds))
    if kind == "Integer":
        return INTEGER
    if kind == "BigInteger":
        return TypeSpec("{sa}BigInteger", "int", False, integer=True)
    if kind == "String":
        length = draw(st.none() | st.integers(1, 500))
        if length is None:
            return TypeSpec(draw(st.sampled_from(["{sa}String", "{sa}String()"])), "str", True)
        form = draw(st.sampled_from(["{sa}String({n})", "{sa}String(length={n})"]))
        return TypeSpec(form.format(sa="{sa}", n=length), "str", False)
    if kind == "Text":
        return TypeSpec("{sa}Text", "str", False)
    if kind == "Boolean":
        if draw(st.booleans()):
            return TypeSpec("{sa}Boolean", "bool", True, boolean=True)
        return TypeSpec("{sa}Boolean(create_constraint=True)", "bool", False, boolean=True)
    if kind == "Numeric":
        precision = draw(st.none() | st.integers(1, 30))
        if precision is None:
            return TypeSpec("{sa}Numeric", "decimal.Decimal", True)
        scale = draw(st.none() | st.integers(0, precision))
        args = f"{precision}" if scale is None else f"{precision}, {scale}"
        return TypeSpec(f"{{sa}}Numeric({args})", "decimal.Decimal", False)
    if kind == "Float":
        precision = draw(st.none() | st.integers(1, 53))
        if precision is None:
            return TypeSpec("{sa}Float", "float", True)
        return TypeSpec(f"{{sa}}Float(precision={precision})", "float", False)
    if kind == "DateTime":
        timezone = draw(st.sampled_from([None, False, True]))
        if timezone is None:
            return TypeSpec("{sa}DateTime", "datetime.datetime", True, temporal=True)
        return TypeSpec(f"{{sa}}DateTime(timezone={timezone})", "datetime.datetime", not timezone, temporal=True)
    if kind == "Date":
        return TypeSpec("{sa}Date", "datetime.date", True, temporal=True)
    if kind == "LargeBinary":
        return TypeSpec("{sa}LargeBinary", "bytes", True)
    if kind == "Enum":
        values = draw(st.lists(st.text(alphabet=LOWER, min_size=1, max_size=8), min_size=1, max_size=4, unique=True))
        args = [repr(v) for v in values] + [f"name={ctx.name()!r}"]
        if draw(st.booleans()):
            args.append("create_constraint=True")
        if draw(st.booleans()):
            args.append("native_enum=False")
        return TypeSpec(f"{{sa}}Enum({', '.join(args)})", "str", False)
    return TypeSpec("{sa}JSON", "dict", False)


# A base's type_annotation_map: what Mapped[int], Mapped[str]... become instead of the default.
TYPE_MAP_CHOICES = {
    "int": [TypeSpec("{sa}BigInteger", "int", False, integer=True), INTEGER],
    "str": [TypeSpec("{sa}String(40)", "str", False), TypeSpec("{sa}Text", "str", False)],
    "float": [TypeSpec("{sa}Numeric(10, 2)", "float", False), TypeSpec("{sa}Float(precision=24)", "float", False)],
    "datetime.datetime": [TypeSpec("{sa}DateTime(timezone=True)", "datetime.datetime", False, temporal=True)],
    "decimal.Decimal": [TypeSpec("{sa}Numeric(12, 4)", "decimal.Decimal", False)],
}


# -- columns ----------------------------------------------------------------------------------


@st.composite
def server_defaults(draw, spec: TypeSpec):
    choices = ["literal", "literal", "text", "text", "function"]
    if spec.temporal:
        choices += ["now", "now"]
    if spec.boolean:
        choices += ["true"]
    choice = draw(st.sampled_from(choices))
    if choice == "literal":
        return repr(draw(TEXT | st.integers(0, 99).map(str)))
    if choice == "text":
        body = draw(st.sampled_from(["0", "1", "'x'", "CURRENT_TIMESTAMP", "false", "(1 + 2)", "''"]))
        return f"{{sa}}text({body!r})"
    if choice == "function":
        return draw(st.sampled_from(["{sa}func.lower('EU')", "{sa}literal_column(\"'web'\")"]))
    if choice == "now":
        return draw(st.sampled_from(["{sa}func.now()", "{sa}func.now()", "{sa}func.current_timestamp()"]))
    return draw(st.sampled_from(["{sa}true()", "{sa}false()"]))


@st.composite
def generators(draw, ctx: Ctx):
    """Identity or Sequence for a single integer primary key."""
    choice = draw(st.sampled_from(["Identity()", "Identity(start=10, increment=5)", "Identity(always=True)",
                                   "Sequence", "Sequence start"]))
    if choice == "Sequence":
        return f"{{sa}}Sequence({ctx.name()!r})"
    if choice == "Sequence start":
        return f"{{sa}}Sequence({ctx.name()!r}, start=100)"
    return "{sa}" + choice


ROLES = ("pk", "pkc", "plain", "fk", "fkc", "mixin")


@st.composite
def columns(draw, ctx: Ctx, table: Tbl | None, *, role: str, target: tuple[Tbl, Col] | None = None,
            earlier: tuple = (), single_integer_pk: bool = False, single_table: bool = False):
    """One column declaration: (Col, source lines).

    `role`: "pk" (primary_key=True), "pkc" (named in a PrimaryKeyConstraint), "plain",
    "fk" (with a ForeignKey to `target`), "fkc" (in a ForeignKeyConstraint to `target`) or
    "mixin" (a plain column on a mixin).
    """
    assert role in ROLES
    key = role in ("pk", "pkc")
    attr = ctx.name()
    explicit = draw(st.integers(0, 3)) == 0
    name = ctx.name(MIXED) if explicit else attr

    # the type: a key column may leave it to the target (or to its annotation)
    if role in ("fk", "fkc"):
        spec = target[1].type
        give_type = draw(st.booleans())
    else:
        spec = draw(type_specs(ctx, key_types=key))
        give_type = True

    forms = ["Column", "mapped_column", "Mapped=mapped_column", "Mapped=Column"]
    if role in ("pkc", "plain", "mixin", "fkc") and not explicit and spec.plain:
        forms.append("Mapped")  # x: Mapped[int], no right-hand side
    if role == "fkc" and not give_type:
        forms = ["Column", "Mapped=Column"]  # Column() with no type: typed by the constraint
    form = draw(st.sampled_from(forms))
    annotated = form.startswith("Mapped")
    optional = annotated and not key and draw(st.booleans())
    if form in ("Mapped", "Mapped=mapped_column") and not give_type or form == "Mapped":
        # The type comes from the annotation, not from the key's target: Mapped[X] must map to a
        # type. Mapped[int] on a key to, say, a BigInteger or String(20) column is valid.
        if not spec.plain:
            spec = INTEGER
        spec = ctx.annotated(spec)
        give_type = False
    elif form == "mapped_column" and role == "fkc":
        give_type = True  # mapped_column() with neither type nor annotation does not import

    col = Col(attr, name, spec, primary_key=role == "pk")
    if form == "Mapped":
        return col, [f"{attr}: {_annotation(draw, spec.py, optional)}"]

    args = []
    if explicit:
        args.append(repr(name))
    if give_type:
        args.append(spec.expr)
    if role == "fk":
        args.append(_foreign_key(draw, ctx, target, earlier))
    kwargs = []
    if role == "pk":
        kwargs.append("primary_key=True")
    identity = False
    if single_integer_pk and spec.integer:
        if draw(st.integers(0, 3)) == 0:
            args.append(draw(generators(ctx)))
            identity = "Identity" in args[-1]
        elif draw(st.booleans()):
            kwargs.append(f"autoincrement={draw(st.sampled_from([True, False, 'auto']))!r}")
    nullable = draw(st.sampled_from([None, None, True, False]))
    if nullable is not None and (not key or draw(st.integers(0, 4)) == 0):
        kwargs.append(f"nullable={nullable}")
    for flag in ("unique", "index"):
        value = draw(st.sampled_from([None, None, None, True, False]))
        if value is not None:
            kwargs.append(f"{flag}={value}")
            col.indexed |= flag == "index" and value
    computed = role == "plain" and spec.integer and draw(st.integers(0, 7)) == 0
    if computed:
        persisted = draw(st.sampled_from(["", ", persisted=True", ", persisted=False"]))
        args.append(f"{{sa}}Computed({'1 + 2' if persisted else '3 * 4'!r}{persisted})")
    elif not identity and draw(st.integers(0, 3)) == 0:  # Identity() refuses a server default
        kwargs.append(f"server_default={draw(server_defaults(spec))}")
    if (not key or "key_python_default" not in KNOWN_BUGS) and draw(st.integers(0, 5)) == 0:  # Python side
        kwargs.append(f"default={draw(st.sampled_from(['0', 'None', repr('x'), 'dict', 'lambda: 1']))}")
    if draw(st.integers(0, 4)) == 0:
        kwargs.append(f"comment={draw(TEXT)!r}")
    sortable = not (single_table and "sti_sort_order" in KNOWN_BUGS)
    if form in ("mapped_column", "Mapped=mapped_column") and sortable and draw(st.integers(0, 5)) == 0:
        kwargs.append(f"sort_order={draw(st.integers(-3, 3))}")
    call = "{sa}Column" if form in ("Column", "Mapped=Column") else "mapped_column"
    source = f"{call}({', '.join(args + kwargs)})"
    if annotated:
        return col, [f"{attr}: {_annotation(draw, spec.py, optional)} = {source}"]
    return col, [f"{attr} = {source}"]


def _annotation(draw, py: str, optional: bool) -> str:
    if not optional:
        return f"Mapped[{py}]"
    return draw(st.sampled_from([f"Mapped[Optional[{py}]]", f"Mapped[{py} | None]"]))


def _key_options(draw, ctx: Ctx) -> list[str]:
    kwargs = []
    ondelete = draw(st.sampled_from(ONDELETE))
    if ondelete:
        kwargs.append(f"ondelete={ondelete!r}")
    onupdate = draw(st.sampled_from(ONUPDATE))
    if onupdate:
        kwargs.append(f"onupdate={onupdate!r}")
    if draw(st.integers(0, 4)) == 0:
        kwargs.append(f"name={ctx.name()!r}")
    return kwargs


def _foreign_key(draw, ctx: Ctx, target, earlier) -> str:
    target_table, target_col = target
    if any(t is target_table for t in earlier) and draw(st.integers(0, 3)) == 0:
        ref = f"{target_table.cls}.{target_col.attr}"  # the mapped attribute of an earlier class
    else:
        ref = repr(f"{target_table.fullname}.{target_col.name}")
    return f"{{sa}}ForeignKey({', '.join([ref, *_key_options(draw, ctx)])})"


# -- tables -----------------------------------------------------------------------------------


@dataclass
class Mixin:
    cls: str
    columns: list[Col]
    lines: list[str]
    in_own_file: bool
    abstract: bool  # an `__abstract__ = True` subclass of Base rather than a plain class

    @property
    def has_pk(self) -> bool:
        return any(c.primary_key for c in self.columns)


def _declared_attr(source: list[str]) -> list[str]:
    """`x = Column(...)` as `@declared_attr def x(cls): return Column(...)` (annotation kept)."""
    (line,) = source
    target, value = line.split(" = ", 1)
    attr, _, annotation = target.partition(": ")
    returns = f" -> {annotation}" if annotation else ""
    return ["@declared_attr", f"def {attr}(cls){returns}:", f"    return {value}"]


@st.composite
def mixins(draw, ctx: Ctx):
    """A plain mixin class or an abstract base, with a column or two (maybe the primary key)."""
    abstract = draw(st.integers(0, 3)) == 0
    cls = ctx.name(LOWER).capitalize() + ("Abstract" if abstract else "Mixin")
    cols, lines = [], ["__abstract__ = True", ""] if abstract else []
    roles = ["pk"] if draw(st.booleans()) else []
    roles += ["mixin"] * draw(st.integers(0 if roles else 1, 2))
    for i, role in enumerate(roles):
        col, source = draw(columns(ctx, None, role=role))
        cols.append(col)
        last = i == len(roles) - 1
        if " = " in source[0] and ("declared_attr_order" not in KNOWN_BUGS or last) and draw(st.integers(0, 2)) == 0:
            source = _declared_attr(source)
        lines += source
    return Mixin(cls, cols, lines, in_own_file=not abstract and draw(st.booleans()), abstract=abstract)


@st.composite
def inheritance_keys(draw, ctx: Ctx, parent: Tbl):
    """Joined-table inheritance: the subclass's primary key is a key to its parent's."""
    pcol = parent.pk[0]
    ref = f"{{sa}}ForeignKey({f'{parent.fullname}.{pcol.name}'!r}{''.join(f', {o}' for o in _key_options(draw, ctx))})"
    form = draw(st.sampled_from(["Column", "mapped_column", "Mapped=mapped_column", "Mapped=Column"]))
    typed = draw(st.booleans())
    spec = pcol.type
    if form == "Mapped=mapped_column" and not typed:
        spec = ctx.annotated(pcol.type if pcol.type.plain else INTEGER)
    args = ([pcol.type.expr] if typed else []) + [ref, "primary_key=True"]
    call = "{sa}Column" if form.endswith("Column") and form != "Mapped=mapped_column" else "mapped_column"
    annotation = f": Mapped[{spec.py}]" if form.startswith("Mapped") else ""
    col = Col(pcol.attr, pcol.attr, spec, primary_key=True)
    return col, [f"{pcol.attr}{annotation} = {call}({', '.join(args)})"]


@st.composite
def tables(draw, ctx: Ctx, earlier: list[Tbl], mixin: Mixin | None):
    """One mapped class: (Tbl, source lines)."""
    name = ctx.name(draw(st.sampled_from([LOWER, LOWER, MIXED])), 6)
    schema = ctx.name() if draw(st.integers(0, 9)) == 0 else None
    table = Tbl(cls="C" + name.lower(), name=name, fullname=f"{schema}.{name}" if schema else name)
    parents = [t for t in earlier if len(t.pk) == 1]
    parent = draw(st.sampled_from(parents)) if parents and draw(st.integers(0, 5)) == 0 else None
    uses_mixin = parent is None and mixin is not None and draw(st.booleans())
    inherited = mixin.columns if uses_mixin else []
    own: list[tuple[Col, list[str]]] = []
    required = []  # __table_args__ items the table needs

    if parent is not None:
        own.append(draw(inheritance_keys(ctx, parent)))
    elif not (uses_mixin and mixin.has_pk):
        pk_count = draw(st.sampled_from([1, 1, 1, 2]))
        role = draw(st.sampled_from(["pk", "pk", "pkc"]))
        for _ in range(pk_count):
            own.append(draw(columns(ctx, table, role=role, single_integer_pk=pk_count == 1)))
        if role == "pkc":
            table.pk_names = [c.name for c, _ in own]
            args = [repr(n) for n in table.pk_names]
            if draw(st.booleans()):
                args.append(f"name={ctx.name()!r}")
            required.append(f"{{sa}}PrimaryKeyConstraint({', '.join(args)})")
    for _ in range(draw(st.integers(0, 4))):
        own.append(draw(columns(ctx, table, role="plain")))
    table.columns = [c for c, _ in own] + inherited

    # keys to an earlier table's (or this table's own) single-column primary key
    # (not to a joined-table parent: a second key to it makes the inherit condition ambiguous)
    targets = [(t, t.pk[0]) for t in [*earlier, table] if len(t.pk) == 1 and t is not parent]
    if targets:
        for _ in range(draw(st.integers(0, 2))):
            target = draw(st.sampled_from(targets))
            own.append(draw(columns(ctx, table, role="fk", target=target, earlier=tuple(earlier))))
    # a ForeignKeyConstraint to an earlier table's composite primary key
    composite = [t for t in earlier if len(t.pk) > 1]
    if composite and draw(st.booleans()):
        target_table = draw(st.sampled_from(composite))
        local = [draw(columns(ctx, table, role="fkc", target=(target_table, c))) for c in target_table.pk]
        own += local
        names = [repr(c.name) for c, _ in local]
        refs = [repr(f"{target_table.fullname}.{c.name}") for c in target_table.pk]
        options = "".join(f", {o}" for o in _key_options(draw, ctx))
        required.append(f"{{sa}}ForeignKeyConstraint([{', '.join(names)}], [{', '.join(refs)}]{options})")
    own = draw(st.permutations(own))
    table.columns = [c for c, _ in own] + inherited
    table.index_firsts = {c.name for c in table.columns if c.indexed}

    args = draw(table_args(ctx, table, schema, required))
    if parent is not None:
        bases = parent.cls
    elif uses_mixin:
        bases = mixin.cls if mixin.abstract else f"{mixin.cls}, Base"
    else:
        bases = "Base"
    lines = [f"class {table.cls}({bases}):", f"    __tablename__ = {name!r}"]
    lines += [f"    {line}" for line in args]
    lines.append("")
    lines += [f"    {line}" for _, source in own for line in source]
    if not own and not args:
        lines.append("    pass")
    return table, lines


@st.composite
def single_table_subclasses(draw, ctx: Ctx, table: Tbl):
    """Single-table inheritance: a subclass with no __tablename__ adds its columns to the table."""
    cls = "S" + ctx.name()
    added = [draw(columns(ctx, table, role="plain", single_table=True)) for _ in range(draw(st.integers(0, 2)))]
    table.columns += [c for c, _ in added]
    table.index_firsts |= {c.name for c, _ in added if c.indexed}
    body = [f"    {line}" for _, source in added for line in source]
    return [f"class {cls}({table.cls}):", *(body or ["    pass"])]


@st.composite
def table_args(draw, ctx: Ctx, table: Tbl, schema: str | None, required: list[str]):
    options = {}
    if schema:
        options["schema"] = repr(schema)
    if draw(st.integers(0, 3)) == 0:
        options["comment"] = repr(draw(TEXT))
    pk = table.pk
    if len(pk) == 1 and pk[0].type.integer and draw(st.integers(0, 3)) == 0:
        options["sqlite_autoincrement"] = "True"
    style = draw(st.sampled_from(["none", "dict", "tuple", "tuple"]))
    if required:
        style = "tuple"
    elif style == "none" and options:
        style = "dict"
    if style == "none":
        return []
    mapping = "{" + ", ".join(f"{k!r}: {v}" for k, v in draw(st.permutations(list(options.items())))) + "}"
    if style == "dict":
        return [f"__table_args__ = {mapping}"]
    items = list(required)
    items += [draw(constraints(ctx, table)) for _ in range(draw(st.integers(0 if options or required else 1, 3)))]
    items = draw(st.permutations(items))
    if options or draw(st.booleans()):
        items.append(mapping)
    return ["__table_args__ = ("] + [f"    {item}," for item in items] + [")"]


def _index_name(draw, ctx: Ctx, table: Tbl, first: str | None) -> str:
    """A new index name, or None (named by the naming convention after its first column) where
    no other automatically named index of the table starts with the same column."""
    if first is not None and first not in table.index_firsts and draw(st.integers(0, 2)) == 0:
        table.index_firsts.add(first)
        return "None"
    return repr(ctx.name())


@st.composite
def constraints(draw, ctx: Ctx, table: Tbl):
    cols = [c.name for c in table.columns]
    kind = draw(st.sampled_from(["UniqueConstraint", "Index", "CheckConstraint"]))
    if kind == "CheckConstraint":
        column = draw(st.sampled_from(cols))
        args = [repr(f"{column} > 0")]
        if draw(st.booleans()):
            args.append(f"name={ctx.name()!r}")
        return f"{{sa}}CheckConstraint({', '.join(args)})"
    chosen = draw(st.lists(st.sampled_from(cols), min_size=1, max_size=3, unique=True))
    if kind == "Index":
        args = [_index_name(draw, ctx, table, chosen[0])] + [repr(c) for c in chosen]
        if draw(st.booleans()):
            args.append(f"unique={draw(st.booleans())}")
        return f"{{sa}}Index({', '.join(args)})"
    args = [repr(c) for c in chosen]
    if draw(st.booleans()):
        args.append(f"name={ctx.name()!r}")
    return f"{{sa}}UniqueConstraint({', '.join(args)})"


@st.composite
def module_indexes(draw, ctx: Ctx, table: Tbl):
    """`Index("name", Model.attr, ...)` after the class, with column expressions."""
    chosen = draw(st.lists(st.sampled_from(table.columns), min_size=1, max_size=2, unique_by=lambda c: c.attr))
    refs, plain_first = [], True
    for i, c in enumerate(chosen):
        forms = [f"{table.cls}.{c.attr}", f"{table.cls}.{c.attr}.desc()", f"{{sa}}func.lower({table.cls}.{c.attr})"]
        if c.name.isidentifier():
            forms.append(f"{table.cls}.__table__.c.{c.name}")
        if "table_c_subscript" not in KNOWN_BUGS:
            forms.append(f"{table.cls}.__table__.c[{c.name!r}]")
        ref = draw(st.sampled_from(forms))
        if i == 0:
            plain_first = not ref.endswith(")")
        refs.append(ref)
    name = _index_name(draw, ctx, table, chosen[0].name if plain_first else None)
    unique = ", unique=True" if draw(st.booleans()) else ""
    return f"{{sa}}Index({name}, {', '.join(refs)}{unique})"


# -- files ------------------------------------------------------------------------------------

HEADER = ["import datetime", "import decimal", "from typing import Final, Optional", ""]

CONVENTIONS = {
    "ix": ["ix_%(column_0_label)s", "ix_%(table_name)s_%(column_0_N_name)s", "i_%(table_name)s_%(column_0_name)s"],
    "uq": ["uq_%(table_name)s_%(column_0_name)s", "uq_%(table_name)s_%(column_0_N_name)s"],
    "fk": ["fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"],
    "pk": ["pk_%(table_name)s"],
}


def _render(doc: str, lines: list[str], qualified: bool, orm: list[str]) -> str:
    """Fill in the SQLAlchemy prefix and the imports that the lines use."""
    body = "\n".join(lines)
    used = set()
    start = 0
    while (at := body.find("{sa}", start)) >= 0:
        end = at + 4
        while end < len(body) and (body[end].isalnum() or body[end] == "_"):
            end += 1
        used.add(body[at + 4:end])
        start = end
    imports = list(HEADER)
    if qualified:
        body = body.replace("{sa}", "sa.")
        if used:
            imports.append("import sqlalchemy as sa")
    else:
        body = body.replace("{sa}", "")
        if used:
            imports.append(f"from sqlalchemy import {', '.join(sorted(used))}")
    if orm:
        imports.append(f"from sqlalchemy.orm import {', '.join(sorted(set(orm)))}")
    return "\n".join([f'"""{doc}"""', *imports]) + "\n" + body + "\n"


@st.composite
def base_lines(draw, ctx: Ctx, declarative_base: bool) -> list[str]:
    """`Base = declarative_base(...)` or `class Base(DeclarativeBase)`, with the base's options."""
    keys = draw(st.lists(st.sampled_from(sorted(CONVENTIONS)), unique=True, max_size=4))
    if keys and "ix" not in keys:  # a convention replaces the default one: without "ix", index=True
        keys.append("ix")  # and Index(None, ...) have no name and do not compile
    ctx.convention = {k: draw(st.sampled_from(CONVENTIONS[k])) for k in keys}
    pys = draw(st.lists(st.sampled_from(sorted(TYPE_MAP_CHOICES)), unique=True, max_size=3))
    ctx.type_map = {py: draw(st.sampled_from(TYPE_MAP_CHOICES[py])) for py in pys}
    lines = []
    metadata = None
    if keys:
        convention = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in ctx.convention.items()) + "}"
        if draw(st.booleans()):
            lines.append(f"CONVENTION = {convention}")
            convention = "CONVENTION"
        metadata = f"{{sa}}MetaData(naming_convention={convention})"
    type_map = None
    if pys:
        type_map = "{" + ", ".join(f"{py}: {spec.expr}" for py, spec in ctx.type_map.items()) + "}"
    if declarative_base:
        kwargs = ([f"metadata={metadata}"] if metadata else []) + ([f"type_annotation_map={type_map}"] if type_map else [])
        return lines + ["", f"Base = declarative_base({', '.join(kwargs)})"]
    body = ([f"    metadata = {metadata}"] if metadata else []) + ([f"    type_annotation_map = {type_map}"] if type_map else [])
    return lines + ["", "", "class Base(DeclarativeBase):", *(body or ["    pass"])]


@st.composite
def model_trees(draw):
    """A whole tree: db_models.py and, sometimes, mixins.py."""
    ctx = Ctx(draw)
    qualified = draw(st.booleans())
    declarative_base = draw(st.booleans())
    orm = ["Mapped", "declared_attr", "mapped_column", "declarative_base" if declarative_base else "DeclarativeBase"]
    head = []
    database = draw(st.sampled_from(["plain", "annotated", "final", "none"]))
    if database != "none":
        annotation = {"plain": "", "annotated": ": str", "final": ": Final[str]"}[database]
        head.append(f"DATABASE_NAME{annotation} = {'fz' + ctx.name()!r}")
    body = draw(base_lines(ctx, declarative_base))
    # a mixin's bare Mapped[int] takes the type_annotation_map of the class it is mixed into
    mixin = draw(st.none() | mixins(ctx))

    files = {}
    if mixin is not None and mixin.abstract:
        body += ["", "", f"class {mixin.cls}(Base):"] + [f"    {line}" for line in mixin.lines]
    elif mixin is not None:
        mixin_lines = [f"class {mixin.cls}:"] + [f"    {line}" for line in mixin.lines]
        if mixin.in_own_file:
            files["mixins.py"] = _render("Mixins for the generated models.", mixin_lines, qualified,
                                         ["Mapped", "declared_attr", "mapped_column"])
            head.append(f"from mixins import {mixin.cls}")
        else:
            body += ["", ""] + mixin_lines

    earlier: list[Tbl] = []
    for _ in range(draw(st.integers(1, 4))):
        table, lines = draw(tables(ctx, earlier, mixin))
        body += ["", ""] + lines
        if draw(st.integers(0, 4)) == 0:
            body += ["", "", draw(module_indexes(ctx, table))]
        if draw(st.integers(0, 6)) == 0:  # after the index: its columns are not attributes of the table's class
            body += ["", ""] + draw(single_table_subclasses(ctx, table))
        earlier.append(table)
    files["db_models.py"] = _render("Generated by tests/fuzz_models.py.", [*head, *body], qualified, orm)
    return Tree(dict(sorted(files.items())))


# -- arbitrary sources for the robustness fuzzer ----------------------------------------------


def fixture_files() -> list[Path]:
    found = []
    for tree in ("hub", "patterns"):
        found += sorted((FIXTURES / tree).rglob("*.py"))
    return found


# Single bytes and fragments a mutation inserts: brackets and quotes that unbalance the file,
# bytes that are not UTF-8 or not allowed in source, and pieces of the model grammar.
INSERTS = [
    b"(", b"[", b"{", b")", b"'", b'"', b'"""', b"\\", b"\0", b"\xff", b"\xc3", b"\r", b"\n", b"\t", b"\x0c",
    b" ", b"#", b":", b",", b"=", b".", b"*", b"@", b"\xef\xbb\xbf", b"# astschema: ignore[AS",
    b"Column(", b"mapped_column(", b"ForeignKey(", b"Mapped[", b"Optional[", b"__tablename__ = ",
    b"__table_args__ = ", b"primary_key=True", b"DATABASE_NAME = ", b"Base", b"declarative_base()",
    b"class X(Base):\n", b"lambda: ", b"await ", b"yield ", b"**", b"del ", b"global x\n", b"\\\n",
]


# What a token mutation puts in place of a name, number or string: the file mostly still parses,
# but the values are of the wrong kind, undefined, huge or recursive.
TOKENS = [
    b"None", b"0", b"-1", b"True", b"''", b"'x.y.z'", b"'%s'", b"1e999", b"10**100", b"(1, 2)", b"[]", b"{}",
    b"...", b"*args", b"**kw", b"lambda: 0", b"f'{x}'", b"'a' * 3", b"undefined_name", b"Base", b"cls", b"self",
    b"Integer", b"String", b"Integer()", b"String(-1)", b"Column", b"mapped_column", b"ForeignKey", b"Mapped",
    b"Optional", b"func", b"text", b"sa", b"__table__", b"__tablename__", b"__table_args__", b"metadata",
    b"DATABASE_NAME", b"Base.metadata", b"db_models", b"__import__('os')", b"object", b"type",
]
TOKEN = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|'[^'\n]*'|\"[^\"\n]*\"")


@st.composite
def mutated(draw, sources, max_mutations: int = 8):
    """Bytes of one of `sources` (a strategy of bytes), mutated a few times."""
    data = bytearray(draw(sources))
    for _ in range(draw(st.integers(0, max_mutations))):
        op = draw(st.sampled_from(["token", "token", "token", "flip", "insert", "insert", "delete", "truncate",
                                   "drop_line", "dup_line", "move_line", "byte"]))
        at = draw(st.integers(0, len(data)))
        if op == "token":
            tokens = list(TOKEN.finditer(data))
            if tokens:
                token = tokens[draw(st.integers(0, len(tokens) - 1))]
                data[token.start():token.end()] = draw(st.sampled_from(TOKENS))
        elif op == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            data[at:at] = bytes([draw(st.integers(0, 255))])
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(INSERTS))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
        else:
            lines = bytes(data).splitlines(keepends=True)
            if not lines:
                continue
            i = draw(st.integers(0, len(lines) - 1))
            line = lines[i]
            if op == "drop_line":
                del lines[i]
            elif op == "dup_line":
                lines.insert(i, line)
            else:
                del lines[i]
                lines.insert(draw(st.integers(0, len(lines))), line)
            data = bytearray(b"".join(lines))
    return bytes(data)


def fixture_sources():
    return st.sampled_from(fixture_files()).map(Path.read_bytes)


def model_sources():
    return model_trees().map(lambda tree: tree.files["db_models.py"].encode("utf-8"))


def grammar_sources():
    import hypothesmith

    return hypothesmith.from_grammar().map(lambda text: text.encode("utf-8", "surrogatepass"))


def node_sources():
    import hypothesmith

    return hypothesmith.from_node().map(lambda text: text.encode("utf-8", "surrogatepass"))


def arbitrary_sources(kind: str):
    """Bytes for a db_models.py: "grammar", "node", "fixture" or "model" (both mutated)."""
    if kind == "grammar":
        return grammar_sources()
    if kind == "node":
        return node_sources()
    if kind == "fixture":
        return mutated(fixture_sources())
    if kind == "model":
        return mutated(model_sources())
    raise ValueError(kind)
