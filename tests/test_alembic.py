"""Alembic autogenerate from `astschema.alembic`, without importing the models: real Alembic
(its command API, a temporary alembic.ini and versions folder) against a copy of fixtures/hub
and an empty SQLite database, compared with what importing the models gives."""

import shutil
import textwrap

import pytest
from alembic import command
from alembic.config import Config
from alembic.operations import ops

import astschema.alembic
from support import FIXTURES, run_groundtruth

ENV = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

import astschema.alembic

target_metadata = astschema.alembic.target_metadata({tree!r}, database="framework")

engine = engine_from_config(context.config.get_section(context.config.config_ini_section),
                            prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
"""


@pytest.fixture
def project(tmp_path):
    """(copy of fixtures/hub, Alembic config whose env.py takes its target from astschema)."""
    tree = tmp_path / "hub"
    shutil.copytree(FIXTURES / "hub", tree)
    config = Config(str(tmp_path / "alembic.ini"))
    command.init(config, str(tmp_path / "migrations"))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{tmp_path / 'framework.db'}")
    (tmp_path / "migrations" / "env.py").write_text(ENV.format(tree=str(tree)))
    return tree, config


def autogenerate(config, message: str) -> list:
    """The operations of the migration `revision --autogenerate` writes, flattened (none
    written when there are none: Alembic's recipe for an empty autogenerate)."""
    found = []

    def take(context, revision, directives):
        found.extend(directives[0].upgrade_ops.ops)
        if directives[0].upgrade_ops.is_empty():
            directives[:] = []

    command.revision(config, message, autogenerate=True, process_revision_directives=take)
    flat = []
    for op in found:
        flat += op.ops if isinstance(op, ops.ModifyTableOps) else [op]
    return flat


def test_autogenerate_creates_the_imported_tables_then_only_what_changed(project):
    tree, config = project
    truth = run_groundtruth(tree)["databases"]["framework"]

    created = autogenerate(config, "create")
    assert sorted(op.table_name for op in created if isinstance(op, ops.CreateTableOp)) == sorted(truth["tables"])
    assert sorted(op.index_name for op in created if isinstance(op, ops.CreateIndexOp)) == sorted(truth["indexes"])
    assert all(isinstance(op, (ops.CreateTableOp, ops.CreateIndexOp)) for op in created)
    command.upgrade(config, "head")
    assert autogenerate(config, "unchanged") == []  # the database now is what the models say

    models = tree / "modules" / "core" / "settings" / "db_models.py"
    source = models.read_text()
    anchor = "    key = Column(String(200), nullable=False)\n"
    models.write_text(source.replace(anchor, anchor + "    note = Column(String(50))\n", 1))
    (added,) = autogenerate(config, "note")
    assert isinstance(added, ops.AddColumnOp)
    assert (added.table_name, added.column.name, str(added.column.type)) == ("settings_values", "note", "VARCHAR(50)")
    command.upgrade(config, "head")
    assert autogenerate(config, "unchanged again") == []


def test_multidb_template_creates_each_database_as_imported(tmp_path):
    """Alembic's own multidb template, its `target_metadata = {}` replaced by one line."""
    truth = run_groundtruth(FIXTURES / "hub")["databases"]
    config = Config(str(tmp_path / "alembic.ini"))
    command.init(config, str(tmp_path / "migrations"), template="multidb")
    config.set_main_option("databases", ", ".join(truth))
    for name in truth:
        config.set_section_option(name, "sqlalchemy.url", f"sqlite:///{tmp_path / name}.db")
    env = tmp_path / "migrations" / "env.py"
    line = f"target_metadata = astschema.alembic.metadata_by_database({str(FIXTURES / 'hub')!r})"
    assert env.read_text().count("\ntarget_metadata = {}\n") == 1
    env.write_text("import astschema.alembic\n" + env.read_text().replace("\ntarget_metadata = {}\n", f"\n{line}\n"))
    found = []

    def take(context, revision, directives):
        found[:] = directives[0].upgrade_ops_list

    command.revision(config, "create", autogenerate=True, process_revision_directives=take)
    created = {name: sorted(op.table_name for op in upgrade.ops if isinstance(op, ops.CreateTableOp))
               for name, upgrade in zip(truth, found, strict=True)}
    assert created == {name: sorted(database["tables"]) for name, database in truth.items()}
    command.upgrade(config, "heads")
    command.revision(config, "unchanged", autogenerate=True, process_revision_directives=take)
    assert all(upgrade.is_empty() for upgrade in found)


def test_refusals(tmp_path):
    with pytest.raises(astschema.alembic.SchemaError, match="3 databases found"):
        astschema.alembic.target_metadata(FIXTURES / "hub")
    with pytest.raises(astschema.alembic.SchemaError, match="no database named nope"):
        astschema.alembic.target_metadata(FIXTURES / "hub", database="nope")
    broken = tmp_path / "db_models.py"
    broken.write_text(textwrap.dedent("""\
        from sqlalchemy import Column, Integer, Numeric
        from sqlalchemy.orm import declarative_base
        DATABASE_NAME = "x"
        Base = declarative_base()
        class T(Base):
            __tablename__ = "t"
            id = Column(Integer, primary_key=True)
            n = Column(Numeric(1, 2, 3, 4, 5, 6))
        """))
    with pytest.raises(astschema.alembic.SchemaError, match=r"db_models.py:8:\d+: .*Numeric"):
        astschema.alembic.target_metadata(tmp_path)


@pytest.mark.parametrize("source, code", [
    ("from vendor import Fancy\n", "AS201"),  # the type of `f` unknown
    ("", None),
])
def test_an_unknown_type_stops_it_unless_ignored(tmp_path, source, code):
    (tmp_path / "db_models.py").write_text(
        "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n" + source +
        'DATABASE_NAME = "x"\nBase = declarative_base()\nclass T(Base):\n    __tablename__ = "t"\n'
        "    id = Column(Integer, primary_key=True)\n" + ("    f = Column(Fancy)\n" if code else ""))
    if code is None:
        assert sorted(astschema.alembic.target_metadata(tmp_path).tables) == ["t"]
        return
    with pytest.raises(astschema.alembic.SchemaError, match=rf"db_models.py:9:\d+: {code} "):
        astschema.alembic.target_metadata(tmp_path)
    (tmp_path / "pyproject.toml").write_text(f'[tool.astschema]\nignore = ["{code}"]\n')
    assert sorted(astschema.alembic.target_metadata(tmp_path).tables) == ["t"]  # the user's choice, as for check
