"""Lone databases kept between runs (`assembled`): read back, without decoding their units,
while their units are what they were made of; assembled again when any of them, or their
order, changed; and always what a scan without a cache finds, edit after edit."""

import hashlib
import importlib.util
import json
import random
import re
import shutil
import sys
from pathlib import Path

import pytest

import astschema
from astschema import assembled, units
from astschema.checker import check
from astschema.model import Schema
from test_cache import FIXTURES, ROOT

_spec = importlib.util.spec_from_file_location("make_tree", ROOT / "bench" / "make_tree.py")
make_tree = sys.modules["make_tree"] = importlib.util.module_from_spec(_spec)  # its dataclasses look it up
_spec.loader.exec_module(make_tree)


@pytest.fixture
def read_back(monkeypatch):
    """The names of the databases read back, and the units decoded by scans with a cache."""
    seen = {"databases": [], "decoded": []}
    load, decoded = assembled.KeptDatabases.load, units.Waiting._decoded

    def spy_load(self, key, name, spool):
        found = load(self, key, name, spool)
        if found is not None:
            seen["databases"].append(name)
        return found

    def spy_decoded(self, *args):
        unit = decoded(self, *args)
        if self._spool.on_disk:
            seen["decoded"].append(unit)
        return unit

    monkeypatch.setattr(assembled.KeptDatabases, "load", spy_load)
    monkeypatch.setattr(units.Waiting, "_decoded", spy_decoded)
    return seen


def generated(root: Path, modules: int = 24, seed: int = 3) -> Path:
    files, _ = make_tree.generate(modules, 3, seed)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def same_as_without_cache(root: Path, cache: Path):
    """The scan through the cache, after checking it equals a scan without one: model,
    diagnostics, digests and findings."""
    ours, alone = astschema.scan([root], cache_dir=cache, jobs=1), astschema.scan([root], jobs=1)
    assert ours == alone
    assert tuple(ours.databases) == tuple(alone.databases)
    assert check(ours) == check(alone)
    for name in alone.names:
        assert ours.digest(name) == Schema(alone.databases).digest(name)
    return ours


@pytest.mark.parametrize("held", [True, False], ids=["held", "spilled"])
@pytest.mark.parametrize("root", [*FIXTURES, "generated"], ids=lambda p: getattr(p, "name", p))
def test_a_second_scan_reads_the_lone_databases_back(tmp_path, monkeypatch, read_back, root, held):
    """The second scan reads back every lone database and equals a scan without a cache; in
    a tree of lone databases only, it decodes no unit that adds a table (each of the others
    is still checked against its outline)."""
    if not held:
        monkeypatch.setattr(units, "HELD_TABLES", 0)
    root = generated(tmp_path / "tree") if root == "generated" else root
    cache = tmp_path / "cache"
    first = same_as_without_cache(root, cache)
    assert read_back["databases"] == []
    saved = len(list((cache / "assembled").glob("*.json")))
    assert saved >= 1
    read_back["decoded"].clear()
    same_as_without_cache(root, cache)
    assert len(read_back["databases"]) == saved
    assert set(read_back["databases"]) <= set(first.names)
    if root.name == "tree":
        assert saved == len(first.names)
        assert read_back["decoded"] and not any(u.tables or u.core_tables for u in read_back["decoded"])


EDITS = 10


def _edit(rng: random.Random, root: Path) -> tuple[int, str]:
    """One random edit of a generated tree: which kind, and what it did in words."""
    models = sorted(m for m in root.glob("modules/**/db_models.py") if "__tablename__" in m.read_text(encoding="utf-8"))
    target = rng.choice(models)
    text = target.read_text(encoding="utf-8")
    base = next(line.split(" = ")[0] for line in text.splitlines()
                if " = DatabaseBase(" in line or " = get_database_base(" in line)
    other = rng.choice(models)
    other_table = next(line.split('"')[1] for line in other.read_text(encoding="utf-8").splitlines()
                       if "__tablename__" in line)
    n, kind = rng.randrange(10**6), rng.randrange(EDITS)
    where = f"{kind}: {target.parent.name}"
    if kind == 0:
        text += f'\n\nclass Added{n}({base}):\n    __tablename__ = "added_{n}"\n    id = Column(Integer, primary_key=True)\n'
    elif kind == 1:  # a key-only column: its type comes from another module's table
        text += (f'\n\nclass Keyed{n}({base}):\n    __tablename__ = "keyed_{n}"\n'
                 f'    id = Column(Integer, primary_key=True)\n    ref = Column(ForeignKey("{other_table}.id"))\n')
    elif kind == 2 and text.count("\nclass ") > 1:  # the last class goes
        text = text[: text.rindex("\nclass ")] + "\n"
    elif kind == 3:  # the module moves to another database
        old = next(line for line in text.splitlines() if line.startswith("DATABASE_NAME = "))
        text = text.replace(old, f'DATABASE_NAME = "moved_{n % 3}"', 1)
    elif kind == 4:  # a copy of the module elsewhere: each of its tables is defined twice
        copy = root / "modules" / "standard" / f"copy_{n}" / "db_models.py"
        copy.parent.mkdir(parents=True)
        shutil.copy(target, copy)
        return kind, where + f" copied to copy_{n}"
    elif kind == 5 and len(models) > 4:
        target.unlink()
        return kind, where + " removed"
    elif kind == 6:  # its first table defined again at the end, without extend_existing
        start = text.index("\nclass ")
        end = text.find("\nclass ", start + 1)
        text += text[start: end if end > 0 else len(text)].replace('{"extend_existing": True}', "{}") \
            .replace('"extend_existing": True, ', "")
    elif kind == 7:  # a table changes, and no table comes or goes
        text = re.sub(r"String\((\d+)\)", lambda m: f"String({int(m[1]) + 1})", text, count=1)
    elif kind == 8:  # a module read before the others names another's database first (its table goes elsewhere)
        named = next(line for line in other.read_text(encoding="utf-8").splitlines() if line.startswith("DATABASE_NAME"))
        first = root / "modules" / "core" / f"aa_{n}" / "db_models.py"
        first.parent.mkdir(parents=True)
        first.write_text(f'from sqlalchemy import Column, Integer\nfrom core.database import DatabaseBase\n{named}\n'
                         f'Base = DatabaseBase("aa_{n}")\n\n\nclass Aa{n}(Base):\n    __tablename__ = "aa_{n}"\n'
                         '    id = Column(Integer, primary_key=True)\n', encoding="utf-8")
        return kind, f"{kind}: aa_{n} names {named}"
    else:  # a comment: nothing changes
        text += f"\n# touched {n}\n"
    target.write_text(text, encoding="utf-8")
    return kind, where


@pytest.mark.parametrize("held", [True, False], ids=["held", "spilled"])
def test_edit_after_edit_the_cache_finds_what_a_scan_without_it_finds(tmp_path, monkeypatch, read_back, held):
    """Random edits of a generated tree, one after the other with one cache: tables added and
    removed, key-only columns, modules moved to other databases, copied and removed, tables
    defined twice, comments. After each, the scan through the cache equals one without it,
    and the databases no edit reached are read back."""
    if not held:
        monkeypatch.setattr(units, "HELD_TABLES", 0)
    root, cache, rng = generated(tmp_path / "tree", modules=12), tmp_path / "cache", random.Random(7)
    same_as_without_cache(root, cache)
    reused, kinds = 0, set()
    for step in range(30):
        kind, done = _edit(rng, root)
        kinds.add(kind)
        read_back["databases"].clear()
        try:
            same_as_without_cache(root, cache)
        except AssertionError as exc:
            raise AssertionError(f"step {step}, edit {done}") from exc
        reused += len(read_back["databases"])
    assert reused > 0 and kinds == set(range(EDITS))


@pytest.mark.parametrize("damage", ["truncated", "a line short", "text changed", "another key", "not JSON",
                                    "forged: diagnostics not a tuple", "forged: a table name not text",
                                    "forged: a table fewer"])
def test_a_damaged_entry_is_assembled_again(tmp_path, read_back, damage):
    """Damage is found by the digest of the entry's lines; what only a forger makes, whose
    digest matches, by the shape of the head."""
    root, cache = generated(tmp_path / "tree", modules=8), tmp_path / "cache"
    same_as_without_cache(root, cache)
    for entry in (cache / "assembled").glob("*.json"):
        head, *texts, digest = entry.read_text(encoding="ascii").split("\n")
        document = json.loads(head)
        if damage == "truncated":
            texts[-1] = texts[-1][: len(texts[-1]) // 2]
        elif damage == "a line short":
            texts.pop()
        elif damage == "text changed":
            texts[0] = texts[0].replace("Integer", "Text", 1)
        elif damage == "another key":
            document["key"] = "0" * 32
        elif damage.endswith("diagnostics not a tuple"):
            document["diagnostics"] = {"paths": [], "value": ["[", 7]}
        elif damage.endswith("a table name not text"):
            document["tables"][0][0] = 7
        elif damage.endswith("a table fewer"):
            document["tables"].pop()
        head = "{not json" if damage == "not JSON" else json.dumps(document)
        if damage.startswith("forged"):
            digest = hashlib.blake2b("".join(f"{line}\n" for line in [head, *texts]).encode(), digest_size=16).hexdigest()
        entry.write_text("\n".join([head, *texts, digest]), encoding="ascii")
    same_as_without_cache(root, cache)
    assert read_back["databases"] == []
