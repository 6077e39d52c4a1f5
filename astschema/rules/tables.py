"""Rules over tables and columns of the model."""

from collections import defaultdict

import sqlalchemy as sa

from ..ddl import CHECKED_DIALECTS
from ..diagnostics import Severity
from ..model import SQLCall
from .base import DatabaseRule, Invalid, Valid
from .scan import HEADER


def _model(body: str, database: str = "x") -> str:
    return HEADER + f'DATABASE_NAME = "{database}"\nBase = declarative_base()\n' + body


class NotExpressible(DatabaseRule):
    """A table SQLAlchemy cannot compile to DDL for sqlite or postgresql.

    Usually a column whose type is unknown (`NullType`, see AS201): no database can be created
    from it, and the bootstrap's `create_all` fails for the whole database. `ddl` reports the
    same for the dialect it compiles (a `VARCHAR` without length on MySQL, for instance) and
    leaves the table out. Fix the type.
    """

    code, name, severity = "AS207", "not-expressible-in-dialect", Severity.ERROR
    VALID = (Valid(_model('class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n'
                          '    s = Column(String)\n')),)
    INVALID = (Invalid(_model('from vendor import Fancy\nclass T(Base):\n    __tablename__ = "t"\n'
                              '    id = Column(Integer, primary_key=True)\n    f = Column(Fancy)\n'),
                       (("db_models.py", 6, 7),)),)

    def check_database(self, context, database):
        reasons = {}
        for dialect in CHECKED_DIALECTS:
            for table, reason in context.schema.compiled(database.name, dialect).refusals[dialect]:
                reasons.setdefault(table, (reason, []))[1].append(dialect)
        for table, (reason, dialects) in reasons.items():
            yield self.finding(f"table {table} cannot be created on {' or '.join(dialects)}: {reason}",
                               database.table(table).location)


class NotBuildable(DatabaseRule):
    """SQLAlchemy refuses to build a table from what was read (bad arguments to a type, say).

    The import would fail the same way. The table is left out of the DDL. Fix what the message
    names.
    """

    code, name, severity = "AS209", "not-buildable", Severity.ERROR
    VALID = (Valid(_model('class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n')),)
    INVALID = (Invalid(_model('from sqlalchemy import Numeric\nclass T(Base):\n    __tablename__ = "t"\n'
                              '    id = Column(Integer, primary_key=True)\n    n = Column(Numeric(1, 2, 3, 4, 5, 6))\n'),
                       (("db_models.py", 9, 9),)),)

    def check_database(self, context, database):
        for message, location in context.schema.compiled(database.name, "sqlite").problems:
            yield self.finding(message, location)


class SameTableInTwoDatabases(DatabaseRule):
    """The same table name in two databases.

    Legal, but a foreign key string naming it (`ForeignKey("users.id")`) then depends on which
    database the referring table lives in, and readers cannot tell. Fix: rename one of them.
    """

    code, name, severity = "AS210", "same-table-in-two-databases", Severity.WARNING
    VALID = (Valid({"a/db_models.py": _model('class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n', "a"),
                    "b/db_models.py": _model('class U(Base):\n    __tablename__ = "u"\n    id = Column(Integer, primary_key=True)\n', "b")}),)
    INVALID = (Invalid({"a/db_models.py": _model('class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n', "a"),
                        "b/db_models.py": _model('class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n', "b")},
                       (("b/db_models.py", 5, 7),)),)

    def check_database(self, context, database):
        for table in database.tables:
            first = context.schema.homes[table.fullname][0]
            if first != database.name:
                other = context.schema.table(first, table.fullname)
                yield self.finding(
                    f"table {table.fullname} is also in database {first!r} (at {other.location}); "
                    "foreign keys naming it are ambiguous", table.location)


class NoPrimaryKey(DatabaseRule):
    """A mapped class whose table has no primary key.

    The ORM refuses to map it ("could not assemble any primary key columns"), so the import
    fails. Core `Table(...)` objects without a primary key (association tables) are fine and
    not reported. Fix: mark the key column(s) `primary_key=True`.
    """

    code, name, severity = "AS211", "no-primary-key", Severity.ERROR
    VALID = (Valid(_model('from sqlalchemy import Table\nassoc = Table("assoc", Base.metadata, Column("a", Integer))\n'
                          'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n')),)
    INVALID = (Invalid(_model('class T(Base):\n    __tablename__ = "t"\n    name = Column(String(10))\n'),
                       (("db_models.py", 5, 7),)),)

    def check_database(self, context, database):
        for table in database.tables:
            if table.class_name and not any(c.primary_key for c in table.columns) and not any(
                c.kind == "primary_key" for c in table.constraints
            ):
                yield self.finding(f"table {table.fullname} (class {table.class_name}) has no primary key",
                                   table.location)


class DuplicateColumn(DatabaseRule):
    """Two columns with the same name in one table.

    `Column("email", ...)` on one attribute and an attribute named `email` on another give the
    table two columns of one name: SQLAlchemy warns or refuses, and the DDL would be invalid.
    Fix: rename one of them.
    """

    code, name, severity = "AS212", "duplicate-column", Severity.ERROR
    VALID = (Valid(_model('class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n'
                          '    mail = Column("email", String(50))\n')),)
    INVALID = (Invalid(_model('class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n'
                              '    mail = Column("email", String(50))\n    email = Column(String(50))\n'),
                       (("db_models.py", 9, 13),)),)

    def check_database(self, context, database):
        for table in database.tables:
            seen = {}
            for column in table.columns:
                if column.name in seen:
                    yield self.finding(
                        f"table {table.fullname} has two columns named {column.name!r} "
                        f"(the other at {seen[column.name].location})", column.location)
                seen.setdefault(column.name, column)


class DuplicateConstraintName(DatabaseRule):
    """Two indexes or constraints with the same name in one database.

    Index names share one namespace per schema in PostgreSQL and per database in SQLite, so
    the second `CREATE INDEX` fails at creation. Automatic names (`ix_<table>_<column>`,
    naming conventions) are included. Fix: rename one of them.
    """

    code, name, severity = "AS213", "duplicate-constraint-name", Severity.ERROR
    VALID = (Valid(_model('from sqlalchemy import Index\nclass T(Base):\n    __tablename__ = "t"\n'
                          '    __table_args__ = (Index("ix_t_a", "a"),)\n    id = Column(Integer, primary_key=True)\n'
                          '    a = Column(Integer)\n')),)
    INVALID = (Invalid(_model('from sqlalchemy import Index\nclass T(Base):\n    __tablename__ = "t"\n'
                              '    __table_args__ = (Index("ix_shared", "a"),)\n    id = Column(Integer, primary_key=True)\n'
                              '    a = Column(Integer)\nclass U(Base):\n    __tablename__ = "u"\n'
                              '    __table_args__ = (Index("ix_shared", "b"),)\n    id = Column(Integer, primary_key=True)\n'
                              '    b = Column(Integer)\n'),
                       (("db_models.py", 13, 23),)),)

    def check_database(self, context, database):
        named = defaultdict(list)
        names = context.schema.compiled(database.name, "sqlite").names
        for table in database.tables:
            for name, location in names[table.fullname]:
                named[(table.schema, name)].append((table, location))
        for (_, name), places in named.items():
            (first, first_location), *others = places
            for table, location in others:
                where = "" if location == first_location else f" (at {first_location})"
                yield self.finding(
                    f"{name!r} names an index or constraint of {first.fullname} already{where}; "
                    f"here on {table.fullname}", location)


def constraint_names(metadata, table):
    """(name, location) of every named index and constraint of a table, in source order:
    explicit names from the model, automatic ones (`ix_t_c`, naming conventions) from the
    built table, placed at the column or item they come from."""
    explicit = [(i.name, i.location) for i in (*table.indexes, *table.constraints) if i.name]
    built = metadata.tables.get(table.fullname)
    automatic = []
    if built is not None:
        taken = {name for name, _ in explicit}
        for item in (*built.indexes, *built.constraints):
            name = item.name if isinstance(item.name, str) and item.name != sa.sql.base._NONE_NAME else None
            if name and name not in taken:
                column = table.column(next(iter(item.columns)).key) if len(item.columns) else None
                # a plain str: SQLAlchemy's name is a subclass that is kept per table, and is larger
                automatic.append((str(name), column.location if column else table.location))
    # by name where two share a place: the built table's constraints are a set, in no set order
    return sorted(explicit + automatic, key=lambda e: ((e[1].line, e[1].col) if e[1] else (0, 0), e[0]))


class SchemaDisagreesWithDatabase(DatabaseRule):
    """A `schema=` in `__table_args__` that is not the module's database.

    When the databases share one server as schemas, a table with its own `schema=` lands in
    another database than its module says. Fix: drop the `schema=` or move the model.
    """

    code, name, severity = "AS306", "schema-disagrees-with-database", Severity.WARNING
    VALID = (Valid(_model('class T(Base):\n    __tablename__ = "t"\n    __table_args__ = {"schema": "x"}\n'
                          '    id = Column(Integer, primary_key=True)\n')),)
    INVALID = (Invalid(_model('class T(Base):\n    __tablename__ = "t"\n    __table_args__ = {"schema": "other"}\n'
                              '    id = Column(Integer, primary_key=True)\n'),
                       (("db_models.py", 5, 7),)),)

    def check_database(self, context, database):
        for table in database.tables:
            if table.schema and table.schema != database.name:
                yield self.finding(
                    f"table {table.name} asks for schema {table.schema!r} but belongs to database "
                    f"{database.name!r}", table.location)


def sql_fragments(table):
    """(text, location) of every raw SQL fragment that runs when the table is created."""
    for column in table.columns:
        for value in (column.server_default, column.server_onupdate, *column.extras):
            yield from _raw(value, column.location)
    for constraint in table.constraints:
        if constraint.sqltext is not None:
            yield constraint.sqltext, constraint.location
    for index in table.indexes:
        for element in index.columns:
            yield from _raw(element, index.location)


def _raw(value, location):
    if isinstance(value, SQLCall):
        if value.target in ("sqlalchemy.text", "sqlalchemy.literal_column", "sqlalchemy.Computed",
                            "sqlalchemy.DDL") and value.args and isinstance(value.args[0], str):
            yield value.args[0], location
        for arg in value.args:
            yield from _raw(arg, location)
