"""The command line, as CI and people use it: output formats and exit codes."""

import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys

import pytest

from astschema import cli, progress
from astschema.cli import colour_wanted, progress_wanted
from support import FIXTURES, run_cli as run
from test_assembled import generated

HUB = FIXTURES / "hub"


def test_help_lists_commands_and_options():
    top = run("--help")
    assert top.returncode == 0
    assert all(command in top.stdout for command in ("ddl", "dump", "summary"))
    ddl = run("ddl", "--help")
    assert ddl.returncode == 0
    assert "--dialect" in ddl.stdout and "--include" in ddl.stdout and "--default-database" in ddl.stdout


def test_ddl_of_the_hub():
    proc = run("ddl", HUB, "--dialect", "postgresql")
    assert proc.returncode == 0, proc.stderr
    assert re.findall(r"^-- database: (\w+)$", proc.stdout, re.M) == ["framework", "semantic_core", "vector_operations"]
    # every statement ends with ";" before the next one starts
    starts = re.findall(r"^CREATE ", proc.stdout, re.M)
    assert len(re.findall(r"^CREATE [^;]*;$", proc.stdout, re.M)) == len(starts) > 19
    creates = re.findall(r"^CREATE TABLE (\w+)", proc.stdout, re.M)
    assert len(creates) == 19
    # foreign-key order: a referenced table comes before the tables referring to it
    assert creates.index("modules") < creates.index("error_logs")
    assert creates.index("documents") < creates.index("document_chunks")
    assert "SERIAL" in proc.stdout  # compiled for postgresql
    # every finding line is path:line:col: CODE message (the hub has one warning: AS401)
    lines = proc.stderr.strip().splitlines()
    assert lines and all(re.match(r"^[^:]+:\d+:\d+: AS\d{3} ", line) for line in lines)
    assert [line.split()[1] for line in lines] == ["AS401"]
    # cross-database keys (allowed by fixtures/hub/pyproject.toml) are named where they are left out
    assert "-- left out: foreign key documents(module_id) -> modules.id (in database framework)" in proc.stdout


def test_ddl_of_one_database():
    proc = run("ddl", HUB, "--database", "vector_operations")
    assert re.findall(r"^-- database: (\w+)$", proc.stdout, re.M) == ["vector_operations"]
    assert proc.stdout.count("CREATE TABLE") == 4
    missing = run("ddl", HUB, "--database", "nope")
    assert missing.returncode == 2 and "no database named nope" in missing.stderr


def test_exit_codes(tmp_path):
    (tmp_path / "db_models.py").write_text(
        "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n"
        "from elsewhere import Mystery\nDATABASE_NAME = 'x'\nBase = declarative_base()\n"
        "class T(Base):\n    __tablename__ = 't'\n    id = Column(Integer, primary_key=True)\n    m = Column(Mystery)\n"
    )
    errors = run("ddl", tmp_path)
    assert errors.returncode == 1 and "AS201" in errors.stderr
    # NullType has no DDL: the table is refused by name rather than emitted with a guessed type
    assert "AS207 table t cannot be created on sqlite or postgresql" in errors.stderr
    assert "CREATE TABLE" not in errors.stdout
    assert run("ddl", tmp_path, "--no-such-option").returncode == 2
    assert run("ddl", tmp_path / "missing").returncode == 1


def test_mysql_refusals_are_diagnostics_not_crashes():
    proc = run("ddl", HUB, "--dialect", "mysql")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert re.search(r"framework/db_models.py:\d+:\d+: AS207 table framework_sessions left out of mysql DDL", proc.stderr)


def test_bad_config_is_a_usage_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.astschema]\nincludes = ['x']\n")
    proc = run("ddl", tmp_path)
    assert proc.returncode == 2
    assert "unknown key" in proc.stderr and "Traceback" not in proc.stderr


def test_dump_json_shape():
    proc = run("dump", HUB, "--format", "json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["format_version"] == 1
    assert {d["name"]: len(d["tables"]) for d in data["databases"]} == {
        "framework": 9, "semantic_core": 6, "vector_operations": 4}
    modules = next(t for d in data["databases"] for t in d["tables"] if t["name"] == "modules")
    column = modules["columns"][0]
    assert column["type"] == {"call": "sqlalchemy.Integer", "args": [], "kwargs": {}}
    assert column["location"]["path"].endswith("modules/core/database/db_models.py")
    assert {"code", "severity", "message", "location"} <= set(data["diagnostics"][0])


def test_summary_lists_databases_like_the_bootstrap_log():
    proc = run("summary", HUB)
    assert proc.returncode == 0
    assert "framework: 9 tables from modules: modules.core.database," in proc.stdout
    assert proc.stdout.strip().endswith("3 databases: framework, semantic_core, vector_operations")


def test_postgresql_ddl_creates_enum_types_before_their_tables():
    proc = run("ddl", FIXTURES / "patterns" / "35_python_enum_sibling", "--dialect", "postgresql")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("CREATE TYPE orderstatus AS ENUM ('PENDING', 'SHIPPED', 'DELIVERED', 'CANCELLED');") == 1
    assert out.index("CREATE TYPE orderstatus") < out.index("CREATE TABLE parcels")
    assert "CREATE TYPE" not in run("ddl", FIXTURES / "patterns" / "35_python_enum_sibling").stdout


BROKEN = FIXTURES / "broken"


def test_check_hub_is_clean_apart_from_one_warning():
    proc = run("check", HUB)
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.strip().splitlines()
    assert lines[0].endswith("AS401 get_database_base() is deprecated; use DatabaseBase() from core.database")
    assert lines[-1] == "Found 1 warning."
    assert run("check", HUB, "--warnings-as-errors").returncode == 1
    clean = run("check", HUB, "--ignore", "AS401")
    assert (clean.returncode, clean.stdout) == (0, "All checks passed.\n")


def test_check_broken_tree_fails_and_counts():
    proc = run("check", BROKEN, "--statistics")
    assert proc.returncode == 1
    assert re.search(r"^\s*3  AS301  cross-database-foreign-key$", proc.stdout, re.M)
    assert re.search(r"^Found \d+ errors and \d+ warnings\.$", proc.stdout, re.M)


def test_check_select_and_ignore_by_prefix():
    only_keys = run("check", BROKEN, "--select", "AS3", "--ignore", "AS301,AS308", "--output-format", "json")
    codes = {f["code"] for f in json.loads(only_keys.stdout)}
    assert codes == {"AS302", "AS303", "AS304", "AS305", "AS306", "AS307"}
    assert run("check", BROKEN, "--select", "AS4").returncode == 0  # AS401 is a warning


def test_check_config_file_and_usage_errors(tmp_path):
    config = tmp_path / "astschema.toml"
    # --config replaces fixtures/hub/pyproject.toml (and its allowed cross-database pairs)
    config.write_text('[tool.astschema]\nignore = ["AS401", "AS301"]\n')
    assert run("check", HUB, "--config", config).stdout == "All checks passed.\n"
    assert run("check", HUB, "--config", tmp_path / "missing.toml").returncode == 2
    assert run("check", HUB, "--output-format", "xml").returncode == 2


def test_check_output_formats():
    sarif = json.loads(run("check", BROKEN, "--output-format", "sarif").stdout)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    github = run("check", BROKEN, "--output-format", "github").stdout.splitlines()
    assert github and all(line.startswith(("::error file=", "::warning file=")) for line in github)


def test_suppression_comments(tmp_path):
    source = (
        "from sqlalchemy import Column, ForeignKey, Integer\nfrom sqlalchemy.orm import declarative_base\n"
        "DATABASE_NAME = 'x'\nBase = declarative_base()\n"
        "class T(Base):\n    __tablename__ = 't'\n    id = Column(Integer, primary_key=True)\n"
        "    a = Column(Integer, ForeignKey('nowhere.id'))  # astschema: ignore[AS302]\n"
        "    b = Column(Integer, ForeignKey('nowhere.id'))  # astschema: ignore\n"
        "    c = Column(Integer)  # astschema: ignore[AS301]\n"
        "    d = Column(Integer, ForeignKey('nowhere.id'))\n"
    )
    (tmp_path / "db_models.py").write_text(source)
    proc = run("check", tmp_path, "--output-format", "json")
    found = [(f["code"], f["location"]["line"]) for f in json.loads(proc.stdout)]
    assert found == [("AS001", 10), ("AS302", 11)]


def test_rules_command():
    listing = run("rules")
    assert listing.returncode == 0
    assert re.search(r"^AS301  error\s+cross-database-foreign-key\s+A foreign key into another database\.$",
                     listing.stdout, re.M)
    assert re.search(r"^AS401  warning  fix  deprecated-get-database-base ", listing.stdout, re.M)
    one = run("rules", "as307")
    assert one.returncode == 0 and one.stdout.startswith("AS307 foreign-key-cycle (error)")
    assert "use_alter=True" in one.stdout
    assert run("rules", "AS999").returncode == 2
    assert run("rules", "AS401").stdout.startswith(
        "AS401 deprecated-get-database-base (warning; `python -m astschema fix` fixes it)")


def test_a_reader_that_stops_reading_gets_no_traceback():
    """`astschema dump | head -1`: the pipe closes while 150 kB are still to come (more than a
    pipe holds); astschema stops without a word (it said "internal error: BrokenPipeError")."""
    proc = subprocess.run(f"{sys.executable} -m astschema dump {HUB} -q --no-cache | head -1", shell=True,
                          capture_output=True, text=True, check=False)
    assert proc.stdout == "{\n" and proc.stderr == ""


def test_graph_command_and_readme_diagram_is_current(tmp_path):
    readme = FIXTURES.parent / "README.md"
    check = run("graph", HUB, "--cross-only", "--inject", readme, "--check")
    assert check.returncode == 0, "README's diagram is stale: python -m astschema graph fixtures/hub --cross-only --inject README.md"
    stale = tmp_path / "doc.md"
    stale.write_text("# Schema\n<!-- astschema:graph:start -->\nold\n<!-- astschema:graph:end -->\n")
    assert run("graph", HUB, "--inject", stale, "--check").returncode == 1
    assert run("graph", HUB, "--inject", stale).returncode == 0
    assert run("graph", HUB, "--inject", stale, "--check").returncode == 0
    assert "```mermaid\nflowchart LR" in stale.read_text()
    graphml = run("graph", HUB, "--format", "graphml", "-o", tmp_path / "hub.graphml")
    assert graphml.returncode == 0 and (tmp_path / "hub.graphml").read_text().startswith("<graphml")
    assert run("graph", HUB, "--database", "nope").returncode == 2


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.mark.parametrize("tty, environ, wanted", [
    (True, {}, True),
    (False, {}, False),  # piped
    (True, {"NO_COLOR": "1"}, False),
    (True, {"NO_COLOR": ""}, True),  # set but empty: not asked for (no-color.org)
    (True, {"TERM": "dumb"}, False),
    (False, {"FORCE_COLOR": "1"}, True),  # a CI log
    (True, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins
])
def test_colour_is_for_terminals_and_respects_no_color(tty, environ, wanted):
    assert colour_wanted(_Stream(tty), environ) is wanted


def _on_terminal(args, environ):
    """`python -m astschema ARGS` with stdout a terminal: what it printed there (read as it is
    written: a full terminal buffer would stop the command)."""
    main, secondary = pty.openpty()
    try:
        with subprocess.Popen([sys.executable, "-m", "astschema", *map(str, args)], stdout=secondary,
                              stderr=subprocess.DEVNULL, env=environ) as command:
            os.close(secondary)
            secondary = None
            out = b""
            while True:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the terminal closed: all read
                    break
                if not chunk:
                    break
                out += chunk
        return command.returncode, out.decode()
    finally:
        os.close(main)
        if secondary is not None:
            os.close(secondary)


def test_check_colours_a_terminal_only_and_a_stored_run_keeps_to_that(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    args = ["check", FIXTURES / "hub", "--cache-dir", tmp_path / "cache"]
    code, painted = _on_terminal(args, environ)
    assert code == 0 and "\x1b[1;33mAS401\x1b[0m" in painted
    piped = run(*args)  # the same command piped, answered from the run stored above
    assert piped.returncode == 0 and "AS401" in piped.stdout and "\x1b" not in piped.stdout
    assert re.sub(r"\x1b\[[0-9;]*m", "", painted).replace("\r\n", "\n") == piped.stdout
    assert "\x1b" not in _on_terminal(args, {**environ, "NO_COLOR": "1"})[1]
    assert _on_terminal(args, environ)[1] == painted  # stored, and still in colour


@pytest.mark.parametrize("tty, quiet, environ, wanted", [
    (True, False, {}, True),
    (True, True, {}, False),  # --quiet
    (False, False, {}, False),  # piped
    (True, False, {"TERM": "dumb"}, False),
])
def test_progress_is_for_terminals_only(tty, quiet, environ, wanted):
    assert progress_wanted(_Stream(tty), quiet, environ) is wanted


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bars_are_drawn_on_the_terminal_and_kept_out_of_the_output(tmp_path, monkeypatch):
    tree = generated(tmp_path / "tree", modules=60)  # enough to parse and resolve on every core
    args = ["ddl", str(tree), "--cache-dir", str(tmp_path / "cache")]
    monkeypatch.setattr(progress, "DELAY", 0)  # every bar, however quick its stage
    monkeypatch.setattr(progress, "_stream", None)  # as it was, once the test is done
    terminal, out = _Terminal(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", out)
    assert cli.main(args + ["--jobs", "2"]) in (0, 1)
    drawn = terminal.getvalue()
    assert all(f"{stage}:" in drawn for stage in ("parsing", "resolving", "compiling"))
    assert "parsing" not in out.getvalue() and "\r" not in out.getvalue()
    replayed = run(*args, "--jobs", "2")  # piped, answered from the run stored above
    assert replayed.stdout == out.getvalue()
    assert "\r" not in replayed.stderr and "parsing" not in replayed.stderr  # no bar was stored
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    shutil.rmtree(tmp_path / "cache")
    cli.main(args + ["--jobs", "2", "--quiet"])
    assert "parsing" not in quiet.getvalue()


def complete(script, *words):
    """What bash completes `astschema WORDS` to, with the script `completion bash` prints."""
    line = " ".join(["astschema", *words])
    program = (f'source {script}; COMP_WORDS=(astschema {" ".join(words)}); COMP_CWORD={len(words)}; '
               f'COMP_LINE="{line}"; COMP_POINT={len(line)}; _shtab_astschema; printf "%s\\n" "${{COMPREPLY[@]}}"')
    proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True, cwd=FIXTURES, check=False)
    assert proc.returncode == 0, proc.stderr
    return sorted(proc.stdout.split())


def test_shell_completion(tmp_path):
    script = tmp_path / "astschema.bash"
    proc = run("completion", "bash")
    assert proc.returncode == 0
    script.write_text(proc.stdout)
    assert complete(script, "sn") == ["snapshot"]
    assert complete(script, "check", "--ag") == ["--against"]
    assert complete(script, "check", "--output-format", "s") == ["sarif"]
    assert complete(script, "ddl", "hu") == ["hub"]  # paths complete as files and folders
    assert run("completion", "zsh").stdout.startswith("#compdef astschema")
    assert run("completion", "fishy").returncode == 2
