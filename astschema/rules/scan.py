"""Rules whose findings the scan makes: it reports them where it meets them and goes on."""

from ..diagnostics import Severity
from .base import Invalid, ScanRule, Valid

HEADER = """\
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import declarative_base
"""
MODEL = """
Base = declarative_base()

class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
"""


class UnreadableFile(ScanRule):
    """A file that cannot be read: too large, NUL bytes, unreadable, or a path that does not exist.

    The file is skipped and the scan goes on with the others, so a broken file never hides
    the rest of the schema. Fix: make the file readable Python source, or raise the limit
    with `max-bytes` in `[tool.astschema]` if it really is that large.
    """

    code, name, severity = "AS100", "unreadable-file", Severity.ERROR
    VALID = (Valid(HEADER + 'DATABASE_NAME = "x"\n' + MODEL),)
    INVALID = (Invalid({"db_models.py": "DATABASE_NAME = 'x'\0\n"}, (("db_models.py", 1, 1),)),)


class SyntaxErrorRule(ScanRule):
    """A file libcst cannot parse (a syntax error, Python 2 source, an undecodable file).

    It is reported where the parser stopped and skipped; the scan goes on. An application that
    imports it would fail at bootstrap. Fix the syntax.
    """

    code, name, severity = "AS101", "syntax-error", Severity.ERROR
    VALID = (Valid(HEADER + 'DATABASE_NAME = "x"\n' + MODEL),)
    INVALID = (Invalid({"db_models.py": "DATABASE_NAME = 'x'\nprint 'py2'\n"}, (("db_models.py", 2, 11),)),)


class MissingDatabaseName(ScanRule):
    """A module with tables but no module-level `DATABASE_NAME`.

    Bootstrap discovery needs `DATABASE_NAME` to know which database a module's tables belong
    to. Without it astschema puts them in the default database (`default`, or
    `--default-database` / `default-database`), which is right for plain SQLAlchemy projects
    and a mistake in the multi-database layout. Fix: add `DATABASE_NAME = "name"` at the top.
    """

    code, name, severity = "AS102", "missing-database-name", Severity.WARNING
    VALID = (Valid(HEADER + 'DATABASE_NAME = "x"\n' + MODEL),)
    INVALID = (Invalid(HEADER + MODEL, (("db_models.py", 1, 1),)),)


class NonStaticDatabaseName(ScanRule):
    """A `DATABASE_NAME` (or a base factory's argument) that is not a static string.

    A call, an environment lookup or an f-string of unknown names cannot be known without
    running the code, so astschema does not guess: the tables go to the default database.
    Fix: assign a string literal (or a constant imported from another scanned module).
    """

    code, name, severity = "AS103", "non-static-database-name", Severity.ERROR
    VALID = (Valid(HEADER + 'PREFIX = "app"\nDATABASE_NAME = PREFIX + "_main"\n' + MODEL),)
    INVALID = (Invalid(HEADER + 'import os\nDATABASE_NAME = os.environ["DB"]\nfrom core.database import DatabaseBase\n'
                       'Base = DatabaseBase(DATABASE_NAME)\n', (("db_models.py", 4, 17),)),)


class DatabaseNameDisagreesWithBase(ScanRule):
    """`DATABASE_NAME` says one database but the base was made for another.

    With `DATABASE_NAME = "a"` and `Base = DatabaseBase("b")` the import puts the tables in
    `b`: the base decides, and astschema follows it. Bootstrap logs and readers of the file
    will expect `a`. Fix: pass `DATABASE_NAME` to the base factory.
    """

    code, name, severity = "AS104", "database-name-disagrees-with-base", Severity.WARNING
    VALID = (Valid(HEADER + 'from core.database import DatabaseBase\nDATABASE_NAME = "a"\nBase = DatabaseBase(DATABASE_NAME)\n'
                   'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n'),)
    INVALID = (Invalid(HEADER + 'from core.database import DatabaseBase\nDATABASE_NAME = "a"\nBase = DatabaseBase("b")\n'
                       'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n',
                       (("db_models.py", 5, 8),)),)


class UnresolvedType(ScanRule):
    """A column type astschema cannot follow statically; the column is built as `NullType`.

    Typically a type imported from outside the scanned tree (`from vendor import Fancy`) or made
    dynamically. The message names what was assumed. A table with a `NullType` column has no
    DDL (see AS207). Fix: scan the module that defines the type, or map it in
    `[tool.astschema.types]`.
    """

    code, name, severity = "AS201", "unresolved-type", Severity.WARNING
    VALID = (Valid(HEADER + 'DATABASE_NAME = "x"\n' + MODEL),)
    INVALID = (Invalid(HEADER + 'from vendor import Fancy\nDATABASE_NAME = "x"\nBase = declarative_base()\n'
                       'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n'
                       '    f = Column(Fancy)\n', (("db_models.py", 9, 9),)),)


class UnresolvedName(ScanRule):
    """A base class that could not be resolved statically.

    A class whose base cannot be followed may or may not be a model; astschema cannot tell and
    leaves it out, saying so. Fix: import the base from a scanned module.
    """

    code, name, severity = "AS202", "unresolved-name", Severity.WARNING
    VALID = (Valid(HEADER + 'DATABASE_NAME = "x"\n' + MODEL),)
    INVALID = (Invalid(HEADER + 'DATABASE_NAME = "x"\nclass T(Undefined):\n    __tablename__ = "t"\n',
                       (("db_models.py", 4, 9),)),)


class UnknownTableName(ScanRule):
    """A mapped class whose table name is missing or not static.

    SQLAlchemy refuses a mapped class without `__tablename__` (or `__table__`) unless it
    inherits a table; a computed name astschema cannot evaluate is reported too. Fix: set
    `__tablename__ = "name"`, or mark a shared base `__abstract__ = True`.
    """

    code, name, severity = "AS203", "unknown-table-name", Severity.ERROR
    VALID = (Valid(HEADER + 'DATABASE_NAME = "x"\n' + MODEL),)
    INVALID = (Invalid(HEADER + 'DATABASE_NAME = "x"\nBase = declarative_base()\nclass T(Base):\n'
                       '    id = Column(Integer, primary_key=True)\n', (("db_models.py", 5, 7),)),)


class NonStaticArgument(ScanRule):
    """An argument astschema cannot read statically; the message says what was left out.

    For example a `ForeignKey` target computed at run time, or `**kwargs` passed to `Column`.
    The rest of the column or table is still read. Fix: use literals or module constants.
    """

    code, name, severity = "AS204", "non-static-argument", Severity.WARNING
    VALID = (Valid(HEADER + 'DATABASE_NAME = "x"\nN = 10\nBase = declarative_base()\nclass T(Base):\n'
                   '    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n    s = Column(String(N * 2))\n'),)
    INVALID = (Invalid(HEADER + 'import random\nDATABASE_NAME = "x"\nBase = declarative_base()\nclass T(Base):\n'
                       '    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n'
                       '    s = Column(String(random.randint(1, 9)))\n', (("db_models.py", 9, 23),)),)


class TypeAssumed(ScanRule):
    """A type found only by its name: the chain of imports ended in a dynamic assignment.

    When `core/database.py` does `X = load_utility("X")`, astschema cannot follow it. With no
    `[tool.astschema.types]` entry for `X`, it uses the only class named `X` in the scanned
    tree and says so, naming the file it assumed. Fix: add the mapping to the configuration.
    """

    code, name, severity = "AS205", "type-assumed", Severity.WARNING
    VALID = (Valid({
        "core/loader.py": "def load_utility(name):\n    pass\n",
        "core/database.py": 'from core.loader import load_utility\nJSONText = load_utility("JSONText")\n',
        "core/types.py": "from sqlalchemy import Text, TypeDecorator\nclass JSONText(TypeDecorator):\n    impl = Text\n",
        "pyproject.toml": '[tool.astschema.types]\nJSONText = "sqlalchemy.Text"\n',
        "db_models.py": HEADER + 'from core.database import JSONText\nDATABASE_NAME = "x"\nBase = declarative_base()\n'
        'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n    j = Column(JSONText)\n',
    }),)
    INVALID = (Invalid({
        "core/loader.py": "def load_utility(name):\n    pass\n",
        "core/database.py": 'from core.loader import load_utility\nJSONText = load_utility("JSONText")\n',
        "core/types.py": "from sqlalchemy import Text, TypeDecorator\nclass JSONText(TypeDecorator):\n    impl = Text\n",
        "db_models.py": HEADER + 'from core.database import JSONText\nDATABASE_NAME = "x"\nBase = declarative_base()\n'
        'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n    j = Column(JSONText)\n',
    }, (("db_models.py", 9, 9),)),)


class UnknownColumn(ScanRule):
    """An index or constraint over a column the table does not have.

    SQLAlchemy raises at import (`KeyError` / `ArgumentError`), so the whole module fails to
    load. The item is left out. Fix the column name (constraints use column keys).
    """

    code, name, severity = "AS206", "unknown-column", Severity.ERROR
    VALID = (Valid(HEADER + 'from sqlalchemy import Index\nDATABASE_NAME = "x"\nBase = declarative_base()\n'
                   'class T(Base):\n    __tablename__ = "t"\n    __table_args__ = (Index("ix_t_a", "a"),)\n'
                   '    id = Column(Integer, primary_key=True)\n    a = Column(Integer)\n'),)
    INVALID = (Invalid(HEADER + 'from sqlalchemy import Index\nDATABASE_NAME = "x"\nBase = declarative_base()\n'
                       'class T(Base):\n    __tablename__ = "t"\n    __table_args__ = (Index("ix_t_a", "b"),)\n'
                       '    id = Column(Integer, primary_key=True)\n    a = Column(Integer)\n',
                       (("db_models.py", 8, 39),)),)


class TableDefinedTwice(ScanRule):
    """The same table defined twice in one database, where that is not a harmless extension.

    Without `extend_existing=True` the second definition makes the import fail
    ("Table ... is already defined"); it is left out. With it, SQLAlchemy merges the two
    (later columns replace same-named ones, constraints add up), so a definition that differs
    in columns, types, keys or constraints silently changes the table: reported too.
    Identical re-definitions with `extend_existing` are fine. Fix: define each table once.
    """

    code, name, severity = "AS208", "table-defined-twice", Severity.ERROR
    VALID = (Valid(HEADER + 'DATABASE_NAME = "x"\nBase = declarative_base()\n'
                   'class A(Base):\n    __tablename__ = "t"\n    __table_args__ = {"extend_existing": True}\n'
                   '    id = Column(Integer, primary_key=True)\n'
                   'class B(Base):\n    __tablename__ = "t"\n    __table_args__ = {"extend_existing": True}\n'
                   '    id = Column(Integer, primary_key=True)\n'),)
    INVALID = (
        Invalid(HEADER + 'DATABASE_NAME = "x"\nBase = declarative_base()\n'
                'class A(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n'
                'class B(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n',
                (("db_models.py", 8, 7),)),
        Invalid(HEADER + 'DATABASE_NAME = "x"\nBase = declarative_base()\n'
                'class A(Base):\n    __tablename__ = "t"\n    __table_args__ = {"extend_existing": True}\n'
                '    id = Column(Integer, primary_key=True)\n'
                'class B(Base):\n    __tablename__ = "t"\n    __table_args__ = {"extend_existing": True}\n'
                '    id = Column(String(36), primary_key=True)\n',
                (("db_models.py", 9, 7),)),
    )


class DeprecatedGetDatabaseBase(ScanRule):
    """The deprecated `get_database_base(...)` base factory.

    The architecture moved to `DatabaseBase(...)` from `core.database`; the old function
    lives on in `modules/core/database/db_models.py` only for the transition. Fix:
    `from core.database import DatabaseBase` and `Base = DatabaseBase(DATABASE_NAME)`, which
    `python -m astschema fix` writes, keeping the base's name and every other import.
    """

    code, name, severity = "AS401", "deprecated-get-database-base", Severity.WARNING
    VALID = (Valid(HEADER + 'from core.database import DatabaseBase\nDATABASE_NAME = "x"\nBase = DatabaseBase(DATABASE_NAME)\n'),)
    INVALID = (
        Invalid(HEADER + 'from modules.core.database.db_models import get_database_base  # legacy\n'
                'DATABASE_NAME = "x"\nBase = get_database_base(DATABASE_NAME)\n',
                (("db_models.py", 5, 8),),
                fixed=HEADER + 'from core.database import DatabaseBase  # legacy\n'
                'DATABASE_NAME = "x"\nBase = DatabaseBase(DATABASE_NAME)\n'),
        Invalid(HEADER + 'from modules.core.database.db_models import (\n    get_database_base as make_base,\n'
                '    LEGACY,\n)\nDATABASE_NAME = "x"\nFrameworkBase = make_base(DATABASE_NAME)\n',
                (("db_models.py", 8, 17),),
                fixed=HEADER + 'from modules.core.database.db_models import (\n    LEGACY,\n)\n'
                'from core.database import DatabaseBase\nDATABASE_NAME = "x"\nFrameworkBase = DatabaseBase(DATABASE_NAME)\n'),
    )

    def fix(self, module, places):
        """`get_database_base(...)` becomes `DatabaseBase(...)` from `core.database` (see `fix.database_base`)."""
        from ..fix import database_base

        return database_base(module, places)


class MissingExtendExisting(ScanRule):
    """A mapped class whose table is not declared with `extend_existing=True`, in a project whose
    configuration asks every table to be (`require-extend-existing = true`).

    The architecture's models may be imported more than once (module reloads, a bootstrap that
    re-reads every `db_models.py`): without `__table_args__ = {'extend_existing': True}` a second
    definition of the table fails with "Table ... is already defined". Reported at the class when
    it has no `__table_args__`, else at them; not where they cannot be known (a base class not
    resolved, AS202; `__table_args__` not static, AS204). Fix: add the key (`python -m astschema
    fix` does, where `__table_args__` are written as a dict or a tuple, or missing); the schema
    is the same.
    """

    code, name, severity = "AS402", "missing-extend-existing", Severity.WARNING
    _ASKED = {"require_extend_existing": True}
    _TABLE = 'DATABASE_NAME = "x"\nBase = declarative_base()\nclass T(Base):\n    __tablename__ = \'t\'\n'
    _COLUMNS = '    id = Column(Integer, primary_key=True)\n    n = Column(Integer)\n'
    VALID = (
        Valid(HEADER + _TABLE + '    __table_args__ = {"extend_existing": True}\n' + _COLUMNS, _ASKED),
        Valid(HEADER + _TABLE + _COLUMNS),  # not asked for
    )
    INVALID = (
        Invalid(HEADER + _TABLE + _COLUMNS, (("db_models.py", 5, 7),), _ASKED,
                fixed=HEADER + _TABLE + "    __table_args__ = {'extend_existing': True}\n" + _COLUMNS),
        Invalid(HEADER + 'from sqlalchemy import Index\n' + _TABLE + '    __table_args__ = (Index("ix_t_n", "n"),)\n'
                + _COLUMNS, (("db_models.py", 8, 23),), _ASKED,
                fixed=HEADER + 'from sqlalchemy import Index\n' + _TABLE
                + '    __table_args__ = (Index("ix_t_n", "n"), {"extend_existing": True})\n' + _COLUMNS),
        Invalid(HEADER + _TABLE + '    __table_args__ = {\n        "sqlite_autoincrement": True,\n    }\n' + _COLUMNS,
                (("db_models.py", 7, 22),), _ASKED,
                fixed=HEADER + _TABLE + '    __table_args__ = {\n        "sqlite_autoincrement": True,\n'
                '        "extend_existing": True,\n    }\n' + _COLUMNS),
    )

    def fix(self, module, places):
        """`__table_args__` gets `extend_existing` (see `fix.extend_existing`)."""
        from ..fix import extend_existing

        return extend_existing(module, places)
