"""Ground truth for astschema's tests: SQLAlchemy's own answer, got by importing.

    python tests/groundtruth.py ROOT [--include GLOB ...] [--default-database NAME]

Imports every file under ROOT that matches an include glob (default ``**/db_models.py``),
collects every ``MetaData`` reachable from the globals of the modules under ROOT, assigns
each table to a database (``metadata.info["database"]``, else the defining module's
``DATABASE_NAME``, else the default) and prints, as JSON, the CREATE TABLE / CREATE INDEX
DDL that SQLAlchemy compiles for sqlite and postgresql. Foreign keys whose target table is
not in the same MetaData (cross-database keys) are removed first and listed in
``dropped_foreign_keys``; their columns stay. Each table is also given as a snapshot
describes it (``described``, by ``astschema.snapshot.describe``, which reads SQLAlchemy's
objects only). astschema itself never imports scanned code;
only this harness, run in a subprocess by the tests, does.
"""

import argparse
import importlib
import json
import sys
import traceback
from pathlib import Path

from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import registry as Registry
from sqlalchemy.schema import CreateIndex, CreateTable

from astschema.snapshot import describe

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}


def module_name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(root):
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(root):
            yield module


def attr(value, name):
    try:
        return getattr(value, name, None)
    except Exception:  # proxies and descriptors may raise outside their context
        return None


def metadatas_of(value):
    """The MetaData objects a module global leads to: itself, or its ``metadata``."""
    if isinstance(value, MetaData):
        return [value]
    found = [attr(value, "metadata")]
    extra = attr(value, "metadatas")  # Flask-SQLAlchemy: one MetaData per bind key
    if isinstance(extra, dict):
        found += extra.values()
    return [md for md in found if isinstance(md, MetaData)]


def fk_line(table, fk):
    return f"{table.name}.{fk.parent.name} -> {fk.target_fullname}"


def resolves(fk):
    """Whether a key's target is in its own MetaData (else it points into another database)."""
    try:
        return fk.column is not None
    except Exception:
        return False


def compile_all(element):
    return {name: str(element.compile(dialect=d)).strip() for name, d in DIALECTS.items()}


def create_databases(template, tables_of):
    """The bootstrap's last phase: one database per name, created from the imported tables."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    for database, tables in tables_of.items():
        url = make_url(template.replace("{name}", database))
        if url.get_backend_name() == "sqlite":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        if url.get_backend_name() == "postgresql":
            server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with server.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
            server.dispose()
        engine = create_engine(url)
        tables[0].metadata.create_all(engine, tables=tables)
        engine.dispose()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--include", action="append")
    parser.add_argument("--default-database", default="default")
    parser.add_argument("--create", metavar="URL_TEMPLATE",
                        help="also create each database at this URL ({name} = database), as the bootstrap does")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    sys.path.insert(0, str(root))

    files = sorted({p for glob in args.include or ["**/db_models.py"] for p in root.glob(glob)
                    if p.is_file() and p.suffix == ".py"})
    import_errors = {}
    for path in files:
        name = module_name(path, root)
        try:
            importlib.import_module(name)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            import_errors[name] = f"{type(exc).__name__}: {exc}"

    # Every MetaData reachable from module globals, and who defined each table.
    metadatas = {}  # id -> MetaData, in discovery order
    owner = {}  # id(table) -> module that defined it
    registries = {}
    for module in modules_under(root):
        for value in list(vars(module).values()):
            for md in metadatas_of(value):
                metadatas.setdefault(id(md), md)
            for reg in (value, attr(value, "registry"), attr(value, "_sa_registry")):  # SQLModel
                if isinstance(reg, Registry):
                    registries.setdefault(id(reg), reg)
            if isinstance(value, Table):
                owner.setdefault(id(value), module)  # Core table: first module holding it
    for reg in registries.values():
        metadatas.setdefault(id(reg.metadata), reg.metadata)
        for mapper in reg.mappers:  # ORM table: the module of its mapped class
            cls_module = sys.modules.get(mapper.class_.__module__)
            if cls_module is not None and isinstance(mapper.local_table, Table):
                owner[id(mapper.local_table)] = cls_module

    databases = {}
    tables_of = {}  # database -> its Table objects, for --create
    for md in metadatas.values():
        for table in md.tables.values():
            database = md.info.get("database") or getattr(
                owner.get(id(table)), "DATABASE_NAME", None) or args.default_database
            tables_of.setdefault(database, []).append(table)
            db = databases.setdefault(
                database, {"tables": {}, "indexes": {}, "described": {}, "dropped_foreign_keys": []})
            for fkc in list(table.foreign_key_constraints):
                fks = list(fkc.elements)
                if all(resolves(fk) for fk in fks):
                    continue
                table.constraints.discard(fkc)
                for fk in fks:
                    fk.parent.foreign_keys.discard(fk)
                    table.foreign_keys.discard(fk)
                    db["dropped_foreign_keys"].append(fk_line(table, fk))
            db["described"][table.fullname] = describe(table)
            try:
                db["tables"][table.fullname] = compile_all(CreateTable(table))
                for index in table.indexes:
                    db["indexes"][index.name] = compile_all(CreateIndex(index))
            except Exception as exc:
                db["tables"][table.fullname] = {"error": f"{type(exc).__name__}: {exc}"}

    for db in databases.values():
        db["dropped_foreign_keys"].sort()
    if args.create:
        create_databases(args.create, tables_of)
    result = {"databases": databases, "import_errors": import_errors}
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
