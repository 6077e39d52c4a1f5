"""Parse cache and worker processes: each file's summary, stored by the hash of its bytes.

An entry is plain JSON (never pickle: nothing in the cache can run), written to a temporary
file and renamed into place, so concurrent runs never see half an entry. An entry that is
missing, unreadable, truncated, from another astschema or Python, or does not decode to a
summary is ignored and rebuilt: the cache is never trusted, only reused.

Summaries are stored without their path (every location of a summary is in its own file),
so a renamed or copied file still hits.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path

from . import parse, store
from .diagnostics import Diagnostic, Location

# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_FROM = 8

_TYPES = {cls.__name__: cls for cls in (
    parse.Const, parse.Name, parse.Attribute, parse.Call, parse.Seq, parse.Mapping, parse.Subscript,
    parse.BinOp, parse.Starred, parse.Unknown, parse.Import, parse.Binding, parse.Method, parse.ClassInfo,
    parse.ModuleSummary, Diagnostic,
)}
_FIELDS = {name: tuple(f.name for f in fields(cls)) for name, cls in _TYPES.items()}


def digest(data: bytes, identity: str) -> str:
    return hashlib.blake2b(identity.encode() + b"\0" + data, digest_size=16).hexdigest()


# -- JSON codec: a dataclass is [type name, *fields], a tuple ["(", *items], bytes ["b", base64],
#    a location [line, col] (its path is the summary's own). ---------------------------------


def _encode(value):
    if isinstance(value, Location):
        return [value.line, value.col]
    if isinstance(value, tuple):
        return ["(", *map(_encode, value)]
    if isinstance(value, bytes):
        return ["b", base64.b64encode(value).decode("ascii")]
    name = type(value).__name__
    if name in _TYPES and type(value) is _TYPES[name]:
        return [name, *(_encode(getattr(value, f)) for f in _FIELDS[name])]
    if value is None or type(value) in (str, int, float, bool):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode(value, path: str):
    # the hot loop of a warm run: list comprehensions and class checks, no isinstance
    if value.__class__ is not list:
        return value
    head = value[0]
    if head.__class__ is int:
        return Location(path, head, value[1])
    if head == "(":
        return tuple([_decode(item, path) for item in value[1:]])
    if head == "b":
        return base64.b64decode(value[1], validate=True)
    return _TYPES[head](*[_decode(item, path) for item in value[1:]])  # a wrong field count raises TypeError


def _summary_from(entry: bytes, key: str, path: str, module: str, is_package: bool) -> parse.ModuleSummary | None:
    """The summary an entry holds, or None for anything but a whole, matching entry."""
    try:
        document = json.loads(entry)
        if document.get("key") != key:
            return None
        summary = _decode(document["summary"], path)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
        return None
    if type(summary) is not parse.ModuleSummary:
        return None
    return _with_names(summary, module, is_package)


def _with_names(summary: parse.ModuleSummary, module: str, is_package: bool) -> parse.ModuleSummary:
    return replace(summary, module=module, is_package=is_package)


class Parser:
    """Parses files into summaries, through the cache when it has a directory."""

    def __init__(self, directory: Path | None, jobs: int | None = None):
        self.directory, self.jobs = directory, jobs
        self.identity = store.identity() if directory is not None else ""
        self._parsed: dict[str, parse.ModuleSummary] = {}  # by key: parsed ahead, in parallel

    def summary(self, data: bytes, path: str, module: str, is_package: bool) -> parse.ModuleSummary:
        key = digest(data, self.identity)
        ahead = self._parsed.get(key)
        if ahead is not None:
            return _with_names(_relocated(ahead, path), module, is_package)
        cached = self._load(key, path, module, is_package)
        if cached is not None:
            return cached
        summary = parse.parse_source(data, path, module, is_package)
        self._store(key, summary)
        return summary

    def parse_ahead(self, jobs: list[tuple[bytes, str]]) -> None:
        """Parse, on every core, the (data, path) files the cache does not hold, so that
        `summary` finds them ready."""
        todo = {}
        for data, path in jobs:
            key = digest(data, self.identity)
            if key not in todo and not (self.directory and (self.directory / _name(key)).is_file()):
                todo[key] = (data, path)
        if workers_for(len(todo), PARALLEL_FROM, self.jobs) < 2:
            return  # parsed here, one by one, as they are asked for
        keys = list(todo)
        with pool(len(keys), PARALLEL_FROM, self.jobs) as workers:
            # entries come back as JSON text: a summary's pickle costs ten times more
            entries = workers.map(_parse_job, [self.directory] * len(keys), keys,
                                  [todo[k][0] for k in keys], [todo[k][1] for k in keys])
            for key, entry in zip(keys, entries, strict=True):
                summary = None if entry is None else _summary_from(entry, key, todo[key][1], "", False)
                if summary is not None:
                    self._parsed[key] = summary

    # -- storage ------------------------------------------------------------------------

    def _load(self, key: str, path: str, module: str, is_package: bool) -> parse.ModuleSummary | None:
        if self.directory is None:
            return None
        try:
            entry = (self.directory / _name(key)).read_bytes()
        except OSError:
            return None
        return _summary_from(entry, key, path, module, is_package)

    def _store(self, key: str, summary: parse.ModuleSummary) -> None:
        if self.directory is not None:
            try:
                save(self.directory, key, _entry(key, summary))
            except (TypeError, ValueError, RecursionError):
                pass  # not representable in JSON: parsed again next time


def _relocated(summary: parse.ModuleSummary, path: str) -> parse.ModuleSummary:
    """The same summary for another file of the same bytes (locations carry the path)."""
    if summary.path == path:
        return summary
    return _decode(_encode(summary), path)


def _name(key: str) -> str:
    return f"{key[:2]}/{key}.json"


def _entry(key: str, summary: parse.ModuleSummary) -> str:
    return json.dumps({"key": key, "summary": _encode(summary)}, separators=(",", ":"))


def save(directory: Path, key: str, entry: str) -> None:
    """Write an entry atomically; a cache that cannot be written is simply not used."""
    target = directory / _name(key)
    try:
        store.prepare(directory)
        target.parent.mkdir(exist_ok=True)
        store.write(target, entry)
    except OSError:
        pass


def _parse_job(directory: Path | None, key: str, data: bytes, path: str) -> str | None:
    """In a worker: parse one file, store its entry, and send the entry back (None: the
    summary has no JSON form, and is parsed again where it is needed)."""
    try:
        entry = _entry(key, parse.parse_source(data, path, "", False))
    except (TypeError, ValueError, RecursionError):
        return None
    if directory is not None:
        save(directory, key, entry)
    return entry


@contextmanager
def collector_paused():
    """Pause Python's cyclic collector over a phase that allocates millions of objects
    which live until its end: it would rescan them all, again and again, as they
    accumulate (a thousand-module scan spent a quarter of its time there). Reference
    counting still frees what is dropped; cycles wait for the collector to resume."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _InProcess:
    """The pool's interface, run here: for small jobs, one core, or a daemon process."""

    def map(self, function, *iterables):
        return list(map(function, *iterables))


@contextmanager
def pool(amount: int, threshold: int, jobs: int | None = None):
    """`jobs` worker processes (default one per core) when `amount` of work reaches
    `threshold` and this process may start them; else the same interface in-process."""
    workers = workers_for(amount, threshold, jobs)
    if workers < 2:
        yield _InProcess()
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=gc.freeze) as executor:
        yield _Chunked(executor, workers)


# A worker starts with gc.freeze(): the heap it inherits from this process is never scanned
# by its collector (nor written to by the scan, which keeps those pages shared).


def workers_for(amount: int, threshold: int, jobs: int | None) -> int:
    """How many worker processes `pool` starts (fewer than 2: none)."""
    if amount < threshold or multiprocessing.current_process().daemon:
        return 0
    return jobs or _cores()


class _Chunked:
    """`map` in chunks: a few per worker, so that a slow chunk does not leave a core idle."""

    def __init__(self, executor, workers: int):
        self.executor, self.workers = executor, workers

    def map(self, function, *iterables):
        """The results in order, as they arrive (consume them inside the `with`)."""
        items = list(zip(*iterables, strict=True))
        chunk = max(1, len(items) // (self.workers * 4))
        return self.executor.map(_star, [function] * len(items), items, chunksize=chunk)


def _star(function, arguments):
    return function(*arguments)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1

