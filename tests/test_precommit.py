"""The pre-commit hook this repository offers (`.pre-commit-hooks.yaml`), installed with
pre-commit in a temporary git repository: a commit of a clean tree passes, one that breaks a
model is stopped with the finding."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from support import FIXTURES
from test_cache import ROOT


def git(repo: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=900, check=False)


def test_hook_passes_a_clean_tree_and_stops_a_broken_one(tmp_path):
    head = git(ROOT, "rev-parse", "HEAD").stdout.strip()
    assert head, "the tests run in astschema's git checkout"
    repo = tmp_path / "app"
    shutil.copytree(FIXTURES / "hub", repo)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {head}\n    hooks:\n      - id: astschema-check\n")
    assert git(repo, "init", "-q").returncode == 0
    environ = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    installed = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, env=environ,
                               capture_output=True, text=True, timeout=600, check=False)
    assert installed.returncode == 0, installed.stderr
    git(repo, "add", "-A")
    clean = git(repo, "commit", "-qm", "clean", env=environ)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "astschema check" in clean.stdout + clean.stderr and "Passed" in clean.stdout + clean.stderr

    models = repo / "modules" / "core" / "settings" / "db_models.py"
    models.write_text(models.read_text() + "\n\nclass Broken(SettingsBase):\n    note = Column(String(10))\n")
    git(repo, "add", "-A")
    broken = git(repo, "commit", "-qm", "broken", env=environ)
    output = broken.stdout + broken.stderr
    assert broken.returncode != 0 and "Failed" in output
    assert "modules/core/settings/db_models.py:" in output and "AS203" in output  # the finding, at file:line
    assert git(repo, "rev-list", "--count", "HEAD").stdout.strip() == "1"  # the broken commit was not made
