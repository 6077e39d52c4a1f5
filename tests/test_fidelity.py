"""Fidelity: astschema's DDL equals the DDL SQLAlchemy builds when the models are imported.

Each fixture tree is imported in a subprocess (tests/groundtruth.py); astschema only reads it.
Tables and indexes are compared one by one, for sqlite and postgresql.
"""

import pytest

import astschema
from support import FIXTURES, assert_same_ddl, assert_same_snapshot, astschema_ddl, run_groundtruth

TREES = [FIXTURES / "hub", *sorted(p for p in (FIXTURES / "patterns").iterdir() if p.is_dir())]


@pytest.mark.parametrize("tree", TREES, ids=lambda p: p.name)
def test_ddl_matches_import(tree):
    truth = run_groundtruth(tree)
    assert truth["import_errors"] == {}, "the fixture itself must import"
    schema = astschema.scan([tree])
    assert_same_ddl(truth, astschema_ddl(schema))
    assert_same_snapshot(truth, schema)


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


LATER_DIALECTS = """\
DATABASE_NAME = "x"
from sqlalchemy import Column, Integer
from sqlalchemy.dialects import oracle
from sqlalchemy.dialects.mssql import BIT
from sqlalchemy.dialects.mysql import TINYINT
from sqlalchemy.ext.declarative import declarative_base, declared_attr
Base = declarative_base()
class Stamped:
    @declared_attr
    def flag(cls):
        return Column(BIT)
class T(Stamped, Base):
    __tablename__ = "t"
    id = Column(Integer, primary_key=True)
    small = Column(TINYINT(display_width=2))
    raw = Column(oracle.RAW(16))
"""


def test_types_of_the_dialects_imported_on_demand_match_import(tmp_path):
    """SQLAlchemy's mysql, mssql and oracle dialects and its legacy `ext.declarative` are
    imported when a scanned name first needs them, not at start-up: in a fresh process (this
    one imported them long since), their types and declarative helpers read as the import
    reads them."""
    import json
    import runpy
    import subprocess
    import sys
    import warnings

    (tmp_path / "db_models.py").write_text(LATER_DIALECTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ext.declarative's deprecation
        imported = runpy.run_path(str(tmp_path / "db_models.py"))["T"].__table__
    script = ("import json, sys; import astschema\n"
              "assert 'sqlalchemy.dialects.mysql' not in sys.modules\n"
              "table = astschema.scan([sys.argv[1]]).metadata('x').tables['t']\n"
              "print(json.dumps({c.name: repr(c.type) for c in table.columns}))")
    ours = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True)
    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout) == {c.name: repr(c.type) for c in imported.columns}
    assert set(json.loads(ours.stdout)) == {"id", "small", "raw", "flag"}


@pytest.mark.parametrize("piece", [1, 2])
@pytest.mark.parametrize("cached", [False, True], ids=["in memory", "spooled to disk"])
def test_databases_compiled_in_pieces_match_one_metadata(monkeypatch, tmp_path, piece, cached):
    """A database of many tables is built and compiled in pieces, each with the tables its
    keys reference; joined, they give what SQLAlchemy makes of the database in one MetaData:
    statements in `sorted_tables` order (cycles included), refusals, problems and names. With
    a cache, each table's statements go to the spool as they come and are copied in order."""
    from astschema import ddl
    from astschema.build import build_metadata
    from astschema.rules.tables import constraint_names

    monkeypatch.setattr(ddl, "PIECE_TABLES", piece)
    pieced = 0
    for tree in [*TREES, FIXTURES / "broken"]:
        schema = astschema.scan([tree], jobs=1)
        compiled = ddl.compile_databases(schema.databases, ddl.DIALECTS, jobs=1,
                                         directory=tmp_path / tree.name if cached else None)
        for database in schema.databases:
            pieced += len(database.tables) > piece
            whole, ours = build_metadata(database), compiled[database.name]
            for dialect in ddl.DIALECTS:
                statements, refusals = ddl.statements(whole, dialect)
                assert ours.statements[dialect] == tuple(statements), (tree.name, database.name, dialect)
                assert ours.refusals[dialect] == tuple(refusals), (tree.name, database.name, dialect)
            problems = [(message, at) for _, message, at in whole.info["astschema_problems"]]
            assert sorted(ours.problems, key=repr) == sorted(problems, key=repr), (tree.name, database.name)
            assert ours.names == {t.fullname: tuple(constraint_names(whole, t)) for t in database.tables}
    assert pieced > 10


TIES = {
    "core/database.py": """\
from sqlalchemy.orm import declarative_base
Base = declarative_base()
""",
    # first of the modules, it reaches tables that later modules make and change
    "a/db_models.py": """\
DATABASE_NAME = "x"
from sqlalchemy import Column, ForeignKey, Integer, String
from core.database import Base
from z.db_models import Account

class Note(Base):  # a key-only column: its type is the target's
    __tablename__ = "notes"
    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey(Account.id))
    owner_id = Column(Integer, ForeignKey("accounts.id"))

class Tag(Base):  # a key by class, to a table made later
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey(Account.id))

class Pin(Base):  # a chain of key-only columns
    __tablename__ = "pins"
    id = Column(Integer, primary_key=True)
    note_account = Column(ForeignKey("notes.account_id"))

class Plain(Base):  # defined again later
    __tablename__ = "plain"
    id = Column(Integer, primary_key=True)
    name = Column(String(20), index=True)

class Loose(Base):  # tied to nothing, and reached by a later module
    __tablename__ = "loose"
    id = Column(Integer, primary_key=True)
""",
    "m/db_models.py": """\
DATABASE_NAME = "x"
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from core.database import Base
from a.db_models import Loose
from z.db_models import Account

class Link(Base):  # a key by class to a table made before: made as its unit comes
    __tablename__ = "links"
    id = Column(Integer, primary_key=True)
    loose_id = Column(Integer, ForeignKey(Loose.id, ondelete="CASCADE"))

class Admin(Account):  # single-table inheritance: its column goes to another module's table
    level = Column(Integer)
    __mapper_args__ = {"polymorphic_identity": "admin"}

Table("plain", Base.metadata, Column("extra", String(5)), extend_existing=True)
""",
    "z/db_models.py": """\
DATABASE_NAME = "x"
from sqlalchemy import Column, Integer, String
from core.database import Base

class Account(Base):
    __tablename__ = "accounts"
    id = Column(Integer, primary_key=True)
    kind = Column(String(10))
    __mapper_args__ = {"polymorphic_on": kind}
""",
}


@pytest.mark.parametrize("held", [True, False], ids=["held", "spooled"])
def test_tables_tied_to_other_modules_match_import(tmp_path, monkeypatch, held):
    """Assembly makes a table as soon as its module's unit comes, unless other modules change
    it or it reaches them: extended, defined again, a key-only column, a key by class to a
    table made later. Those are made at the end; all match the import, whether the units
    waited as they were or as JSON text."""
    from astschema import units

    for name, text in TIES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).parent.joinpath("__init__.py").touch()
        (tmp_path / name).write_text(text)
    truth = run_groundtruth(tmp_path)
    assert truth["import_errors"] == {}
    if not held:
        monkeypatch.setattr(units, "HELD_TABLES", 0)
    schema = astschema.scan([tmp_path])
    assert_same_ddl(truth, astschema_ddl(schema))
    accounts = schema.database("x").table("accounts")
    assert [c.name for c in accounts.columns] == ["id", "kind", "level"]
    assert [c.name for c in schema.database("x").table("plain").columns] == ["id", "name", "extra"]
    assert str(schema.database("x").table("pins").column("note_account").type) == "Integer()"
    assert schema.database("x").table("links").column("loose_id").foreign_keys[0].target == "loose.id"
    assert schema == astschema.scan([tmp_path], cache_dir=tmp_path / "cache")  # units made, then kept
    assert schema == astschema.scan([tmp_path], cache_dir=tmp_path / "cache")  # units loaded
