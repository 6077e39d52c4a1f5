"""Extraction kept between runs: each module's `Unit`, stored with what every module it read
was (file and meaning), and reused while they all still are. An edit re-extracts the edited
module and the modules that read it, and no other.

An entry is JSON through the parse cache's codec (never pickle), written atomically; one that
is unreadable, foreign or stale is ignored and the module extracted again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from . import cache, model, store
from .diagnostics import Diagnostic
from .extract import Unit
from .extract.columns import ColumnDraft, PendingForeignKey, PendingRef
from .extract.declarative import Extension, MetaInfo, TableDraft
from .resolve import Project

cache.register(Unit, TableDraft, Extension, ColumnDraft, PendingForeignKey, PendingRef, MetaInfo, Diagnostic,
               model.Column, model.PyEnum, model.EnumValues, model.ColumnRef, model.ForeignKey,
               model.Index, model.Constraint, model.Relationship, made_by={model.SQLCall: model.sql_call})


class Kept:
    """The units of one scan's project, in `directory/units`."""

    def __init__(self, directory: Path, project: Project):
        self.directory, self.project = directory / "units", project
        config = dataclasses.replace(project.config, jobs=None, cache_dir=None)  # neither changes a result
        self._scan = hashlib.blake2b(
            "\0".join([store.identity(), repr(dataclasses.asdict(config)), *map(str, project.roots)]).encode(),
            digest_size=16,
        )

    def _path(self, module: str) -> Path:
        digest = self._scan.copy()
        digest.update(b"\0" + module.encode())
        return self.directory / f"{digest.hexdigest()}.json"

    def load(self, module: str) -> tuple[Unit, Callable[[], str]] | None:
        """The unit kept for `module`, if every module it read is what it was, with what
        gives its JSON text (for `Waiting`)."""
        try:
            document = json.loads(self._path(module).read_bytes())
            if document["module"] != module or any(
                self.project.fingerprint(name) != fingerprint for name, fingerprint in document["reads"]
            ) or (document["tree"] is not None and document["tree"] != self.project.tree()):
                return None
            unit = cache.decode(document["unit"])
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
            return None
        if type(unit) is not Unit or unit.module != module:
            return None
        return unit, lambda: json.dumps(document["unit"], separators=(",", ":"))

    def save(self, unit: Unit) -> str | None:
        """Keep `unit`; its JSON text, if it has one."""
        reads = [(name, self.project.fingerprint(name)) for name in unit.reads]
        if any(fingerprint is None for _, fingerprint in reads):
            return None  # a file whose meaning is unknown (its summary has no JSON form): not kept
        try:
            text = cache.encode(unit)
        except (TypeError, ValueError, RecursionError):
            return None  # a value the codec cannot store: extracted again next time
        head = json.dumps({"module": unit.module, "reads": reads,
                           "tree": self.project.tree() if unit.searched else None})
        try:
            store.prepare(self.directory.parent)
            self.directory.mkdir(exist_ok=True)
            store.write(self._path(unit.module), f'{head[:-1]},"unit":{text}}}')  # spliced, not parsed again
        except OSError:
            pass
        return text


# A run holds the units it made or loaded as they are while they have fewer tables than this,
# and keeps the later ones as JSON text until they are assembled (see `extract.assembly`).
# Below it, nothing is encoded or decoded again: an edit at 1,000 modules costs no more.
HELD_TABLES = 20_000


class Waiting:
    """A scan's units in order, between extraction and assembly, each given out once."""

    def __init__(self, on_disk: bool):
        self._spool, self._units, self._tables = store.Spool(on_disk), [], 0

    def put(self, unit: Unit, text=None) -> None:
        """Keep `unit`; `text` is its JSON text, or what gives it, if known."""
        self._tables += len(unit.tables) + len(unit.core_tables)
        if self._tables > HELD_TABLES:
            try:
                text = text() if callable(text) else text or cache.encode(unit)
            except (TypeError, ValueError, RecursionError):
                text = None  # a value the codec cannot store: held as it is
            if text is not None:
                self._units.append(self._spool.put([text]))
                return
        self._units.append(unit)

    def __iter__(self):
        for n, unit in enumerate(self._units):
            self._units[n] = None  # given out once, and let go once assembled
            yield cache.decode(json.loads(self._spool.get(unit))) if isinstance(unit, tuple) else unit
