"""Snapshots: `snapshot -o schema.lock.json` and `check --against` it, as CI runs them.

Fidelity (a snapshot describes each table as importing the models builds it) is held in
test_fidelity.py and test_fuzz.py, against SQLAlchemy's own tables.
"""

import json
import re

import pytest

import astschema
from astschema.snapshot import SnapshotError, changes, places, read, render, snapshot
from support import FIXTURES, run_cli as run

SHOP = '''\
DATABASE_NAME = "shop"
from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Customer(Base):
    __tablename__ = "customers"
    id = Column(Integer, primary_key=True)
    email = Column(String(120), nullable=False, unique=True)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_placed", "placed"),)
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"))
    placed = Column(String(20))
'''
BILLING = '''\
DATABASE_NAME = "billing"
from sqlalchemy import Column, ForeignKey, Integer
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Invoice(Base):
    __tablename__ = "invoices"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"))
'''


@pytest.fixture
def tree(tmp_path):
    for package, text in (("shop", SHOP), ("billing", BILLING)):
        (tmp_path / package).mkdir()
        (tmp_path / package / "db_models.py").write_text(text)
    (tmp_path / "pyproject.toml").write_text('[tool.astschema]\nallow-cross-database = [["billing", "shop"]]\n')
    proc = run("snapshot", "-o", "schema.lock.json", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote schema.lock.json: 2 databases, 3 tables" in proc.stderr
    return tmp_path


def against(tree, *options):
    proc = run("check", "--against", "schema.lock.json", "--select", "AS601", *options, cwd=tree)
    found = re.findall(r"^(\S+):(\d+):\d+: AS601 (.*)$", proc.stdout, re.M)
    return proc.returncode, [(path, int(line), message) for path, line, message in found]


def test_the_snapshot_is_sorted_one_item_a_line_and_written_the_same_twice(tree):
    text = (tree / "schema.lock.json").read_text()
    document = json.loads(text)
    assert list(document["databases"]) == ["billing", "shop"]
    assert list(document["databases"]["shop"]) == ["customers", "orders"]
    orders = document["databases"]["shop"]["orders"]
    assert [c["name"] for c in orders["columns"]] == ["id", "customer_id", "placed"]  # the table's order
    assert orders["foreign_keys"] == [{
        "name": None, "columns": ["customer_id"], "references": "customers", "referred_columns": ["id"],
        "ondelete": "CASCADE", "onupdate": None, "deferrable": None, "initially": None, "match": None,
        "use_alter": False, "database": "shop"}]
    invoice_key, = document["databases"]["billing"]["invoices"]["foreign_keys"]
    assert invoice_key["database"] == "shop"  # a key into another database is kept, with where it points
    customers = document["databases"]["shop"]["customers"]
    assert {"kind": "unique", "name": None, "columns": ["email"], "options": {}} in customers["constraints"]
    assert [c["type"] for c in customers["columns"]] == ["Integer()", "String(length=120)"]
    for line in text.splitlines():  # one column, key, constraint or index per line
        if line.strip().startswith('{"name": "email"'):
            assert json.loads(line.strip().rstrip(","))["nullable"] is False
    assert "line" not in text and "db_models" not in text  # nothing only the source knows
    again = run("snapshot", "--no-cache", cwd=tree)
    assert again.returncode == 0 and again.stdout == text


def test_no_change_no_finding_even_when_the_source_is_rewritten(tree):
    assert against(tree) == (0, [])
    shop = tree / "shop" / "db_models.py"
    text = shop.read_text()
    customer = text[text.index("class Customer"):text.index("class Order")]
    # classes in another order, an attribute renamed, a type written another way, a comment
    rewritten = (text.replace(customer, "").rstrip("\n") + "\n\n\n" + customer.rstrip("\n") + "  # moved\n")
    rewritten = rewritten.replace("    placed = Column(String(20))", '    when = Column("placed", String(length=20))')
    shop.write_text(rewritten)
    assert against(tree) == (0, [])


CHANGES = [
    ("column added", "    placed = Column(String(20))\n", "    placed = Column(String(20))\n    note = Column(String(5))\n",
     [("shop/db_models.py", 20, 'column note of orders added: type "String(length=5)", nullable true')]),
    ("column type", "Column(String(20))", "Column(String(40))",
     [("shop/db_models.py", 19, 'column placed of orders changed: type "String(length=20)" -> "String(length=40)"')]),
    ("not null", "Column(String(20))", "Column(String(20), nullable=False)",
     [("shop/db_models.py", 19, "column placed of orders changed: nullable true -> false")]),
    ("key changed", 'ondelete="CASCADE"', 'ondelete="SET NULL"',
     [("shop/db_models.py", 18, 'foreign key (customer_id) of orders changed: ondelete "CASCADE" -> "SET NULL"')]),
    ("index removed", '    __table_args__ = (Index("ix_orders_placed", "placed"),)\n', "",
     [("schema.lock.json", 0, 'index ix_orders_placed of orders removed: columns ["placed"]')]),
    ("unique removed", "nullable=False, unique=True", "nullable=False",
     [("schema.lock.json", 0, 'constraint unique (email) of customers removed: kind "unique", columns ["email"]')]),
    ("column removed", "    placed = Column(String(20))\n", "",
     [("schema.lock.json", 0, "column placed of orders removed: "),
      ("schema.lock.json", 0, "index ix_orders_placed of orders removed: ")]),  # AS206: left out too
    ("reordered", "    customer_id = Column(Integer, ForeignKey(\"customers.id\", ondelete=\"CASCADE\"))\n"
                  "    placed = Column(String(20))\n",
     "    placed = Column(String(20))\n"
     "    customer_id = Column(Integer, ForeignKey(\"customers.id\", ondelete=\"CASCADE\"))\n",
     [("shop/db_models.py", 14, "columns of orders reordered: id, customer_id, placed -> id, placed, customer_id")]),
]


@pytest.mark.parametrize("old, new, expected", [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_each_change_is_found_where_it_is(tree, old, new, expected):
    shop = tree / "shop" / "db_models.py"
    assert old in shop.read_text()
    shop.write_text(shop.read_text().replace(old, new))
    lock = (tree / "schema.lock.json").read_text().splitlines()
    code, found = against(tree)
    assert code == 1
    assert len(found) == len(expected), found
    for (path, line, message), (where, at, says) in zip(sorted(found), sorted(expected), strict=True):
        assert path == where and message.startswith(says)
        if where == "schema.lock.json":  # what was removed: at its own line of the snapshot
            name = says.split()[1] if not says.startswith("constraint") else "email"
            assert f'"{name}"' in lock[line - 1] and lock[line - 1].lstrip().startswith("{")
        else:
            assert line == at


def test_tables_and_databases_added_and_removed(tree):
    shop = tree / "shop" / "db_models.py"
    text = shop.read_text()
    shop.write_text(text[:text.index("class Order")] + text[text.index("class Order"):].replace(
        "class Order", "class Purchase").replace('"orders"', '"purchases"').replace("ix_orders", "ix_purchases"))
    (tree / "billing" / "db_models.py").unlink()
    (tree / "audit").mkdir()
    (tree / "audit" / "db_models.py").write_text(BILLING.replace('"billing"', '"audit"').replace(
        ', ForeignKey("customers.id")', ""))
    lock = (tree / "schema.lock.json").read_text().splitlines()
    code, found = against(tree)
    assert code == 1
    assert [(path, message) for path, _, message in found] == [
        ("audit/db_models.py", "database audit added (not in the snapshot)"),
        ("schema.lock.json", "database billing removed (it is in the snapshot)"),
        ("schema.lock.json", "table shop.orders removed"),
        ("shop/db_models.py", "table shop.purchases added"),
    ]
    assert lock[found[1][1] - 1].strip() == '"billing": {' and lock[found[2][1] - 1].strip() == '"orders": {'
    assert found[3][1] == 14 and found[0][1] == 1  # the class; the database's first DATABASE_NAME


def test_against_from_the_configuration_and_in_every_output_format(tree):
    (tree / "pyproject.toml").write_text((tree / "pyproject.toml").read_text() + 'against = "schema.lock.json"\n')
    shop = tree / "shop" / "db_models.py"
    shop.write_text(shop.read_text().replace("String(20)", "String(30)"))
    plain = run("check", "--no-cache", cwd=tree / "shop")  # the configuration is found from below
    assert plain.returncode == 1 and "AS601 column placed of orders changed" in plain.stdout
    sarif = json.loads(run("check", "--no-cache", "--output-format", "sarif", cwd=tree).stdout)
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "AS601"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results] == [19]


def test_an_edited_snapshot_is_not_answered_from_a_stored_run(tree):
    assert against(tree, "--cache-dir", ".cache") == (0, [])
    lock = tree / "schema.lock.json"
    lock.write_text(lock.read_text().replace('"String(length=20)"', '"String(length=25)"'))
    code, found = against(tree, "--cache-dir", ".cache")
    assert code == 1 and [m for _, _, m in found] == [
        'column placed of orders changed: type "String(length=25)" -> "String(length=20)"']


def test_a_snapshot_that_cannot_be_read_is_a_usage_error(tree):
    lock = tree / "schema.lock.json"
    lock.write_text('{"format_version": 1,\n "databases": {\n')
    proc = run("check", "--against", "schema.lock.json", cwd=tree)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("astschema: schema.lock.json:3:1: not a snapshot")
    lock.write_text('{"format_version": 99, "databases": {}}')
    proc = run("check", "--against", "schema.lock.json", cwd=tree)
    assert proc.returncode == 2 and "not a snapshot of format_version 1" in proc.stderr
    proc = run("check", "--against", "missing.json", cwd=tree)
    assert proc.returncode == 2 and "missing.json: cannot read the snapshot" in proc.stderr
    # JSON of the right outline, an item edited by hand into another shape
    lock.write_text('{"format_version": 1, "databases": {"shop": {"orders": {"table": {}, "columns": [], '
                    '"constraints": [], "foreign_keys": [], "indexes": [{"name": null, "columns": 5}]}}}}')
    proc = run("check", "--against", "schema.lock.json", cwd=tree)
    assert proc.returncode == 2 and "not a snapshot of format_version 1" in proc.stderr  # was an internal error


def test_a_hand_formatted_snapshot_still_works_without_its_lines(tree):
    lock = tree / "schema.lock.json"
    lock.write_text(json.dumps(json.loads(lock.read_text()), indent=4))
    shop = tree / "shop" / "db_models.py"
    shop.write_text(shop.read_text().replace("    placed = Column(String(20))\n", "").replace(
        '    __table_args__ = (Index("ix_orders_placed", "placed"),)\n', ""))
    code, found = against(tree)
    assert code == 1
    assert [(p, line) for p, line, m in found if m.startswith("column placed")] == [("schema.lock.json", 1)]


def test_models_that_cannot_be_read_whole_write_no_snapshot(tree):
    lock = tree / "schema.lock.json"
    before = lock.read_bytes()
    shop = tree / "shop" / "db_models.py"
    shop.write_text(shop.read_text().replace("from sqlalchemy.orm", "from vendor import Fancy\nfrom sqlalchemy.orm")
                    .replace("Column(String(20))", "Column(Fancy)"))
    proc = run("snapshot", "-o", "schema.lock.json", "--no-cache", cwd=tree)
    assert proc.returncode == 1
    assert "AS201" in proc.stderr and "no snapshot written" in proc.stderr and "Traceback" not in proc.stderr
    assert lock.read_bytes() == before
    quiet = run("snapshot", "-q", "--no-cache", cwd=tree)
    assert quiet.returncode == 1 and quiet.stdout == "" and "AS201" in quiet.stderr


def test_the_hub_round_trips():
    schema = astschema.scan([FIXTURES / "hub"])
    document, problems = snapshot(schema)
    assert problems == []
    assert changes(document, document["databases"].items()) == []
    assert json.loads(render(document)) == document
    assert sum(len(tables) for tables in document["databases"].values()) == 19


def test_read_gives_each_place_its_line(tmp_path):
    document, _ = snapshot(astschema.scan([FIXTURES / "hub"]))
    path = tmp_path / "schema.lock.json"
    path.write_text(render(document))
    again, text = read(path)
    assert again == document
    lines = places(again, text)
    shown = text.splitlines()
    line, col = lines[("framework", "modules", "columns", "name")]
    assert shown[line - 1][col - 1:].startswith('{"name": "name"')
    line, col = lines[("semantic_core", "documents")]
    assert shown[line - 1][col - 1:] == '"documents": {'
    assert places(again, text.replace("\n  ", "\n   ", 1)) == {}  # laid out by hand: no places
    path.write_text("[]")
    with pytest.raises(SnapshotError, match="not a snapshot"):
        read(path)
