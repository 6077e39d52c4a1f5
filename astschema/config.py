"""Options for a scan, from keyword arguments, the command line and `[tool.astschema]`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_INCLUDE = ("**/db_models.py",)
DEFAULT_BASE_FACTORIES = ("DatabaseBase", "get_database_base")
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    default_database: str = "default"
    # Callables whose first argument names the database of the declarative base they return.
    base_factories: tuple[str, ...] = DEFAULT_BASE_FACTORIES
    # Name -> dotted path or SQLAlchemy type expression, for types a static reader cannot follow.
    types: tuple[tuple[str, str], ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    follow_symlinks: bool = False
    # check: rule codes or prefixes ("AS3", "ALL") to run and to skip
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    # (from_database, to_database) pairs whose foreign keys are allowed (one server, schemas)
    allow_cross_database: tuple[tuple[str, str], ...] = ()
    warnings_as_errors: bool = False
    # every declarative table must say __table_args__ = {"extend_existing": True} (AS402)
    require_extend_existing: bool = False
    jobs: int | None = None  # worker processes; None: one per core
    against: str | None = None  # a snapshot file (`snapshot -o`) the models are held against (AS601)
    cache_dir: str | None = None  # default: .astschema_cache beside the pyproject.toml, or here
    source: str | None = field(default=None, compare=False)  # the pyproject.toml it came from

    def with_overrides(self, **overrides) -> "Config":
        given = {k: v for k, v in overrides.items() if v is not None}
        for key in ("include", "exclude", "base_factories", "select", "ignore"):
            if key in given:
                given[key] = tuple(given[key])
        if "allow_cross_database" in given:
            given["allow_cross_database"] = tuple(tuple(pair) for pair in given["allow_cross_database"])
        if "types" in given and isinstance(given["types"], dict):
            given["types"] = tuple(given["types"].items())
        return replace(self, **given)


def cache_directory(config: Config) -> Path:
    """Where the parse cache lives: the configured directory, else `.astschema_cache` in the
    project root (the folder of the pyproject.toml in use, else the current one), as ruff does."""
    if config.cache_dir is not None:
        return Path(config.cache_dir)
    return (Path(config.source).parent if config.source else Path.cwd()) / ".astschema_cache"


class ConfigError(Exception):
    """A `[tool.astschema]` table that cannot be used; the message names the file."""


def find_pyproject(paths) -> Path | None:
    """The nearest pyproject.toml with a [tool.astschema] table, from the first path upwards."""
    start = Path(paths[0] if paths else ".").resolve()
    for directory in [start, *start.parents] if start.is_dir() else list(start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if "astschema" in data.get("tool", {}):
                return candidate
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))["tool"]["astschema"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    known = {
        "include": list,
        "exclude": list,
        "default-database": str,
        "base-factories": list,
        "types": dict,
        "max-bytes": int,
        "follow-symlinks": bool,
        "select": list,
        "ignore": list,
        "allow-cross-database": list,
        "warnings-as-errors": bool,
        "require-extend-existing": bool,
        "cache-dir": str,
        "against": str,
        "jobs": int,
    }
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown key [tool.astschema] {key!r}")
        if not isinstance(value, known[key]):
            raise ConfigError(f"{path}: [tool.astschema] {key} must be a {known[key].__name__}")
        values[key.replace("-", "_")] = value
    pairs = values.get("allow_cross_database", [])
    if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) for n in p) for p in pairs):
        raise ConfigError(f"{path}: [tool.astschema] allow-cross-database must be a list of [from, to] pairs")
    for key in ("cache_dir", "against"):  # relative to the file that says it
        if key in values:
            values[key] = str(path.parent / values[key])
    if "base_factories" in values:  # configured factories add to the defaults
        values["base_factories"] = DEFAULT_BASE_FACTORIES + tuple(values["base_factories"])
    return Config(source=str(path)).with_overrides(**values)
