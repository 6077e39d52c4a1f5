"""fixtures/broken: a realistic application tree with at least one instance of every rule's mistake.

The exact set of (code, path, line) findings is written out below, so a new false positive
or a lost finding fails this test. fixtures/broken/README.md explains each planted mistake.
"""

import ast
import dataclasses
from pathlib import Path

import pytest

import astschema
from astschema.checker import check
from astschema.config import Config
from astschema.rules import ALL_RULES

TREE = Path(__file__).resolve().parent.parent / "fixtures" / "broken"

SETTINGS = "modules/core/settings/db_models.py"
ERRORS = "modules/core/error_handler/db_models.py"
MONITORING = "modules/core/monitoring/db_models.py"
SEMANTIC = "modules/standard/semantic_core/db_models.py"
VECTORS = "modules/standard/vector_operations/db_models.py"
ANALYTICS = "modules/standard/analytics/db_models.py"
REPORTING = "modules/standard/reporting/db_models.py"
NOTIFICATIONS = "modules/standard/notifications/db_models.py"
SEARCH = "modules/standard/search/db_models.py"
LEGACY = "modules/standard/legacy_import/db_models.py"
PLUGINS = "modules/standard/plugins/db_models.py"

# A list, not a set: the same mistake reported twice on one line must show too.
EXPECTED = [
    # -- suppressions ---------------------------------------------------------------------------
    ("AS001", NOTIFICATIONS, 32),  # ignore[AS304] on a key whose types match: suppresses nothing
    # (the used ignore[AS301] on index_builds.module_id hides an AS301: see the last test)

    # -- scan -----------------------------------------------------------------------------------
    ("AS100", LEGACY, 1),  # a NUL byte: the file is skipped
    ("AS101", PLUGINS, 22),  # merge-conflict markers (`<<<<<<< HEAD`)
    ("AS102", NOTIFICATIONS, 1),  # no DATABASE_NAME; plain declarative_base(): tables go to 'default'
    ("AS103", REPORTING, 9),  # DATABASE_NAME = os.environ.get(...), also passed to DatabaseBase: once
    ("AS104", ANALYTICS, 15),  # DATABASE_NAME "analytics", DatabaseBase("metrics"): once, at the call

    # -- columns and tables ---------------------------------------------------------------------
    ("AS201", VECTORS, 42),  # Column(Vector(384)) from pgvector, outside the tree: NullType
    ("AS202", REPORTING, 35),  # class ReportSchedule(SchedulableModel): the base is never imported
    ("AS203", REPORTING, 18),  # ReportModel: mapped, no __tablename__, not __abstract__
    ("AS204", ANALYTICS, 25),  # String(get_settings().max_label_length)
    ("AS205", SETTINGS, 60),  # EncryptedText = load_utility("EncryptedText"): found by class name
    ("AS206", SEMANTIC, 70),  # Index(..., "created"): document_chunks has no such column
    ("AS207", VECTORS, 32),  # embeddings has a NullType column: no DDL on sqlite or postgresql
    ("AS208", MONITORING, 39),  # error_logs re-defined (extend_existing) with level as Integer
    ("AS209", VECTORS, 58),  # Float(53, decimal_places=4): no such argument
    ("AS210", VECTORS, 62),  # "jobs" in vector_operations and in metrics (analytics)
    ("AS211", MONITORING, 17),  # HealthSample has no primary key
    ("AS212", SEMANTIC, 78),  # Column("heading") on title, and an attribute heading
    ("AS213", SEMANTIC, 50),  # Index("ix_documents_content_hash") = documents.content_hash's automatic index
    # the identical copy of database_versions (extend_existing) adds its named constraint again,
    ("AS213", SETTINGS, 89),
    # and a second index ix_database_versions_database_name (index=True on both definitions;
    # SQLite's create_all fails "index ... already exists")
    ("AS213", SETTINGS, 95),

    # -- keys -----------------------------------------------------------------------------------
    ("AS301", SEMANTIC, 32),  # documents.module_id -> modules.id (framework)
    ("AS301", SEMANTIC, 39),  # documents.primary_embedding_id -> embeddings.id (vector_operations)
    ("AS301", VECTORS, 39),  # embeddings.document_id -> documents.id (semantic_core)
    ("AS302", ANALYTICS, 36),  # ForeignKey("metric_definition.id"): the table is metric_definitions
    ("AS303", ERRORS, 53),  # -> error_patterns.fingerprint: indexed, not unique
    ("AS304", SEMANTIC, 56),  # String(36) -> documents.id Integer
    ("AS305", SETTINGS, 58),  # ondelete="SET NULL" with nullable=False
    ("AS305", SEARCH, 43),  # ondelete="SET NULL" on Mapped[int] (NOT NULL by its annotation)
    ("AS306", MONITORING, 28),  # schema="monitoring" in the framework database
    ("AS307", ERRORS, 33),  # error_patterns <-> error_logs, no use_alter
    ("AS308", SEMANTIC, 39),  # semantic_core <-> vector_operations

    # -- deprecation and safety -----------------------------------------------------------------
    ("AS401", SETTINGS, 27),  # get_database_base(DATABASE_NAME)
    ("AS501", ERRORS, 59),  # server_default=text("'unknown' -- filled in by the collector")
    ("AS502", SEARCH, 9),  # DATABASE_NAME = "search-index"

    # -- snapshot -------------------------------------------------------------------------------
    ("AS601", SETTINGS, 54),  # settings_values.key String(200); schema.lock.json says String(100)
]


def relative(location) -> str:
    return Path(location.path).resolve().relative_to(TREE).as_posix()


def places(findings) -> list[tuple[str, str, int]]:
    return sorted((f.code, relative(f.location), f.location.line) for f in findings)


@pytest.fixture(scope="module")
def schema():
    return astschema.scan([TREE], config=Config().with_overrides(against=str(TREE / "schema.lock.json")))


@pytest.fixture(scope="module")
def findings(schema):
    return check(schema)


def test_every_finding_has_a_location(findings):
    assert [str(f) for f in findings if f.location is None] == []


def test_exact_findings(findings):
    found = places(findings)
    unexpected = sorted(set(found) - set(EXPECTED))
    missing = sorted(set(EXPECTED) - set(found))
    assert (unexpected, missing) == ([], []), "\n".join(
        [f"unexpected: {u}" for u in unexpected] + [f"missing: {m}" for m in missing]
    )
    assert found == sorted(EXPECTED)  # the same counts, too


@pytest.fixture(scope="module")
def extend_existing():
    """AS402's findings: the configuration must ask for extend_existing everywhere."""
    required = astschema.scan([TREE], config=Config().with_overrides(require_extend_existing=True))
    return check(required, select=["AS402"])


def test_every_rule_appears(findings, extend_existing):
    assert {rule.code for rule in ALL_RULES} - {f.code for f in findings + extend_existing} == set()


def test_extend_existing_is_asked_of_every_table_without_it(extend_existing):
    """Where `require-extend-existing` finds a class, read independently with `ast`: every class
    with a `__tablename__` whose source does not say extend_existing, at its `__table_args__`
    when it has them, else at the class; but ReportSchedule, whose base is never imported
    (AS202): not known to be a model, it is left out."""
    expected = []
    for path in sorted(TREE.rglob("db_models.py")):
        try:
            text = path.read_text()
            tree = ast.parse(text)
        except (SyntaxError, ValueError, UnicodeDecodeError):  # the unreadable and unparsable files
            continue
        for node in ast.walk(tree):
            assigned = {target.id: statement.value for statement in getattr(node, "body", [])
                        if isinstance(statement, ast.Assign) for target in statement.targets
                        if isinstance(target, ast.Name)}
            if (isinstance(node, ast.ClassDef) and "__tablename__" in assigned
                    and "extend_existing" not in ast.get_source_segment(text, node)):
                args = assigned.get("__table_args__")
                expected.append(("AS402", path.relative_to(TREE).as_posix(), (args or node).lineno))
    expected.remove(("AS402", REPORTING, 35))
    assert len(expected) == 19
    assert places(extend_existing) == sorted(expected)


def test_the_unreadable_file_really_has_a_nul_byte():
    assert b"\0" in (TREE / LEGACY).read_bytes()


def test_suppressions_hide_exactly_one_finding(schema):
    """Without the comments: the used ignore[AS301] shows its key, the unused one has no AS001."""
    line = next(n for n, text in enumerate((TREE / VECTORS).read_text().splitlines(), 1)
                if "astschema: ignore[AS301]" in text)
    bare = check(dataclasses.replace(schema, suppressions=()))
    expected = [p for p in EXPECTED if p[0] != "AS001"] + [("AS301", VECTORS, line)]
    assert places(bare) == sorted(expected)
