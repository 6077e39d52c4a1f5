"""Extraction kept between runs: each module's `Unit`, stored with what every module it read
was (file and meaning), and reused while they all still are. An edit re-extracts the edited
module and the modules that read it, and no other.

An entry is JSON through the parse cache's codec (never pickle), written atomically; one that
is unreadable, foreign or stale is ignored and the module extracted again. Its first line is
the unit's head (what it read, its `Outline`, the digest of the rest), the second the unit:
a run reads and checks the head and decodes the outline; it reads the unit, checks it by its
digest and decodes it only when it is assembled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from . import cache, model, store
from .assembled import KeptDatabases
from .diagnostics import Diagnostic
from .extract import Unit
from .extract.assembly import Note, Outline, outline
from .extract.columns import ColumnDraft, PendingForeignKey, PendingRef
from .extract.declarative import Extension, MetaInfo, TableDraft
from .resolve import Project

cache.register(Unit, TableDraft, Extension, ColumnDraft, PendingForeignKey, PendingRef, MetaInfo, Diagnostic,
               Outline, Note, model.Column, model.PyEnum, model.EnumValues, model.ColumnRef, model.ForeignKey,
               model.Index, model.Constraint, model.Relationship, made_by={model.SQLCall: model.sql_call})


@dataclasses.dataclass(frozen=True)
class KeptText:
    """A kept unit's JSON text where its entry holds it, after the first line: read, and
    checked against its digest, only when the unit is decoded (an edit's run decodes few: the
    others make databases read back), so that a run does not copy every unit's text."""

    path: Path
    offset: int
    digest: str

    def read(self) -> bytes | None:
        """The text, if the entry still holds it (None: gone, or changed since)."""
        try:
            with self.path.open("rb") as entry:
                entry.seek(self.offset)
                text = entry.read()
        except OSError:
            return None
        return text if store.digest(text) == self.digest else None


class Kept:
    """The units of one scan's project, in `directory/units`."""

    def __init__(self, directory: Path, project: Project):
        self.directory, self.project = directory / "units", project
        # none of these changes what a module means (the snapshot checked against is read after)
        config = dataclasses.replace(project.config, jobs=None, cache_dir=None, against=None)
        self._scan = hashlib.blake2b(
            "\0".join([store.identity(), repr(dataclasses.asdict(config)), *map(str, project.roots)]).encode(),
            digest_size=16,
        )

    def databases(self) -> KeptDatabases:
        """Where this scan's lone databases are kept (see `assembled`)."""
        return KeptDatabases(self.directory.parent, self._scan)

    def _path(self, module: str) -> Path:
        digest = self._scan.copy()
        digest.update(b"\0" + module.encode())
        return self.directory / f"{digest.hexdigest()}.json"

    def current(self, module: str) -> bool:
        """Whether a unit is kept for `module` and every module it read is what it was (by
        its entry's first line alone: `load` checks the rest)."""
        try:
            with self._path(module).open("rb") as entry:
                return self._head(module, entry.readline()) is not None
        except store.UNREADABLE:
            return False

    def load(self, module: str) -> tuple[Outline, KeptText] | None:
        """The outline of the unit kept for `module`, if every module it read is what it was,
        and where its JSON text is (checked whole by its digest when it is decoded, if it is).
        Only the entry's first line is read."""
        path = self._path(module)
        try:
            with path.open("rb") as entry:
                head = entry.readline()
            document = self._head(module, head)
            if document is None:
                return None
            sketch, digest = cache.decode(document["outline"]), document["unit"]
        except store.UNREADABLE:
            return None
        if type(sketch) is not Outline or sketch.module != module or type(digest) is not str:
            return None
        return sketch, KeptText(path, len(head), digest)

    def _head(self, module: str, line: bytes) -> dict | None:
        """An entry's first line, if it is of `module` and what it read is unchanged."""
        document = json.loads(line)
        if document["module"] != module or any(
            self.project.fingerprint(name) != fingerprint for name, fingerprint in document["reads"]
        ) or (document["tree"] is not None and document["tree"] != self.project.tree()):
            return None
        return document

    def save(self, unit: Unit, sketch: Outline) -> str | None:
        """Keep `unit` and its outline; the unit's JSON text, if it has one."""
        reads = [(name, self.project.fingerprint(name)) for name in unit.reads]
        if any(fingerprint is None for _, fingerprint in reads):
            return None  # a file whose meaning is unknown (its summary has no JSON form): not kept
        try:
            text, outlined = cache.encode(unit), cache.encode(sketch)
        except (TypeError, ValueError, RecursionError):
            return None  # a value the codec cannot store: extracted again next time
        head = json.dumps({"module": unit.module, "reads": reads, "tree": self.project.tree() if unit.searched else None,
                           "unit": store.digest(text.encode("ascii"))})
        # spliced, not parsed again; the codec's JSON is ASCII, on one line
        store.keep(self.directory.parent, self._path(unit.module), f'{head[:-1]},"outline":{outlined}}}\n{text}')
        return text


# A run holds the units it made as they are while they have fewer tables than this, and
# keeps the later ones, and those loaded from the cache, as JSON text until they are
# assembled (see `extract.assembly`). Below it, a unit made is not encoded or decoded again.
HELD_TABLES = 20_000


class Waiting:
    """A scan's units in order, between extraction and assembly, each given out once.
    `redo(module)` extracts a module again: for a kept unit whose text, though its digest
    matched, does not decode to the unit its outline describes."""

    def __init__(self, on_disk: bool, redo):
        self._spool, self._units, self._tables, self._redo = store.Spool(on_disk), [], 0, redo
        # with a cache, the digest of each unit's text (None: it has none), which keys the
        # databases made of it (see `assembled`)
        self.digests: list[str | None] = []

    def put(self, sketch: Outline, unit: Unit | None = None, text: str | KeptText | None = None) -> None:
        """Keep a unit made now (`unit`, and its JSON text if known) or loaded (where its text
        is kept)."""
        if self._spool.on_disk:
            self.digests.append(text.digest if isinstance(text, KeptText) else
                                None if text is None else store.digest(text.encode("ascii")))
        self._tables += len(sketch.notes)
        if unit is not None and self._tables > HELD_TABLES and text is None:
            try:
                text = cache.encode(unit)
            except (TypeError, ValueError, RecursionError):
                pass  # a value the codec cannot store: held as it is
        if isinstance(text, KeptText):
            self._units.append((text, sketch))  # left where it is kept, unless it is decoded
        elif unit is None or self._tables > HELD_TABLES and text is not None:
            self._units.append((self._spool.put([text]), sketch))
        else:
            self._units.append(unit)

    def given(self, skipped):
        """The units in order, but None for the positions `skipped`, which are not decoded."""
        for n, unit in enumerate(self._units):
            self._units[n] = None  # given out once, and let go once assembled
            yield None if n in skipped else self._decoded(*unit) if isinstance(unit, tuple) else unit

    def _decoded(self, place, sketch: Outline) -> Unit:
        try:
            text = place.read() if isinstance(place, KeptText) else self._spool.get(place)
            unit = cache.decode(json.loads(text)) if text is not None else None
            if type(unit) is Unit and unit.module == sketch.module:
                return unit
        except store.UNREADABLE:
            pass
        unit = self._redo(sketch.module)
        if outline(unit) != sketch:  # the plan was made from an outline that lied
            raise store.CacheError(f"the cache entry of module {sketch.module} is not what it says; "
                                   "remove the cache (`astschema clean`) and run again")
        return unit
