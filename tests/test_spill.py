"""A large scan keeps its model as text, a database at a time (`astschema.spill`): everything
read from it is what the same scan held in memory gives."""

import gc
import io
import shutil
from contextlib import redirect_stdout

import pytest

import astschema
from astschema import cli, ddl, model, units
from astschema.checker import check
from astschema.ddl import DIALECTS, compile_databases
from astschema.spill import SpooledDatabases
from test_cache import FIXTURES


@pytest.fixture
def spilled(monkeypatch):
    """Make every scan in the test large: its tables kept as text as they are made."""
    monkeypatch.setattr(units, "HELD_TABLES", 0)


def live_tables() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is model.Table)


@pytest.mark.parametrize("root", FIXTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("cached", [False, True], ids=["in-memory", "cache"])
def test_a_spilled_scan_reads_as_the_held_one(tmp_path, monkeypatch, root, cached):
    held = astschema.scan([root])
    assert held.held and isinstance(held.databases, tuple)
    monkeypatch.setattr(units, "HELD_TABLES", 0)
    before = live_tables()  # the held scan's
    schema = astschema.scan([root], cache_dir=tmp_path / "cache" if cached else None)
    assert isinstance(schema.databases, SpooledDatabases) and not schema.held
    assert live_tables() == before  # no table of the spilled scan is held: each is made when read
    assert schema == held and tuple(schema.databases) == held.databases
    assert schema.names == held.names and schema.homes == held.homes
    for database in held.databases:
        assert schema.database(database.name) == database
        for table in database.tables:
            assert schema.table(database.name, table.fullname) == held.table(database.name, table.fullname)
    assert schema.table(held.names[0], "no_such_table") is None
    assert check(schema) == check(held)
    ours = compile_databases(schema.databases, DIALECTS, jobs=1, directory=tmp_path / "c1" if cached else None)
    theirs = compile_databases(held.databases, DIALECTS, jobs=1)
    for name in held.names:
        for dialect in DIALECTS:
            assert ours[name].statements[dialect] == theirs[name].statements[dialect]
        assert ours[name].refusals == theirs[name].refusals and ours[name].left_out == theirs[name].left_out
        assert ours[name].names == theirs[name].names and ours[name].problems == theirs[name].problems


COMMANDS = {
    "ddl": [], "check": ["--output-format", "json"], "summary": [], "dump": [], "graph": ["--format", "mermaid"],
    "create": ["--url-template", "sqlite:///{DATA}/{name}.db"], "create --dry-run": ["--url-template",
                                                                                  "sqlite:///{DATA}/{name}.db"],
}


def test_every_command_says_the_same_of_a_spilled_scan(tmp_path, monkeypatch):
    """Each command, each with a cache of its own (compiled, then read back), and `create`
    making the SQLite databases anew: the compiled databases of a spilled scan are keyed by
    their text, and `ddl` and `create` say which keys they leave out."""
    root = tmp_path / "hub"
    shutil.copytree(FIXTURES[0], root)

    def output(command, kind, cache) -> tuple[str, int]:
        data = tmp_path / f"data-{kind}-{cache}-{list(COMMANDS).index(command)}"  # created anew each time
        data.mkdir()
        name, *flags = command.split()
        args = [a.replace("{DATA}", str(data)) for a in COMMANDS[command]]
        out = io.StringIO()
        with redirect_stdout(out):
            code = cli.main([name, str(root), *flags, *args, "--cache-dir", str(tmp_path / f"{kind}-{cache}")])
        return out.getvalue().replace(str(data), "DATA"), code

    held = {command: output(command, "held", 0) for command in COMMANDS}
    assert "-- left out: foreign key" in held["ddl"][0]
    assert "is left out: it cannot be declared" in held["create"][0]
    monkeypatch.setattr(units, "HELD_TABLES", 0)
    for cache in (1, 2):  # made, then read back
        for command, expected in held.items():
            assert output(command, "spilled", cache) == expected, command


def test_compiling_reads_the_databases_in_turn(spilled, monkeypatch):
    """The compiling stage takes each database from the spool when the workers are ready for
    its pieces, and lets it go: of the 73 databases of a fixture, compiled a table a batch,
    never more than three are alive (the one being cut into pieces, the one whose piece waits
    in the batch being filled, and the one whose batch was compiled last)."""
    schema = astschema.scan([FIXTURES[1]])
    assert len(schema.databases) == 73
    monkeypatch.setattr(ddl, "PIECE_TABLES", 1)
    made, alive = [], []
    real = SpooledDatabases.__getitem__

    def counted(self, n):
        database = real(self, n)
        made.append(database.name)
        gc.collect()
        alive.append(len({o.name for o in gc.get_objects() if type(o) is model.Database}))
        return database

    monkeypatch.setattr(SpooledDatabases, "__getitem__", counted)
    compile_databases(schema.databases, DIALECTS, jobs=1)
    assert sorted(made) == sorted(schema.names)  # each once
    assert max(alive) <= 3
