"""astschema reads scanned code and never runs it: no import, no exec, no side effect."""

import json
import os
import subprocess
import sys

from support import FIXTURES, TESTS

TREE = FIXTURES / "executes"


def test_scan_runs_nothing_of_the_scanned_tree(tmp_path):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, str(TESTS / "audit_scan.py"), str(TREE)],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "EXECUTED" not in proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["violations"] == []
    assert report["imported"] == []
    # The tables were still read, through the imported mixin and base.
    assert report["tables"] == {"executes": ["owners", "pets"]}
    assert not list(TREE.rglob("IMPORTED.marker"))
    assert list(tmp_path.iterdir()) == []


def test_the_fixture_really_has_side_effects(tmp_path):
    """Guards the test above: importing the fixture does write the marker and raise."""
    code = "import app.db_models"
    env = dict(os.environ, PYTHONPATH=str(TREE), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.returncode != 0 and "must never happen" in proc.stderr
        assert list(TREE.rglob("IMPORTED.marker"))
    finally:
        for marker in TREE.rglob("IMPORTED.marker"):
            marker.unlink()
