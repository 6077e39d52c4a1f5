"""Rules over foreign keys and the graph they make."""

from ..diagnostics import Severity
from ..graph import cycles
from .base import DatabaseRule, Invalid, Valid
from .tables import _model

PARENT = 'class P(Base):\n    __tablename__ = "p"\n    id = Column(Integer, primary_key=True)\n    code = Column(String(8))\n'


def _origin(table, fk) -> str:
    return f"{table.name}.{', '.join(fk.columns)} -> {fk.target}"


class CrossDatabaseForeignKey(DatabaseRule):
    """A foreign key into another database.

    SQLite cannot declare a key into another file. With one `MetaData` per database the
    import bootstrap's `create_all` fails with `NoReferencedTableError` for the whole
    database; with schemas in one `MetaData` SQLAlchemy silently leaves the key out of SQLite
    DDL. astschema leaves it out of the DDL and reports it. Deployments that put databases in
    one server can allow a pair: `allow-cross-database = [["from_db", "to_db"]]` in
    `[tool.astschema]`. Fix: keep the column, drop the `ForeignKey`, and check the reference
    in code.
    """

    code, name, severity = "AS301", "cross-database-foreign-key", Severity.ERROR
    _FILES = {
        "a/db_models.py": _model(PARENT, "a"),
        "b/db_models.py": _model('class C(Base):\n    __tablename__ = "c"\n    id = Column(Integer, primary_key=True)\n'
                                 '    p_id = Column(Integer, ForeignKey("p.id"))\n', "b"),
    }
    VALID = (Valid(_FILES, {"allow_cross_database": [["b", "a"]]}),)
    INVALID = (Invalid(_FILES, (("b/db_models.py", 8, 28),)),)

    def check_database(self, context, database):
        for key in context.keys(database):
            if key.cross_database and not context.allowed_across(key.database, key.target_database):
                yield self.finding(
                    f"foreign key {_origin(key.table, key.foreign_key)} crosses from database {key.database!r} "
                    f"to {key.target_database!r}; left out of the DDL", key.foreign_key.location)


class UnknownForeignKeyTarget(DatabaseRule):
    """A foreign key to a table or column that does not exist.

    SQLAlchemy raises `NoReferencedTableError` / `NoReferencedColumnError` when the tables are
    created. The key is left out of the DDL. Fix the target (`"table.column"`, by column key).
    """

    code, name, severity = "AS302", "unknown-foreign-key-target", Severity.ERROR
    VALID = (Valid(_model(PARENT + 'class C(Base):\n    __tablename__ = "c"\n    id = Column(Integer, primary_key=True)\n'
                          '    p_id = Column(Integer, ForeignKey("p.id"))\n')),)
    INVALID = (Invalid(_model(PARENT + 'class C(Base):\n    __tablename__ = "c"\n    id = Column(Integer, primary_key=True)\n'
                              '    p_id = Column(Integer, ForeignKey("p.uid"))\n    q_id = Column(Integer, ForeignKey("q.id"))\n'),
                       (("db_models.py", 12, 28), ("db_models.py", 13, 28))),)

    def check_database(self, context, database):
        for key in context.keys(database):
            fk = key.foreign_key
            if key.target is None:
                yield self.finding(f"foreign key {_origin(key.table, fk)}: no table {fk.target_table}", fk.location)
            elif not key.cross_database and (missing := [c for c in fk.target_columns if key.target.column(c) is None]):
                yield self.finding(f"foreign key {_origin(key.table, fk)}: {fk.target_table} has no column "
                                   f"{', '.join(missing)}", fk.location)


class TargetNotUnique(DatabaseRule):
    """A foreign key to columns that are neither the primary key nor unique.

    Databases require the referenced columns to be a primary key or covered by a unique
    constraint; PostgreSQL refuses the `CREATE TABLE`. Fix: reference the primary key, or
    make the target unique.
    """

    code, name, severity = "AS303", "foreign-key-target-not-unique", Severity.ERROR
    VALID = (Valid(_model(PARENT.replace("String(8))", "String(8), unique=True)") +
                          'class C(Base):\n    __tablename__ = "c"\n    id = Column(Integer, primary_key=True)\n'
                          '    p_code = Column(String(8), ForeignKey("p.code"))\n')),)
    INVALID = (Invalid(_model(PARENT + 'class C(Base):\n    __tablename__ = "c"\n    id = Column(Integer, primary_key=True)\n'
                              '    p_code = Column(String(8), ForeignKey("p.code"))\n'),
                       (("db_models.py", 12, 32),)),)

    def check_database(self, context, database):
        for key in context.keys(database):
            table, wanted = key.target, set(key.foreign_key.target_columns)
            if table is None or not wanted <= {c.key for c in table.columns}:
                continue  # AS302
            if wanted not in _unique_sets(table):
                yield self.finding(
                    f"foreign key {_origin(key.table, key.foreign_key)}: {', '.join(sorted(wanted))} of "
                    f"{table.fullname} is neither its primary key nor unique", key.foreign_key.location)


def _unique_sets(table) -> list[set]:
    sets = [{c.key for c in table.columns if c.primary_key}]
    sets += [{c.key} for c in table.columns if c.unique]
    sets += [set(c.columns) for c in table.constraints if c.kind in ("unique", "primary_key")]
    sets += [set(i.columns) for i in table.indexes if i.unique and all(isinstance(e, str) for e in i.columns)]
    return sets


class TypeMismatch(DatabaseRule):
    """A foreign key whose column type differs from the referenced column's type.

    `Integer` -> `String(36)` joins nothing, and PostgreSQL refuses the key. Types of one
    family (`Integer`, `BigInteger`) are fine. Fix: give the column the target's type, or no
    type at all (`Column(ForeignKey("t.id"))` takes it from the target).
    """

    code, name, severity = "AS304", "foreign-key-type-mismatch", Severity.ERROR
    VALID = (Valid(_model(PARENT + 'from sqlalchemy import BigInteger\nclass C(Base):\n    __tablename__ = "c"\n'
                          '    id = Column(Integer, primary_key=True)\n    p_id = Column(BigInteger, ForeignKey("p.id"))\n')),)
    INVALID = (Invalid(_model(PARENT + 'class C(Base):\n    __tablename__ = "c"\n    id = Column(Integer, primary_key=True)\n'
                              '    p_id = Column(String(36), ForeignKey("p.id"))\n'),
                       (("db_models.py", 12, 31),)),)

    def check_database(self, context, database):
        for key in context.keys(database):
            table, target_table, fk = key.table, key.target, key.foreign_key
            if target_table is None:
                continue
            for name, target_name in zip(fk.columns, fk.target_columns, strict=True):
                column, target_column = table.column(name), target_table.column(target_name)
                if column is None or target_column is None or column.type is None or target_column.type is None:
                    continue
                if _affinity(column.type) is not _affinity(target_column.type):
                    yield self.finding(
                        f"foreign key {_origin(table, fk)}: {column.name} is {column.type} "
                        f"but {target_table.name}.{target_column.name} is {target_column.type}", fk.location)


def _affinity(spec):
    from ..build import replay

    try:
        return replay(spec)._type_affinity
    except Exception:  # unbuildable types are AS209's to report
        return None


class SetNullOnNonNullable(DatabaseRule):
    """`ondelete="SET NULL"` (or `onupdate`) on a column that is `NOT NULL`.

    Deleting the referenced row then fails instead of clearing the reference. Fix: make the
    column nullable, or use `CASCADE` / `RESTRICT`.
    """

    code, name, severity = "AS305", "set-null-on-non-nullable", Severity.ERROR
    VALID = (Valid(_model(PARENT + 'class C(Base):\n    __tablename__ = "c"\n    id = Column(Integer, primary_key=True)\n'
                          '    p_id = Column(Integer, ForeignKey("p.id", ondelete="SET NULL"))\n')),)
    INVALID = (Invalid(_model(PARENT + 'class C(Base):\n    __tablename__ = "c"\n    id = Column(Integer, primary_key=True)\n'
                              '    p_id = Column(Integer, ForeignKey("p.id", ondelete="SET NULL"), nullable=False)\n'),
                       (("db_models.py", 12, 28),)),)

    def check_database(self, context, database):
        for key in context.keys(database):
            table, fk = key.table, key.foreign_key
            actions = [a for a in (fk.ondelete, fk.onupdate) if a and a.upper() == "SET NULL"]
            required = [k for k in fk.columns if table.column(k) is not None and not table.column(k).nullable]
            if actions and required:
                yield self.finding(
                    f"foreign key {_origin(table, fk)} sets NULL on delete or update but "
                    f"{', '.join(required)} is NOT NULL", fk.location)


class ForeignKeyCycle(DatabaseRule):
    """Tables of one database that reference each other in a cycle no `use_alter=True` breaks.

    No creation order exists: each `CREATE TABLE` needs the other first. Self-references
    (`parent_id` -> same table) are fine. Fix: add `use_alter=True` to one key of the cycle.
    Every edge of the cycle is named.
    """

    code, name, severity = "AS307", "foreign-key-cycle", Severity.ERROR
    _CYCLE = ('class A(Base):\n    __tablename__ = "a"\n    id = Column(Integer, primary_key=True)\n'
              '    b_id = Column(Integer, ForeignKey("b.id"{alter}))\n'
              'class B(Base):\n    __tablename__ = "b"\n    id = Column(Integer, primary_key=True)\n'
              '    a_id = Column(Integer, ForeignKey("a.id"))\n'
              '    b_id = Column(Integer, ForeignKey("b.id"))\n')
    VALID = (Valid(_model(_CYCLE.format(alter=", use_alter=True"))),)
    INVALID = (Invalid(_model(_CYCLE.format(alter="")), (("db_models.py", 8, 28),)),)

    def check_database(self, context, database):
        inside = []  # the keys that order the database's tables
        for key in context.keys(database):
            fk = key.foreign_key
            if key.target is not None and not key.cross_database and fk.target_table != key.table.fullname \
                    and not fk.use_alter:
                inside.append(((key.table.fullname, fk.target_table), fk))
        return _cycles(self, inside, "tables")


class CrossDatabaseCycle(DatabaseRule):
    """Databases that reference each other in a cycle: no database can be created first.

    Reported whether or not the cross-database keys are allowed (AS301), naming every key of
    the cycle. Fix: remove one of the references.
    """

    code, name, severity = "AS308", "cross-database-cycle", Severity.ERROR
    _FILES = {
        "a/db_models.py": _model(PARENT + '    q_id = Column(Integer, ForeignKey("q.id"))\n', "a"),
        "b/db_models.py": _model('class Q(Base):\n    __tablename__ = "q"\n    id = Column(Integer, primary_key=True)\n'
                                 '    p_id = Column(Integer, ForeignKey("p.id"))\n', "b"),
    }
    VALID = (Valid({"a/db_models.py": _model(PARENT, "a"), "b/db_models.py": _FILES["b/db_models.py"]},
                   {"allow_cross_database": [["b", "a"]]}),)
    INVALID = (Invalid(_FILES, (("a/db_models.py", 9, 28),), {"allow_cross_database": [["a", "b"], ["b", "a"]]}),)

    def check_database(self, context, database):
        return ()  # the check runner gathers the keys across databases as it checks each

    def check(self, context):
        return _cycles(self, context.crossing, "databases", context.schema.cache_dir)


def _cycles(rule, keys, what, directory=None):
    """One finding per elementary cycle of `keys` ((source, target) names, foreign key), at
    its first key in source order, naming every key (the cycles kept in `directory`, if any)."""
    between: dict[tuple, list] = {}  # each pair's keys: a plain DiGraph of pairs finds the cycles
    for pair, fk in keys:
        between.setdefault(pair, []).append(fk)
    for cycle in cycles(list(between), directory):
        if len(cycle) < 2:
            continue
        start = cycle.index(min(cycle))  # the same words every run, whatever the hash seed
        cycle = cycle[start:] + cycle[:start]
        steps = [min(between[pair], key=lambda fk: _order(fk.location))
                 for pair in zip(cycle, cycle[1:] + cycle[:1], strict=True)]
        steps.sort(key=lambda fk: _order(fk.location))
        edges = "; ".join(f"{fk.target} <- {', '.join(fk.columns)} ({fk.location})" for fk in steps)
        names = " -> ".join(cycle + cycle[:1])
        yield rule.finding(f"{what} reference each other in a cycle {names}: {edges}", steps[0].location)


def _order(location):
    return (location.path, location.line, location.col) if location else ("", 0, 0)
