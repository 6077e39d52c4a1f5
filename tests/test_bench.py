"""The benchmark harness (`bench/run.py`) end to end on a small generated tree: it checks
astschema's DDL against the import bootstrap's before timing anything, and its floors time
the same tables."""

import json
import subprocess
import sys

import pytest

from test_cache import ROOT


SIZE = 4  # modules; each has 10 tables


def test_benchmark_runs_and_times_the_same_tables(tmp_path):
    figures = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--sizes", str(SIZE), "--repeat", "1",
                           "--work", str(tmp_path / "work"), "--json", str(figures)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr  # it stops when the DDL differs from the bootstrap's
    (result,) = json.loads(figures.read_text())
    assert set(result["rows"]) == {"bootstrap", "cold", "warm", "touched", "edited",
                                   "ast floor", "cst floor", "parse stage", "sqlalchemy floor"}
    assert result["sqlalchemy_tables"] == result["tables"] == SIZE * 10
    parts = result["sqlalchemy_parts_seconds"]
    assert set(parts) == {"build", "sqlite", "postgresql"}
    assert sum(parts.values()) == pytest.approx(result["sqlalchemy_loop_seconds"])
    boot = result["rows"]["bootstrap"]["seconds"]
    floors = (result["cst_loop_seconds"] + result["sqlalchemy_loop_seconds"]) / boot
    assert result["floors_over_bootstrap"] == pytest.approx(floors, abs=0.002)  # one round: its own ratio
    assert f"{result['floors_over_bootstrap']:.3f}x the bootstrap on one core" in done.stdout
