"""create and diff: against SQLite files, and a real PostgreSQL server (see conftest.py)."""

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from textwrap import dedent

import pytest
import sqlalchemy as sa

from support import FIXTURES, TESTS, run_cli as run

HUB = FIXTURES / "hub"


def master(path: Path) -> set:
    with sqlite3.connect(path) as connection:
        return set(connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))


def bootstrap(template: str) -> None:
    """The import-based bootstrap, in a subprocess: import every model module, create_all."""
    proc = subprocess.run([sys.executable, str(TESTS / "groundtruth.py"), str(HUB), "--create", template],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_create_gives_what_the_import_bootstrap_gives(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    proc = run("create", HUB, "--url-template", f"sqlite:///{ours}/{{name}}.db")
    assert proc.returncode == 0, proc.stderr
    bootstrap(f"sqlite:///{theirs}/{{name}}.db")
    for name in ("framework", "semantic_core", "vector_operations"):
        assert master(ours / f"{name}.db") == master(theirs / f"{name}.db")
    assert "framework: Database created with 9 tables from modules: modules.core.database," in proc.stdout
    assert proc.stdout.strip().endswith("Created 3 complete databases: framework, semantic_core, vector_operations")
    # an allowed cross-database key is left out of SQLite, and the log names it
    assert "documents(module_id) -> modules.id (in database framework) is left out" in proc.stdout


def test_default_target_second_run_and_dry_run(tmp_path):
    dry = run("create", HUB, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and "CREATE TABLE modules" in dry.stdout
    assert list(tmp_path.iterdir()) == []  # touched nothing
    first = run("create", HUB, cwd=tmp_path)
    assert first.returncode == 0
    files = {p.name: p.read_bytes() for p in (tmp_path / "data" / "database").glob("*.db")}
    assert sorted(files) == ["framework.db", "semantic_core.db", "vector_operations.db"]
    second = run("create", HUB, cwd=tmp_path)
    assert second.returncode == 0
    assert "framework: up to date (9 tables)" in second.stdout
    assert second.stdout.strip().endswith("All databases are up to date.")
    assert {p.name: p.read_bytes() for p in (tmp_path / "data" / "database").glob("*.db")} == files
    assert run("diff", HUB, cwd=tmp_path).returncode == 0


DRIFTS = {
    "missing table": ("DROP TABLE settings_history", "missing table settings_history"),
    "extra table": ("CREATE TABLE leftovers (id INTEGER)", "extra table leftovers"),
    "extra column": ("ALTER TABLE modules ADD COLUMN legacy TEXT", "extra column modules.legacy"),
    "missing index": ("DROP INDEX ix_framework_events_source_module", "missing index ix_framework_events_source_module"),
    "missing column": (
        ["ALTER TABLE framework_events RENAME TO old_events",
         "CREATE TABLE framework_events (id INTEGER PRIMARY KEY, event_type VARCHAR(100) NOT NULL, "
         "source_module VARCHAR(100), payload TEXT, created_at DATETIME NOT NULL)",
         "DROP TABLE old_events",
         "CREATE INDEX ix_framework_events_source_module ON framework_events (source_module)",
         "CREATE INDEX ix_framework_events_type_created ON framework_events (event_type, created_at)"],
        "missing column framework_events.processed"),
    "type and nullability": (
        ["ALTER TABLE error_patterns RENAME TO old_patterns",
         "CREATE TABLE error_patterns (id INTEGER PRIMARY KEY, signature TEXT NOT NULL UNIQUE, description TEXT, "
         "occurrences INTEGER DEFAULT 0 NOT NULL, first_seen DATETIME, last_seen DATETIME)",
         "DROP TABLE old_patterns"],
        "column error_patterns.first_seen nullable differs"),
}


@pytest.mark.parametrize("kind", DRIFTS)
def test_drift_is_reported_and_nothing_is_changed(tmp_path, kind):
    template = f"sqlite:///{tmp_path}/{{name}}.db"
    assert run("create", HUB, "--url-template", template).returncode == 0
    statements, expected = DRIFTS[kind]
    with sqlite3.connect(tmp_path / "framework.db") as connection:
        connection.execute("PRAGMA foreign_keys=OFF")
        for statement in [statements] if isinstance(statements, str) else statements:
            connection.execute(statement)
    before = (tmp_path / "framework.db").read_bytes()
    report = run("diff", HUB, "--url-template", template, "--output-format", "json")
    assert report.returncode == 1
    drift = json.loads(report.stdout)["databases"]
    assert any(expected in line for line in drift["framework"]), drift["framework"]
    assert drift["semantic_core"] == [] and drift["vector_operations"] == []
    again = run("create", HUB, "--url-template", template)
    assert again.returncode == 1 and "framework: drifted from the models; left unchanged:" in again.stdout
    assert (tmp_path / "framework.db").read_bytes() == before


def test_type_change_is_drift(tmp_path):
    template = f"sqlite:///{tmp_path}/{{name}}.db"
    assert run("create", HUB, "--url-template", template).returncode == 0
    with sqlite3.connect(tmp_path / "vector_operations.db") as connection:
        connection.execute("PRAGMA foreign_keys=OFF")
        connection.execute("ALTER TABLE embedding_models RENAME TO old")
        connection.execute(
            "CREATE TABLE embedding_models (id INTEGER NOT NULL, name VARCHAR(200) NOT NULL, "
            "provider VARCHAR(50) DEFAULT 'local' NOT NULL, dimensions VARCHAR(10) NOT NULL, "
            "cost_per_1k_tokens NUMERIC(10, 2), config TEXT, created_at DATETIME NOT NULL, "
            "updated_at DATETIME NOT NULL, PRIMARY KEY (id), UNIQUE (name))")
        connection.execute("DROP TABLE old")
    drift = json.loads(run("diff", HUB, "--url-template", template, "--output-format", "json").stdout)
    lines = drift["databases"]["vector_operations"]
    assert any("embedding_models.dimensions type differs" in line and "VARCHAR(10)" in line for line in lines), lines


def test_add_missing_creates_tables_and_indexes_only(tmp_path):
    template = f"sqlite:///{tmp_path}/{{name}}.db"
    assert run("create", HUB, "--url-template", template).returncode == 0
    with sqlite3.connect(tmp_path / "framework.db") as connection:
        connection.execute("DROP TABLE settings_history")
        connection.execute("DROP INDEX ix_framework_events_source_module")
    added = run("create", HUB, "--url-template", template, "--add-missing")
    assert added.returncode == 0, added.stdout
    assert "framework: added missing table settings_history" in added.stdout
    assert run("diff", HUB, "--url-template", template).returncode == 0
    with sqlite3.connect(tmp_path / "framework.db") as connection:
        connection.execute("ALTER TABLE modules ADD COLUMN legacy TEXT")
    refused = run("create", HUB, "--url-template", template, "--add-missing")
    assert refused.returncode == 1 and "extra column modules.legacy" in refused.stdout


FAILING = {
    "db_models.py": """
        from sqlalchemy import Column, Integer, text
        from sqlalchemy.orm import declarative_base
        DATABASE_NAME = "shop"
        Base = declarative_base()

        class A(Base):
            __tablename__ = "a"
            id = Column(Integer, primary_key=True)

        class B(Base):
            __tablename__ = "b"
            id = Column(Integer, primary_key=True)
            n = Column(Integer, server_default=text("no such ((syntax"))
    """,
}


def write(root: Path, files: dict) -> Path:
    for name, source in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(dedent(source))
    return root


def test_failure_in_the_middle_leaves_the_database_as_it_was(tmp_path):
    models = write(tmp_path / "models", FAILING)
    target = tmp_path / "out"
    proc = run("create", models, "--url-template", f"sqlite:///{target}/{{name}}.db")
    assert proc.returncode == 1
    assert "shop: failed while running: CREATE TABLE b (" in proc.stdout and "nothing was changed" in proc.stdout
    assert not (target / "shop.db").exists()  # it did not exist before the run
    # an existing database with table a gets nothing half-done either
    target.mkdir(exist_ok=True)
    with sqlite3.connect(target / "shop.db") as connection:
        connection.execute("CREATE TABLE a (id INTEGER NOT NULL, PRIMARY KEY (id))")
    before = (target / "shop.db").read_bytes()
    proc = run("create", models, "--url-template", f"sqlite:///{target}/{{name}}.db", "--add-missing")
    assert proc.returncode == 1 and "failed" in proc.stdout
    assert (target / "shop.db").read_bytes() == before


def test_concurrent_runs_take_turns(tmp_path):
    template = f"sqlite:///{tmp_path}/{{name}}.db"
    runs = [subprocess.Popen([sys.executable, "-m", "astschema", "create", str(HUB), "--url-template", template],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=120), p.stdout.read()) for p in runs]
    assert [code for code, _ in results] == [0, 0, 0], results
    created = [out for _, out in results if "Created 3 complete databases" in out]
    assert created, results
    assert all("Traceback" not in out for _, out in results)
    assert run("diff", HUB, "--url-template", template).returncode == 0


def test_unsafe_names_and_check_errors_stop_create(tmp_path):
    models = write(tmp_path / "models", {"db_models.py": """
        from sqlalchemy import Column, Integer
        from sqlalchemy.orm import declarative_base
        DATABASE_NAME = "../escape"
        Base = declarative_base()

        class A(Base):
            __tablename__ = "a"
            id = Column(Integer, primary_key=True)
    """})
    proc = run("create", models, cwd=tmp_path)
    assert proc.returncode == 1 and "AS502" in proc.stderr and "nothing was created" in proc.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "escape.db").exists()


def test_raw_sql_blocks_unless_allowed(tmp_path):
    models = write(tmp_path / "models", {"db_models.py": """
        from sqlalchemy import Column, Integer, text
        from sqlalchemy.orm import declarative_base
        DATABASE_NAME = "shop"
        Base = declarative_base()

        class A(Base):
            __tablename__ = "a"
            id = Column(Integer, primary_key=True)
            n = Column(Integer, server_default=text("0 /* zero */"))
    """})
    template = f"sqlite:///{tmp_path}/{{name}}.db"
    blocked = run("create", models, "--url-template", template)
    assert blocked.returncode == 1 and "AS501" in blocked.stderr and not (tmp_path / "shop.db").exists()
    # allowed, the fragment runs inside its own single statement (sqlite3 refuses more than one)
    allowed = run("create", models, "--url-template", template, "--allow-raw-sql")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


# -- PostgreSQL --------------------------------------------------------------------------------


def catalog(url: str) -> dict:
    """Tables, columns, keys and indexes as PostgreSQL reports them."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        result = {}
        for table in inspector.get_table_names():
            result[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in inspector.get_columns(table)],
                "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]),
                               str(f.get("options"))) for f in inspector.get_foreign_keys(table)),
                "indexes": sorted((i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)),
                "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            }
        return result
    finally:
        engine.dispose()


def test_postgres_per_database(postgres_url):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    ours = f"{postgres_url}/{prefix}_a_{{name}}"
    proc = run("create", HUB, "--url-template", ours)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bootstrap(f"{postgres_url}/{prefix}_b_{{name}}")
    for name in ("framework", "semantic_core", "vector_operations"):
        assert catalog(f"{postgres_url}/{prefix}_a_{name}") == catalog(f"{postgres_url}/{prefix}_b_{name}")
    again = run("create", HUB, "--url-template", ours)
    assert again.returncode == 0 and "All databases are up to date." in again.stdout
    assert run("diff", HUB, "--url-template", ours).returncode == 0


def test_postgres_schemas_enforce_cross_database_keys(postgres_url):
    database = f"t{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(f"{postgres_url}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    server.dispose()
    url = f"{postgres_url}/{database}"
    proc = run("create", HUB, "--postgres-schemas", url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "left out" not in proc.stdout  # the keys are real here
    assert run("diff", HUB, "--postgres-schemas", url).returncode == 0
    assert "All databases are up to date." in run("create", HUB, "--postgres-schemas", url).stdout
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            fks = sa.inspect(connection).get_foreign_keys("documents", schema="semantic_core")
            assert {(f["referred_schema"], f["referred_table"]) for f in fks} >= {("framework", "modules")}
        with pytest.raises(sa.exc.IntegrityError):
            with engine.begin() as connection:
                connection.exec_driver_sql(
                    "INSERT INTO semantic_core.documents (module_id, path, content_hash, size_bytes) "
                    "VALUES (424242, 'a.txt', 'h', 1)")
    finally:
        engine.dispose()


INJECTION = {"db_models.py": """
    from sqlalchemy import Column, Integer, text
    from sqlalchemy.orm import declarative_base
    DATABASE_NAME = "shop"
    Base = declarative_base()

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        n = Column(Integer, server_default=text("0); DROP TABLE victims; CREATE TABLE z (y INTEGER"))
"""}


def test_raw_sql_runs_one_statement_at_a_time_even_when_allowed(tmp_path, postgres_url):
    models = write(tmp_path / "models", INJECTION)
    database = f"t{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(f"{postgres_url}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    server.dispose()
    url = f"{postgres_url}/{database}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE victims (id INTEGER)")
    for target in (["--url-template", f"sqlite:///{tmp_path}/{{name}}.db"], ["--postgres-schemas", url]):
        proc = run("create", models, "--allow-raw-sql", *target)
        assert proc.returncode == 1, proc.stdout
        assert "refusing to run more than one statement at once" in proc.stdout
    with engine.connect() as connection:
        assert sa.inspect(connection).has_table("victims")
        assert not sa.inspect(connection).has_table("z")
    engine.dispose()
    assert not (tmp_path / "shop.db").exists()


def test_postgres_concurrent_runs_take_turns(postgres_url):
    template = f"{postgres_url}/t{uuid.uuid4().hex[:8]}_{{name}}"
    runs = [subprocess.Popen([sys.executable, "-m", "astschema", "create", str(HUB), "--url-template", template],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=120), p.stdout.read()) for p in runs]
    assert [code for code, _ in results] == [0, 0, 0], results
    assert sum("Created 3 complete databases" in out for _, out in results) >= 1
    assert run("diff", HUB, "--url-template", template).returncode == 0
