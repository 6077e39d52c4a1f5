"""fixtures/hostile: models whose import would write files, open a socket, start processes and
patch sys.modules, through every hook Python offers. Each CLI command reads them under an audit
hook (tests/audit_run.py) and must do none of it, and still find the tables."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from support import FIXTURES, TESTS

TREE = FIXTURES / "hostile"
MARKER = "HOSTILE.marker"
REPORT_PREFIX = "astschema-audit: "
TABLES = {"hostile_main": ["sessions", "users"], "hostile_billing": ["invoices", "payments"]}

# What each trap writes to its HOSTILE.marker when the tree is imported (fixtures/hostile/README.md).
TRAPS = [
    "package __init__ ran",
    "sys.modules patched",
    "socket opened",
    "billing package __init__ ran",
    "os.system ran",
    "subprocess.run ran",
    "metaclass ran for User",
    "__init_subclass__ ran for User",
    "class decorator ran on User",
    "class body of User ran",
    "class body comprehension of Session ran",
    "default argument evaluated",
    "default argument of DatabaseBase evaluated",
    "DatabaseBase('hostile_billing') ran",
    "__set_name__ ran for User.tracked",
    "module __getattr__ ran for LazyType",
    "importlib.import_module loaded app.plugins",
    "exec of a string ran",
    "eval of a string ran",
    "compile of a string ran",
    "eval in billing ran",
    "local type function called",
    "sitecustomize ran",
    "evil.pth ran",
]


def markers():
    return sorted(TREE.rglob(MARKER))


def remove_markers():
    for marker in markers():
        marker.unlink()


def env():
    return dict(os.environ, PYTHONDONTWRITEBYTECODE="1")


COMMANDS_WITH_OPTIONS = {"check", "ddl", "dump", "graph", "summary"}


def audit(cwd, *args, tree=TREE, timeout=120):
    """Run `python -m astschema ARGS` in `cwd` under the audit hook watching `tree`; (process, report).

    In one process that writes nothing (`--jobs 1 --no-cache`, as SECURITY.md advises for a
    review), so that the hook sees every step: worker processes would not report to it."""
    options = ["--jobs", "1", "--no-cache"] if args and args[0] in COMMANDS_WITH_OPTIONS else []
    proc = subprocess.run(
        [sys.executable, str(TESTS / "audit_run.py"), str(tree), *args, *options],
        capture_output=True, text=True, cwd=cwd, env=env(), timeout=timeout, check=False, stdin=subprocess.DEVNULL,
    )
    lines = proc.stderr.splitlines()
    assert lines and lines[-1].startswith(REPORT_PREFIX), proc.stderr
    return proc, json.loads(lines[-1].removeprefix(REPORT_PREFIX))


def test_the_traps_are_real(tmp_path):
    """Guards the tests below: importing the tree (as an application would) springs every trap."""
    code = (
        "import site, sys\n"
        f"site.addsitedir({str(TREE)!r})\n"  # processes evil.pth, as for a site-packages directory
        "import app.db_models, app.billing.db_models\n"
        "assert 'hostile_injected' in sys.modules and not hasattr(sys.modules['astschema'], '__file__')\n"
        "print(sorted(app.db_models.Base.metadata.tables), sorted(app.billing.db_models.Base.metadata.tables))\n"
    )
    assert not markers(), "stale markers from an earlier run"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=tmp_path, timeout=60,
            env=dict(env(), PYTHONPATH=str(TREE)),  # on the path, so sitecustomize.py runs at start-up
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split("\n")[0] == "['sessions', 'users'] ['invoices', 'payments']"
        written = {p.relative_to(TREE).as_posix() for p in markers()}
        assert written == {MARKER, f"app/{MARKER}", f"app/billing/{MARKER}"}
        fired = {line.removeprefix("HOSTILE ") for p in markers() for line in p.read_text().splitlines()}
        assert set(TRAPS) <= fired, set(TRAPS) - fired
    finally:
        remove_markers()
    assert list(tmp_path.iterdir()) == []


def test_the_audit_hook_catches_an_import(tmp_path):
    """Guards the audit runner: a stand-in `astschema` that imports the tree is caught on every count."""
    fake = tmp_path / "astschema"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(
        f"import site, sys\nsys.path.insert(0, {str(TREE)!r})\nsite.addsitedir({str(TREE)!r})\n"
        "import app.db_models, app.billing.db_models\n"
    )
    try:
        proc, report = audit(tmp_path, "dump")
    finally:
        remove_markers()
    assert proc.returncode == 0, proc.stderr
    seen = "\n".join(report["violations"])
    for expected in ["import app", "import app.hooks", "exec of code from " + str(TREE / "app" / "db_models.py"),
                     "compile of '<hostile>'", "open for writing", "socket.connect", "os.system",
                     "subprocess.Popen"]:
        assert expected in seen, expected
    assert "app.db_models" in report["modules_from_tree"]
    assert report["injected_modules"] == ["hostile_injected"]
    assert report["astschema_module"] is None  # the tree replaced it in sys.modules


COMMANDS = {
    "check": ["check"],
    "check-db-models-only": ["check", "--include", "**/db_models.py"],  # not the tree's own include
    "check-sarif": ["check", "--output-format", "sarif"],
    "ddl": ["ddl"],
    "dump": ["dump"],
    "graph": ["graph", "--format", "mermaid"],
    "summary": ["summary"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_runs_nothing_of_the_hostile_tree(tmp_path, command):
    assert not markers(), "stale markers from an earlier run"
    proc, report = audit(tmp_path, *COMMANDS[command], str(TREE))

    assert report["violations"] == []
    assert report["read_through_links"] == []
    assert report["modules_from_tree"] == []
    assert report["injected_modules"] == []
    assert report["astschema_module"] == str(TESTS.parent / "astschema" / "__init__.py")
    assert proc.returncode in (0, 1), proc.stderr
    assert report["exit_code"] == proc.returncode
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr
    assert not markers()
    assert list(tmp_path.iterdir()) == []

    out = proc.stdout
    if command == "dump":
        found = {d["name"]: sorted(t["name"] for t in d["tables"]) for d in json.loads(out)["databases"]}
        assert found == TABLES
    elif command == "ddl":
        assert "-- database: hostile_main" in out and "-- database: hostile_billing" in out
        for table in ("sessions", "invoices", "payments"):
            assert f"CREATE TABLE {table} (" in out
    elif command == "graph":
        assert out.startswith("flowchart")
        for database, tables in TABLES.items():
            assert all(f"{database}__{table}[" in out for table in tables)
    elif command == "summary":
        assert "hostile_billing: 2 tables" in out and "hostile_main: 2 tables" in out
    else:
        assert "db_models.py" in out  # findings point into the tree (unresolvable types)
        assert "AS201" in out


def hostile_copy(tmp_path):
    """A copy of the tree to add what git cannot hold (a FIFO) or what points outside it; and a cwd."""
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree, ignore=shutil.ignore_patterns(MARKER, "__pycache__"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return tree, cwd


def test_a_fifo_in_the_tree_does_not_hang_the_scan(tmp_path):
    tree, cwd = hostile_copy(tmp_path)
    os.mkfifo(tree / "app" / "pipe.py")  # nobody ever writes to it: opening it blocks
    proc, report = audit(cwd, "dump", str(tree), tree=tree, timeout=30)
    assert proc.returncode in (0, 1), proc.stderr
    assert report["violations"] == []


def test_links_out_of_the_tree_are_not_read(tmp_path):
    tree, cwd = hostile_copy(tmp_path)
    outside = tmp_path / "outside.py"
    outside.write_text("class LazyType:\n    pass\n")
    (tree / "app" / "leak.py").symlink_to(outside)
    proc, report = audit(cwd, "dump", str(tree), tree=tree)
    assert proc.returncode in (0, 1), proc.stderr
    assert report["violations"] == []
    assert report["read_through_links"] == []
