"""Fidelity: astschema's DDL equals the DDL SQLAlchemy builds when the models are imported.

Each fixture tree is imported in a subprocess (tests/groundtruth.py); astschema only reads it.
Tables and indexes are compared one by one, for sqlite and postgresql.
"""

import pytest

import astschema
from support import FIXTURES, assert_same_ddl, astschema_ddl, run_groundtruth

TREES = [FIXTURES / "hub", *sorted(p for p in (FIXTURES / "patterns").iterdir() if p.is_dir())]


@pytest.mark.parametrize("tree", TREES, ids=lambda p: p.name)
def test_ddl_matches_import(tree):
    truth = run_groundtruth(tree)
    assert truth["import_errors"] == {}, "the fixture itself must import"
    ours = astschema_ddl(astschema.scan([tree]))
    assert_same_ddl(truth, ours)


TABLE = """\
DATABASE_NAME = "x"
from sqlalchemy import Column, Integer, MetaData, String, Table
metadata = MetaData()
users = Table("users", metadata, Column("id", Integer, primary_key=True), Column("name", String(20)))
"""
INDEX = """\
DATABASE_NAME = "x"
from sqlalchemy import Index
from {other}.db_models import users
Index("ix_users_name", users.c.name)
"""


@pytest.mark.parametrize("first", ["table", "index"])
def test_an_index_on_a_table_of_another_module_matches_import(tmp_path, first):
    """Each module is extracted on its own: an Index() on an imported Table() reaches the table
    whichever module comes first."""
    table, index = ("a", "b") if first == "table" else ("b", "a")
    for package, text in ((table, TABLE), (index, INDEX.format(other=table))):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").touch()
        (tmp_path / package / "db_models.py").write_text(text)
    truth = run_groundtruth(tmp_path)
    assert truth["import_errors"] == {}
    schema = astschema.scan([tmp_path])
    assert schema.diagnostics == ()
    assert_same_ddl(truth, astschema_ddl(schema))
    assert "ix_users_name" in astschema_ddl(schema)["x"]["indexes"]
