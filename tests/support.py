"""Shared by the tests: SQLAlchemy's own DDL (by importing, in a subprocess) and astschema's."""

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy.schema import CreateIndex, CreateTable

from astschema.ddl import dialect
from astschema.snapshot import snapshot

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS.parent / "fixtures"
DIALECTS = ("sqlite", "postgresql")


def run_cli(*args, cwd=None):
    """`python -m astschema ARGS` in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "astschema", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, check=False)


def run_groundtruth(root, *args):
    """What importing the tree gives: {"databases": {db: {"tables", "indexes", ...}}}."""
    proc = subprocess.run(
        [sys.executable, str(TESTS / "groundtruth.py"), str(root), *args],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def astschema_ddl(schema):
    """The same shape as the ground truth, compiled from astschema's tables."""
    result = {}
    for database in schema.databases:
        metadata = schema.metadata(database.name)
        assert metadata.info["astschema_problems"] == []
        tables, indexes = {}, {}
        for table in metadata.tables.values():
            tables[table.fullname] = _compile(CreateTable(table))
            for index in table.indexes:
                indexes[index.name] = _compile(CreateIndex(index))
        result[database.name] = {"tables": tables, "indexes": indexes}
    return result


def _compile(element):
    out = {}
    for name in DIALECTS:
        try:
            out[name] = str(element.compile(dialect=dialect(name))).strip()
        except Exception as exc:
            out[name] = f"error: {type(exc).__name__}"
    return out


def assert_same_ddl(truth, ours):
    """The ground truth and astschema agree: same databases, tables, indexes, and the same DDL
    for each dialect SQLAlchemy itself could compile."""
    assert sorted(ours) == sorted(truth["databases"]), "databases differ"
    for name, expected in truth["databases"].items():
        for part in ("tables", "indexes"):
            assert sorted(ours[name][part]) == sorted(expected[part]), f"{part} of {name} differ"
            for item, ddl in expected[part].items():
                for each in DIALECTS:
                    if each in ddl:
                        assert ours[name][part][item][each] == ddl[each], f"{name}.{item} ({each})"


def assert_same_snapshot(truth, schema):
    """astschema's snapshot describes each table as SQLAlchemy's own import builds it (keys into
    another database, which the ground truth drops, left aside)."""
    document, problems = snapshot(schema)
    assert problems == []
    ours = document["databases"]
    for name, tables in ours.items():
        for table in tables.values():
            table["foreign_keys"] = [{k: v for k, v in key.items() if k != "database"}
                                     for key in table["foreign_keys"] if key["database"] == name]
    assert sorted(ours) == sorted(truth["databases"]), "databases differ"
    for name, expected in truth["databases"].items():
        assert ours[name] == dict(sorted(expected["described"].items())), f"snapshot of {name}"
