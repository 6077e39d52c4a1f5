"""Every rule's VALID and INVALID examples, run through a real scan and check (Fixit's pattern)."""

from pathlib import Path

import pytest

import libcst

import astschema
from astschema.fix import _positions, fixes, write_fixes
from astschema.snapshot import snapshot
from astschema.checker import check, selected
from astschema.diagnostics import Diagnostic
from astschema.config import find_pyproject, load_config
from astschema.rules import ALL_RULES

EXAMPLES = [
    pytest.param(rule, kind, example, id=f"{rule.code}-{kind}-{n}")
    for rule in ALL_RULES
    for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for n, example in enumerate(examples)
]


def files_of(files) -> dict:
    return files if isinstance(files, dict) else {"db_models.py": files}


def findings_of(tmp_path, rule, example):
    """The example's schema, and the rule's findings in it."""
    config = load_config(find_pyproject([tmp_path])).with_overrides(**example.config)
    schema = astschema.scan([tmp_path], config=config)
    return schema, [f for f in check(schema, select=example.config.get("select", [rule.code])) if f.code == rule.code]


def run_example(tmp_path, rule, example):
    for name, text in files_of(example.files).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _, findings = findings_of(tmp_path, rule, example)
    return sorted((Path(f.location.path).relative_to(tmp_path).as_posix(), f.location.line, f.location.col)
                  for f in findings)


@pytest.mark.parametrize("rule, kind, example", EXAMPLES)
def test_rule_example(tmp_path, rule, kind, example):
    found = run_example(tmp_path, rule, example)
    if kind == "valid":
        assert found == []
    else:
        assert found == sorted(example.expected)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_every_rule_is_documented_and_exemplified(rule):
    assert rule.code.startswith("AS") and len(rule.code) == 5
    assert rule.name and rule.name == rule.name.lower()
    assert len(rule.doc().splitlines()) >= 3, "docstring: what it finds, why it matters, how to fix"
    assert rule.VALID and rule.INVALID


FIXES = [
    pytest.param(rule, example, id=f"{rule.code}-invalid-{n}")
    for rule in ALL_RULES for n, example in enumerate(rule.INVALID) if example.fixed is not None
]


@pytest.mark.parametrize("rule, example", FIXES)
def test_fix_example(tmp_path, rule, example):
    """`fix` makes the example's INVALID files into its `fixed` ones (leaving the others as they
    were); the result has no finding of the rule left, the same schema as before (the same
    snapshot), and is a fixed point: the rule's fix at every place of it changes nothing."""
    run_example(tmp_path, rule, example)
    schema, findings = findings_of(tmp_path, rule, example)
    before = snapshot(schema)[0]
    done, problems = fixes(findings)
    assert problems == [] and sorted((f for fix in done for f in fix.fixed), key=Diagnostic.order) == sorted(
        findings, key=Diagnostic.order)  # each one
    assert write_fixes(done) == []
    expected = {**files_of(example.files), **files_of(example.fixed)}
    assert {name: (tmp_path / name).read_text() for name in expected} == expected
    schema, findings = findings_of(tmp_path, rule, example)
    assert findings == []
    assert snapshot(schema)[0] == before
    for name in files_of(example.fixed):
        module = libcst.parse_module(expected[name])
        anything = Diagnostic(rule.code, "", None)  # a finding at every place, saying nothing more
        again, answered = rule().fix(module, dict.fromkeys(_positions(module)[1].values(), anything))
        assert again.code == expected[name] and answered == set()


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_a_rule_that_fixes_shows_how(rule):
    assert rule.fixable() == any(example.fixed is not None for example in rule.INVALID)


def test_codes_are_unique():
    codes = [rule.code for rule in ALL_RULES]
    assert len(codes) == len(set(codes))


def test_selection_by_prefix():
    assert selected("AS301", ["ALL"], [])
    assert selected("AS301", ["AS3"], [])
    assert not selected("AS301", ["AS2"], [])
    assert not selected("AS301", ["ALL"], ["AS3"])
    assert selected("AS301", ["AS301"], ["AS3"])  # the more specific selection wins
    assert not selected("AS301", ["AS3"], ["AS301"])


def test_readme_rule_table_is_generated_from_the_rules():
    from astschema.cli import rules_markdown

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert rules_markdown(ALL_RULES) in readme, "regenerate with: python -m astschema rules --format markdown"
