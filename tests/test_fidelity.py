"""Fidelity: astschema's DDL equals the DDL SQLAlchemy builds when the models are imported.

Each fixture tree is imported in a subprocess (tests/groundtruth.py); astschema only reads it.
Tables and indexes are compared one by one, for sqlite and postgresql.
"""

import pytest

import astschema
from support import DIALECTS, FIXTURES, astschema_ddl, run_groundtruth

TREES = [FIXTURES / "hub", *sorted(p for p in (FIXTURES / "patterns").iterdir() if p.is_dir())]


@pytest.mark.parametrize("tree", TREES, ids=lambda p: p.name)
def test_ddl_matches_import(tree):
    truth = run_groundtruth(tree)
    assert truth["import_errors"] == {}, "the fixture itself must import"
    ours = astschema_ddl(astschema.scan([tree]))
    assert sorted(ours) == sorted(truth["databases"]), "databases differ"
    for name, expected in truth["databases"].items():
        assert sorted(ours[name]["tables"]) == sorted(expected["tables"]), f"tables of {name} differ"
        for table, ddl in expected["tables"].items():
            for dialect in DIALECTS:
                if dialect not in ddl:  # SQLAlchemy itself cannot compile it for this dialect
                    continue
                assert ours[name]["tables"][table][dialect] == ddl[dialect], f"{name}.{table} ({dialect})"
        assert sorted(ours[name]["indexes"]) == sorted(expected["indexes"]), f"indexes of {name} differ"
        for index, ddl in expected["indexes"].items():
            for dialect in DIALECTS:
                if dialect in ddl:
                    assert ours[name]["indexes"][index][dialect] == ddl[dialect], f"{name}.{index} ({dialect})"
