"""The command line: thin on purpose. Parses arguments, calls the API, prints, sets the exit code.

Exit codes (as ruff): 0 no errors, 1 errors found (warnings too with --warnings-as-errors),
2 usage error, bad configuration, or internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__, progress

EXAMPLES = """\
examples:
  python -m astschema check modules/ --output-format sarif > astschema.sarif
  python -m astschema ddl modules/ --dialect postgresql --database framework
  python -m astschema dump modules/ --format json > schema.json
  python -m astschema snapshot modules/ -o schema.lock.json
  python -m astschema check modules/ --against schema.lock.json
  python -m astschema fix modules/ --diff
  python -m astschema rules AS301
  python -m astschema clean
"""
FORMATS = ("text", "json", "sarif", "github")


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in text.split(",") if code.strip()]


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                        help="files or directories to scan (default: the current directory)")
    parser.add_argument("--include", action="append", metavar="GLOB",
                        help="files to read, e.g. '**/*.py' (repeatable; default '**/db_models.py')")
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="files to skip (repeatable)")
    parser.add_argument("--default-database", metavar="NAME",
                        help="database for models in files without DATABASE_NAME (default 'default')")
    parser.add_argument("--base-factory", action="append", metavar="NAME",
                        help="another function whose first argument names a base's database "
                             "(repeatable; DatabaseBase and get_database_base are known)")
    parser.add_argument("--follow-symlinks", action="store_true", default=None,
                        help="follow symbolic links, also out of the scanned directory (default: no)")
    parser.add_argument("--config", metavar="FILE", type=Path,
                        help="pyproject.toml to read [tool.astschema] from (default: the nearest one)")
    parser.add_argument("--select", action="append", type=_codes, metavar="CODES",
                        help="rule codes or prefixes to run, comma-separated (default ALL)")
    parser.add_argument("--ignore", action="append", type=_codes, metavar="CODES",
                        help="rule codes or prefixes to skip, comma-separated")
    parser.add_argument("--warnings-as-errors", action="store_true", default=None,
                        help="exit 1 on warnings too")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="where to keep parsed files (default .astschema_cache in the project root)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the parse cache")
    parser.add_argument("--jobs", "-j", type=_positive, metavar="N",
                        help="worker processes for parsing and compiling (default: one per core; 1: none)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print findings only, no summary (check) "
                        "or no findings at all (other commands)")


def _targets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url-template", default="sqlite:///data/database/{name}.db", metavar="URL",
                        help="SQLAlchemy URL with {name} for the database name "
                             "(default sqlite:///data/database/{name}.db, relative to the current directory)")
    parser.add_argument("--database", action="append", metavar="NAME", help="only this database (repeatable)")
    parser.add_argument("--postgres-schemas", metavar="URL",
                        help="one PostgreSQL database holding every astschema database as a schema, "
                             "so cross-database keys become real constraints")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astschema",
        description="Read SQLAlchemy models statically (never importing them), check them, and report "
                    "their schema.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"astschema {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="find schema mistakes (for CI)",
                                description="Run every rule over the scanned models and report findings at "
                                            "file:line:col. Exit 1 when there are errors.")
    _common(check)
    check.add_argument("--output-format", choices=FORMATS, default="text",
                       help="text (default), json, sarif (SARIF 2.1.0), github (workflow annotations)")
    check.add_argument("--statistics", action="store_true", help="count findings per rule")
    check.add_argument("--against", type=Path, metavar="FILE",
                       help="a snapshot (see `snapshot`): report every change of the schema since it (AS601)")
    check.add_argument("--fix", action="store_true",
                       help="first rewrite what has one right answer (see `fix`), then check what is left")

    ddl = commands.add_parser("ddl", help="print CREATE TABLE / CREATE INDEX statements per database",
                              description="Print, for each database, a '-- database: NAME' line and the "
                                          "CREATE statements SQLAlchemy compiles from the scanned models, in "
                                          "foreign-key order. Findings go to stderr.")
    _common(ddl)
    ddl.add_argument("--dialect", choices=("sqlite", "postgresql", "mysql"), default="sqlite",
                     help="SQL dialect to compile for (default sqlite)")
    ddl.add_argument("--database", action="append", metavar="NAME", help="only this database (repeatable)")

    dump = commands.add_parser("dump", help="print the whole model as JSON",
                               description="Print databases, tables, columns, keys, indexes, constraints, "
                                           "source locations and findings as JSON (format_version 1, in README).")
    _common(dump)
    dump.add_argument("--format", choices=("json",), default="json", help="output format (json)")

    snapshot = commands.add_parser(
        "snapshot", help="write the schema as stable, sorted JSON, to commit and check against",
        description="Write every database's tables, columns, keys, constraints and indexes as SQLAlchemy builds "
                    "them, sorted, one line per item, without source locations: commit it, and `check --against` "
                    "it in CI. Nothing is written when the models cannot be read whole.")
    _common(snapshot)
    snapshot.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")

    fix = commands.add_parser(
        "fix", help="rewrite what has one right answer (deprecated base factory, missing extend_existing)",
        description="Rewrite, with libcst, the findings of rules that have one right answer, keeping formatting, "
                    "comments and every other import; each file written whole, and only if unchanged since read. "
                    "`python -m astschema rules` marks the rules that fix.")
    _common(fix)
    fix.add_argument("--diff", action="store_true",
                     help="print a unified diff and write nothing (exit 1 when something would change)")

    summary = commands.add_parser("summary", help="list discovered databases with table counts",
                                  description="One line per database: its tables and the modules they come from.")
    _common(summary)

    create = commands.add_parser(
        "create", help="create every discovered database (the bootstrap, done safely)",
        description="Create each database from the scanned models in dependency order, each in one "
                    "transaction. Never drops or alters: an existing database that matches is left alone, "
                    "one that drifted is reported (exit 1). Check errors stop it before anything is written.")
    _common(create)
    _targets(create)
    create.add_argument("--dry-run", action="store_true", help="print the DDL it would run; touch nothing")
    create.add_argument("--add-missing", action="store_true",
                        help="in an existing database, create missing tables and indexes (nothing else)")
    create.add_argument("--allow-raw-sql", action="store_true",
                        help="create even when raw SQL fragments fail the safety rule (AS501)")

    diff = commands.add_parser("diff", help="compare live databases with the models (alembic)",
                               description="Compare each live database with the models using alembic's "
                                           "compare_metadata. Exit 0 in sync, 1 drifted.")
    _common(diff)
    _targets(diff)
    diff.add_argument("--output-format", choices=("text", "json"), default="text")

    graph = commands.add_parser(
        "graph", help="draw databases, tables and the foreign keys between them",
        description="Databases as clusters, tables with their key columns, foreign keys as edges; "
                    "cross-database keys stand out. svg and png render through Graphviz's dot.")
    _common(graph)
    graph.add_argument("--format", choices=("mermaid", "dot", "json", "graphml", "svg", "png"), default="mermaid",
                       help="mermaid (default), dot, json (networkx node-link), graphml, svg or png (Graphviz)")
    graph.add_argument("--database", metavar="NAME", help="only this database and the tables its keys touch")
    graph.add_argument("--cross-only", action="store_true", help="only cross-database keys and their tables")
    graph.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    graph.add_argument("--inject", type=Path, metavar="FILE.md",
                       help="put the Mermaid diagram between the astschema:graph marker comments of FILE.md")
    graph.add_argument("--check", action="store_true", help="with --inject: exit 1 if FILE.md is out of date")

    clean = commands.add_parser("clean", help="delete the cache directory",
                                description="Delete the cache directory the other commands would use for "
                                            "these paths (never a directory that is not astschema's cache).")
    clean.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                       help="where the project is (default: the current directory)")
    clean.add_argument("--config", metavar="FILE", type=Path,
                       help="pyproject.toml to read [tool.astschema] from (default: the nearest one)")
    clean.add_argument("--cache-dir", type=Path, metavar="DIR", help="the cache directory to delete")

    completion = commands.add_parser(
        "completion", help="print a shell completion script",
        description="Print a completion script for the shell (shtab), e.g. "
                    "`python -m astschema completion bash > ~/.local/share/bash-completion/completions/astschema`.")
    completion.add_argument("shell", choices=("bash", "zsh", "tcsh"))

    rules = commands.add_parser("rules", help="list the rules, or explain one",
                                description="Without CODE, one line per rule; with CODE, its documentation.")
    rules.add_argument("code", nargs="?", metavar="CODE")
    rules.add_argument("--format", choices=("text", "markdown"), default="text",
                       help="markdown: the table README keeps (generated from the rule docstrings)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .config import ConfigError
    from .store import CacheError

    try:
        if args.command == "completion":
            return _completion(args.shell)
        if args.command == "rules":
            return _rules(args)
        return _run(args)
    except BrokenPipeError:  # the reader stopped reading (`| head`): stop too, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more at exit either
        return 1
    except (ConfigError, CacheError) as exc:
        print(f"astschema: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours: say so plainly, without a traceback
        print(f"astschema: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


def _completion(shell: str) -> int:
    import shtab

    parser = build_parser()
    for action in _actions(parser):  # paths complete as files, folders as folders
        if action.metavar in ("PATH", "FILE", "FILE.md", "DIR"):
            action.complete = shtab.DIRECTORY if action.metavar == "DIR" else shtab.FILE
    sys.stdout.write(shtab.complete(parser, shell=shell))
    return 0


def _actions(parser: argparse.ArgumentParser):
    """Every argument of `parser` and its commands (argparse keeps no public list of them)."""
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                yield from _actions(command)


def _terminal(stream, environ) -> bool:
    """Whether `stream` is a terminal that can draw (colours, progress bars)."""
    return stream.isatty() and environ.get("TERM") != "dumb"


def colour_wanted(stream, environ) -> bool:
    """Whether findings written to `stream` are coloured: on a terminal, unless NO_COLOR is set
    to anything but "" (no-color.org); FORCE_COLOR (not "") colours them anywhere, for CI logs
    that show colours without being terminals. NO_COLOR wins."""
    if environ.get("NO_COLOR"):
        return False
    return bool(environ.get("FORCE_COLOR")) or _terminal(stream, environ)


def progress_wanted(stream, quiet: bool, environ) -> bool:
    """Whether a run draws progress bars on its stderr `stream`: a terminal, unless `--quiet`."""
    return not quiet and _terminal(stream, environ)


def _run(args) -> int:
    from .config import ConfigError, cache_directory, find_pyproject, load_config

    if args.config is not None and not args.config.is_file():
        raise ConfigError(f"{args.config}: no such file")
    config = load_config(args.config or find_pyproject(args.paths)).with_overrides(
        cache_dir=None if args.cache_dir is None else str(args.cache_dir))
    if args.command == "clean":
        return _clean(cache_directory(config))
    # decided here, while stdout and stderr are still the terminal's; colour is part of the key
    # of a stored run (a run piped after a coloured one is not answered in colour), and bars go
    # to the terminal even while a stored run's stderr is captured
    args.colour = (colour_wanted(sys.stdout, os.environ), colour_wanted(sys.stderr, os.environ))
    progress.show_on(sys.stderr if progress_wanted(sys.stderr, args.quiet, os.environ) else None)
    config = config.with_overrides(
        include=args.include,
        exclude=args.exclude,
        default_database=args.default_database,
        select=_flat(args.select),
        ignore=_flat(args.ignore),
        warnings_as_errors=args.warnings_as_errors,
        follow_symlinks=args.follow_symlinks,
        jobs=args.jobs,
        against=None if getattr(args, "against", None) is None else str(args.against),
    )
    cache = None if args.no_cache else cache_directory(config)
    if args.command == "check" and args.fix:  # as ruff: fix first, then report what is left
        fixing = argparse.Namespace(**{**vars(args), "command": "fix", "diff": False})
        if _execute(fixing, config, cache) != 0:
            return 1
    if cache is not None and args.command in STORED_COMMANDS:
        return _stored(args, config, cache)
    return _execute(args, config, cache)


# Commands whose whole output is a function of the files read, the options and astschema:
# kept in the cache and replayed while none of those changed.
STORED_COMMANDS = ("check", "ddl", "dump", "summary")


def _stored(args, config, cache) -> int:
    import contextlib
    import dataclasses
    import io
    import os
    import shutil
    import tempfile

    from .store import load_run, run_key, store_run, summarized

    invocation = json.dumps([os.getcwd(), sorted((k, repr(v)) for k, v in vars(args).items()),
                             repr(dataclasses.asdict(config)), config.source, _snapshot_digest(config.against)])
    found, unknown, parser, discovered = _meanings(args, config, cache)
    key = run_key(invocation, found)
    stored = load_run(cache, key)
    if stored is not None:
        sys.stdout.write(stored["stdout"])
        sys.stderr.write(stored["stderr"])
        return stored["exit_code"]
    parser = parser or _parser(cache, config)
    # the output goes to a file, not to memory: a DDL of 100,000 tables is some 60 MB of text
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as out:
        err = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = _execute(args, config, cache, parser, discovered)
        if code in (0, 1):
            store_run(cache, key, out, err.getvalue(), code)
            # support modules this scan parsed first have a known meaning now, so the next run
            # keys them by it: stored under that key too
            later = {**found, **{path: summarized(meaning) for known, path in unknown
                                 if (meaning := parser.known_meaning(known)) is not None}}
            if later != found:
                store_run(cache, run_key(invocation, later), out, err.getvalue(), code)
        out.seek(0)
        shutil.copyfileobj(out, sys.stdout)
    sys.stderr.write(err.getvalue())
    return code


def _snapshot_digest(path: str | None) -> str | None:
    """A digest of the snapshot checked against, if any: part of a stored run's key, since the
    findings depend on it."""
    from .store import digest

    if path is None:
        return None
    try:
        return digest(Path(path).read_bytes())
    except OSError as exc:
        return f"unreadable: {exc.strerror}"


def _meanings(args, config, cache):
    """What each input file means to a scan, by path (see `store.meanings`): new or edited
    model files are parsed for it, on every core, for the key and the scan. Also (key, path)
    of the files whose meaning was not known before, the parser, if one was needed, and
    what discovery found (for the scan)."""
    from .discover import inputs
    from .store import entry_key, meanings

    # Files are keyed by what they mean to a scan (their summary), so an edit that leaves
    # the summary as it was (a comment, a touch) still finds the stored result.
    models, others, discovered = inputs(args.paths, config)
    found, unknown, keys = meanings(cache, models, others, config.max_bytes)
    parser = None
    models = [(data, path) for data, path, model in unknown if model]
    if models:
        parser = _parser(cache, config)
        parser.parse_ahead(models)
        found.update(parser.meanings(models))
    # bytes not kept: the scan takes the models' keys
    return found, [(entry_key(data), path) for data, path, _ in unknown], parser, discovered._replace(keys=keys)


def _clean(directory: Path) -> int:
    from .store import remove

    if not directory.exists():
        print(f"no cache at {directory}")
        return 0
    try:
        removed = remove(directory)
    except OSError as exc:
        print(f"astschema: cannot remove {directory}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if removed is None:
        print(f"astschema: {directory} is not astschema's cache (it has no CACHEDIR.TAG of astschema's); "
              "left alone", file=sys.stderr)
        return 2
    files, size = removed
    print(f"removed {directory} ({files} files, {size / 1e6:.1f} MB)")
    return 0


def _parser(cache, config):
    from .cache import Parser  # imports libcst: only when something must be parsed or scanned

    return Parser(cache, config.jobs)


def _execute(args, config, cache, parser=None, discovered=None) -> int:
    from .api import scan
    from .cache import settled

    schema = scan(args.paths, base_factories=args.base_factory, config=config, cache_dir=cache, parser=parser,
                  discovered=discovered)
    with settled():  # the scan's millions of objects, left alone by the later stages' collections
        return _after_scan(schema, args, config)


def _after_scan(schema, args, config) -> int:
    from .checker import check
    from .report import render

    if args.command == "ddl" and schema.databases:
        schema.compiled(schema.names[0], args.dialect)  # one parallel pass for check and ddl
    findings = check(schema)
    if args.command == "check":
        sys.stdout.write(render(findings, args.output_format, statistics=args.statistics, quiet=args.quiet,
                                colour=args.colour[0]))
    elif args.command in ("create", "diff"):
        return _create_or_diff(schema, args, findings)
    elif args.command == "graph":
        return _graph(schema, args)
    elif args.command == "snapshot":
        return _snapshot(schema, args, findings, config)
    elif args.command == "fix":
        return _fix(findings, args)
    else:
        output = {"ddl": _ddl, "dump": _dump, "summary": _summary}[args.command](schema, args, findings)
        if output is None:
            return 2
        lines, extra = output
        sys.stdout.writelines(lines)  # written as made: a large tree's DDL is never held whole
        findings = findings + list(extra)  # `extra` is complete once the lines are written
        if not args.quiet:
            for finding in findings:
                print(render([finding], "text", quiet=True, colour=args.colour[1]).rstrip("\n"), file=sys.stderr)
    return _exit_code(findings, config)


def _exit_code(findings, config) -> int:
    """1 when there are errors (warnings too, with warnings-as-errors), else 0."""
    failing = ("error", "warning") if config.warnings_as_errors else ("error",)
    return 1 if any(f.severity.value in failing for f in findings) else 0


def _create_or_diff(schema, args, findings) -> int:
    from .create import CreateError, create, diff
    from .report import escape, render

    if not args.quiet:
        sys.stderr.write(render(findings, "text", quiet=True, colour=args.colour[1]))
    blocking = [f for f in findings if f.severity.value == "error"
                and not (args.command == "create" and args.allow_raw_sql and f.code == "AS501")]
    if args.command == "create" and blocking:
        print(f"astschema: {len(blocking)} check errors; nothing was created", file=sys.stderr)
        return 1
    try:
        if args.command == "create":
            outcome = create(schema, url_template=args.url_template, databases=args.database, dry_run=args.dry_run,
                             add_missing=args.add_missing, postgres_schemas=args.postgres_schemas)
        else:
            outcome = diff(schema, url_template=args.url_template, databases=args.database,
                           postgres_schemas=args.postgres_schemas)
    except CreateError as exc:
        print(f"astschema: {exc}", file=sys.stderr)
        return 2
    if args.command == "diff" and args.output_format == "json":
        print(json.dumps({"databases": outcome.drift, "in_sync": not any(outcome.drift.values())}, indent=2))
    elif args.command == "diff":
        for name, lines in outcome.drift.items():
            print(escape(f"{name}: " + ("in sync" if not lines else f"{len(lines)} differences")))
            print("".join(f"  {escape(line)}\n" for line in lines), end="")
    else:
        print("\n".join(escape(line) for line in outcome.lines))
    return outcome.exit_code


def _graph(schema, args) -> int:
    from .diagram import DiagramError, inject, render
    from .output import write_file

    try:
        if args.inject is not None:
            text = render(schema, "mermaid", database=args.database, cross_only=args.cross_only)
            current = inject(args.inject, text, check=args.check)
            if args.check and not current:
                print(f"{args.inject}: the diagram is out of date; run without --check to update it", file=sys.stderr)
                return 1
            print(f"{args.inject}: diagram {'up to date' if current else 'updated'}", file=sys.stderr)
            return 0
        output = render(schema, args.format, database=args.database, cross_only=args.cross_only)
    except DiagramError as exc:
        print(f"astschema: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        write_file(args.output, output if isinstance(output, bytes) else output.encode())
        print(f"wrote {args.output}", file=sys.stderr)
    elif isinstance(output, bytes):
        sys.stdout.buffer.write(output)
    else:
        sys.stdout.write(output)
    return 0


def _snapshot(schema, args, findings, config) -> int:
    from .checker import unreadable
    from .output import write_file
    from .report import escape, render
    from .snapshot import render as text, snapshot

    if not args.quiet:
        sys.stderr.write(render(findings, "text", quiet=True, colour=args.colour[1]))
    refused = unreadable(schema)  # before the tables are built: a refused snapshot is not made
    document, problems = snapshot(schema) if not refused else (None, [])
    refused += [f"{location or '<model>'}: {message}" for _, message, location in problems]
    if refused:
        if args.quiet:  # the reasons, at least
            print("\n".join(escape(str(item)) for item in refused), file=sys.stderr)
        print(f"astschema: the models cannot be read whole ({len(refused)} problems); no snapshot written",
              file=sys.stderr)
        return 1
    output = text(document)
    if args.output is None:
        sys.stdout.write(output)
    else:
        write_file(args.output, output.encode("utf-8"))
        if not args.quiet:
            tables = sum(len(tables) for tables in document["databases"].values())
            print(f"wrote {args.output}: {len(document['databases'])} databases, {tables} tables", file=sys.stderr)
    return _exit_code(findings, config)


def _fix(findings, args) -> int:
    from .fix import diff, fixes, write_fixes
    from .report import LAYOUT, escape

    done, problems = fixes(findings, within=args.paths)  # not the support modules a scan reads elsewhere
    if args.diff:
        sys.stdout.write("".join(escape(diff(fix), keep=LAYOUT) for fix in done))
    else:
        problems += write_fixes(done)
    for problem in problems:
        print(f"astschema: {escape(problem)}", file=sys.stderr)
    if not args.quiet:
        count = sum(len(fix.fixed) for fix in done)
        print(f"{'would fix' if args.diff else 'fixed'} {count} findings in {len(done)} files; "
              f"{len(findings) - count} left (see `check`)", file=sys.stderr)
    return 1 if problems or (args.diff and done) else 0


def _flat(groups):
    return None if groups is None else [code for group in groups for code in group]


def _rules(args) -> int:
    from .rules import ALL_RULES, BY_CODE

    if args.code is None and args.format == "markdown":
        print(rules_markdown(ALL_RULES), end="")
        return 0
    if args.code is None:
        for rule in ALL_RULES:
            print(f"{rule.code}  {rule.severity.value:<7}  {'fix' if rule.fixable() else '   '}  {rule.name:<36}  "
                  f"{rule.summary()}")
        return 0
    rule = BY_CODE.get(args.code.upper())
    if rule is None:
        print(f"astschema: no rule {args.code} (see `python -m astschema rules`)", file=sys.stderr)
        return 2
    fixes = "; `python -m astschema fix` fixes it" if rule.fixable() else ""
    print(f"{rule.code} {rule.name} ({rule.severity.value}{fixes})\n\n{rule.doc()}")
    return 0


def rules_markdown(rules) -> str:
    """The rules table of README, from the rules themselves."""
    lines = ["| code | severity | fix | name | what it finds |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.code} | {r.severity.value} | {'yes' if r.fixable() else ''} | {r.name} | {r.summary()} |"
              for r in rules]
    return "\n".join(lines) + "\n"


def _ddl(schema, args, findings):
    from .ddl import left_out
    from .diagnostics import Diagnostic
    from .report import LAYOUT, escape

    names = schema.names
    unknown = [n for n in args.database or () if n not in names]
    if unknown:
        print(f"astschema: no database named {', '.join(unknown)} (found: {', '.join(names) or 'none'})",
              file=sys.stderr)
        return None
    known = {(f.code, f.location) for f in findings}
    problems = []

    def lines():
        """A database at a time: 100,000 tables make some 60 MB of DDL, never held whole."""
        for n, name in enumerate(args.database or names):
            compiled = schema.compiled(name, args.dialect)
            # names come from scanned source: escaped, so a newline cannot end the SQL comment
            yield f"{chr(10) if n else ''}-- database: {escape(name)}\n"  # a blank line between databases
            yield from (f"-- left out: {escape(key)}\n" for key in left_out(schema, name, compiled.left_out))
            yield from (f"{escape(statement, keep=LAYOUT)};\n" for statement in compiled.statements.each(args.dialect))
            database = schema.database(name) if compiled.refusals[args.dialect] else None  # made once
            for table, reason in compiled.refusals[args.dialect]:
                location = database.table(table).location
                if ("AS207", location) not in known:
                    problems.append(Diagnostic("AS207", f"table {table} left out of {args.dialect} DDL: {reason}",
                                               location))

    return lines(), problems


def _dump(schema, args, findings):
    return [json.dumps(schema.to_json(findings), indent=2), "\n"], []


def _summary(schema, args, findings):
    from .report import escape

    lines = []
    outline = schema.outline  # databases read back or kept as text are not made
    for name, size, modules in outline:
        lines.append(escape(f"{name}: {size} tables from modules: "
                            f"{', '.join(m.removesuffix('.db_models') for m in modules)}"))
    lines.append(escape(f"{len(outline)} databases: {', '.join(name for name, _, _ in outline)}"))
    return ["\n".join(lines), "\n"], []
