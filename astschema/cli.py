"""The command line: thin on purpose. Parses arguments, calls the API, prints, sets the exit code.

Exit codes (as ruff): 0 nothing wrong, 1 diagnostics of error severity, 2 usage or internal error.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__
from .diagnostics import Diagnostic

EXAMPLES = """\
examples:
  python -m astschema summary modules/
  python -m astschema ddl modules/ --dialect postgresql --database framework
  python -m astschema dump modules/ --format json > schema.json
"""


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
    parser.add_argument("--quiet", "-q", action="store_true", help="do not print diagnostics")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astschema",
        description="Read SQLAlchemy models statically (never importing them) and report their schema.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"astschema {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ddl = commands.add_parser("ddl", help="print CREATE TABLE / CREATE INDEX statements per database",
                              description="Print, for each database, a '-- database: NAME' line and the "
                                          "CREATE TABLE and CREATE INDEX statements SQLAlchemy compiles "
                                          "from the scanned models, in foreign-key order.")
    _common(ddl)
    ddl.add_argument("--dialect", choices=("sqlite", "postgresql", "mysql"), default="sqlite",
                     help="SQL dialect to compile for (default sqlite)")
    ddl.add_argument("--database", action="append", metavar="NAME", help="only this database (repeatable)")

    dump = commands.add_parser("dump", help="print the whole model as JSON",
                               description="Print databases, tables, columns, keys, indexes, constraints, "
                                           "source locations and diagnostics as JSON "
                                           "(format_version 1, documented in README).")
    _common(dump)
    dump.add_argument("--format", choices=("json",), default="json", help="output format (json)")

    summary = commands.add_parser("summary", help="list discovered databases with table counts",
                                  description="One line per database: its tables and the modules they come from.")
    _common(summary)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .api import scan
    from .config import ConfigError

    try:
        schema = scan(
            args.paths,
            include=args.include,
            exclude=args.exclude,
            default_database=args.default_database,
            base_factories=args.base_factory,
        )
        output = {"ddl": _ddl, "dump": _dump, "summary": _summary}[args.command](schema, args)
    except ConfigError as exc:
        print(f"astschema: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours: say so plainly, without a traceback
        print(f"astschema: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if output is None:
        return 2
    text, problems = output
    sys.stdout.write(text)
    diagnostics = list(schema.diagnostics) + _build_problems(schema) + problems
    if not args.quiet:
        for diagnostic in diagnostics:
            print(diagnostic, file=sys.stderr)
    return 1 if any(d.severity.value == "error" for d in diagnostics) else 0


def _build_problems(schema):
    problems = []
    for database in schema.databases:
        for message, location in schema.metadata(database.name).info["astschema_problems"]:
            problems.append(Diagnostic("AS209", message, location))
    return problems


def _ddl(schema, args):
    from .ddl import statements

    names = [d.name for d in schema.databases]
    unknown = [n for n in args.database or () if n not in names]
    if unknown:
        print(f"astschema: no database named {', '.join(unknown)} (found: {', '.join(names) or 'none'})",
              file=sys.stderr)
        return None
    lines, problems = [], []
    for name in args.database or names:
        ddl, refused = statements(schema.metadata(name), args.dialect)
        lines += [f"-- database: {name}", *(f"{statement};" for statement in ddl), ""]
        for table, reason in refused:
            location = schema.database(name).table(table).location
            problems.append(Diagnostic("AS207", f"table {table} left out of {args.dialect} DDL: {reason}", location))
    return "\n".join(lines), problems


def _dump(schema, args):
    return json.dumps(schema.to_json(), indent=2) + "\n", []


def _summary(schema, args) -> str:
    lines = []
    for database in schema.databases:
        modules = ", ".join(m.removesuffix(".db_models") for m in database.modules)
        lines.append(f"{database.name}: {len(database.tables)} tables from modules: {modules}")
    names = ", ".join(d.name for d in schema.databases)
    lines.append(f"{len(schema.databases)} databases: {names}")
    return "\n".join(lines) + "\n", []
