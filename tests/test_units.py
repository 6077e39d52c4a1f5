"""Extraction kept between runs: a module is extracted again only when a module it read changed."""

import json
import shutil
from pathlib import Path

import pytest

import astschema
from astschema import cache, cli, extract, store, units
from astschema.extract import assembly
from test_cache import FIXTURES
from test_cache import MODEL as SHOP


CORE = """\
from sqlalchemy import Column, DateTime, Integer
class DatabaseBase: ...
class Stamped:
    created = Column(DateTime)
"""
PEOPLE = """\
DATABASE_NAME = "people"
from sqlalchemy import Column, Integer, String
from core.database import DatabaseBase, Stamped
Base = DatabaseBase(DATABASE_NAME)
class Person(Stamped, Base):
    __tablename__ = "people"
    id = Column(Integer, primary_key=True)
    kind = Column(String(10))
"""
STAFF = """\
DATABASE_NAME = "people"
from sqlalchemy import Column, ForeignKey, Integer, String
from people.db_models import Person
class Employee(Person):
    badge = Column(String(20))
"""
@pytest.fixture
def extracted(monkeypatch):
    """The modules extracted (not reused) in this process, in order."""
    names = []
    real = extract.extract_module

    def spy(project, module):
        names.append(module)
        return real(project, module)

    monkeypatch.setattr(extract, "extract_module", spy)
    return names


def app(tmp_path) -> Path:
    root = tmp_path / "app"
    for module, text in (("core/database", CORE), ("people/db_models", PEOPLE), ("staff/db_models", STAFF),
                         ("shop/db_models", SHOP)):
        (root / module).parent.mkdir(parents=True, exist_ok=True)
        (root / module).parent.joinpath("__init__.py").touch()
        (root / module).with_suffix(".py").write_text(text)
    return root


def scans_alike(root: Path, store: Path, extracted: list):
    """A scan through the kept units, checked against one that keeps nothing (whose
    extractions are not counted)."""
    counted = len(extracted)
    expected = astschema.scan([root])
    del extracted[counted:]
    kept = astschema.scan([root], cache_dir=store)
    assert kept == expected
    assert kept.diagnostics == expected.diagnostics and kept.suppressions == expected.suppressions
    return kept


def test_nothing_changed_nothing_extracted(tmp_path, extracted):
    root, store = app(tmp_path), tmp_path / "cache"
    scans_alike(root, store, extracted)
    assert sorted(extracted) == ["core.database", "people.db_models", "shop.db_models", "staff.db_models"]
    extracted.clear()
    astschema.scan([root], cache_dir=store)
    assert extracted == []


def test_an_edit_re_extracts_the_module_and_those_that_read_it(tmp_path, extracted):
    root, store = app(tmp_path), tmp_path / "cache"
    astschema.scan([root], cache_dir=store)
    (root / "people" / "db_models.py").write_text(PEOPLE.replace("String(10)", "String(12)"))
    extracted.clear()
    schema = scans_alike(root, store, extracted)
    # staff's single-table subclass reads people's class; shop and core read nothing of it
    assert sorted(set(extracted)) == ["people.db_models", "staff.db_models"]
    people = {t.name: t for d in schema.databases for t in d.tables}["people"]
    assert [c.name for c in people.columns] == ["id", "kind", "created", "badge"]
    assert str(people.columns[1].type) == "String(12)"


def test_an_edited_mixin_re_extracts_every_module_using_it(tmp_path, extracted):
    root, store = app(tmp_path), tmp_path / "cache"
    astschema.scan([root], cache_dir=store)
    (root / "core" / "database.py").write_text(CORE.replace("created = Column(DateTime)",
                                                            "created = Column(DateTime)\n    updated = Column(DateTime)"))
    extracted.clear()
    schema = scans_alike(root, store, extracted)
    assert {"people.db_models", "staff.db_models", "shop.db_models"} <= set(extracted)
    people = {t.name: t for d in schema.databases for t in d.tables}["people"]
    assert "updated" in [c.name for c in people.columns]


def test_a_module_that_appears_where_an_import_found_none(tmp_path, extracted):
    """What a module imported from nowhere depends on: that there is still nothing there."""
    root, store = app(tmp_path), tmp_path / "cache"
    (root / "shop" / "db_models.py").write_text(SHOP.replace("from core.database", "from shop.mixins import Audited\nfrom core.database")
                                                .replace("class Item(Base):", "class Item(Audited, Base):"))
    first = scans_alike(root, store, extracted)
    items = {t.name: t for d in first.databases for t in d.tables}["items"]
    assert "note" not in [c.name for c in items.columns]  # taken for a library's class
    (root / "shop" / "mixins.py").write_text("from sqlalchemy import Column, String\nclass Audited:\n"
                                             "    note = Column(String(5))\n")
    extracted.clear()
    schema = scans_alike(root, store, extracted)
    assert "shop.db_models" in extracted
    items = {t.name: t for d in schema.databases for t in d.tables}["items"]
    assert "note" in [c.name for c in items.columns]


def _unit_changed(entry: bytes) -> bytes:
    head, _, text = entry.partition(b"\n")
    return head + b"\n" + text.replace(b'"Unit"', b'"Unix"', 1)


@pytest.mark.parametrize("damage", [lambda _: b"", lambda _: b"{", lambda _: b'{"module": 1}', lambda _: b"[]",
                                    lambda entry: entry[:-10], lambda entry: entry.partition(b"\n")[0],
                                    _unit_changed, lambda _: b"[" * 100_000],
                         ids=["empty", "brace", "foreign", "list", "truncated", "head only", "unit changed", "deep"])
def test_a_damaged_unit_is_extracted_again(tmp_path, extracted, damage):
    """A damaged head is seen when the entry is first read; a damaged unit when it is decoded,
    which a database read back whole spares it: those are removed, so every unit is needed."""
    root, store = app(tmp_path), tmp_path / "cache"
    astschema.scan([root], cache_dir=store)
    shutil.rmtree(store / "assembled")
    for entry in (store / "units").glob("*.json"):
        entry.write_bytes(damage(entry.read_bytes()))
    extracted.clear()
    scans_alike(root, store, extracted)
    assert len(extracted) == 4


@pytest.mark.parametrize("late", ["damaged, its databases read back", "gone when decoded"])
def test_a_units_text_is_read_only_when_decoded(tmp_path, monkeypatch, extracted, late):
    """A run reads the first line of each kept unit; the text only when the unit is decoded.
    A damaged text whose databases are read back is never used; one that is gone (or changed)
    by the time it is decoded is extracted again. Either way the scan is a scan without a
    cache."""
    root, store = app(tmp_path), tmp_path / "cache"
    astschema.scan([root], cache_dir=store)
    if late.startswith("damaged"):
        for entry in (store / "units").glob("*.json"):
            entry.write_bytes(_unit_changed(entry.read_bytes()))
    else:
        shutil.rmtree(store / "assembled")
        monkeypatch.setattr(units.KeptText, "read", lambda self: None)
    extracted.clear()
    scans_alike(root, store, extracted)
    if late.startswith("damaged"):  # shop's database is read back: its unit is never decoded
        assert sorted(extracted) == ["core.database", "people.db_models", "staff.db_models"]
    else:
        assert len(extracted) == 4


def _forged(entry: bytes, text: bytes, outline=None) -> bytes:
    """An entry whose unit is `text`, with the digest of it (and another outline): what no
    damage makes, only a forger."""
    head = json.loads(entry.partition(b"\n")[0])
    head["unit"] = store.digest(text)
    if outline is not None:
        head["outline"] = json.loads(cache.encode(outline))
    return json.dumps(head).encode() + b"\n" + text


def test_a_kept_unit_is_decoded_once_and_only_when_assembled(tmp_path, monkeypatch, extracted):
    """Its outline is all the first pass reads; a unit that then does not decode, though its
    digest matched, is extracted again. (The databases kept assembled are removed before each
    scan: a database read back needs none of its units.)"""
    root, store = app(tmp_path), tmp_path / "cache"
    expected = astschema.scan([root], cache_dir=store)
    shutil.rmtree(store / "assembled")
    decoded, real, ties = [], cache.decode, assembly.Plan.ties
    monkeypatch.setattr(cache, "decode", lambda document: decoded.append(real(document)) or decoded[-1])
    monkeypatch.setattr(assembly.Plan, "ties", lambda plan: decoded.append("second pass") or ties(plan))
    extracted.clear()
    assert astschema.scan([root], cache_dir=store) == expected
    assert extracted == []
    units_decoded = [u.module if type(u) is units.Unit else u for u in decoded if type(u) in (units.Unit, str)]
    assert units_decoded[0] == "second pass"
    assert sorted(units_decoded[1:]) == ["core.database", "people.db_models", "shop.db_models", "staff.db_models"]
    for entry in (store / "units").glob("*.json"):
        entry.write_bytes(_forged(entry.read_bytes(), b'["not", "a unit"]'))
    shutil.rmtree(store / "assembled")
    assert astschema.scan([root], cache_dir=store) == expected
    assert sorted(extracted) == ["core.database", "people.db_models", "shop.db_models", "staff.db_models"]


def test_a_forged_outline_stops_the_run_with_a_message(tmp_path, capsys):
    """An outline the plan was made from, that the unit extracted again contradicts: the run
    cannot go on, and says why (exit 2, no traceback)."""
    root, store = app(tmp_path), tmp_path / "cache"
    astschema.scan([root], cache_dir=store)
    for entry in (store / "units").glob("*.json"):
        module = json.loads(entry.read_bytes().partition(b"\n")[0])["module"]
        entry.write_bytes(_forged(entry.read_bytes(), b"[]", assembly.Outline(module, (), (), (), (), (), ())))
    assert cli.main(["summary", str(root), "--cache-dir", str(store)]) == 2
    err = capsys.readouterr().err
    assert "is not what it says" in err and "Traceback" not in err


@pytest.mark.parametrize("root", FIXTURES, ids=lambda p: p.name)
def test_kept_units_give_the_fixtures_what_extraction_gives(tmp_path, root, extracted):
    copy = tmp_path / root.name
    shutil.copytree(root, copy)
    store = tmp_path / "cache"
    scans_alike(copy, store, extracted)
    assert extracted
    extracted.clear()
    scans_alike(copy, store, extracted)
    assert extracted == []  # every unit reused, and the same schema and findings


@pytest.mark.parametrize("root", FIXTURES, ids=lambda p: p.name)
def test_modules_extracted_on_every_core_give_what_one_process_gives(tmp_path, monkeypatch, root, extracted):
    """Forked workers extract the scanned modules that have no kept unit; what they make, and
    keep, is what one process makes."""
    monkeypatch.setattr(extract, "PARALLEL_FROM_MODULES", 2)
    copy = tmp_path / root.name
    shutil.copytree(root, copy)
    alone = astschema.scan([copy], jobs=1)
    del extracted[:]
    store = tmp_path / "cache"
    for cache_dir in (None, store):
        schema = astschema.scan([copy], jobs=2, cache_dir=cache_dir)
        assert schema == alone
        assert schema.diagnostics == alone.diagnostics and schema.suppressions == alone.suppressions
    scanned = {t.module for d in alone.databases for t in d.tables if t.module.endswith("db_models")}
    assert scanned and not scanned & set(extracted)  # the workers extracted them, not this process
    kept = len(list((store / "units").glob("*.json")))
    assert kept >= len(scanned)
    del extracted[:]
    assert astschema.scan([copy], jobs=2, cache_dir=store) == alone
    assert extracted == []  # what the workers kept is reused


def test_modules_whose_kept_units_went_stale_are_extracted_on_every_core(tmp_path, monkeypatch, extracted):
    """An edited mixin: every model using it is extracted again, by the workers."""
    monkeypatch.setattr(extract, "PARALLEL_FROM_MODULES", 2)
    root, store = app(tmp_path), tmp_path / "cache"
    astschema.scan([root], cache_dir=store, jobs=2)
    (root / "core" / "database.py").write_text(CORE.replace("created = Column(DateTime)",
                                                            "created = Column(DateTime)\n    updated = Column(DateTime)"))
    del extracted[:]
    schema = astschema.scan([root], cache_dir=store, jobs=2)
    assert extracted == ["core.database"]  # a support module: here; the three model files: by the workers
    assert schema == astschema.scan([root], jobs=1)
    assert "updated" in [c.name for c in schema.database("people").table("people").columns]


def test_where_forking_is_unsafe_model_files_are_resolved_here(tmp_path, monkeypatch, extracted):
    """macOS and Windows: the workers could not inherit the project; one process resolves."""
    monkeypatch.setattr(extract, "PARALLEL_FROM_MODULES", 2)
    monkeypatch.setattr(cache, "FORKING", False)
    root = app(tmp_path)
    schema = astschema.scan([root], jobs=2)
    assert sorted(extracted) == ["core.database", "people.db_models", "shop.db_models", "staff.db_models"]
    assert schema == astschema.scan([root], jobs=1)


def test_a_module_that_searched_every_file_is_resolved_again_when_any_changes(tmp_path, extracted):
    """`X = load_utility("X")`: the class is found by name among all files, so a second class
    of that name anywhere makes it ambiguous (and the column's type unknown)."""
    from test_extract import FACADE, write

    root, store = write(tmp_path / "app", FACADE), tmp_path / "cache"
    first = scans_alike(root, store, extracted)
    assert str(first.database("x").table("items").column("data").type) == "Text()"
    (root / "core" / "other.py").write_text(
        "from sqlalchemy import String, TypeDecorator\nclass SQLiteJSON(TypeDecorator):\n    impl = String\n")
    extracted.clear()
    schema = scans_alike(root, store, extracted)
    assert extracted == ["db_models"]  # modules/ is no package: its file is a top-level module
    assert schema.database("x").table("items").column("data").type != first.database("x").table("items").column("data").type
