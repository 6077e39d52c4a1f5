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
import operator
import os
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path
from sys import intern

from . import parse, store
from .progress import track
from .diagnostics import Diagnostic, Location

# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_FROM = 8

# Workers other than `fresh` ones are forked (they share what this process holds), explicitly,
# whatever Python's default start method, where forking is safe: not on Windows (no fork), nor
# on macOS (where Python spawns by default: system libraries may not survive a fork).
FORKING = "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"

_TYPES = {cls.__name__: cls for cls in (
    parse.Const, parse.Name, parse.Attribute, parse.Call, parse.Seq, parse.Mapping, parse.Subscript,
    parse.BinOp, parse.Starred, parse.Unknown, parse.Import, parse.Binding, parse.Method, parse.ClassInfo,
    parse.ModuleSummary, Diagnostic,
)}
_FIELDS = {}  # by type name: its fields' values, as a tuple


# -- JSON codec: a dataclass is [type name, *fields], a tuple ["(", *items] ([] if empty), a list ["[", *items],
#    a dict ["{", *keys and values], bytes ["b", base64], a location [line, col] in the path of
#    a summary's own file, or [line, col, n] in the nth path of a document with several. -----


_MAKE = {}  # by type name: what makes its decoded values (the class, or `made_by`'s function)


def register(*classes, made_by=None) -> None:
    """More dataclasses the codec may store (those of a later stage, imported only there);
    `made_by` maps a class to the function that makes its values (`model.sql_call`)."""
    made_by = made_by or {}
    for cls in (*classes, *made_by):
        names = tuple(f.name for f in fields(cls))
        _TYPES[cls.__name__] = cls
        _MAKE[cls.__name__] = made_by.get(cls, cls)
        # attrgetter gives a tuple for two names or more
        _FIELDS[cls.__name__] = operator.attrgetter(*names) if len(names) > 1 else \
            (lambda value, names=names: tuple(getattr(value, name) for name in names))


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _encode(value, paths: dict | None = None):
    # as hot as decoding, in workers and for kept units: class checks, no call for a plain item
    cls = value.__class__
    if cls in _PLAIN:
        return value
    if cls is tuple:
        return ["(", *_encoded(value, paths)] if value else []  # (): a column has several
    if cls is Location:
        if paths is None:
            return [value.line, value.col]
        return [value.line, value.col, paths.setdefault(value.path, len(paths))]
    if cls is list:
        return ["[", *_encoded(value, paths)]
    if cls is dict:
        return ["{", *_encoded([item for pair in value.items() for item in pair], paths)]
    if cls is bytes:
        return ["b", base64.b64encode(value).decode("ascii")]
    name = cls.__name__
    if _TYPES.get(name) is cls:
        return [name, *_encoded(_FIELDS[name](value), paths)]
    raise TypeError(f"cannot cache a {cls.__name__}")


def _encoded(values, paths) -> list:
    return [value if value.__class__ in _PLAIN else _encode(value, paths) for value in values]


register(*_TYPES.values())


def _decode(value: list, paths: list[str]):
    # the hot loop of a warm run: class checks, no isinstance, and no call for a plain item
    head = value[0]
    if head.__class__ is int:
        return Location(paths[value[2]] if len(value) > 2 else paths[0], head, value[1])
    # strings interned: names, types and paths repeat across thousands of tables
    items = [item if (kind := item.__class__) is not list and kind is not str else
             (_decode(item, paths) if item else ()) if kind is list else intern(item) for item in value[1:]]
    if head == "(":
        return tuple(items)
    if head == "[":
        return items
    if head == "{":
        return dict(zip(items[::2], items[1::2], strict=True))
    if head == "b":
        return base64.b64decode(items[0], validate=True)
    return _MAKE[head](*items)  # a wrong field count raises TypeError


def encode(value) -> str:
    """JSON text of a value whose locations may lie in several files."""
    paths: dict[str, int] = {}
    body = _encode(value, paths)
    return json.dumps({"paths": list(paths), "value": body}, separators=(",", ":"))


def decode(document: dict):
    """The value `encode` wrote (raises on anything else: the caller ignores such an entry)."""
    paths = document["paths"]
    if not all(isinstance(path, str) for path in paths):
        raise TypeError("paths")
    return _decode(document["value"], paths) if document["value"] != [] else ()


def _summary_from(entry: str | bytes, key: str, path: str, module: str, is_package: bool):
    """The summary an entry holds and its meaning, or None for anything but a whole,
    matching entry."""
    try:
        document = json.loads(entry)
        if document.get("key") != key or not isinstance(document["meaning"], str):
            return None
        summary = _decode(document["summary"], [path])
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
        return None
    if type(summary) is not parse.ModuleSummary:
        return None
    return _with_names(summary, path, module, is_package), document["meaning"]


def _with_names(summary: parse.ModuleSummary, path: str, module: str, is_package: bool) -> parse.ModuleSummary:
    return replace(summary, path=path, module=module, is_package=is_package)


class Parser:
    """Parses files into summaries, through the cache when it has a directory."""

    def __init__(self, directory: Path | None, jobs: int | None = None):
        self.directory, self.jobs = directory, jobs
        # by key: the entry of each file parsed (ahead, in parallel, or here) that the cache
        # could not take, decoded when asked for (the JSON text is a sixth of the summary's
        # size in memory); an entry the cache holds is read from there, so a large tree's
        # entries are never all in memory at once
        self._parsed: dict[str, str] = {}
        self._unstored: dict[str, parse.ModuleSummary] = {}  # by key: summaries without a JSON form
        self._meanings: dict[str, str] = {}  # by key

    def hold(self, data: bytes, path: str) -> str:
        """Make sure a file's summary can be had by its key without its bytes (parsed now
        unless parsed before, here or in the cache), and return the key: a large tree's
        bytes need not stay in memory."""
        key = store.entry_key(data)
        if not self.known(key):
            self._store(key, parse.parse_source(data, path, "", False))
        return key

    def recall(self, key: str, meaning: str) -> None:
        """Take the meaning of an entry read before (`store.meanings`): `known` reads it no more."""
        self._meanings.setdefault(key, meaning)

    def known(self, key: str) -> bool:
        """Whether the summary of `key` is had without parsing: in memory, or in the cache (by
        its meaning, written after its entry; an entry spoilt or gone since is parsed again
        when read)."""
        if key in self._parsed or key in self._unstored or key in self._meanings:
            return True
        meaning = store.stored_meaning(self.directory, key) if self.directory is not None else None
        if meaning is not None:
            self._meanings[key] = meaning
        return meaning is not None

    def summary(self, key: str, path: str, module: str, is_package: bool,
                data: bytes | None = None) -> parse.ModuleSummary | None:
        """The summary of a file `hold` took, named for `path`. If its cache entry is gone or
        spoilt since (another process cleaned the cache): parsed from `data`, or None."""
        if key in self._unstored:
            return _with_names(_relocated(self._unstored[key], path), path, module, is_package)
        found = _summary_from(self._parsed[key], key, path, module, is_package) if key in self._parsed else None
        summary = found[0] if found is not None else self._load(key, path, module, is_package)
        if summary is None and data is not None:
            summary = parse.parse_source(data, path, module, is_package)
            self._store(key, summary)
        return summary

    def meaning(self, data: bytes, path: str) -> str | None:
        """What a file means to a scan: the digest of its summary's JSON form, which leaves
        out what no scan reads (comments without `noqa`, text after the last statement). Files
        of equal meaning give equal results. Parses the file if need be (kept for `summary`);
        None when its summary has no JSON form."""
        return self._meanings.get(self.hold(data, path))

    def known_meaning(self, key: str) -> str | None:
        """The meaning of a file `hold` took (None: its summary has no JSON form)."""
        return self._meanings.get(key)

    def release(self) -> None:
        """Drop the files parsed ahead, once the scan has taken them (meanings stay)."""
        self._parsed.clear()
        self._unstored.clear()

    def meanings(self, files: list[tuple[bytes, str]]) -> dict[str, str]:
        """The `meaning` of each (bytes, path) file whose summary has a JSON form, by path,
        for a run key (files not met before are parsed to know it)."""
        found = {}
        for data, path in files:
            meaning = self.meaning(data, path)
            if meaning is not None:
                found[path] = store.summarized(meaning)
        return found

    def parse_ahead(self, jobs: list[tuple[bytes, str]]) -> None:
        """Parse, on every core, the (data, path) files not known yet, so that `hold` finds
        them ready."""
        todo = {}
        for data, path in jobs:
            key = store.entry_key(data)
            if key not in todo and not self.known(key):
                todo[key] = (data, path)
        if workers_for(len(todo), PARALLEL_FROM, self.jobs) < 2:
            return  # parsed here, one by one, as they are asked for
        keys = list(todo)
        with pool(len(keys), PARALLEL_FROM, self.jobs) as workers:
            # an entry the cache did not take comes back as its JSON text: a pickle of the
            # summary would cost the workers more than it saves here
            entries = track(workers.map(_parse_job, [self.directory] * len(keys), keys,
                                        [todo[k][0] for k in keys], [todo[k][1] for k in keys]),
                            len(keys), "parsing", "files")
            for key, parsed in zip(keys, entries, strict=True):
                if parsed is not None:
                    entry, self._meanings[key] = parsed
                    if entry is not None:
                        self._parsed[key] = entry

    # -- storage ------------------------------------------------------------------------

    def _load(self, key: str, path: str, module: str, is_package: bool) -> parse.ModuleSummary | None:
        if self.directory is None:
            return None
        try:
            entry = store.entry_path(self.directory, key).read_bytes()
        except OSError:
            return None
        found = _summary_from(entry, key, path, module, is_package)
        if found is None:
            return None
        self._meanings[key] = found[1]
        return found[0]

    def _store(self, key: str, summary: parse.ModuleSummary) -> None:
        try:
            entry, self._meanings[key] = _entry(key, summary)
        except (TypeError, ValueError, RecursionError):
            self._unstored[key] = summary  # not representable in JSON: kept as it is, parsed again next run
            return
        if self.directory is None or not save(self.directory, key, entry, self._meanings[key]):
            self._parsed[key] = entry


def _relocated(summary: parse.ModuleSummary, path: str) -> parse.ModuleSummary:
    """The same summary for another file of the same bytes (locations carry the path)."""
    if summary.path == path:
        return summary
    return _decode(_encode(summary), [path])


def _entry(key: str, summary: parse.ModuleSummary) -> tuple[str, str]:
    """An entry's JSON text, and the summary's meaning (see `Parser.meaning`)."""
    # stored without names: an entry serves every file of these bytes, wherever it is
    text = json.dumps(_encode(_with_names(summary, "", "", False)), separators=(",", ":"))
    meaning = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return f'{{"key":"{key}","meaning":"{meaning}","summary":{text}}}', meaning


def save(directory: Path, key: str, entry: str, meaning: str) -> bool:
    """Write an entry, then its meaning beside it for the run keys (`store.meanings`), each
    atomically; whether it was written (a cache that cannot be written is simply not used)."""
    return store.keep(directory, store.entry_path(directory, key), entry) and \
        store.keep(directory, store.entry_path(directory, key, "meaning"), meaning)


def _parse_job(directory: Path | None, key: str, data: bytes, path: str) -> tuple[str | None, str] | None:
    """In a worker: parse one file, store its entry, and send back the entry (None when the
    cache holds it) and its meaning; None: the summary has no JSON form, and is parsed again
    where it is needed."""
    try:
        entry, meaning = _entry(key, parse.parse_source(data, path, "", False))
    except (TypeError, ValueError, RecursionError):
        return None
    if directory is not None and save(directory, key, entry, meaning):
        return None, meaning
    return entry, meaning


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


@contextmanager
def settled():
    """Keep every object alive now out of the collector's sight over a phase (`gc.freeze`):
    a scan's millions of objects would be traversed by each full collection the phase
    triggers, and they outlive it anyway. Unfrozen at the end, unless objects were frozen
    before (by a caller who wants them so)."""
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


class _InProcess:
    """The pool's interface, run here: for small jobs, one core, or a daemon process."""

    def map(self, function, *iterables, chunk=None):
        return list(map(function, *iterables))

    def each(self, function, arguments):
        for item in arguments:
            yield item, function(*item)


@contextmanager
def pool(amount: int, threshold: int, jobs: int | None = None, fresh: bool = False):
    """`jobs` worker processes (default one per core) when `amount` of work reaches
    `threshold` and this process may start them; else the same interface in-process.
    Workers are forked from this process, or with `fresh` started anew (spawned: children of
    this process, whose time and memory count as its own), holding only what they are sent."""
    workers = workers_for(amount, threshold, jobs)
    if workers < 2:
        yield _InProcess()
        return
    context = multiprocessing.get_context("spawn" if fresh or not FORKING else "fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(fresh,)) as executor:
        yield _Chunked(executor, workers, _collected if fresh else _star)


def _start_worker(fresh: bool) -> None:
    # a forked worker's heap, inherited from this process, is never scanned by its collector
    # (nor written to by the scan, which keeps those pages shared)
    gc.freeze()
    if fresh:  # jobs arrive pickled, and are unpickled faster without the collector: it runs after each
        gc.disable()


def workers_for(amount: int, threshold: int, jobs: int | None) -> int:
    """How many worker processes `pool` starts (fewer than 2: none)."""
    if amount < threshold or multiprocessing.current_process().daemon:
        return 0
    return jobs or cores()


class _Chunked:
    """`map` in chunks: a few per worker, so that a slow chunk does not leave a core idle."""

    def __init__(self, executor, workers: int, call):
        self.executor, self.workers, self.call = executor, workers, call

    def map(self, function, *iterables, chunk=None):
        """The results in order, as they arrive (consume them inside the `with`); `chunk`
        items are sent at a time (default: a few chunks per worker)."""
        items = list(zip(*iterables, strict=True))
        chunk = chunk or max(1, len(items) // (self.workers * 4))
        return self.executor.map(self.call, [function] * len(items), items, chunksize=chunk)

    def each(self, function, arguments):
        """(arguments, `function(*arguments)`) for each from the iterator `arguments`, in
        order; the next are taken from it only as results come back (a job per worker and one
        more are in flight), so that what it makes is never all held at once."""
        pending = deque()
        for item in arguments:
            pending.append((item, self.executor.submit(self.call, function, item)))
            if len(pending) > self.workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def _star(function, arguments):
    return function(*arguments)


def _collected(function, arguments):
    try:
        return function(*arguments)
    finally:
        gc.collect(0)  # what the job made (all young: nothing collected since) holds cycles


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1

