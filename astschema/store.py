"""The cache directory's storage, and whole results of commands replayed from it.

Light on purpose (no parser, no SQLAlchemy): a command whose inputs did not change is
answered from here before any of the heavy machinery is imported.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import os
import re
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from . import __version__

FORMAT = 1


class CacheError(Exception):
    """A cache entry found wrong only once a run relied on it."""


# What reading a damaged or foreign entry may raise: the entry is then not used.
UNREADABLE = (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError)


TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# astschema's parse cache: safe to delete.\n"


def prepare(directory: Path) -> None:
    """Create the cache directory with a .gitignore that keeps it out of version control."""
    if (directory / ".gitignore").is_file():
        return
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ".gitignore").write_text("# Created by astschema's cache.\n*\n", encoding="utf-8")
    (directory / "CACHEDIR.TAG").write_text(TAG, encoding="utf-8")


def remove(directory: Path) -> tuple[int, int] | None:
    """Delete a cache directory: (files, bytes) it held, or None if it is not astschema's
    (its CACHEDIR.TAG says so), which is left alone; OSError when it cannot be removed. It is
    first renamed aside, so that a run writing to it meanwhile starts a new cache instead of
    failing halfway."""
    import shutil

    try:
        if (directory / "CACHEDIR.TAG").read_text(encoding="utf-8") != TAG or directory.is_symlink():
            return None
    except (OSError, ValueError):
        return None
    aside = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}-removed-"))
    try:
        os.replace(directory, aside / directory.name)
    except OSError:
        aside.rmdir()
        raise
    files = [p for p in aside.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    shutil.rmtree(aside)
    return len(files), size


def write(target: Path, text) -> None:
    """Write text (a string, or an iterable of strings) through a temporary file renamed into
    place: readers see all of it or none."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:  # as given, on every OS
            if isinstance(text, str):
                out.write(text)
            else:
                out.writelines(text)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


class Lined:
    """An entry read as lines (written as `lined` makes it): a head of JSON, then lines of ASCII text taken
    in runs, then the digest of every line before it, which `end` checks. Raises (one of
    `UNREADABLE`) on anything else."""

    def __init__(self, file):
        head = file.readline()
        self._file, self._whole = file, hashlib.blake2b(head, digest_size=16)
        self.head = json.loads(head)

    def take(self, count: int) -> str:
        """The next `count` lines, each ended, as one text."""
        run = b"".join(itertools.islice(self._file, count))
        if run.count(b"\n") != count:
            raise ValueError("entry cut short")
        self._whole.update(run)
        return run.decode("ascii")

    def items(self, count: int) -> list:
        """The next `count` lines, each a JSON value, decoded."""
        found = json_lines(self.take(count))
        if len(found) != count:
            raise ValueError("entry damaged")
        return found

    def end(self) -> None:
        if self._file.read().decode("ascii") != self._whole.hexdigest():
            raise ValueError("entry damaged")


def json_lines(text: str) -> list:
    """The values of `text`, a JSON value a line, each ended (JSON text has no newline in it)."""
    return json.loads(f"[{text[:-1].replace(chr(10), ',')}]")


def lined(head: dict, lines):
    """The text of an entry `Lined` reads, in pieces: `head` as a line of JSON, then `lines`
    (ASCII text, each ended), then the digest of all of them, so that a reader sees a damaged
    or truncated entry."""
    whole = hashlib.blake2b(digest_size=16)
    for line in itertools.chain([json.dumps(head, separators=(",", ":")) + "\n"], lines):
        whole.update(line.encode("ascii"))
        yield line
    yield whole.hexdigest()


def keep(directory: Path, target: Path, text) -> bool:
    """Write `text` (see `write`) to `target`, a file of the cache `directory`, which is made
    ready (see `prepare`) with the folder `target` is in; whether it was written: a cache that
    cannot be written is simply not used."""
    try:
        prepare(directory)
        target.parent.mkdir(exist_ok=True)
        write(target, text)
    except OSError:
        return False
    return True


class Spool:
    """ASCII text kept in a temporary file, not in memory, and read back when asked for: what
    a large run makes and reads once more later (the compiled DDL of each database, the
    extraction of each module). Written and read in pieces, never needed as one text. Without
    a cache nothing is written anywhere (as a review wants), and the text stays in memory."""

    def __init__(self, on_disk: bool):
        self.on_disk = on_disk  # in memory, what is copied out of it stays: copy less
        self._file = tempfile.TemporaryFile() if on_disk else io.BytesIO()

    def put(self, pieces) -> tuple[int, int]:
        """Keep the text made of `pieces` (strings, or the places of text kept before, copied
        here); where it is."""
        start = end = self._file.seek(0, 2)
        for piece in pieces:
            if isinstance(piece, tuple):
                piece = self.get(piece)
                self._file.seek(end)
            else:
                piece = piece.encode("ascii")
            self._file.write(piece)
            end += len(piece)
        return start, end - start

    def get(self, place: tuple[int, int]) -> bytes:
        self._file.seek(place[0])
        return self._file.read(place[1])

    def text(self, place: tuple[int, int], size: int = 1 << 20):
        """The text kept at `place`, a megabyte at a time."""
        start, left = place
        while left:
            self._file.seek(start)
            piece = self._file.read(min(size, left))
            start, left = start + len(piece), left - len(piece)
            yield piece.decode("ascii")


# -- whole results ------------------------------------------------------------------------

RUNS_KEPT = 16  # results of this many distinct invocations are kept; older ones are removed


@functools.cache
def identity() -> str:
    """Everything a stored summary or result depends on besides its inputs: all of astschema's
    code (so a development checkout invalidates too), the libraries that parse, build and
    compile, and the Python whose `ast` bounds the parse."""
    package = Path(__file__).resolve().parent
    digest_ = hashlib.blake2b(digest_size=16)
    for path in sorted(package.rglob("*.py")):
        digest_.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    libraries = "/".join(version(name) for name in ("sqlalchemy", "libcst", "networkx"))
    return f"{__version__}/{FORMAT}/{libraries}/{sys.version}/{digest_.hexdigest()}"


def entry_key(data: bytes) -> str:
    """The cache key of a file's parse: its bytes, and everything in `identity`."""
    return hashlib.blake2b(identity().encode() + b"\0" + data, digest_size=16).hexdigest()


def entry_path(directory: Path, key: str, suffix: str = "json") -> Path:
    return directory / key[:2] / f"{key}.{suffix}"


def stored_meaning(directory: Path, key: str) -> str | None:
    """The digest of the summary the entry `key` holds (see `cache.Parser.meaning`), if stored."""
    try:
        text = entry_path(directory, key, "meaning").read_text(encoding="ascii")
    except (OSError, ValueError):
        return None
    return text if re.fullmatch(r"[0-9a-f]{32}", text) else None


def meanings(directory: Path, models, others, max_bytes: int):
    """What each input file means to a scan, by path, as far as the cache knows: the digest
    of its summary where one is stored for its bytes, else of the bytes themselves. Also the
    files whose summary is not stored, as (bytes, path, is a model file): once parsed, their
    meaning is known (see `cli._stored`); and the key of each model file read and the meaning
    stored for it (if any), by path, which the scan takes rather than read the file again."""
    from .discover import read  # FIFOs, devices and oversized files are refused as a scan refuses them

    found, unknown, keys = {}, [], {}
    models = set(models)
    for path in models | set(others):
        data, problem = read(path, max_bytes)
        if problem is not None:
            found[str(path)] = f"refused:{problem.message}"
            continue
        key = entry_key(data)
        known = stored_meaning(directory, key)
        if path in models:
            keys[str(path)] = key, known
        found[str(path)] = summarized(known) if known else "bytes:" + digest(data)
        if known is None:
            unknown.append((data, str(path), path in models))
    return found, unknown, keys


def summarized(meaning: str) -> str:
    """A file's part of a run key when the meaning of its summary is known."""
    return f"summary:{meaning}"


def run_key(invocation: str, inputs: dict[str, str]) -> str:
    """The key of a command's result: the invocation (arguments, options, configuration,
    working directory) and what every input file means (`meanings`), by name. Contents,
    not modification times: reading and hashing is cheap next to parsing, and never misses
    an edit."""
    digest_ = hashlib.blake2b(digest_size=16)
    digest_.update(identity().encode() + b"\0" + invocation.encode() + b"\0")
    for path in sorted(inputs):
        digest_.update(f"{path}\0{inputs[path]}\0".encode())
    return digest_.hexdigest()


def load_run(directory: Path, key: str) -> dict | None:
    """A stored result (stdout, stderr, exit code), or None unless whole and matching."""
    runs = directory / "runs"
    try:
        document = json.loads((runs / f"{key}.json").read_bytes())
        if document.get("key") == key and isinstance(document.get("stderr"), str) \
                and document.get("exit_code") in (0, 1):
            data = (runs / f"{key}.out").read_bytes()
            if document.get("stdout") == digest(data):
                document["stdout"] = data.decode("utf-8")
                return document
    except (OSError, ValueError, AttributeError):
        pass
    return None


def store_run(directory: Path, key: str, stdout, stderr: str, exit_code: int) -> None:
    """Store a result; `stdout` is a text file (read from its start), as large as a DDL of
    100,000 tables: copied in chunks, never held whole. Its text goes beside the result, which
    records its digest and is written last: a result found is whole."""
    runs = directory / "runs"
    digest = hashlib.blake2b(digest_size=16)

    def chunks():
        stdout.seek(0)
        while chunk := stdout.read(1 << 20):
            digest.update(chunk.encode("utf-8"))
            yield chunk

    try:
        prepare(directory)
        runs.mkdir(exist_ok=True)
        write(runs / f"{key}.out", chunks())
        write(runs / f"{key}.json", json.dumps({"key": key, "stdout": digest.hexdigest(), "stderr": stderr,
                                                   "exit_code": exit_code}))
        stored = sorted(runs.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        for old in stored[:-RUNS_KEPT]:
            old.unlink(missing_ok=True)
            old.with_suffix(".out").unlink(missing_ok=True)
    except OSError:
        pass


def digest(data: bytes) -> str:
    """The hex digest the cache names and checks its texts by."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
