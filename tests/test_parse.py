"""The parse stage's positions: paired from the stdlib `ast`, they must equal libcst's own
PositionProvider's, which costs twice the parse and is kept only as the fallback."""

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from astschema import parse

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for p in (ROOT / "fixtures").rglob("*.py") if p.is_file() and not p.is_symlink())

TRICKY = {
    "parentheses": "x = ( a.b )\ny = (\n  # why\n  1, 2)\nz = f( (k) , q=(3), *r, **s)\nt = ((1, 2))\nu = ()\n",
    "definitions": "@dec\nclass  A(B, *c, metaclass=M, **kw):\n  x: int = 1\n  async  def  f(self) -> 'T':\n    '''doc'''\n    return g(\n      1)\n",
    "non-ascii": "x = 'é'; y = Column('ü', String(3))\nclass É: pass\n",
    "crlf and bom": "\ufeffx = 1\r\ny = f(\r\n  2)\r\n",
    "strings": "a = 'x' 'y'\nb = f'{A}.id'\nc = ('p'\n     'q')\n",
    "subscripts": "a: Mapped[int]\nb = T[x, y]\nc = T[(x, y)]\nd = T[x,]\ne = T[-1]\n",
    "branches": "if X:\n  a = 1\nelse:\n  a = 2\ntry:\n  import b\nexcept ImportError: b = None\nif Y: c = 3\n",
    "one-line bodies": "class A: x = 1; y = 2\ndef f(): return 3\n",
    "dict and sets": "d = {'a': (1), **e}\nf = {'k': [1, {2}]}\n",
}


def libcst_positions(source: bytes, path: str) -> parse.ModuleSummary:
    tree = cst.parse_module(source)
    positions = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    collector = parse._Collector(path, parse._CstPositions(path, positions))
    collector.module_body(tree.body, None)
    return collector


def fields(collector):
    return collector.imports, collector.bindings, collector.classes, collector.functions, collector.expressions


def fast_positions(source: bytes, path: str):
    tree = cst.parse_module(source)
    python_tree, refused = parse._python_ast(source)
    assert refused is None and python_tree is not None
    collector = parse._Collector(path, parse._AstPositions(path, source, tree.encoding))
    collector.module_body(tree.body, python_tree.body)  # raises _Mismatch if the trees do not pair
    return collector


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_fixture_positions_equal_libcsts(path):
    source = path.read_bytes()
    if parse._python_ast(source)[0] is None:  # a broken fixture: reported, with nothing to pair
        assert [d.code for d in parse.parse_source(source, str(path), "m").diagnostics] == ["AS101"]
        return
    assert fields(fast_positions(source, str(path))) == fields(libcst_positions(source, str(path)))


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_positions_equal_libcsts(name):
    source = TRICKY[name].encode("utf-8")
    assert fields(fast_positions(source, "x.py")) == fields(libcst_positions(source, "x.py"))


def test_latin1_file_positions_equal_libcsts():
    source = "# -*- coding: latin-1 -*-\nx = 'é'; y = f(1)\n".encode("latin-1")
    assert fields(fast_positions(source, "x.py")) == fields(libcst_positions(source, "x.py"))


def test_syntax_newer_than_ast_falls_back_to_libcst_positions(monkeypatch):
    """What `ast` refuses but libcst reads gets libcst's positions: same summary."""
    source = b"DATABASE_NAME = 'x'\nT = f(\n  1)\n"
    expected = parse.parse_source(source, "x.py", "x")
    monkeypatch.setattr(parse, "_python_ast", lambda source: (None, None))
    assert parse.parse_source(source, "x.py", "x") == expected


def test_summaries_are_the_same_either_way(monkeypatch):
    sources = [p for p in SOURCES if "broken" not in p.parts and "hostile" not in p.parts]
    fast = [parse.parse_source(p.read_bytes(), str(p), "m") for p in sources]
    monkeypatch.setattr(parse, "_python_ast", lambda source: (None, None))
    assert [parse.parse_source(p.read_bytes(), str(p), "m") for p in sources] == fast
