"""Assembled databases kept between runs. A database whose tables are its own modules' alone
(`assembly.Plan` calls it lone: no Table() that several modules list, no key-only column, no
reference by class or location, no table another module adds to or that is defined twice) is
a function of those modules' units, in order, and of where its name is first given. It is kept
under a key of those: the next run that finds it takes its tables' text as they are, and
neither decodes nor assembles their units. An edit assembles the databases of the edited
modules, and the others are read back.

An entry (one per database name, written atomically) is JSON through the parse cache's codec,
never pickle. Its first line is the head: the key, the database's grouping, its tables' names
and targets, what assembly reported on it, and its `Schema.digest`; then a line per table, and
last the digest of all the lines before. An entry that is unreadable, foreign, stale or damaged
is ignored, and the database assembled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from . import cache, store
from .diagnostics import Diagnostic

class Entry(NamedTuple):
    """One database as assembly made it, but its tables' text."""

    name: str
    rest: tuple  # naming convention, modules, location: as `model.Database` takes them after the tables
    tables: tuple[tuple[str, str, tuple[str, ...]], ...]  # (full name, module, tables its keys point at)
    diagnostics: tuple[Diagnostic, ...]  # what assembling it reported
    digest: str  # `Schema.digest`, which also checks the tables' text when read back


class KeptDatabases:
    """The lone databases of one scan's project, in `directory/assembled`; `scan` is the
    digest of what every entry depends on besides its units (see `units.Kept`)."""

    def __init__(self, directory: Path, scan):
        self.directory, self._scan = directory / "assembled", scan

    def key(self, name: str, origin, contributors) -> str:
        """The key of database `name` first named at `origin`, whose tables are the drafts
        (module, digest of its unit's text, draft's number) `contributors` in model order."""
        digest_ = self._scan.copy()
        digest_.update(json.dumps([name, repr(origin), contributors]).encode())
        return digest_.hexdigest()

    def _path(self, name: str) -> Path:
        digest_ = self._scan.copy()
        digest_.update(b"\0" + name.encode())
        return self.directory / f"{digest_.hexdigest()}.json"

    def load(self, key: str, name: str, spool: store.Spool) -> tuple[Entry, list] | None:
        """The entry of database `name`, if it was kept under `key` and is whole, and the
        places in `spool` of its tables' text, copied there a line at a time as it is checked
        (a database of 30,000 tables is some 60 MB of text)."""
        try:
            with self._path(name).open("rb") as file:
                lined = store.Lined(file)
                document = lined.head
                if document["key"] != key or document["database"] != name:
                    return None
                tables = tuple((fullname, module, tuple(targets)) for fullname, module, targets in document["tables"])
                places = [spool.put([lined.take(1)[:-1]]) for _ in tables]  # a line per table, no more
                lined.end()
                entry = Entry(name, cache.decode(document["rest"]), tables, cache.decode(document["diagnostics"]),
                              document["digest"])
        except store.UNREADABLE:
            return None
        if type(entry.rest) is not tuple or len(entry.rest) != 3 \
                or type(entry.diagnostics) is not tuple or any(type(d) is not Diagnostic for d in entry.diagnostics) \
                or any(type(part) is not str for table in tables for part in (*table[:2], *table[2])) \
                or type(entry.digest) is not str:
            return None
        return entry, places

    def save(self, key: str, entry: Entry, texts) -> None:
        """Keep `entry`, with its tables' text (ASCII bytes, one each, in order)."""
        head = {"key": key, "database": entry.name, "tables": entry.tables,
                "rest": json.loads(cache.encode(entry.rest)),
                "diagnostics": json.loads(cache.encode(entry.diagnostics)), "digest": entry.digest}
        store.keep(self.directory.parent, self._path(entry.name),
                   store.lined(head, (text.decode("ascii") + "\n" for text in texts)))
