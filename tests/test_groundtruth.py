"""The ground-truth harness, run on the bundled example tree fixtures/hub."""

import pytest

from support import FIXTURES, run_groundtruth

HUB = FIXTURES / "hub"


@pytest.fixture(scope="module")
def hub():
    return run_groundtruth(HUB)


def test_imports_cleanly(hub):
    assert hub["import_errors"] == {}


def test_databases_and_table_counts(hub):
    counts = {name: len(db["tables"]) for name, db in hub["databases"].items()}
    assert counts == {"framework": 9, "semantic_core": 6, "vector_operations": 4}


def test_every_table_compiles(hub):
    for name, db in hub["databases"].items():
        for table, ddl in db["tables"].items():
            assert "error" not in ddl, (name, table, ddl)
            assert set(ddl) == {"sqlite", "postgresql"}
            assert ddl["sqlite"].startswith(f"CREATE TABLE {table} (")


def test_cross_database_foreign_keys_are_dropped(hub):
    dbs = hub["databases"]
    assert dbs["framework"]["dropped_foreign_keys"] == []
    assert "documents.module_id -> modules.id" in dbs["semantic_core"]["dropped_foreign_keys"]
    assert "embeddings.document_id -> documents.id" in (
        dbs["vector_operations"]["dropped_foreign_keys"])
    # The column stays, only the constraint goes.
    documents = dbs["semantic_core"]["tables"]["documents"]["sqlite"]
    assert "module_id INTEGER" in documents
    assert "REFERENCES modules" not in documents
    # Keys inside one database are kept.
    embeddings = dbs["vector_operations"]["tables"]["embeddings"]["sqlite"]
    assert "REFERENCES embedding_models (id) ON DELETE CASCADE" in embeddings


def test_indexes(hub):
    indexes = {name for db in hub["databases"].values() for name in db["indexes"]}
    assert indexes
    assert {"ix_modules_name", "ix_error_logs_module_level"} <= indexes
    ddl = hub["databases"]["framework"]["indexes"]["ix_modules_name"]
    assert ddl["sqlite"] == "CREATE UNIQUE INDEX ix_modules_name ON modules (name)"


def test_include_and_default_database(tmp_path):
    (tmp_path / "models.py").write_text(
        "from sqlalchemy import Column, Integer, MetaData, Table\n"
        "metadata = MetaData()\n"
        "things = Table('things', metadata, Column('id', Integer, primary_key=True))\n"
    )
    out = run_groundtruth(tmp_path, "--include", "*.py", "--default-database", "main")
    assert list(out["databases"]) == ["main"]
    assert list(out["databases"]["main"]["tables"]) == ["things"]
