"""What astschema reads from small trees, and what it says where it cannot know."""

from textwrap import dedent

import pytest
import sqlalchemy as sa

import astschema
from astschema.checker import check

HEADER = """\
from sqlalchemy import Column, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declarative_base, relationship
"""


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    return root


def codes(schema):
    return [(d.code, d.location.path.rsplit("/", 1)[-1], d.location.line) for d in schema.diagnostics]


def tables(schema):
    return {d.name: [t.name for t in d.tables] for d in schema.databases}


MODEL = """
Base = declarative_base()

class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
"""


@pytest.mark.parametrize(
    "value",
    ['os.environ["DB"]', 'os.environ.get("DB", "x")', 'f"db_{SUFFIX}"', "make_name()", '"a" + SUFFIX'],
)
def test_non_static_database_name_is_reported_at_its_line(tmp_path, value):
    write(tmp_path, {"db_models.py": HEADER + f"import os\nSUFFIX = os.getenv('S')\nDATABASE_NAME = {value}\n" + MODEL})
    schema = astschema.scan([tmp_path])
    assert codes(schema) == [("AS103", "db_models.py", 5)]
    assert tables(schema) == {"default": ["items"]}


def test_database_name_forms(tmp_path):
    write(tmp_path, {
        "a/db_models.py": HEADER + 'DATABASE_NAME: str = "alpha"\n' + MODEL,
        "b/db_models.py": HEADER + 'from typing import Final\nDATABASE_NAME: Final[str] = "beta"\n' + MODEL,
        "c/constants.py": 'NAME = "gam" + "ma"\n',
        "c/db_models.py": HEADER + "from c.constants import NAME as DATABASE_NAME\n" + MODEL,
    })
    schema = astschema.scan([tmp_path])
    assert schema.diagnostics == ()
    assert tables(schema) == {"alpha": ["items"], "beta": ["items"], "gamma": ["items"]}


def test_missing_database_name_goes_to_the_default_database(tmp_path):
    write(tmp_path, {"db_models.py": HEADER + MODEL})
    schema = astschema.scan([tmp_path])
    assert codes(schema) == [("AS102", "db_models.py", 1)]
    assert tables(schema) == {"default": ["items"]}
    assert tables(astschema.scan([tmp_path], default_database="main")) == {"main": ["items"]}


def test_default_database_and_factories_from_pyproject(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[tool.astschema]\ndefault-database = "main"\nbase-factories = ["make_base"]\n',
        "plain/db_models.py": HEADER + MODEL,
        "factory/db_models.py": HEADER + "from base import make_base\nBase = make_base('made')\n"
        + "class Thing(Base):\n    __tablename__ = 'things'\n    id = Column(Integer, primary_key=True)\n",
    })
    schema = astschema.scan([tmp_path])
    assert tables(schema) == {"made": ["things"], "main": ["items"]}


def test_base_argument_decides_over_database_name(tmp_path):
    write(tmp_path, {"db_models.py": HEADER + dedent("""
        from core.database import DatabaseBase
        DATABASE_NAME = "declared"
        Base = DatabaseBase("actual")

        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)
    """)})
    schema = astschema.scan([tmp_path])
    assert tables(schema) == {"actual": ["items"]}
    assert [d.code for d in schema.diagnostics] == ["AS104"]
    assert "go to 'actual'" in schema.diagnostics[0].message


def test_deprecated_base_is_reported(tmp_path):
    write(tmp_path, {"db_models.py": HEADER + dedent("""
        from modules.core.database.db_models import get_database_base
        DATABASE_NAME = "legacy"
        Base = get_database_base(DATABASE_NAME)

        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)
    """)})
    schema = astschema.scan([tmp_path])
    assert tables(schema) == {"legacy": ["items"]}
    assert codes(schema) == [("AS401", "db_models.py", 6)]


def test_unknown_type_becomes_null_type_and_is_flagged(tmp_path):
    write(tmp_path, {"db_models.py": HEADER + dedent("""
        from vendor_lib import FancyType
        DATABASE_NAME = "x"
        Base = declarative_base()

        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)
            fancy = Column(FancyType(3))
    """)})
    schema = astschema.scan([tmp_path])
    assert codes(schema) == [("AS201", "db_models.py", 11)]
    assert "vendor_lib.FancyType" in schema.diagnostics[0].message
    column = schema.database("x").table("items").column("fancy")
    assert column.type is None
    assert isinstance(schema.metadata("x").tables["items"].c.fancy.type, sa.types.NullType)


FACADE = {
    "core/__init__.py": "",
    "core/database.py": """
        from core.loader import load_utility
        SQLiteJSON = load_utility("SQLiteJSON")
    """,
    "core/loader.py": "def load_utility(name):\n    raise RuntimeError('never called')\n",
    "core/utilities/json_type.py": """
        from sqlalchemy import Text, TypeDecorator

        class SQLiteJSON(TypeDecorator):
            impl = Text
            cache_ok = True
    """,
    "modules/db_models.py": HEADER + dedent("""
        from core.database import SQLiteJSON
        DATABASE_NAME = "x"
        Base = declarative_base()

        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)
            data = Column(SQLiteJSON)
    """),
}


def test_dynamic_facade_falls_back_to_the_unique_class_with_a_warning(tmp_path):
    write(tmp_path, FACADE)
    schema = astschema.scan([tmp_path])
    assert [d.code for d in schema.diagnostics] == ["AS205"]
    assert "core/utilities/json_type.py:4" in schema.diagnostics[0].message
    assert str(schema.database("x").table("items").column("data").type) == "Text()"


def test_dynamic_facade_uses_configured_type(tmp_path):
    write(tmp_path, {**FACADE, "pyproject.toml": '[tool.astschema.types]\nSQLiteJSON = "sqlalchemy.String(36)"\n'})
    schema = astschema.scan([tmp_path])
    assert schema.diagnostics == ()
    assert str(schema.database("x").table("items").column("data").type) == "String(36)"


def test_follows_re_exports_through_packages(tmp_path):
    write(tmp_path, {
        "core/__init__.py": "from .database import GUID\n",
        "core/database/__init__.py": "from .types import GUID\n",
        "core/database/types.py": "from ._impl import GUID\n",
        "core/database/_impl.py": "from sqlalchemy import CHAR, TypeDecorator\n\n"
        "class GUID(TypeDecorator):\n    impl = CHAR(32)\n    cache_ok = True\n",
        "db_models.py": HEADER + 'from core import GUID\nDATABASE_NAME = "x"\nBase = declarative_base()\n'
        "class Item(Base):\n    __tablename__ = 'items'\n    id = Column(GUID, primary_key=True)\n",
    })
    schema = astschema.scan([tmp_path])
    assert schema.diagnostics == ()
    assert str(schema.database("x").table("items").column("id").type) == "CHAR(32)"


def test_syntax_error_is_reported_and_the_scan_goes_on(tmp_path):
    write(tmp_path, {
        "a/db_models.py": "DATABASE_NAME = 'a'\nclass Broken(:\n    pass\n",
        "b/db_models.py": HEADER + 'DATABASE_NAME = "b"\n' + MODEL,
    })
    schema = astschema.scan([tmp_path])
    assert codes(schema) == [("AS101", "db_models.py", 3)]  # libcst stops at the token it cannot take
    assert "cannot parse" in schema.diagnostics[0].message
    assert tables(schema) == {"b": ["items"]}


def test_include_and_exclude(tmp_path):
    write(tmp_path, {
        "models.py": HEADER + 'DATABASE_NAME = "m"\n' + MODEL,
        "db_models.py": HEADER + 'DATABASE_NAME = "d"\n' + MODEL,
        "tests/db_models.py": HEADER + 'DATABASE_NAME = "t"\n' + MODEL,
    })
    assert tables(astschema.scan([tmp_path])) == {"d": ["items"], "t": ["items"]}
    assert tables(astschema.scan([tmp_path], exclude=["tests/**"])) == {"d": ["items"]}
    assert tables(astschema.scan([tmp_path], include=["**/*.py"], exclude=["tests/**"])) == {"d": ["items"], "m": ["items"]}


def test_relationships_are_recorded_without_ddl(tmp_path):
    write(tmp_path, {"db_models.py": HEADER + dedent("""
        DATABASE_NAME = "x"
        Base = declarative_base()

        class Parent(Base):
            __tablename__ = "parents"
            id = Column(Integer, primary_key=True)
            children = relationship("Child", back_populates="parent")

        class Child(Base):
            __tablename__ = "children"
            id = Column(Integer, primary_key=True)
            parent_id = Column(ForeignKey("parents.id"))
            parent = relationship(Parent)
    """)})
    database = astschema.scan([tmp_path]).database("x")
    assert [(r.attribute, r.target) for r in database.table("parents").relationships] == [("children", "Child")]
    assert [(r.attribute, r.target) for r in database.table("children").relationships] == [("parent", "Parent")]
    child = database.table("children").column("parent_id")
    assert str(child.type) == "Integer()" and child.foreign_keys[0].target == "parents.id"


def test_everything_carries_its_source_location(tmp_path):
    write(tmp_path, {"db_models.py": HEADER + 'DATABASE_NAME = "x"\n' + MODEL})
    table = astschema.scan([tmp_path]).database("x").table("items")
    assert (table.location.line, table.location.col) == (7, 7)
    assert (table.columns[0].location.line, table.columns[0].location.col) == (9, 10)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("return cls.__name__.lower()", "orderline"),
        ("return re.sub(r'(?<!^)(?=[A-Z])', '_', cls.__name__).lower()", "order_line"),
        ("return snake(cls.__name__) + 's'", "order_lines"),
        ("return 'tbl_' + cls.__name__.upper()", "tbl_ORDERLINE"),
    ],
)
def test_generated_table_names(tmp_path, body, expected):
    write(tmp_path, {"db_models.py": HEADER + dedent(f"""
        import re
        from sqlalchemy.orm import declared_attr
        DATABASE_NAME = "x"

        def snake(name):
            return re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()

        class Base:
            @declared_attr.directive
            def __tablename__(cls):
                {body}

        Model = declarative_base(cls=Base)

        class OrderLine(Model):
            id = Column(Integer, primary_key=True)
    """)})
    schema = astschema.scan([tmp_path])
    assert tables(schema) == {"x": [expected]}


def test_generated_table_name_it_cannot_read_is_reported(tmp_path):
    write(tmp_path, {"db_models.py": HEADER + dedent("""
        from sqlalchemy.orm import declared_attr
        DATABASE_NAME = "x"
        Base = declarative_base()

        class Named:
            @declared_attr.directive
            def __tablename__(cls):
                return NAMES[cls]

        class OrderLine(Named, Base):
            id = Column(Integer, primary_key=True)
    """)})
    schema = astschema.scan([tmp_path])
    assert tables(schema) == {}
    assert [d.code for d in schema.diagnostics] == ["AS203"]


def test_table_defined_twice_without_extend_existing_is_reported(tmp_path):
    write(tmp_path, {"db_models.py": HEADER + dedent("""
        DATABASE_NAME = "x"
        Base = declarative_base()

        class A(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)

        class B(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)
            extra = Column(Integer)
    """)})
    schema = astschema.scan([tmp_path])
    assert codes(schema) == [("AS208", "db_models.py", 11)]
    assert [c.name for c in schema.database("x").table("items").columns] == ["id"]


def test_key_to_an_unknown_column_is_reported_and_left_out(tmp_path):
    write(tmp_path, {"db_models.py": HEADER + dedent("""
        DATABASE_NAME = "x"
        Base = declarative_base()

        class Parent(Base):
            __tablename__ = "parents"
            id = Column(Integer, primary_key=True)

        class Child(Base):
            __tablename__ = "children"
            id = Column(Integer, primary_key=True)
            parent_id = Column(Integer, ForeignKey("parents.uid"))
            other_id = Column(Integer, ForeignKey("nowhere.id"))
    """)})
    schema = astschema.scan([tmp_path])
    assert [(d.code, d.location.line) for d in check(schema)] == [("AS302", 14), ("AS302", 15)]
    children = schema.metadata("x").tables["children"]
    assert not children.foreign_keys  # left out; the columns stay
    assert {"parent_id", "other_id"} <= set(children.c.keys())


def test_encodings(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "db_models.py").write_bytes(b'DATABASE_NAME = "caf\xe9"\n')  # latin-1, no cookie
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "db_models.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n" + (HEADER + 'DATABASE_NAME = "caf\xe9"\n' + MODEL).encode("latin-1"))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "db_models.py").write_bytes(b"\xef\xbb\xbf" + (HEADER + 'DATABASE_NAME = "bom"\n' + MODEL).encode())
    schema = astschema.scan([tmp_path])
    assert codes(schema) == [("AS101", "db_models.py", 1)]
    assert "not UTF-8" in schema.diagnostics[0].message
    assert tables(schema) == {"bom": ["items"], "café": ["items"]}
