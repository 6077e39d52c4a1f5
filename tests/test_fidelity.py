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
