"""Table-level pieces: `__table_args__` items and options, Core `Table(...)` calls,
module-level `Index(...)`, and the final pass that settles references into model tables."""

from __future__ import annotations

import dataclasses

import sqlalchemy

from .. import model, parse, sqla
from .columns import PendingForeignKey, PendingRef, column, column_call, table_item
from .declarative import Declarative, TableDraft
from .values import NOT_STATIC, Context, constant, kwargs_of, loc_of

IGNORED_TABLE_OPTIONS = {"keep_existing", "useexisting", "info", "implicit_returning", "quote", "quote_schema", "listeners", "must_exist", "autoload_with", "autoload_replace", "include_columns", "prefixes"}


def key_resolver(declarative: Declarative, table: TableDraft):
    """Maps a column reference inside a table's own items to that table's column key."""

    def resolve(ref: PendingRef) -> str | None:
        keys = [c.column.key for c in table.columns]
        if ref.cls is not None and ref.text != "__table__":
            target = declarative.mapping(ref.cls).table
            key = table.attributes.get(ref.attribute) if target is table else None
        else:
            key = ref.attribute if ref.text is None or ref.text == "__table__" else ref.text
        if key in keys:
            return key
        by_name = [c.column.key for c in table.columns if c.column.name == key]
        if by_name:
            return by_name[0]
        declarative.ctx.report("AS206", f"table {table.name} has no column {key!r}", ref.loc or table.loc)
        return None

    return resolve


def add_items(declarative: Declarative, table: TableDraft, items) -> None:
    resolve = key_resolver(declarative, table)
    for value in items:
        item = table_item(declarative.ctx, value, resolve)
        if item is not None:
            table.items.append(item)


def apply_options(ctx: Context, table: TableDraft, options: parse.Mapping) -> None:
    extra = []
    for key_value, value_value in options.items:
        key = constant(key_value)
        value = constant(value_value)
        if not isinstance(key, str):
            ctx.report("AS204", "table option name is not static; left out", loc_of(key_value, table.loc))
        elif key == "extend_existing":
            table.extend_existing = bool(value)
        elif key in IGNORED_TABLE_OPTIONS:
            continue
        elif value is NOT_STATIC:
            ctx.report("AS204", f"table option {key} is not static; left out", loc_of(value_value, table.loc))
        elif key == "schema":
            table.schema = value
        elif key == "comment":
            table.comment = value
        elif "_" in key and key.split("_", 1)[0] in ("sqlite", "postgresql", "mysql", "mariadb", "mssql", "oracle"):
            extra.append((key, value))
        else:
            ctx.report("AS204", f"table option {key} is not modelled; left out", loc_of(value_value, table.loc))
    table.options = tuple(table.options) + tuple(extra)


def core_table(declarative: Declarative, call: parse.Call, module: str) -> TableDraft | None:
    """`Table("name", metadata, Column(...), ..., schema=...)` (or Flask's `db.Table("name", ...)`)."""
    ctx = declarative.ctx
    flask = sqla.resolve(call.func) is sqla.FLASK_TABLE
    args = list(call.args)
    name = constant(args.pop(0)) if args else None
    if not isinstance(name, str):
        ctx.report("AS203", "Table() name is not a static string; table left out", call.loc)
        return None
    if flask:
        database = declarative.database_of_module(module)
        metadata = declarative.metadata_of_value(parse.Attribute(call.func.value, "metadata", call.loc))
    else:
        metadata_value = args.pop(0) if args else None
        database = declarative.database_of_metadata(metadata_value, module)
        metadata = declarative.metadata_of_value(metadata_value) if metadata_value is not None else None
    metadata = metadata or declarative.metadata_info(None)
    table = TableDraft(name, metadata.schema, database, module, None, call.loc, metadata)
    items = []
    for arg in args:
        if column_call(arg):
            draft = column(ctx, arg, None)
            if draft is not None:
                table.columns.append(draft)
                table.attributes[draft.column.key] = draft.column.key
        else:
            items.append(arg)
    add_items(declarative, table, items)
    kwargs = kwargs_of(call)
    apply_options(ctx, table, parse.Mapping(tuple((parse.Const(k, None), v) for k, v in kwargs.items()), call.loc))
    return table


def module_index(declarative: Declarative, call: parse.Call, core_tables: dict) -> None:
    """`Index("ix", Model.col, ...)` after the class: it attaches to the column's table."""
    refs = [r for a in call.args[1:] for r in _references(a)]
    target = None
    for ref in refs:
        if ref is not None and ref.cls is not None:
            target = declarative.mapping(ref.cls).table
        elif ref is not None and is_table_call(ref.table_value):
            target = core_tables.get(ref.table_value.loc) or _made_elsewhere(declarative, ref.table_value)
        if target is not None:
            break
    if target is None:
        declarative.ctx.report("AS204", "Index() refers to no known table column; left out", call.loc)
        return
    with declarative.extending(target, call.loc):
        add_items(declarative, target, [call])


def _made_elsewhere(declarative: Declarative, call: parse.Call) -> TableDraft | None:
    """A Table() of another module, imported here for an Index(): made as that module makes it
    (once per module extracted), for the index to be added to."""
    if call.loc not in declarative.elsewhere:
        module = declarative.project.module_at(call.loc.path)
        declarative.elsewhere[call.loc] = core_table(declarative, call, module) if module is not None else None
    return declarative.elsewhere[call.loc]


def _references(value):
    """Column references anywhere in an index element (`func.lower(User.email)`, `col.desc()`)."""
    from .columns import reference

    ref = reference(value)
    if ref is not None:
        yield ref
    elif isinstance(value, parse.Call):
        yield from _references(value.func)
        for arg in value.args:
            yield from _references(arg)
    elif isinstance(value, parse.Attribute):
        yield from _references(value.value)


def merge_redefinitions(ctx: Context, drafts: list[TableDraft]) -> list[TableDraft]:
    """A table defined again in its database: with `extend_existing` the later definition's
    columns replace same-keyed ones in place, new ones and all constraints are added (as
    SQLAlchemy does); without it the import would fail, so it is reported and left out."""
    first: dict[tuple[str, str], TableDraft] = {}
    kept = []
    for draft in drafts:
        key = (draft.database, fullname(draft))
        if key not in first:
            first[key] = draft
            kept.append(draft)
            continue
        target = first[key]
        if draft.extend_existing and _shape(draft) != _shape(target):
            ctx.report(
                "AS208",
                f"table {key[1]} is defined again in database {key[0]!r} with different columns, types, keys "
                f"or constraints (first at {target.loc}); extend_existing merges them",
                draft.loc,
            )
        elif not draft.extend_existing:
            ctx.report(
                "AS208",
                f"table {key[1]} is already defined in database {key[0]!r} at {target.loc}; importing "
                "would fail (\"Table is already defined\") without extend_existing; this definition is left out",
                draft.loc,
            )
            continue
        positions = {c.column.key: i for i, c in enumerate(target.columns)}
        for later in draft.columns:
            if later.column.key not in positions:
                target.columns.append(later)
                continue
            replaced = target.columns[positions[later.column.key]]
            target.columns[positions[later.column.key]] = later
            if replaced.column.index:  # its index stays on the table, as SQLAlchemy keeps it
                target.items.append(model.Index(None, (later.column.key,), bool(replaced.column.unique),
                                                location=replaced.column.location))
        target.items += draft.items
        target.relationships += draft.relationships
        target.attributes.update(draft.attributes)
    return kept


def _shape(draft: TableDraft):
    """What a definition declares, without where: columns, keys and constraints."""
    columns = [
        (dataclasses.replace(c.column, location=None, attribute=None),
         [dataclasses.replace(fk, loc=None, targets=tuple(dataclasses.replace(t, loc=None) for t in fk.targets))
          for fk in c.foreign_keys])
        for c in draft.columns
    ]
    items = [
        dataclasses.replace(i, loc=None) if isinstance(i, PendingForeignKey) else dataclasses.replace(i, location=None)
        for i in draft.items
    ]
    return columns, items


# -- settling references ---------------------------------------------------------------------


def settled(declarative: Declarative, draft):
    """`draft` (a table or an `Extension`) with its class and Table() references given as
    table locations: how the tables of other modules are found once every module is extracted."""

    def settle(ref: PendingRef) -> PendingRef:
        if ref.cls is not None:
            table = declarative.mapping(ref.cls).table
            return dataclasses.replace(ref, cls=None, table=table.loc if table is not None else None)
        if ref.table_value is not None:
            return dataclasses.replace(ref, table_value=None, table=getattr(ref.table_value, "loc", None))
        return ref

    def key(fk: PendingForeignKey) -> PendingForeignKey:
        return dataclasses.replace(fk, targets=tuple(map(settle, fk.targets)))

    columns = [dataclasses.replace(c, foreign_keys=tuple(map(key, c.foreign_keys))) if c.foreign_keys else c
               for c in draft.columns]
    items = [key(i) if isinstance(i, PendingForeignKey) else i for i in draft.items]
    return dataclasses.replace(draft, columns=type(draft.columns)(columns), items=type(draft.items)(items))


def named_target(ref: PendingRef, owner: TableDraft) -> tuple[str, str] | None:
    """(table fullname, column key) a reference by name ("table.col") points at, or None."""
    parts = ref.text.split(".")
    if len(parts) < 2:
        return None
    if len(parts) == 2 and owner.metadata.schema:  # MetaData(schema=...) applies to the key too
        parts.insert(0, owner.metadata.schema)
    return ".".join(parts[:-1]), parts[-1]


def by_location(ref: PendingRef) -> bool:
    """Whether a reference names its table by location (a class, a Table()), not by name."""
    return ref.text is None or ref.text == "__table__"


def target_of(ref: PendingRef, owner: TableDraft, by_loc) -> tuple[str, str] | None:
    """(table fullname, column key) a reference points at, or None."""
    if not by_location(ref):
        return named_target(ref, owner)
    target = by_loc.get(ref.table)
    if target is None:
        return None
    key = ref.attribute if ref.text == "__table__" else target.attributes.get(ref.attribute, ref.attribute)
    return fullname(target), key


def finalize(ctx: Context, drafts: list[TableDraft], by_loc, by_name) -> list[model.Table]:
    """Model tables of `drafts`: `by_loc` finds a table (draft) by its location, `by_name`
    lists the tables (drafts) of a full name, in model order. Both must hold what the drafts'
    references reach; a draft is read, never changed."""

    def settle(fk: PendingForeignKey, owner: TableDraft) -> model.ForeignKey | None:
        targets = [target_of(ref, owner, by_loc) for ref in fk.targets]
        if None in targets or len({t[0] for t in targets}) != 1:
            ctx.report("AS302", f"foreign key target of {owner.name} could not be resolved", fk.loc)
            return None
        options = dict(fk.options)
        if fk.constraint_name is not None:
            options["name"] = fk.constraint_name
        return model.ForeignKey(
            columns=fk.columns,
            target_table=targets[0][0],
            target_columns=tuple(t[1] for t in targets),
            location=fk.loc,
            **options,
        )

    settled = {  # by column draft, of those with keys only: a scan may have 100,000 columns
        id(column): [fk for fk in (settle(p, draft) for p in column.foreign_keys) if fk is not None]
        for draft in drafts
        for column in draft.columns
        if column.foreign_keys
    }

    def type_through(fk: model.ForeignKey, database: str, seen: frozenset):
        """The type a key-only column takes from its target, following chains of such columns."""
        for target in sorted(by_name.get(fk.target_table, []), key=lambda d: d.database != database):
            column = next((c for c in target.columns if c.column.key == fk.target_columns[0]), None)
            if column is None:
                continue
            if not column.type_from_foreign_key:
                return column.column.type
            if id(column) in seen or not settled.get(id(column)):
                return None
            return type_through(settled[id(column)][0], target.database, seen | {id(column)})
        return None

    tables = []
    for draft in drafts:
        columns = []
        for column_draft in draft.columns:
            foreign_keys = tuple(settled.get(id(column_draft), ()))
            changes = {"foreign_keys": foreign_keys}
            if column_draft.type_from_foreign_key and foreign_keys:
                changes["type"] = type_through(foreign_keys[0], draft.database, frozenset({id(column_draft)}))
                if changes["type"] is None:
                    ctx.report(
                        "AS201",
                        f"column {column_draft.column.name}: type of {foreign_keys[0].target} unknown; built as NullType",
                        column_draft.column.location,
                    )
            if any(column_draft.column.key in c.columns for c in draft.items if getattr(c, "kind", "") == "primary_key"):
                changes["primary_key"] = True
                if not column_draft.nullable_given:
                    changes["nullable"] = False
            column = column_draft.column
            # most columns change nothing here, and replace() is costly at 100,000 columns
            columns.append(column if all(getattr(column, k) == v for k, v in changes.items())
                           else dataclasses.replace(column, **changes))
        constraints, indexes = [], []
        for item in draft.items:
            if isinstance(item, PendingForeignKey):
                fk = settle(item, draft)
                if fk is not None:
                    constraints.append(model.Constraint("foreign_key", fk.name, fk.columns, foreign_key=fk, location=fk.location))
            elif isinstance(item, model.Index):
                indexes.append(item)
            else:
                constraints.append(item)
        tables.append(
            model.Table(
                name=draft.name,
                database=draft.database,
                columns=tuple(columns),
                schema=draft.schema,
                constraints=tuple(constraints),
                indexes=tuple(indexes),
                comment=draft.comment,
                options=tuple(draft.options),
                relationships=tuple(draft.relationships),
                module=draft.module,
                class_name=draft.class_name,
                location=draft.loc,
            )
        )
    return tables


def fullname(draft: TableDraft) -> str:
    return f"{draft.schema}.{draft.name}" if draft.schema else draft.name


def is_table_call(value) -> bool:
    return isinstance(value, parse.Call) and sqla.resolve(value.func) in (sqlalchemy.Table, sqla.FLASK_TABLE)


def is_index_call(value) -> bool:
    return isinstance(value, parse.Call) and sqla.resolve(value.func) is sqlalchemy.Index
