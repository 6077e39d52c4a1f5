"""The Python API: `scan(paths) -> Schema`, the pipeline end to end."""

from __future__ import annotations

from pathlib import Path

from .cache import Parser, collector_paused
from .config import Config, find_pyproject, load_config
from .diagnostics import Diagnostic
from .discover import Discovered, discover, read, roots
from .extract import extract
from .model import Schema
from .resolve import Project, module_name
from .units import Kept


def scan(
    paths,
    *,
    include=None,
    exclude=None,
    default_database: str | None = None,
    base_factories=None,
    types=None,
    config: Config | None = None,
    cache_dir: Path | str | None = None,
    jobs: int | None = None,
    parser: Parser | None = None,
    discovered: tuple | None = None,
) -> Schema:
    """Read the models under `paths` statically and return the schema they declare.

    Options left as None come from `[tool.astschema]` in the nearest pyproject.toml
    (or astschema's defaults). Scanned code is parsed, never imported or executed.
    With `cache_dir`, each file's parse is kept there and reused while its bytes are unchanged,
    and each module's extraction while every module it read is unchanged.
    `jobs` worker processes parse and compile (default one per core; 1 for none). A `parser`
    given (for `cache_dir`) brings the files it already parsed, and `discovered` what
    `discover.inputs` found for these paths and options (files, problems, roots).
    """
    with collector_paused():
        return _scan(paths, include, exclude, default_database, base_factories, types, config, cache_dir, jobs,
                     parser, discovered)


def _scan(paths, include, exclude, default_database, base_factories, types, config, cache_dir, jobs,
          parser, discovered) -> Schema:
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if config is None:
        config = load_config(find_pyproject(paths))
    config = config.with_overrides(
        include=include,
        exclude=exclude,
        default_database=default_database,
        base_factories=None if base_factories is None else (*config.base_factories, *base_factories),
        types=types,
        jobs=jobs,
    )
    if discovered is None:
        files, diagnostics = discover(paths, config)
        discovered = Discovered(files, diagnostics, roots(paths, files))  # roots: the paths, then each file's package
    files, diagnostics, looked_in, keys = discovered
    diagnostics = list(diagnostics)
    parser = parser or Parser(None if cache_dir is None else Path(cache_dir), config.jobs)
    project = Project(looked_in, config, parser)
    modules = _registered(project, parser, zip(files, looked_in[len(paths):], strict=True), keys or {}, diagnostics)
    kept = None if cache_dir is None else Kept(Path(cache_dir), project)
    databases, found, suppressions, digests = extract(project, modules, kept)
    parser.release()  # the project holds what it needs; a caller's parser outlives the scan
    diagnostics += found
    return Schema(databases, tuple(sorted(set(diagnostics), key=Diagnostic.order)), suppressions, config,
                  None if cache_dir is None else Path(cache_dir), digests)


def _registered(project: Project, parser: Parser, files, keys: dict[str, str], diagnostics: list) -> list[str]:
    """Read and parse the files found (on every core), given with their package roots, and
    register them with the project as modules, whose names are returned; the files' bytes go
    when this returns. A file whose key is in `keys` (read before, by the caller, with its
    stored meaning, if any) and whose summary the parser has is not read again."""
    contents = []  # (file, root, its bytes or key)
    for source, root in files:
        key, meaning = keys.get(str(source.path), (None, None))
        if meaning is not None:
            parser.recall(key, meaning)
        if key is not None and parser.known(key):
            contents.append((source, root, key))
            continue
        data, problem = read(source.path, project.config.max_bytes)
        if problem is not None:
            diagnostics.append(problem)
        else:
            contents.append((source, root, data))
    parser.parse_ahead([(data, str(source.path)) for source, _, data in contents if type(data) is bytes])
    modules = []
    for source, root, data in contents:
        module = module_name(source.path, root)
        if module in project.sources:  # two top-level modules of one name in different folders
            module = ".".join(source.path.relative_to(source.root).with_suffix("").parts)
        project.register(source.path, module, source.path.name == "__init__.py", data)
        modules.append(module)
    return modules
