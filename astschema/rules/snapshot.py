"""Rules that hold the models against a committed snapshot (`python -m astschema snapshot`)."""

from pathlib import Path

from ..diagnostics import Location, Severity
from .base import Invalid, Rule, Valid
from .tables import _model

_CONFIG = '[tool.astschema]\nagainst = "schema.lock.json"\n'
_LOCK = """\
{
  "format_version": 1,
  "databases": {
    "x": {
      "t": {
        "table": {"schema": null, "comment": null, "options": {}},
        "columns": [
          {"name": "id", "type": "Integer()", "nullable": false, "primary_key": true, "autoincrement": "auto", \
"server_default": null, "server_onupdate": null, "comment": null},
          {"name": "name", "type": "String(length=20)", "nullable": true, "primary_key": false, "autoincrement": \
"auto", "server_default": null, "server_onupdate": null, "comment": null}
        ],
        "constraints": [
          {"kind": "primary_key", "name": null, "columns": ["id"]}
        ],
        "foreign_keys": [],
        "indexes": []
      }
    }
  }
}
"""
_TABLE = 'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n'


class SchemaDiffersFromSnapshot(Rule):
    """The models no longer give the schema of the committed snapshot.

    With `check --against schema.lock.json` (or `against = "schema.lock.json"` in
    `[tool.astschema]`), each database, table, column, key, constraint and index added,
    removed or changed since the snapshot is a finding: at its `file:line` in the models, or,
    for what was removed, at its line in the snapshot. As Django's `makemigrations --check`,
    but with no database and no import. Fix: if the change is meant, write the snapshot again
    (`python -m astschema snapshot -o schema.lock.json`) and commit it with its migration.
    """

    code, name, severity = "AS601", "schema-differs-from-snapshot", Severity.ERROR
    VALID = (Valid({"db_models.py": _model(_TABLE + "    name = Column(String(length=20))\n"),
                    "pyproject.toml": _CONFIG, "schema.lock.json": _LOCK}),
             Valid(_model(_TABLE + "    n = Column(Integer)\n")))  # no snapshot named: nothing to hold against
    INVALID = (Invalid({"db_models.py": _model(_TABLE + "    n = Column(Integer)\n"),
                        "pyproject.toml": _CONFIG, "schema.lock.json": _LOCK},
                       (("db_models.py", 8, 9), ("schema.lock.json", 9, 11))),
               Invalid({"db_models.py": _model(_TABLE + "    name = Column(String(length=40))\n"),
                        "pyproject.toml": _CONFIG, "schema.lock.json": _LOCK},
                       (("db_models.py", 8, 12),)))

    def check(self, context):
        if context.config.against is None:
            return
        from ..snapshot import changes, each_database, located, places, read

        path = Path(context.config.against)
        old, text = read(path)
        # a database at a time; a table left out is reported as such (AS209)
        now = ((name, tables) for name, tables, _ in each_database(context.schema))
        lines = None
        for change in changes(old, now):
            where = located(context.schema, change) if change.kind != "removed" else None
            if where is None:  # not in the models: where the snapshot has it, or the nearest place it has
                lines = places(old, text) if lines is None else lines
                line, col = next((lines[change.place[:n]] for n in range(len(change.place), 0, -1)
                                  if change.place[:n] in lines), (1, 1))
                where = Location(str(path), line, col)
            yield self.finding(change.message, where)
