"""Broken, odd and hostile trees: a diagnostic where there is a line, the scan goes on, no traceback."""

import json
import os
from pathlib import Path

import astschema
from astschema.api import scan
from astschema.checker import check
from support import run_cli as run

MODEL = ('from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n'
         'DATABASE_NAME = "{db}"\nBase = declarative_base()\n'
         'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n')


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def tables(schema):
    return {d.name: [t.name for t in d.tables] for d in schema.databases}


def test_odd_files_each_get_a_diagnostic(tmp_path):
    write(tmp_path / "ok/db_models.py", MODEL.format(db="ok"))
    write(tmp_path / "empty/db_models.py", "")
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary/db_models.py").write_bytes(bytes(range(256)) * 4)
    write(tmp_path / "py2/db_models.py", 'DATABASE_NAME = "x"\nprint "hello"\n')
    (tmp_path / "dir/db_models.py").mkdir(parents=True)  # a directory with the name of a model file
    schema = scan([tmp_path])
    found = sorted((Path(d.location.path).parent.name, d.code) for d in schema.diagnostics)
    assert found == [("binary", "AS100"), ("py2", "AS101")]
    assert tables(schema) == {"ok": ["t"]}


def test_size_limit(tmp_path):
    write(tmp_path / "big/db_models.py", "x = 1\n" * 100_000)
    write(tmp_path / "ok/db_models.py", MODEL.format(db="ok"))
    schema = scan([tmp_path], config=astschema.config.Config(max_bytes=100_000))
    assert [(d.code, "over the 100000-byte limit" in d.message) for d in schema.diagnostics] == [("AS100", True)]
    assert tables(schema) == {"ok": ["t"]}


def test_file_gone_between_listing_and_reading(tmp_path, monkeypatch):
    import astschema.api as api
    from astschema.discover import SourceFile

    write(tmp_path / "ok/db_models.py", MODEL.format(db="ok"))
    gone = SourceFile(tmp_path / "gone/db_models.py", tmp_path)
    real = api.discover
    monkeypatch.setattr(api, "discover", lambda paths, config: (real(paths, config)[0] + [gone], []))
    schema = scan([tmp_path])
    assert [(d.code, "cannot read file" in d.message) for d in schema.diagnostics] == [("AS100", True)]
    assert tables(schema) == {"ok": ["t"]}


def test_symlinks(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    write(root / "a/db_models.py", MODEL.format(db="inside"))
    write(outside / "db_models.py", MODEL.format(db="outside"))
    (root / "loop").symlink_to(root, target_is_directory=True)  # a loop
    (root / "out").symlink_to(outside, target_is_directory=True)  # a way out of the root
    (root / "b").mkdir()
    (root / "b/db_models.py").symlink_to(outside / "db_models.py")
    assert tables(scan([root])) == {"inside": ["t"]}
    followed = scan([root], config=astschema.config.Config(follow_symlinks=True))
    assert tables(followed) == {"inside": ["t"], "outside": ["t"]}
    assert run("summary", root, "--follow-symlinks").returncode == 0


def test_cycles_between_classes_modules_and_mixins(tmp_path):
    write(tmp_path / "pkg/__init__.py", "")
    write(tmp_path / "pkg/a.py", "from pkg.b import B\nclass A(B):\n    pass\n")
    write(tmp_path / "pkg/b.py", "from pkg.a import A\nclass B(A):\n    pass\n")
    write(tmp_path / "pkg/db_models.py", MODEL.format(db="x") + (
        "from pkg.a import A\nclass M(M):\n    pass\n"
        "class U(A, Base):\n    __tablename__ = 'u'\n    id = Column(Integer, primary_key=True)\n"
        "class W(Unknown, Base):\n    __tablename__ = 'w'\n    id = Column(Integer, primary_key=True)\n"))
    schema = scan([tmp_path])
    assert tables(schema) == {"x": ["t", "u", "w"]}
    check(schema)  # the rules cope too


def test_control_characters_never_reach_the_terminal(tmp_path):
    write(tmp_path / "db_models.py", (
        "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n"
        'DATABASE_NAME = "x\\n-- injected\\x1b[31m"\nBase = declarative_base()\n'
        'class T(Base):\n    __tablename__ = "evil\\x1b[2J\\u202e"\n    id = Column(Integer, primary_key=True)\n'))
    for args in (["check"], ["ddl"], ["summary"], ["graph"]):
        proc = run(*args, tmp_path)
        assert proc.returncode in (0, 1), proc.stderr
        for stream in (proc.stdout, proc.stderr):
            assert "\x1b" not in stream and "\u202e" not in stream
        assert "\n-- injected" not in proc.stdout
    for fmt in ("json", "sarif"):
        json.loads(run("check", tmp_path, "--output-format", fmt).stdout)
    json.loads(run("dump", tmp_path).stdout)


def test_unreadable_file(tmp_path):
    write(tmp_path / "ok/db_models.py", MODEL.format(db="ok"))
    secret = write(tmp_path / "secret/db_models.py", MODEL.format(db="secret"))
    secret.chmod(0)
    try:
        if os.access(secret, os.R_OK):  # root reads anything: show the same path via a directory
            return
        schema = scan([tmp_path])
        assert [d.code for d in schema.diagnostics] == ["AS100"]
        assert tables(schema) == {"ok": ["t"]}
    finally:
        secret.chmod(0o644)
