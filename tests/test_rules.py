"""Every rule's VALID and INVALID examples, run through a real scan and check (Fixit's pattern)."""

from pathlib import Path

import pytest

import astschema
from astschema.checker import check, selected
from astschema.config import find_pyproject, load_config
from astschema.rules import ALL_RULES

EXAMPLES = [
    pytest.param(rule, kind, example, id=f"{rule.code}-{kind}-{n}")
    for rule in ALL_RULES
    for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for n, example in enumerate(examples)
]


def run_example(tmp_path, rule, example):
    files = example.files if isinstance(example.files, dict) else {"db_models.py": example.files}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    config = load_config(find_pyproject([tmp_path])).with_overrides(**example.config)
    schema = astschema.scan([tmp_path], config=config)
    findings = [f for f in check(schema, select=example.config.get("select", [rule.code])) if f.code == rule.code]
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
