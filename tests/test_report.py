"""The output formats of `check`: text, json, SARIF 2.1.0 (validated against the official schema), github."""

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from jsonschema import Draft7Validator, FormatChecker

import astschema
from astschema.checker import check
from astschema.diagnostics import Diagnostic, Location
from astschema.report import escape, render
from astschema.rules import ALL_RULES

TESTS = Path(__file__).resolve().parent
SCHEMA = json.loads((TESTS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

HEADER = "from sqlalchemy import Column, Integer, String\nfrom sqlalchemy.orm import declarative_base\n"
# One warning (AS401, line 5) and two errors (AS211, lines 6 and 9).
MIXED = (HEADER + "from modules.core.database.db_models import get_database_base\n"
         'DATABASE_NAME = "x"\nBase = get_database_base(DATABASE_NAME)\n'
         'class T(Base):\n    __tablename__ = "t"\n    name = Column(String(10))\n'
         'class U(Base):\n    __tablename__ = "u"\n    name = Column(String(10))\n')
CLEAN = (HEADER + 'DATABASE_NAME = "x"\nBase = declarative_base()\n'
         'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n')
# A table name holding an escape sequence, a newline and a right-to-left override.
EVIL = (HEADER + 'DATABASE_NAME = "x"\nBase = declarative_base()\n'
        'class T(Base):\n    __tablename__ = "evil\\x1b[31m\\nred\\u202e"\n    name = Column(String(10))\n')


def findings_of(root: Path, files: dict[str, str], scan_path: str = "models") -> list[Diagnostic]:
    """Write `files` under root/models and check them, scanning `scan_path` relative to root."""
    for name, text in files.items():
        path = root / "models" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return check(astschema.scan([scan_path]))


@pytest.fixture
def mixed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths, as a CI job scanning its checkout has
    return findings_of(tmp_path, {"a/db_models.py": MIXED})


def test_the_example_tree_has_errors_and_warnings(mixed):
    assert [(f.code, f.severity.value, f.location.path, f.location.line, f.location.col) for f in mixed] == [
        ("AS401", "warning", "models/a/db_models.py", 5, 8),
        ("AS211", "error", "models/a/db_models.py", 6, 7),
        ("AS211", "error", "models/a/db_models.py", 9, 7),
    ]


# --- sarif --------------------------------------------------------------------------------------

def validate(log: dict) -> None:
    errors = sorted(Draft7Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_schema_copy_is_the_official_sarif_2_1_0_schema():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "2.1.0" in SCHEMA["title"] and "SARIF" in SCHEMA["title"]
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]
    Draft7Validator.check_schema(SCHEMA)
    # The copy is strict: it rejects what a SARIF log must not have.
    with pytest.raises(AssertionError):
        validate({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]})


def test_sarif_validates_and_describes_every_rule(mixed):
    log = json.loads(render(mixed, "sarif"))
    validate(log)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "astschema"
    assert driver["version"] == astschema.__version__
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in ALL_RULES]
    for described, rule in zip(rules, ALL_RULES, strict=True):
        assert described["shortDescription"]["text"] == rule.summary()
        assert described["fullDescription"]["text"] == rule.doc()
        assert described["help"]["text"] == rule.doc()
        assert described["defaultConfiguration"]["level"] == rule.severity.value
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", described["name"])
    assert next(r for r in rules if r["id"] == "AS301")["name"] == "CrossDatabaseForeignKey"


def test_sarif_results_point_at_their_rule_and_place(mixed):
    run = json.loads(render(mixed, "sarif"))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("AS401", "warning"), ("AS211", "error"),
                                                             ("AS211", "error")]
    for result, finding in zip(results, mixed, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"] == finding.message
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "models/a/db_models.py"  # relative, as given
        assert physical["region"] == {"startLine": finding.location.line, "startColumn": finding.location.col}


def test_sarif_of_a_clean_run_validates_and_still_lists_the_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    findings = findings_of(tmp_path, {"a/db_models.py": CLEAN})
    assert findings == []
    log = json.loads(render(findings, "sarif"))
    validate(log)
    assert log["runs"][0]["results"] == []
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) == len(ALL_RULES)


def test_sarif_finding_without_location_has_no_locations():
    finding = Diagnostic("AS308", "databases a and b reference each other", None)
    log = json.loads(render([finding], "sarif"))
    validate(log)
    (result,) = log["runs"][0]["results"]
    assert "locations" not in result
    assert result["level"] == "error"


def test_sarif_uri_is_a_percent_encoded_posix_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    findings = findings_of(tmp_path, {"odd:dir,50% x/db_models.py": EVIL})
    log = json.loads(render(findings, "sarif"))
    validate(log)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert " " not in uri and ":" not in uri and "%25" in uri
    assert unquote(uri) == "models/odd:dir,50% x/db_models.py"


def test_sarif_absolute_paths_become_file_uris(tmp_path):
    findings = findings_of(tmp_path, {"a/db_models.py": MIXED}, scan_path=str(tmp_path / "models"))
    log = json.loads(render(findings, "sarif"))
    validate(log)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == (tmp_path / "models" / "a" / "db_models.py").as_uri()


# --- text ---------------------------------------------------------------------------------------

def test_text_lines_and_summary(mixed):
    out = render(mixed, "text")
    assert out == (
        "models/a/db_models.py:5:8: AS401 get_database_base() is deprecated; use DatabaseBase() from core.database\n"
        "models/a/db_models.py:6:7: AS211 table t (class T) has no primary key\n"
        "models/a/db_models.py:9:7: AS211 table u (class U) has no primary key\n"
        "\n"
        "Found 2 errors and 1 warning.\n"
    )


def test_text_statistics_table_before_the_summary(mixed):
    lines = render(mixed, "text", statistics=True).splitlines()
    assert lines[3:] == [
        "",
        "2  AS211  no-primary-key",
        "1  AS401  deprecated-get-database-base",
        "",
        "Found 2 errors and 1 warning.",
    ]


def test_text_statistics_sorted_by_count_then_code():
    where = Location("m.py", 1, 1)
    findings = ([Diagnostic("AS302", "x", where)] + [Diagnostic("AS211", "x", where)] * 10
                + [Diagnostic("AS001", "x", where)])
    table = render(findings, "text", statistics=True, quiet=True).splitlines()[-3:]
    assert table == [
        "10  AS211  no-primary-key",
        " 1  AS001  unused-suppression",
        " 1  AS302  unknown-foreign-key-target",
    ]


def test_text_clean_run_says_only_all_checks_passed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    findings = findings_of(tmp_path, {"a/db_models.py": CLEAN})
    assert render(findings, "text") == "All checks passed.\n"
    assert render(findings, "text", statistics=True) == "All checks passed.\n"
    assert render(findings, "text", quiet=True) == ""


@pytest.mark.parametrize("codes, summary", [
    (["AS211"], "Found 1 error."),
    (["AS211", "AS211"], "Found 2 errors."),
    (["AS401"], "Found 1 warning."),
    (["AS401", "AS001"], "Found 2 warnings."),
    (["AS211", "AS401"], "Found 1 error and 1 warning."),
    (["AS211", "AS302", "AS401", "AS001"], "Found 2 errors and 2 warnings."),
])
def test_text_summary_counts_each_severity(codes, summary):
    findings = [Diagnostic(code, "m", Location("m.py", 1, 1)) for code in codes]
    assert render(findings, "text").splitlines()[-1] == summary


def test_text_quiet_prints_findings_only(mixed):
    assert render(mixed, "text", quiet=True) == "".join(
        line + "\n" for line in render(mixed, "text").splitlines()[:3])


def test_text_without_location():
    finding = Diagnostic("AS308", "databases a and b reference each other", None)
    assert render([finding], "text").splitlines()[0] == "AS308 databases a and b reference each other"


def test_text_escapes_what_the_scanned_source_says(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    findings = findings_of(tmp_path, {"\x1b[2Jdir/db_models.py": EVIL})
    (finding,) = findings
    assert "\x1b[31m\nred\u202e" in finding.message  # the scan read the name as Python does
    out = render(findings, "text")
    assert not re.search(r"[\x00-\x1f\x7f\u202e]", out.replace("\n", ""))
    first = out.splitlines()[0]
    assert first == r"models/\x1b[2Jdir/db_models.py:5:7: AS211 table evil\x1b[31m\nred\u202e (class T) has no primary key"
    assert out.count("\n") == 3  # the finding, the blank line, the summary


def test_escape():
    assert escape("plain ünïcödé 日本 ok") == "plain ünïcödé 日本 ok"
    assert escape("\x1b[31m") == r"\x1b[31m"
    assert escape("a\nb\rc\td") == r"a\nb\rc\td"
    assert escape("\x00\x7f\x9b") == r"\x00\x7f\x9b"  # NUL, DEL, the one-byte CSI
    assert escape("\u202eabc\u2066") == r"\u202eabc\u2066"  # bidi override and isolate
    assert escape("zero\u200bwidth\ufeff") == r"zero\u200bwidth\ufeff"
    assert escape("line\u2028para\u2029") == r"line\u2028para\u2029"
    assert escape("tag\U000e0041") == r"tag\U000e0041"
    assert escape("undecodable\udcff") == r"undecodable\udcff"  # os.fsdecode's surrogateescape
    assert escape("back\\slash") == "back\\slash"


# --- json ---------------------------------------------------------------------------------------

def test_json_shape(mixed):
    data = json.loads(render(mixed, "json"))
    assert data[0] == {
        "code": "AS401",
        "name": "deprecated-get-database-base",
        "severity": "warning",
        "message": "get_database_base() is deprecated; use DatabaseBase() from core.database",
        "location": {"path": "models/a/db_models.py", "line": 5, "col": 8},
    }
    assert [(d["code"], d["severity"], d["location"]["line"]) for d in data] == [
        ("AS401", "warning", 5), ("AS211", "error", 6), ("AS211", "error", 9)]


def test_json_without_location_and_empty():
    finding = Diagnostic("AS308", "databases a and b reference each other", None)
    assert json.loads(render([finding], "json")) == [{
        "code": "AS308", "name": "cross-database-cycle", "severity": "error",
        "message": "databases a and b reference each other", "location": None}]
    assert json.loads(render([], "json")) == []


def test_json_keeps_the_message_as_it_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    findings = findings_of(tmp_path, {"a/db_models.py": EVIL})
    out = render(findings, "json")
    assert "\x1b" not in out  # JSON escapes it ...
    assert json.loads(out)[0]["message"] == findings[0].message  # ... and gives it back exactly


# --- github -------------------------------------------------------------------------------------

def test_github_annotations(mixed):
    assert render(mixed, "github").splitlines() == [
        "::warning file=models/a/db_models.py,line=5,col=8,title=AS401 deprecated-get-database-base::"
        "get_database_base() is deprecated; use DatabaseBase() from core.database",
        "::error file=models/a/db_models.py,line=6,col=7,title=AS211 no-primary-key::"
        "table t (class T) has no primary key",
        "::error file=models/a/db_models.py,line=9,col=7,title=AS211 no-primary-key::"
        "table u (class U) has no primary key",
    ]
    assert render([], "github") == ""


def test_github_escapes_properties_and_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "models" / "odd:dir,50%\nx"
    directory.mkdir(parents=True)
    (directory / "db_models.py").write_text(EVIL)
    # A file named on the command line is read whatever its name.
    findings = check(astschema.scan(["models/odd:dir,50%\nx/db_models.py"]))
    out = render(findings, "github")
    assert out == (
        "::error file=models/odd%3Adir%2C50%25%0Ax/db_models.py,line=5,col=7,title=AS211 no-primary-key"
        r"::table evil\x1b[31m%0Ared\u202e (class T) has no primary key" "\n"
    )


def test_github_message_percent_and_no_location():
    finding = Diagnostic("AS308", "100% sure: a, b\r\nc", None)
    assert render([finding], "github") == "::error title=AS308 cross-database-cycle::100%25 sure: a, b%0D%0Ac\n"


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown output format"):
        render([], "xml")


def test_text_in_colour_keeps_its_words_and_escapes():
    error = Diagnostic("AS301", "key\x1b[2J into b", Location("a\nb.py", 3, 4))
    warning = Diagnostic("AS401", "deprecated", Location("c.py", 1, 1))
    plain = render([error, warning], "text")
    painted = render([error, warning], "text", colour=True)
    assert "\x1b" not in plain.replace("\\x1b", "")
    assert re.sub(r"\x1b\[[0-9;]*m", "", painted) == plain  # the same text, styles aside
    lines = painted.splitlines()
    assert lines[0] == "\x1b[1ma\\nb.py:3:4:\x1b[0m \x1b[1;31mAS301\x1b[0m key\\x1b[2J into b"  # scanned text escaped
    assert lines[1].startswith("\x1b[1mc.py:1:1:\x1b[0m \x1b[1;33mAS401\x1b[0m ")
    assert lines[-1] == "\x1b[1;31mFound 1 error and 1 warning.\x1b[0m"
    assert render([], "text", colour=True) == "\x1b[1;32mAll checks passed.\x1b[0m\n"
    assert render([error], "json", colour=True) == render([error], "json")  # machine formats never
