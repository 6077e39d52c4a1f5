"""Alembic's `target_metadata`, built statically: an `env.py` autogenerates migrations from the
models without importing the application.

    import astschema.alembic
    target_metadata = astschema.alembic.target_metadata("modules/", database="framework")

For Alembic's multi-database layout, `metadata_by_database` gives one `MetaData` per database,
keyed by name as that template keys its engines. The tables are those `ddl` compiles: a key into
another database cannot be declared in this one and is left out (its column stays). A scan that
met an error or left something out (`checker.unreadable`), or a table SQLAlchemy refused to build,
raises `SchemaError` with each problem at `file:line`: a migration generated from a schema
astschema could not read whole would be wrong.
"""

from __future__ import annotations

import sqlalchemy as sa

from .model import Schema


class SchemaError(Exception):
    """The models cannot give a complete schema: what is wrong, a line each."""


def target_metadata(paths, database: str | None = None, **options) -> sa.MetaData:
    """The `MetaData` of one database of the models under `paths` (`options` as `scan` takes
    them); `database` may be left out when the models declare only one."""
    schema = _scan(paths, options)
    if database is None:
        if len(schema.names) != 1:
            raise SchemaError(f"{len(schema.names)} databases found ({', '.join(schema.names) or 'none'}): name one "
                              "with database=..., or use metadata_by_database")
        database = schema.names[0]
    return _built(schema, [database])[database]


def metadata_by_database(paths, databases=None, **options) -> dict[str, sa.MetaData]:
    """One `MetaData` per database of the models under `paths`, by name: all of them, or
    those named in `databases`."""
    schema = _scan(paths, options)
    return _built(schema, schema.names if databases is None else list(databases))


def _built(schema: Schema, names: list[str]) -> dict[str, sa.MetaData]:
    unknown = [name for name in names if name not in schema.names]
    if unknown:
        raise SchemaError(f"no database named {', '.join(unknown)} (found: {', '.join(schema.names) or 'none'})")
    found = {name: schema.metadata(name) for name in names}
    problems = [f"{location or '<model>'}: {message}" for metadata in found.values()
                for _, message, location in metadata.info["astschema_problems"]]
    if problems:
        raise SchemaError("tables SQLAlchemy cannot build from the models:\n" + "\n".join(problems))
    return found


def _scan(paths, options) -> Schema:
    """The scan, refused when it cannot be read whole (`checker.unreadable`)."""
    from .api import scan
    from .checker import unreadable

    schema = scan(paths, **options)
    found = unreadable(schema)
    if found:
        raise SchemaError("the models cannot be read whole:\n" + "\n".join(map(str, found)))
    return schema
