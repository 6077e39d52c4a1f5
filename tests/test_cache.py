"""The parse cache: reused while a file's bytes are unchanged, never trusted beyond that."""

import gc
import json
import multiprocessing
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import astschema
from astschema import cache, parse
from astschema.diagnostics import Location
from support import run_cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = [ROOT / "fixtures" / "hub", ROOT / "fixtures" / "patterns", ROOT / "fixtures" / "broken"]
MODEL = """\
DATABASE_NAME = "shop"
from sqlalchemy import Column, Integer, String
from core.database import DatabaseBase
Base = DatabaseBase(DATABASE_NAME)
class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
    name = Column(String(40))
"""


@pytest.fixture
def counted(monkeypatch):
    """The files parse_source really parsed (by path), in this process."""
    parsed = []
    real = parse.parse_source

    def spy(data, path, module, is_package=False):
        parsed.append(Path(path).name)
        return real(data, path, module, is_package)

    monkeypatch.setattr(parse, "parse_source", spy)
    monkeypatch.setattr(cache, "PARALLEL_FROM", 10**9)  # in this process, where the spy is
    return parsed


def tree(tmp_path) -> Path:
    (tmp_path / "app" / "shop").mkdir(parents=True)
    (tmp_path / "app" / "shop" / "db_models.py").write_text(MODEL)
    (tmp_path / "app" / "users").mkdir()
    (tmp_path / "app" / "users" / "db_models.py").write_text(MODEL.replace("shop", "users").replace("items", "users"))
    return tmp_path / "app"


def entries(directory: Path) -> list[Path]:
    """The parse entries (the cache also keeps compiled databases and whole results)."""
    return sorted(directory.glob("[0-9a-f][0-9a-f]/*.json"))


def test_unchanged_files_are_not_parsed_again(tmp_path, counted):
    app, store = tree(tmp_path), tmp_path / "cache"
    first = astschema.scan([app], cache_dir=store)
    assert sorted(counted) == ["db_models.py", "db_models.py"]
    assert len(entries(store)) == 2
    counted.clear()
    second = astschema.scan([app], cache_dir=store)
    assert counted == []
    assert second.databases == first.databases and second.diagnostics == first.diagnostics


def test_a_changed_file_is_parsed_again(tmp_path, counted):
    app, store = tree(tmp_path), tmp_path / "cache"
    astschema.scan([app], cache_dir=store)
    counted.clear()
    shop = app / "shop" / "db_models.py"
    shop.write_text(MODEL.replace("String(40)", "String(80)"))
    schema = astschema.scan([app], cache_dir=store)
    assert counted == ["db_models.py"]
    assert schema.database("shop").table("items").column("name").type.args == (80,)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign key", "wrong shape", "empty"])
def test_a_damaged_entry_is_ignored_and_rebuilt(tmp_path, counted, damage):
    app, store = tree(tmp_path), tmp_path / "cache"
    expected = astschema.scan([app], cache_dir=store)
    for entry in entries(store):
        text = entry.read_text()
        entry.write_text({
            "truncated": text[: len(text) // 2],
            "garbage": "\x00\xff not json",
            "foreign key": text.replace(entry.stem, "0" * 32),
            "wrong shape": json.dumps({"key": entry.stem, "summary": ["Name", "x", [1, 1]]}),
            "empty": "",
        }[damage])
    shutil.rmtree(store / "units")  # else every module's extraction is reused, and no summary read
    counted.clear()
    schema = astschema.scan([app], cache_dir=store)
    assert sorted(counted) == ["db_models.py", "db_models.py"]  # both parsed again
    assert schema.databases == expected.databases and schema.diagnostics == expected.diagnostics
    counted.clear()
    astschema.scan([app], cache_dir=store)
    assert counted == []  # and the rebuilt entries are good


def test_an_entry_from_another_astschema_is_not_used(tmp_path, counted, monkeypatch):
    app, store = tree(tmp_path), tmp_path / "cache"
    astschema.scan([app], cache_dir=store)
    monkeypatch.setattr("astschema.store.identity", lambda: "another version")
    counted.clear()
    astschema.scan([app], cache_dir=store)
    assert len(counted) == 2


def test_a_copied_file_reuses_the_entry_with_its_own_path(tmp_path, counted):
    app, store = tree(tmp_path), tmp_path / "cache"
    astschema.scan([app], cache_dir=store)
    (app / "orders").mkdir()
    (app / "orders" / "db_models.py").write_bytes((app / "shop" / "db_models.py").read_bytes())
    counted.clear()
    schema = astschema.scan([app], cache_dir=store)
    assert counted == []
    kept = schema.database("shop").table("items").location  # the first of the two definitions
    assert Path(kept.path) == app / "orders" / "db_models.py" and kept.line == 5


def test_copies_of_one_file_keep_their_own_paths_everywhere(tmp_path):
    """One entry serves every file of the same bytes: module-level findings and suppressions
    carry each file's own path (they once carried the first file's)."""
    lost = MODEL.replace('DATABASE_NAME = "shop"\n', "")  # AS102, reported at the module's line 1
    app, store = tmp_path / "app", tmp_path / "cache"
    for name in ("a", "b"):
        (app / name).mkdir(parents=True)
        (app / name / "db_models.py").write_text(lost)
    expected = sorted(str(d.location) for d in astschema.scan([app]).diagnostics if d.code == "AS102")
    assert len(expected) == 2
    for _ in range(2):  # cold, then from the cache
        found = sorted(str(d.location) for d in astschema.scan([app], cache_dir=store).diagnostics if d.code == "AS102")
        assert found == expected


def test_the_cache_directory_keeps_itself_out_of_git(tmp_path):
    app, store = tree(tmp_path), tmp_path / "cache"
    astschema.scan([app], cache_dir=store)
    assert (store / ".gitignore").read_text().splitlines()[-1] == "*"


def test_an_unwritable_cache_is_not_an_error(tmp_path):
    app = tree(tmp_path)
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the directory would go")
    schema = astschema.scan([app], cache_dir=blocker)
    assert [t.name for d in schema.databases for t in d.tables] == ["items", "users"]


@pytest.mark.parametrize("root", FIXTURES, ids=lambda p: p.name)
def test_results_with_and_without_cache_are_identical(tmp_path, root):
    store = tmp_path / "cache"
    cold = run_cli("dump", str(root), "--cache-dir", str(store))
    warm = run_cli("dump", str(root), "--cache-dir", str(store))
    none = run_cli("dump", str(root), "--no-cache")
    assert entries(store)
    assert cold.stdout == warm.stdout == none.stdout
    assert cold.returncode == warm.returncode == none.returncode


def _scan_in_a_daemon(args):
    app, store = args
    return len(astschema.scan([app], cache_dir=store).databases)


def test_a_daemon_process_scans_without_workers(tmp_path):
    """multiprocessing pool workers may not start processes: the scan parses in-process."""
    app = tree(tmp_path)
    for n in range(20):
        (app / f"m{n}").mkdir()
        (app / f"m{n}" / "db_models.py").write_text(MODEL.replace("shop", f"db{n}").replace("items", f"t{n}"))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.map(_scan_in_a_daemon, [(app, tmp_path / "cache")]) == [22]


def test_concurrent_runs_share_a_cache(tmp_path):
    app, store = tree(tmp_path), tmp_path / "cache"
    for n in range(30):  # enough files that the runs write the same entries at once
        (app / f"m{n}").mkdir()
        (app / f"m{n}" / "db_models.py").write_text(MODEL.replace("shop", f"db{n}").replace("items", f"t{n}"))
    runs = [subprocess.Popen([sys.executable, "-m", "astschema", "summary", str(app), "--cache-dir", str(store)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [run.communicate() for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert len({stdout for stdout, _ in outputs}) == 1 and "32 databases" in outputs[0][0]
    assert not list(store.glob("*/.tmp-*"))
    for entry in entries(store):
        assert cache._summary_from(entry.read_bytes(), entry.stem, "x.py", "m", False) is not None


SUPPORT = """\
NAME_LENGTH = 40
"""


def test_a_stored_result_is_replayed_only_while_its_inputs_are_unchanged(tmp_path):
    app, store = tree(tmp_path), tmp_path / "cache"
    (app / "limits.py").write_text(SUPPORT)
    shop = app / "shop" / "db_models.py"
    shop.write_text(MODEL.replace("String(40)", "String(NAME_LENGTH)").replace(
        "from core.database import DatabaseBase", "from core.database import DatabaseBase\nfrom limits import NAME_LENGTH"))

    def ddl():
        result = run_cli("ddl", app, "--cache-dir", store, "--database", "shop", cwd=tmp_path)
        assert result.returncode in (0, 1), result.stderr
        return result.stdout

    assert "name VARCHAR(40)" in ddl()
    stored = sorted((store / "runs").glob("*.json"))
    assert stored  # under two keys: the support module's summary was first met by this run
    assert "name VARCHAR(40)" in ddl()
    assert sorted((store / "runs").glob("*.json")) == stored  # replayed
    (app / "limits.py").write_text(SUPPORT.replace("40", "50"))  # a support module, not a model file
    assert "name VARCHAR(50)" in ddl()
    (app / "orders").mkdir()  # a new model file
    (app / "orders" / "db_models.py").write_text(MODEL.replace("shop", "orders").replace("items", "orders"))
    assert "orders" in run_cli("summary", app, "--cache-dir", store, cwd=tmp_path).stdout


@pytest.mark.parametrize("damage", ["truncated", "changed", "missing"])
def test_a_stored_result_whose_output_is_damaged_is_not_replayed(tmp_path, damage):
    """A result's output is kept beside it (never held whole in memory): replayed only if
    it is what was stored, else the command runs again."""
    app, store = tree(tmp_path), tmp_path / "cache"

    def ddl():
        result = run_cli("ddl", app, "--cache-dir", store, cwd=tmp_path)
        assert result.returncode in (0, 1), result.stderr
        return result.stdout

    expected = ddl()
    assert "CREATE TABLE items" in expected
    (output,) = (store / "runs").glob("*.out")
    assert output.read_text(encoding="utf-8") == expected
    text = expected.replace("items", "stolen")
    if damage == "missing":
        output.unlink()
    else:
        output.write_text(text[: len(text) // 2] if damage == "truncated" else text, encoding="utf-8")
    assert ddl() == expected
    assert output.read_text(encoding="utf-8") == expected  # and stored again


def test_an_unchanged_database_is_not_compiled_again(tmp_path, monkeypatch):
    from astschema import ddl

    app, store = tree(tmp_path), tmp_path / "cache"
    compiled = []
    real = ddl.compile_piece

    def spy(database, names, dialects):
        compiled.append(database.name)
        return real(database, names, dialects)

    monkeypatch.setattr(ddl, "compile_piece", spy)
    monkeypatch.setattr(ddl, "PARALLEL_FROM_TABLES", 10**9)  # in this process, where the spy is
    first = astschema.scan([app], cache_dir=store)
    expected = {d.name: first.compiled(d.name, "sqlite").statements["sqlite"] for d in first.databases}
    assert sorted(compiled) == ["shop", "users"]
    compiled.clear()
    (app / "shop" / "db_models.py").write_text(MODEL.replace("String(40)", "String(80)"))
    again = astschema.scan([app], cache_dir=store)
    statements = {d.name: again.compiled(d.name, "sqlite").statements["sqlite"] for d in again.databases}
    assert compiled == ["shop"]
    assert statements["users"] == expected["users"] and "VARCHAR(80)" in statements["shop"][0]


@pytest.mark.parametrize("damage", ["truncated", "a line changed", "forged: a statement not text",
                                    "forged: names not a list", "forged: a statement fewer",
                                    "forged: a count not a number"])
def test_a_damaged_compiled_database_is_compiled_again(tmp_path, monkeypatch, damage):
    """A compiled database read back from the cache is checked, statements included: damage
    by the digest of its lines, what only a forger makes (whose digest matches) by its shape.
    One that does not hold together is compiled again, and the DDL is what it was."""
    import hashlib
    import json

    from astschema import ddl

    app, store = tree(tmp_path), tmp_path / "cache"
    monkeypatch.setattr(ddl, "PARALLEL_FROM_TABLES", 10**9)
    first = astschema.scan([app], cache_dir=store)
    expected = {d.name: dict(first.compiled(d.name, "sqlite").statements) for d in first.databases}
    for entry in (store / "databases").glob("*.json"):
        text = entry.read_text(encoding="ascii")
        head, *lines, digest = text.split("\n")
        document = json.loads(head)
        names = document["names"]  # the names' lines, then each dialect's statements
        sqlite = names + sum(count for dialect, count in document["statements"][:1] if dialect == "postgresql")
        if damage == "truncated":
            entry.write_text(text[: len(text) // 2], encoding="ascii")
            continue
        if damage == "a line changed":
            lines[sqlite] = lines[sqlite].replace("CREATE", "DROP")
        elif damage.endswith("a statement not text"):
            lines[sqlite] = json.dumps({"drop": "everything"})
        elif damage.endswith("names not a list"):
            lines[0] = json.dumps([json.loads(lines[0])[0], 7])
        elif damage.endswith("a statement fewer"):
            del lines[sqlite]
        else:
            document["statements"][0][1] = "all"
        head = json.dumps(document)
        if damage.startswith("forged"):
            digest = hashlib.blake2b("".join(f"{line}\n" for line in [head, *lines]).encode(), digest_size=16).hexdigest()
        entry.write_text("\n".join([head, *lines, digest]), encoding="ascii")
    compiled = []
    real = ddl.compile_piece
    monkeypatch.setattr(ddl, "compile_piece", lambda *args: compiled.append(args[0].name) or real(*args))
    again = astschema.scan([app], cache_dir=store)
    assert {d.name: dict(again.compiled(d.name, "sqlite").statements) for d in again.databases} == expected
    assert sorted(compiled) == ["shop", "users"]


@pytest.mark.parametrize("on_disk", [True, False])
def test_spooled_statements_come_back_whole_in_any_pieces(on_disk):
    """Compiled statements wait in a temporary file (in memory without a cache, which writes
    nothing); read back whole, or copied out in pieces (into the cache) cut anywhere, non-ASCII
    text included."""
    from astschema.ddl import Statements
    from astschema.store import Spool, json_lines

    spool = Spool(on_disk)
    strings = ["CREATE TABLE \"é\" (x INTEGER)", "-- ü" * 3000, ""]
    place = Statements.put(spool, strings)
    statements = Statements(spool, {"sqlite": place, "postgresql": Statements.put(spool, ["x"])})
    assert statements["sqlite"] == tuple(strings) and statements["postgresql"] == ("x",)
    assert json_lines("".join(statements.lines("sqlite"))) == strings and statements.count("sqlite") == 3
    assert list(statements.each("sqlite")) == strings
    assert dict(statements) == {"sqlite": tuple(strings), "postgresql": ("x",)}
    copied = Statements(spool, {"sqlite": Statements.put(spool, [place, "y", place]),
                                "none": Statements.put(spool, [])})
    assert copied["sqlite"] == (*strings, "y", *strings) and copied["none"] == ()
    assert json_lines("".join(copied.lines("none"))) == [] and copied.count("none") == 0
    assert "".join(spool.text(place.place, size=7)) == spool.get(place.place).decode()


def test_settled_freezes_the_heap_for_its_phase_only():
    """The command line keeps a scan's objects out of the collector's sight after the scan;
    a library caller's process gets its collector back as it was."""
    assert gc.get_freeze_count() == 0
    with cache.settled():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    gc.freeze()  # a caller who froze its own objects keeps them frozen
    try:
        frozen = gc.get_freeze_count()
        with cache.settled():
            pass
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


COMPILE_IN_WORKERS = """
import sys
import astschema
from astschema import ddl
ddl.PARALLEL_FROM_TABLES = ddl.PIECE_TABLES = 1
databases = astschema.scan([sys.argv[1]], jobs=1).databases
workers = ddl.compile_databases(databases, ddl.CHECKED_DIALECTS, jobs=2)
here = ddl.compile_databases(databases, ddl.CHECKED_DIALECTS, jobs=1)
assert len(workers) == len(databases) > 1 and workers == here, "workers and in-process differ"
print("same")
"""


def test_workers_compile_what_this_process_compiles():
    """Workers started afresh are sent their pieces (here one table each, with the tables
    it references): what they send back joins into what this process compiles."""
    result = subprocess.run([sys.executable, "-c", COMPILE_IN_WORKERS, str(FIXTURES[0])],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "same", result.stderr


def test_an_edit_that_leaves_the_summary_as_it_was_replays_the_stored_result(tmp_path):
    """Files are keyed by what they mean to a scan: a comment or a touch finds the stored
    result; a suppression comment, a moved line or a changed column does not."""
    app, store = tree(tmp_path), tmp_path / "cache"
    shop = app / "shop" / "db_models.py"
    shop.write_text(MODEL.replace('DATABASE_NAME = "shop"\n', ""))  # AS102 and AS103: no DATABASE_NAME

    def dump():
        result = run_cli("dump", app, "--cache-dir", store, cwd=tmp_path)
        assert result.returncode in (0, 1), result.stderr
        document = json.loads(result.stdout)
        items = next(t for d in document["databases"] for t in d["tables"] if t["name"] == "items")
        return {
            "line": items["location"]["line"],
            "name type": items["columns"][1]["type"]["args"],
            "findings": sorted(f["code"] for f in document["diagnostics"]),
            "stored results": len(list((store / "runs").glob("*.json"))),
        }

    first = dump()
    assert first == {"line": 4, "name type": [40], "findings": ["AS102", "AS103"], "stored results": 1}
    shop.write_text(shop.read_text() + "# a comment at the end\n")
    assert dump() == first  # replayed: no new result stored
    shop.touch()
    assert dump() == first
    shop.write_text("# astschema: ignore[AS102]\n" + shop.read_text())  # a suppression, line 1
    assert dump() == {**first, "line": 5, "findings": ["AS103"], "stored results": 2}
    shop.write_text(shop.read_text().replace("String(40)", "String(80)"))
    assert dump() == {**first, "line": 5, "name type": [80], "findings": ["AS103"], "stored results": 3}


def test_a_fifo_in_the_tree_does_not_hang_a_cached_run(tmp_path):
    """The run key reads every file a lookup may read: as the scan does, never a FIFO (the
    key once opened it and waited forever)."""
    import os

    app, store = tree(tmp_path), tmp_path / "cache"
    os.mkfifo(app / "pipe.py")
    for _ in range(2):  # computed, then replayed
        result = subprocess.run([sys.executable, "-m", "astschema", "check", str(app), "--cache-dir", str(store)],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr


def test_clean_deletes_the_cache_the_other_commands_use(tmp_path):
    app = tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.astschema]\n")
    assert run_cli("summary", app, cwd=tmp_path).returncode == 0
    store = tmp_path / ".astschema_cache"  # the project root's, found from the paths as a scan finds it
    assert entries(store)
    cleaned = run_cli("clean", app, cwd=tmp_path / "app")
    assert cleaned.returncode == 0 and "removed" in cleaned.stdout, cleaned.stderr
    assert not store.exists() and not list(tmp_path.glob(".astschema_cache*"))
    again = run_cli("clean", app, cwd=tmp_path)
    assert again.returncode == 0 and "no cache" in again.stdout


def test_clean_leaves_a_directory_that_is_not_a_cache_alone(tmp_path):
    other = tmp_path / "data"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    (other / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n# another tool's\n")
    result = run_cli("clean", "--cache-dir", other, cwd=tmp_path)
    assert result.returncode == 2 and "not astschema's cache" in result.stderr
    assert (other / "keep.txt").read_text() == "mine"


def test_a_file_changed_after_its_entry_went_is_reported_not_mixed(tmp_path, counted):
    """A module keeps its key, not its bytes: if its cache entry goes meanwhile (another
    process cleaned the cache), the file is read again, and used only if it is the same."""
    from astschema.config import Config
    from astschema.resolve import Project

    app, store = tree(tmp_path), tmp_path / "cache"
    shop = app / "shop" / "db_models.py"
    for changed in (False, True):
        project = Project([app], Config(), cache.Parser(store))
        project.register(shop, "shop.db_models", False, shop.read_bytes())
        before = project.fingerprint("shop.db_models")
        shutil.rmtree(store)
        if changed:
            shop.write_text(MODEL.replace("String(40)", "String(80)"))
        counted.clear()
        summary = project.summary("shop.db_models")
        if changed:
            assert summary is None and counted == []
            assert [(d.code, d.message, d.location.line) for d in project.diagnostics] == [
                ("AS100", "file changed while it was scanned; scan again", 1)]
            # what a unit that read it keeps: the problem, not the file as it was
            assert project.fingerprint("shop.db_models") == "problem:file changed while it was scanned; scan again"
        else:
            assert counted == ["db_models.py"] and [c.name for c in summary.classes] == ["Item"]
            assert project.diagnostics == [] and project.fingerprint("shop.db_models") == before


@pytest.mark.parametrize("value", [(), ((), [()], {"k": ()}), ("x", 1, None, True, b"\0", (("a",), ())),
                                   Location("a.py", 3, 4), [Location("a.py", 1, 1), Location("b.py", 2, 2)]],
                         ids=["empty", "nested empty", "plain", "location", "two paths"])
def test_the_codec_gives_back_what_it_was_given(value):
    """Every shape the codec writes, empty tuples (`[]`: a column has several) among them."""
    text = cache.encode(value)
    back = cache.decode(json.loads(text))
    assert back == value and type(back) is type(value)
    assert "[\"(\"]" not in text  # an empty tuple is written short


def test_a_cached_run_reads_each_model_file_once(tmp_path, monkeypatch, capsys):
    """The run key reads every file; the scan then takes each model file's key and stored
    meaning from it rather than read the file again, and prints what it printed before (and
    what a run without a cache prints), edit after edit."""
    from astschema import api, cli, discover

    app, store = tree(tmp_path), tmp_path / "cache"
    reads = []
    real = discover.read

    def spy(path, max_bytes):
        reads.append(str(path))
        return real(path, max_bytes)

    monkeypatch.setattr(discover, "read", spy)
    monkeypatch.setattr(api, "read", spy)
    models = sorted(str(p) for p in app.rglob("db_models.py"))

    def ddl(*options) -> str:
        reads.clear()
        assert cli.main(["ddl", str(app), *options]) in (0, 1)
        return capsys.readouterr().out

    for step in range(3):
        if step:  # a column added: the result is not replayed
            shop = app / "shop" / "db_models.py"
            shop.write_text(shop.read_text() + f"    extra_{step} = Column(Integer)\n")
        uncached, cached = ddl("--no-cache"), ddl("--cache-dir", str(store))
        assert cached == uncached and (f"extra_{step}" in cached) == bool(step)
        assert sorted(r for r in reads if r in models) == models, step
