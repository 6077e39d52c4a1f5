"""Discover stage: which files to read. Knows nothing of Python."""

from __future__ import annotations

import functools
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .diagnostics import Diagnostic, Location


class Discovered(NamedTuple):
    """What a scan of some paths takes from the command line, which found it first."""

    files: list[SourceFile]
    problems: list[Diagnostic]
    roots: list[Path]  # `roots` of the files
    keys: dict[str, tuple] | None = None  # (cache key, stored meaning) of each file as read then, by path


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # as the user will see it
    root: Path  # the scan path it was found under


def matches(relative: str, patterns) -> bool:
    """Glob match on a `/`-separated relative path.

    `**` spans any number of directories (zero included), `*` and `?` stay inside one; a
    pattern without `/` matches the file name at any depth, as in .gitignore.
    """
    return any(_glob_regex(p).fullmatch(relative) for p in patterns)


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern:
    if "/" not in pattern:
        pattern = "**/" + pattern
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)  # a name may hold a newline: match it too


def discover(paths, config) -> tuple[list[SourceFile], list[Diagnostic]]:
    """Files under `paths` matching include and not exclude, sorted, each read at most once."""
    files: dict[Path, SourceFile] = {}
    diagnostics: list[Diagnostic] = []
    for given in paths:
        given = Path(given)
        if not given.exists():
            diagnostics.append(Diagnostic("AS100", f"no such file or directory: {given}", None))
            continue
        if given.is_file():
            files.setdefault(given.resolve(), SourceFile(given, given.parent))
            continue
        root = given.resolve()
        seen = {root}  # real directories walked: a symlink loop is walked once
        for directory, dirnames, filenames in os.walk(given, followlinks=config.follow_symlinks):
            here = Path(directory).resolve()  # once per directory: an entry resolves below it unless a link
            kept = []
            for name in sorted(dirnames):
                path = Path(directory) / name
                real = path.resolve() if path.is_symlink() else here / name
                if name.startswith(".") or name in ("__pycache__", "node_modules") or real in seen:
                    continue
                seen.add(real)
                kept.append(name)
            dirnames[:] = kept
            under = Path(directory).relative_to(given).as_posix()
            for filename in sorted(filenames):
                relative = filename if under == "." else f"{under}/{filename}"
                if not matches(relative, config.include) or matches(relative, config.exclude):
                    continue  # most files of a tree: no path made for them
                path = Path(directory) / filename
                link = path.is_symlink()
                real = path.resolve() if link else here / filename
                if link and not config.follow_symlinks and not real.is_relative_to(root):
                    continue
                if path.is_file():
                    files.setdefault(real, SourceFile(path, given))
    return sorted(files.values(), key=lambda f: f.path.as_posix()), diagnostics


def read(path: Path, max_bytes: int) -> tuple[bytes | None, Diagnostic | None]:
    """The file's bytes, or a diagnostic saying why they cannot be had."""
    where = Location(str(path), 1, 1)
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
            return None, Diagnostic("AS100", "not a regular file", where)
        size = status.st_size
        if size > max_bytes:
            return None, Diagnostic("AS100", f"file is {size} bytes, over the {max_bytes}-byte limit", where)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return None, Diagnostic("AS100", f"cannot read file: {exc.strerror or exc}", where)
    if len(data) > max_bytes:
        return None, Diagnostic("AS100", f"file grew over the {max_bytes}-byte limit while read", where)
    if b"\0" in data:
        return None, Diagnostic("AS100", "file contains NUL bytes; not Python source", where)
    return data, None


# -- what module lookups may read ---------------------------------------------------------

SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", ".venv"})
MAX_SEARCHED_FILES = 50_000  # a search of a class by name stops looking after this many files


def roots(paths, files) -> list[Path]:
    """The directories modules are looked up under: the scan paths as given, then the
    package root of each file found (what `sys.path` would need for an import), in order."""
    return [p if p.is_dir() else p.parent for p in paths] + package_roots([f.path for f in files])


def unique_roots(roots) -> list[tuple[Path, Path]]:
    """(real path, path as first given) per real directory: "x" and "/abs/x" are one root."""
    given: list[tuple[Path, Path]] = []
    for root in dict.fromkeys(roots):  # the package root of every model file: mostly the same few
        real = Path(root).resolve()
        if all(real != known for known, _ in given):
            given.append((real, Path(root)))
    return given


def python_files(roots) -> list[tuple[Path, Path]]:
    """(root, path) of every Python file a lookup may read under `roots` (at most
    MAX_SEARCHED_FILES; hidden and virtualenv-like directories skipped)."""
    found = []
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
            found += [(root, Path(directory) / f) for f in sorted(filenames) if f.endswith(".py")]
            if len(found) > MAX_SEARCHED_FILES:
                return found
    return found


def package_root(path: Path) -> Path:
    """The directory a module would be imported from: above its topmost `__init__.py` package."""
    return package_roots([path])[0]


def package_roots(paths) -> list[Path]:
    """`package_root` of each path, each directory looked at once (a tree's model files share
    their packages)."""
    found: dict[Path, Path] = {}

    def root_of(directory: Path) -> Path:
        if directory not in found:
            found[directory] = root_of(directory.parent) \
                if (directory / "__init__.py").is_file() and directory.parent != directory else directory
        return found[directory]

    return [root_of(path.resolve().parent) for path in paths]


def inputs(paths, config) -> tuple[list[Path], list[Path], Discovered]:
    """Every file a scan of `paths` may read, what a stored result of it depends on: the
    model files the scan reads, then the others its lookups may read; and what the scan can
    take of it."""
    paths = [Path(p) for p in paths]
    files, problems = discover(paths, config)
    looked_in = roots(paths, files)
    searched = python_files([real for real, _ in unique_roots(looked_in)])
    return ([f.path for f in files], [path for _, path in searched] + [p for p in paths if p.is_file()],
            Discovered(files, problems, looked_in))
