"""Each database's findings kept in the cache (`checker._database_findings`): read back without
making the database while everything they read is unchanged, found again when any of it
changed, and always what a scan without a cache finds."""

import pytest

import astschema
from astschema import units
from astschema.checker import check
from astschema.config import Config
from astschema.rules import ALL_RULES, DatabaseRule
from test_cache import FIXTURES

HEADER = "from sqlalchemy import Column, ForeignKey, Integer, String\nfrom core import Base{n}\n"
CORE = ("from sqlalchemy.orm import declarative_base\n"
        "Base1 = declarative_base()\nBase2 = declarative_base()\nBase3 = declarative_base()\n")
PARENT = 'DATABASE_NAME = "a"\n' + HEADER.format(n=1) + (
    'class P(Base1):\n    __tablename__ = "p"\n    id = Column({kind}, primary_key={key})\n    code = Column(Integer)\n')
CHILD = 'DATABASE_NAME = "b"\n' + HEADER.format(n=2) + (
    'class C(Base2):\n    __tablename__ = "c"\n    id = Column(Integer, primary_key=True)\n'
    '    p_id = Column(Integer, ForeignKey("p.id"))\n')
TWIN = 'DATABASE_NAME = "z"\n' + HEADER.format(n=3) + (
    '{blank}class P(Base3):\n    __tablename__ = "p"\n    id = Column(Integer, primary_key=True)\n')


@pytest.fixture
def checked(monkeypatch):
    """The databases whose rules ran, once each time (their findings were not read back)."""
    ran = []
    for rule in ALL_RULES:
        if issubclass(rule, DatabaseRule):
            def spy(self, context, database, real=rule.check_database):
                if (id(context), database.name) not in seen:  # the context kept: its id is not reused
                    seen[(id(context), database.name)] = context
                    ran.append(database.name)
                return real(self, context, database)

            monkeypatch.setattr(rule, "check_database", spy)
    seen = {}
    return ran


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def codes(findings):
    return sorted((f.code, f.location.path.rsplit("/", 2)[-2] if f.location else "", f.location.line if f.location else 0)
                  for f in findings)


@pytest.mark.parametrize("held", [True, False], ids=["held", "spilled"])
@pytest.mark.parametrize("root", FIXTURES, ids=lambda p: p.name)
def test_kept_findings_are_what_a_scan_without_cache_finds(tmp_path, monkeypatch, checked, root, held):
    if not held:
        monkeypatch.setattr(units, "HELD_TABLES", 0)
    alone = check(astschema.scan([root]))
    del checked[:]
    store = tmp_path / "cache"
    schema = astschema.scan([root], cache_dir=store)
    assert check(schema) == alone
    assert sorted(checked) == sorted(schema.names)  # each database checked once
    del checked[:]
    again = astschema.scan([root], cache_dir=store)
    assert check(again) == alone
    assert checked == []  # every database's findings read back
    assert (store / "checks").is_dir()


def test_findings_follow_what_other_databases_change(tmp_path, checked):
    """A key's target in another database, the table a name is first found in: when they
    change, the referring database is checked again, and finds what a scan without a cache
    finds."""
    root, store = tmp_path / "app", tmp_path / "cache"
    write(root, {"core/__init__.py": CORE, "a/db_models.py": PARENT.format(kind="Integer", key=True),
                 "b/db_models.py": CHILD, "z/db_models.py": TWIN.format(blank="")})

    def both(config=None):
        alone = check(astschema.scan([root], config=config))
        del checked[:]
        kept = check(astschema.scan([root], cache_dir=store, config=config))
        assert kept == alone
        return codes(kept)

    first = both()
    assert ("AS301", "b", 7) in first and ("AS210", "z", 4) in first
    assert not any(code in ("AS303", "AS304") for code, *_ in first)
    del checked[:]
    assert both() == first and checked == []

    write(root, {"a/db_models.py": PARENT.format(kind="String(36)", key=True)})  # the target's type
    assert ("AS304", "b", 7) in both()
    assert "b" in checked
    del checked[:]
    write(root, {"a/db_models.py": PARENT.format(kind="String(36)", key=False)})  # no longer unique
    assert ("AS303", "b", 7) in both() and "b" in checked

    del checked[:]
    write(root, {"a/db_models.py": "\n\n" + PARENT.format(kind="Integer", key=True)})  # the first p moves
    found = both()
    assert "z" in checked  # AS210 says where the first p is: the message changed (`both` compares)
    assert ("AS210", "z", 4) in found

    del checked[:]
    allowed = Config(allow_cross_database=(("b", "a"),))
    assert ("AS301", "b", 7) not in both(allowed) and "b" in checked


@pytest.mark.parametrize("damage", [lambda text: text[: len(text) // 2], lambda text: b"[]",
                                    lambda text: text.replace(b'"Diagnostic"', b'"Column"')],
                         ids=["truncated", "foreign", "wrong type"])
def test_a_damaged_entry_is_checked_again(tmp_path, checked, damage):
    root, store = FIXTURES[2], tmp_path / "cache"
    alone = check(astschema.scan([root]))
    check(astschema.scan([root], cache_dir=store))
    damaged = 0
    for entry in (store / "checks").iterdir():
        text = entry.read_bytes()
        damaged += damage(text) != text  # a database without findings has no Diagnostic to retype
        entry.write_bytes(damage(text))
    del checked[:]
    assert check(astschema.scan([root], cache_dir=store)) == alone
    assert damaged and len(checked) == damaged


CYCLE = {"core/__init__.py": CORE, "a/db_models.py": PARENT.format(kind="Integer", key=True).replace(
    "    code = Column(Integer)\n", '    c_id = Column(Integer, ForeignKey("c.id"))\n'), "b/db_models.py": CHILD}


@pytest.mark.parametrize("damage", [None, "truncated", "a step not a key", "not a list of names", "no cycle"])
def test_the_databases_cycles_are_kept(tmp_path, monkeypatch, damage):
    """AS308's cycles are kept by the databases' keys into each other: a second check finds
    them without networkx, and an entry that does not hold (damaged, or forged: a cycle
    along pairs that are no keys) is worked out again. Always what a scan without a cache
    finds."""
    import json

    import networkx

    root, store = tmp_path / "app", tmp_path / "cache"
    write(root, CYCLE)
    alone = check(astschema.scan([root]))
    assert [f.code for f in alone].count("AS308") == 1
    assert check(astschema.scan([root], cache_dir=store)) == alone
    [entry] = (store / "cycles").iterdir()
    kept = json.loads(entry.read_text())
    assert sorted(map(sorted, kept)) == [["a", "b"]]
    if damage is not None:
        entry.write_text({"truncated": entry.read_text()[:5], "a step not a key": json.dumps([["a", "z"]]),
                          "not a list of names": json.dumps([[7, "a"]]), "no cycle": json.dumps([[]])}[damage])
    ran = []
    real = networkx.simple_cycles
    monkeypatch.setattr(networkx, "simple_cycles", lambda *args: ran.append(args) or real(*args))
    assert check(astschema.scan([root], cache_dir=store)) == alone
    assert len(ran) == (damage is not None)
    assert sorted(map(sorted, json.loads(entry.read_text()))) == [["a", "b"]]
