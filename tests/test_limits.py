"""Inputs built to exhaust a parser: each becomes a diagnostic at its line, never a crash.

Run in a subprocess, so that a crash of the interpreter (libcst's native parser overflowing
its stack) fails the test instead of killing the test run.
"""

import json
import subprocess
import sys

import pytest

CHAINS = {
    "brackets": lambda n: "x = " + "(" * n + "1" + ")" * n,
    "calls": lambda n: "x = " + "f(" * n + "1" + ")" * n,
    "lists": lambda n: "x = " + "[" * n + "]" * n,
    "binary operators": lambda n: "x = " + "+".join(["1"] * n),
    "attributes": lambda n: "x = a" + ".b" * n,
    "unary operators": lambda n: "x = " + "-" * n + "1",
    "implicit string concatenation": lambda n: "x = " + " ".join(['"a"'] * n),
    "boolean operators": lambda n: "x = " + " or ".join(["a"] * n),
    "subscripts": lambda n: "x = a" + "[0]" * n,
    "conditional expressions": lambda n: "x = " + " if c else ".join(["1"] * n),
}
MODEL = ('from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n'
         'DATABASE_NAME = "x"\nBase = declarative_base()\n'
         'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n')


def scan_in_subprocess(tmp_path, source: str) -> dict:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "db_models.py").write_text(source)
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "db_models.py").write_text(MODEL)
    code = ("import json, sys, astschema\n"
            "s = astschema.scan([sys.argv[1]])\n"
            "print(json.dumps({'codes': [(d.code, d.location.line, d.message) for d in s.diagnostics],"
            " 'tables': [t.name for d in s.databases for t in d.tables]}))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"crashed ({proc.returncode}): {proc.stderr[-500:]}"
    return json.loads(proc.stdout)


@pytest.mark.parametrize("kind", CHAINS)
def test_deep_input_is_refused_at_its_line(tmp_path, kind):
    source = "DATABASE_NAME = 'x'\n\n" + CHAINS[kind](20_000) + "\n"
    result = scan_in_subprocess(tmp_path, source)
    assert [(code, line) for code, line, _ in result["codes"]] == [("AS101", 3)]
    assert "too deep" in result["codes"][0][2] or "too complex" in result["codes"][0][2]
    assert result["tables"] == ["t"]  # the scan went on with the other file


@pytest.mark.parametrize("kind", CHAINS)
def test_input_within_the_bounds_is_read(tmp_path, kind):
    result = scan_in_subprocess(tmp_path, "DATABASE_NAME = 'x'\n" + CHAINS[kind](60) + "\n")
    assert result["codes"] == []


def test_indentation_beyond_the_tokenizer_limit(tmp_path):
    source = "".join(" " * i + "if x:\n" for i in range(150)) + " " * 150 + "pass\n"
    result = scan_in_subprocess(tmp_path, source)
    assert [code for code, _, _ in result["codes"]] == ["AS101"]
