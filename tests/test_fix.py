"""`fix` and `check --fix` on a copy of the example application, as a user runs them.

Each fixable rule's own examples (INVALID source, fixed source, a fixed point, the same
schema) run in test_rules.py; here the whole tree: the fixed tree still imports, and SQLAlchemy
builds from it the schema it built before.
"""

import os
import shutil
import stat

import pytest

import astschema
from astschema.checker import check
from astschema.fix import fixes, write_fixes
from astschema.snapshot import snapshot
from support import FIXTURES, assert_same_snapshot, run_cli as run, run_groundtruth

LEGACY = "modules/core/error_handler/db_models.py"


@pytest.fixture
def hub(tmp_path):
    tree = tmp_path / "hub"
    shutil.copytree(FIXTURES / "hub", tree)
    return tree


def files(tree):
    return {p.relative_to(tree).as_posix(): p.read_bytes() for p in sorted(tree.rglob("*.py"))}


def test_diff_writes_nothing_then_fix_rewrites_only_what_it_must(hub):
    before = files(hub)
    shown = run("fix", "--diff", "--no-cache", cwd=hub)
    assert shown.returncode == 1, shown.stderr  # something would change
    assert files(hub) == before
    assert shown.stdout.splitlines()[:2] == [f"--- a/{LEGACY}", f"+++ b/{LEGACY}"]
    assert [line for line in shown.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")] == [
        "-from modules.core.database.db_models import get_database_base",
        "+from core.database import DatabaseBase",
        "-Base = get_database_base(DATABASE_NAME)",
        "+Base = DatabaseBase(DATABASE_NAME)",
    ]
    assert "would fix 1 findings in 1 files; 0 left" in shown.stderr

    os.chmod(hub / LEGACY, 0o640)
    done = run("fix", "--no-cache", cwd=hub)
    assert done.returncode == 0 and "fixed 1 findings in 1 files" in done.stderr
    after = files(hub)
    assert {name for name in before if before[name] != after[name]} == {LEGACY}
    assert stat.S_IMODE(os.stat(hub / LEGACY).st_mode) == 0o640  # the file's mode is kept
    # every other line, comment and import of the file as it was
    old, new = before[LEGACY].decode().splitlines(), after[LEGACY].decode().splitlines()
    assert len(old) == len(new) and sum(a != b for a, b in zip(old, new, strict=True)) == 2

    again = run("fix", "--no-cache", "--diff", cwd=hub)
    assert again.returncode == 0 and again.stdout == "" and "would fix 0 findings" in again.stderr
    assert run("check", "--no-cache", cwd=hub).stdout == "All checks passed.\n"


def test_the_fixed_tree_imports_and_builds_the_schema_it_did(hub):
    before = snapshot(astschema.scan([hub]))[0]
    (hub / "pyproject.toml").write_text((hub / "pyproject.toml").read_text() + "require-extend-existing = true\n")
    findings = run("check", "--no-cache", cwd=hub)
    assert findings.returncode == 0 and findings.stdout.count("AS402") == 6 and "AS401" in findings.stdout
    fixed = run("check", "--fix", "--no-cache", cwd=hub)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout == "All checks passed.\n" and "fixed 7 findings in 5 files" in fixed.stderr
    schema = astschema.scan([hub])
    assert snapshot(schema)[0] == before  # the same schema, as astschema reads it
    truth = run_groundtruth(hub)  # and as SQLAlchemy builds it, importing the fixed tree
    assert truth["import_errors"] == {}
    assert_same_snapshot(truth, schema)


def test_suppressed_findings_are_not_fixed(hub):
    legacy = hub / LEGACY
    legacy.write_text(legacy.read_text().replace("Base = get_database_base(DATABASE_NAME)",
                                                 "Base = get_database_base(DATABASE_NAME)  # astschema: ignore[AS401]"))
    before = files(hub)
    proc = run("fix", "--no-cache", cwd=hub)
    assert proc.returncode == 0 and "fixed 0 findings in 0 files" in proc.stderr
    assert files(hub) == before


def test_a_file_changed_after_it_was_read_is_left_alone(hub):
    done, problems = fixes(check(astschema.scan([hub])))
    assert problems == [] and [fix.path for fix in done] == [str(hub / LEGACY)]
    edited = (hub / LEGACY).read_text() + "# edited meanwhile\n"
    (hub / LEGACY).write_text(edited)
    assert write_fixes(done) == [f"{hub / LEGACY}: not fixed: it changed while astschema read it"]
    assert (hub / LEGACY).read_text() == edited


def test_a_file_that_cannot_be_read_back_is_reported_not_fixed(hub):
    findings = check(astschema.scan([hub]))
    (hub / LEGACY).write_bytes(b"\xff\xfe not utf-8")
    done, problems = fixes(findings)
    assert done == [] and len(problems) == 1 and problems[0].startswith(f"{hub / LEGACY}: not fixed: cannot read")


def test_what_has_no_one_right_answer_is_left_and_counted(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.astschema]\nrequire-extend-existing = true\n")
    model = tmp_path / "db_models.py"
    model.write_text('DATABASE_NAME = "x"\nfrom sqlalchemy import Column, Integer\n'
                     "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n\n\n"
                     "class A(Base):\n    __tablename__ = 'a'\n    __table_args__ = {'extend_existing': False}\n"
                     "    id = Column(Integer, primary_key=True)\n\n\n"
                     "class B(Base):\n    __tablename__ = 'b'\n    id = Column(Integer, primary_key=True)\n")
    proc = run("fix", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 0 and "fixed 1 findings in 1 files; 1 left" in proc.stderr
    assert "    __tablename__ = 'b'\n    __table_args__ = {'extend_existing': True}\n" in model.read_text()
    assert "    __table_args__ = {'extend_existing': False}\n" in model.read_text()  # said so: not changed
    left = run("check", "--no-cache", cwd=tmp_path)
    assert left.stdout.startswith("db_models.py:9:22: AS402 table a of A") and "Found 1 warning" in left.stdout


def test_only_files_under_the_paths_given_are_fixed(hub):
    """A scan reads support modules outside its paths (a mixin's `__table_args__` in core/);
    `fix PATH` rewrites files under PATH only."""
    (hub / "pyproject.toml").write_text((hub / "pyproject.toml").read_text() + "require-extend-existing = true\n")
    mixins = hub / "core" / "database" / "__init__.py"
    mixins.write_text(mixins.read_text() + "\n\nclass ArgsMixin:\n    __table_args__ = {'comment': 'shared'}\n")
    settings = hub / "modules" / "core" / "settings" / "db_models.py"
    settings.write_text(settings.read_text().replace("from core.database import", "from core.database import ArgsMixin,")
                        .replace("class SettingsHistory(", "class SettingsHistory(ArgsMixin, "))
    findings = check(astschema.scan([hub]))
    assert [f.code for f in findings if f.location.path == str(mixins)] == ["AS402"]
    everywhere, _ = fixes(findings)
    under, _ = fixes(findings, within=[hub / "modules"])
    assert str(mixins) in [fix.path for fix in everywhere]
    assert [fix.path for fix in under] == [fix.path for fix in everywhere if fix.path != str(mixins)]
    run("fix", "--no-cache", cwd=hub)
    assert "{'comment': 'shared', 'extend_existing': True}" in mixins.read_text()
    assert run("check", "--no-cache", cwd=hub).stdout == "All checks passed.\n"


def test_a_class_whose_base_is_unknown_is_not_given_table_args(hub):
    """Scanning modules/ alone, the hub's mixins (in core/) are not found (AS202): a class of
    theirs might have `__table_args__` from one, so AS402 says nothing of it, and fixes nothing."""
    (hub / "pyproject.toml").write_text((hub / "pyproject.toml").read_text() + "require-extend-existing = true\n")
    found = run("check", "modules", "--no-cache", cwd=hub).stdout
    assert "AS202 base class of FrameworkSession not resolved" in found
    assert "FrameworkSession" not in "".join(line for line in found.splitlines() if "AS402" in line)
    assert "of ScheduledTask" in found  # no mixin: asked
