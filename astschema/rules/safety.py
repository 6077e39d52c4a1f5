"""Safety rules: what would run, or be written, when databases are created."""

import re

from ..diagnostics import Severity
from .base import DatabaseRule, Invalid, Valid
from .tables import _model, sql_fragments

SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
STATEMENT_BREAKS = (";", "--", "/*", "*/")


class RawSqlFragment(DatabaseRule):
    """Raw SQL that runs at creation and could hold more than one statement.

    `text(...)` server defaults, string `CheckConstraint`s, `Computed(...)` expressions and
    `literal_column(...)` go into the DDL verbatim. One that contains `;` or a comment marker
    (`--`, `/*`) can end the statement and start another: in code nobody reviewed, that is
    an injection into the bootstrap. Plain string `server_default`s are quoted by SQLAlchemy
    and are safe. Fix: remove the `;` or comment from the fragment.
    """

    code, name, severity = "AS501", "raw-sql-fragment", Severity.ERROR
    VALID = (Valid(_model('from sqlalchemy import text\nclass T(Base):\n    __tablename__ = "t"\n'
                          '    id = Column(Integer, primary_key=True)\n    n = Column(Integer, server_default=text("0"))\n'
                          '    s = Column(String(9), server_default="a;b")\n')),)
    INVALID = (Invalid(_model('from sqlalchemy import CheckConstraint, text\nclass T(Base):\n    __tablename__ = "t"\n'
                              '    __table_args__ = (CheckConstraint("n > 0); DROP TABLE users; --"),)\n'
                              '    id = Column(Integer, primary_key=True)\n'
                              '    n = Column(Integer, server_default=text("0 /* hidden */"))\n'),
                       (("db_models.py", 8, 23), ("db_models.py", 10, 9))),)

    def check_database(self, context, database):
        for table in database.tables:
            for text, location in sql_fragments(table):
                found = [marker for marker in STATEMENT_BREAKS if marker in text]
                if found:
                    yield self.finding(
                        f"raw SQL in table {table.name} contains {' and '.join(map(repr, found))}: {text!r}",
                        location)


class UnsafeDatabaseName(DatabaseRule):
    """A database name that is unsafe as a file name.

    Names become files (`data/database/{name}.db`) and database names: a path separator, `..`,
    an empty name or other characters could write outside the data directory. Names must
    match `[A-Za-z_][A-Za-z0-9_]*`. Fix: rename the database.
    """

    code, name, severity = "AS502", "unsafe-database-name", Severity.ERROR
    VALID = (Valid(_model('class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n', "main_db")),)
    INVALID = (Invalid(_model('class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n',
                              "../etc/passwd"), (("db_models.py", 3, 1),)),)

    def check_database(self, context, database):
        if not SAFE_NAME.fullmatch(database.name):
            yield self.finding(f"database name {database.name!r} is not safe as a file name "
                               "(allowed: [A-Za-z_][A-Za-z0-9_]*)", database.location)
