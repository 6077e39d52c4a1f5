"""Fuzz tests (hypothesis): generated models against SQLAlchemy, and arbitrary source against a crash.

* `test_fidelity_fuzz`: a random but importable model tree (tests/fuzz_models.py) is imported
  in a subprocess for SQLAlchemy's own DDL and scanned by astschema; every table and index
  must compile to the same DDL, as in test_fidelity.
* `test_arbitrary_source_never_crashes`: hypothesmith's random Python and mutated fixture and
  model files, as a `db_models.py`: scan, check, metadata and the JSON dump must not raise or
  hang, and every diagnostic points into the scanned file (or nowhere).

Budget: ASTSCHEMA_FUZZ_EXAMPLES examples for the fidelity test (default 15, `make fuzz` 300),
and that many times ROBUSTNESS_FACTOR[source] for each source of the robustness test
(hypothesmith's grammar is slow to draw from). Runs are derandomized so `make test` always runs
the same examples; ASTSCHEMA_FUZZ_SEED=N explores a different, still reproducible, set.

Bugs the fuzzers found are kept as regression examples below; a construct astschema still
gets wrong would be left out of the grammar through fuzz_models.KNOWN_BUGS (empty today).
"""

import json
import os
import signal
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, note, seed, settings

import astschema
from astschema.checker import check
from fuzz_models import Tree, arbitrary_sources, model_trees
from support import assert_same_ddl, assert_same_snapshot, astschema_ddl, run_groundtruth

EXAMPLES = int(os.environ.get("ASTSCHEMA_FUZZ_EXAMPLES", "15"))
ROBUSTNESS_FACTOR = {"grammar": 0.2, "node": 1, "fixture": 10, "model": 4}
SEED = os.environ.get("ASTSCHEMA_FUZZ_SEED")
TIME_LIMIT = 10.0  # seconds for one scan (and for check + metadata): longer is a hang


def fuzz_settings(examples):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=SEED is None,
        database=None,  # no example database: old failures are not replayed, runs stay reproducible
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.large_base_example],
    )


def seeded(test):
    return seed(int(SEED))(test) if SEED is not None else test


# -- fidelity ---------------------------------------------------------------------------------


BUG_TABLE_C_SUBSCRIPT = Tree({"db_models.py": """\
from sqlalchemy import Column, Index, Integer
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class T(Base):
    __tablename__ = "t"
    id = Column(Integer, primary_key=True)
    code = Column(Integer)


Index("ix_code", T.__table__.c["code"])
"""})

BUG_KEY_PYTHON_DEFAULT = Tree({"db_models.py": """\
from sqlalchemy import Column, Integer
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class T(Base):
    __tablename__ = "t"
    id = Column(Integer, primary_key=True, default=0)
"""})

BUG_DECLARED_ATTR_ORDER = Tree({"db_models.py": """\
from sqlalchemy import Column, Integer
from sqlalchemy.orm import declarative_base, declared_attr

Base = declarative_base()


class M:
    @declared_attr
    def first(cls):
        return Column(Integer)

    second = Column(Integer)


class T(M, Base):
    __tablename__ = "t"
    id = Column(Integer, primary_key=True)
"""})

BUG_STI_SORT_ORDER = Tree({"db_models.py": """\
from sqlalchemy import Integer
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class T(Base):
    __tablename__ = "t"
    id: Mapped[int] = mapped_column(primary_key=True)


class S(T):
    first: Mapped[int] = mapped_column(Integer)
    second: Mapped[int] = mapped_column(Integer, sort_order=-3)
"""})


# Bugs the fuzzer found (now fixed), kept as regression examples:
@example(tree=BUG_STI_SORT_ORDER)  # sort_order on a single-table subclass's column is not applied
@example(tree=BUG_TABLE_C_SUBSCRIPT)  # Model.__table__.c["col"] in an Index
@example(tree=BUG_KEY_PYTHON_DEFAULT)  # a Python-side default= turns off SERIAL on an integer key
@example(tree=BUG_DECLARED_ATTR_ORDER)  # a mixin's declared_attr columns come after its plain ones
@seeded
@fuzz_settings(EXAMPLES)
@given(tree=model_trees())
def test_fidelity_fuzz(tree):
    note(tree.listing())
    with tempfile.TemporaryDirectory(prefix="astschema-fuzz-") as tmp:
        root = Path(tmp)
        tree.write(root)
        truth = run_groundtruth(root)
        assert truth["import_errors"] == {}, "fuzz_models generated a tree that does not import"
        for database in truth["databases"].values():
            for table, ddl in database["tables"].items():
                assert "error" not in ddl, f"fuzz_models generated a table SQLAlchemy cannot compile: {table}"
        schema = astschema.scan([root])
        note(f"astschema diagnostics: {[str(d) for d in schema.diagnostics]}")
        assert_same_ddl(truth, astschema_ddl(schema))
        assert_same_snapshot(truth, schema)


# -- robustness -------------------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the alarm; a BaseException so no `except Exception` in astschema swallows it."""


@contextmanager
def time_limit(seconds, what):
    def alarm(signum, frame):
        raise Hang(f"{what} still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"{what} took {elapsed:.1f} s"


def max_line(data: bytes) -> int:
    """An upper bound on the line numbers of a file: every kind of line break counts."""
    return data.count(b"\n") + data.count(b"\r") + data.count(b"\x0c") + 2


def assert_located(diagnostics, path: Path, data: bytes):
    for diagnostic in diagnostics:
        where = diagnostic.location
        if where is None:
            continue
        assert Path(where.path).resolve() == path.resolve(), f"{diagnostic} points outside {path.name}"
        assert 1 <= where.line <= max_line(data) and where.col >= 0, f"{diagnostic}: no such place"


def assert_scan_survives(source: bytes):
    """scan, check, metadata and the JSON dump of a one-file tree: no exception, no hang, and
    every diagnostic at a place in that file (or at none)."""
    with tempfile.TemporaryDirectory(prefix="astschema-fuzz-") as tmp:
        path = Path(tmp) / "db_models.py"
        path.write_bytes(source)
        with time_limit(TIME_LIMIT, "scan"):
            schema = astschema.scan([tmp])
        assert_located(schema.diagnostics, path, source)
        with time_limit(TIME_LIMIT, "check and metadata"):
            findings = check(schema)
            for database in schema.databases:
                schema.metadata(database.name)
            json.dumps(schema.to_json(findings))
        assert_located(findings, path, source)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles what it generates
@pytest.mark.parametrize("kind", sorted(ROBUSTNESS_FACTOR))
def test_arbitrary_source_never_crashes(kind):
    # a @given per source, so that each gets its own budget
    @seeded
    @fuzz_settings(max(1, round(EXAMPLES * ROBUSTNESS_FACTOR[kind])))
    @given(source=arbitrary_sources(kind))
    def scan_survives(source):
        assert_scan_survives(source)

    scan_survives()


BUG_UNNAMED_INDEX = b"""\
from sqlalchemy import Column, Index, Integer, MetaData
from sqlalchemy.orm import declarative_base
Base = declarative_base(metadata=MetaData(naming_convention={"fk": "fk_%(table_name)s"}))
class T(Base):
    __tablename__ = "t"
    __table_args__ = (Index(None, "x"),)
    id = Column(Integer, primary_key=True)
    x = Column(Integer)
"""


def test_unnamed_index_under_a_naming_convention_is_a_finding():
    """Found by the robustness fuzzer: SQLAlchemy's compiler raises a bare AssertionError for an
    unnamed index whose naming convention has no "ix" key; that was an internal error."""
    assert_scan_survives(BUG_UNNAMED_INDEX)
    with tempfile.TemporaryDirectory(prefix="astschema-fuzz-") as tmp:
        (Path(tmp) / "db_models.py").write_bytes(BUG_UNNAMED_INDEX)
        findings = check(astschema.scan([tmp]))
    assert [f.code for f in findings if f.code == "AS207"], [str(f) for f in findings]


def test_package_check_stays_callable(tmp_path):
    """Found by the robustness fuzzer: `astschema.check` once became the submodule of that name
    (the module is astschema.checker now)."""
    schema = astschema.scan([tmp_path])
    astschema.check(schema)
    astschema.check(schema)
