"""Assembly: every module's unit made into databases, in two passes over the units in order,
so that the drafts of every table are never all held with the model (at 10,000 modules, a
cold scan ended assembly at 663 MB with them, 592 MB without).

The first pass (`Plan.add`) reads each unit's `Outline`: what ties each of its drafts to other
modules' drafts (a unit loaded from the cache comes with its outline, and is decoded only in
the second pass). The second (`assemble`) makes the model table of a draft as soon as its unit
comes, unless the draft is tied: extended by another module, defined again in its database, a
key-only column's type to take from elsewhere, or a reference to a class whose table is tied or
comes later.
Tied drafts are made together at the end, as they always were; drafts that others reach
(by class, or as the table a key-only column takes its type from) are kept until then.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import model
from ..diagnostics import Location
from .declarative import TableDraft
from .tables import by_location, finalize, fullname, merge_redefinitions, named_target
from .values import Context


@dataclass(frozen=True, slots=True)  # one per table: 100,000 in a large scan
class Note:
    """What the first pass knows of one draft."""

    core: bool  # a Table() (which other modules' units may hold too)
    loc: Location
    key: tuple[str, str]  # (database, full name)
    reaches: tuple  # locations of the tables its references by class name
    key_only: bool  # has a column whose type comes from its key's target
    wants: tuple  # what key-only columns point at: full names, or table locations


@dataclass(frozen=True, slots=True)
class Outline:
    """What the first pass and the scan need of one unit, without its drafts: kept beside
    the unit (`units.Kept`), so that a unit loaded from the cache is decoded only once, in
    the second pass."""

    module: str
    notes: tuple[Note, ...]  # of its drafts, as `_drafts` lists them
    extended: tuple[Location, ...]  # the tables its extensions add to
    origins: tuple[tuple[str, Location], ...]
    diagnostics: tuple
    suppressions: tuple
    reached: tuple[str, ...]


def _drafts(unit):
    """A unit's drafts in a fixed order, both passes alike: (is a Core table, draft)."""
    return [*((False, d) for d in unit.tables), *((True, d) for d in unit.core_tables)]


def _references(draft: TableDraft):
    """(column draft or None, reference) of every key of the draft, columns' and table's."""
    from .columns import PendingForeignKey

    for column in draft.columns:
        for fk in column.foreign_keys:
            for ref in fk.targets:
                yield column, ref
    for item in draft.items:
        if isinstance(item, PendingForeignKey):
            for ref in item.targets:
                yield None, ref


def outline(unit) -> Outline:
    """The outline of a unit made now (a kept unit's is kept beside it)."""
    notes = []
    for core, draft in _drafts(unit):
        reaches, wants = [], []
        for column, ref in _references(draft):
            located = by_location(ref)
            if located:
                reaches.append(ref.table)
            if column is not None and column.type_from_foreign_key:
                wants.append(ref.table if located else (named_target(ref, draft) or (None,))[0])
        notes.append(Note(core, draft.loc, (draft.database, fullname(draft)), tuple(reaches),
                          any(c.type_from_foreign_key for c in draft.columns), tuple(wants)))
    return Outline(unit.module, tuple(notes), tuple(extension.table for extension in unit.extensions),
                   unit.origins, unit.diagnostics, unit.suppressions, unit.reached)


@dataclass
class Plan:
    """The first pass: what each unit's drafts need of the others (see the module's doc)."""

    notes: list[tuple[Note, ...]] = field(default_factory=list)  # per unit
    positions: dict[str, int] = field(default_factory=dict)  # module -> its unit's position
    extended: set = field(default_factory=set)  # locations of tables extensions add to
    origins: dict = field(default_factory=dict)  # database -> where first named
    extending: set = field(default_factory=set)  # positions of the units that have extensions

    def add(self, outline: Outline) -> None:
        self.positions[outline.module] = len(self.notes)
        if outline.extended:
            self.extending.add(len(self.notes))
        self.notes.append(outline.notes)
        self.extended.update(outline.extended)
        for database, where in outline.origins:
            self.origins.setdefault(database, where)

    def ties(self) -> _Ties:
        """Which drafts are made, which wait to the end and which are kept. The plan is spent:
        its notes go as the second pass begins."""
        notes, self.notes = self.notes, []

        def at(ident) -> Note:
            return notes[ident[0]][ident[1]]

        core = {}  # a Table()'s location -> (first listed, the draft made: the last unit's)
        for position, found in enumerate(notes):
            for n, note in enumerate(found):
                if note.core:
                    core[note.loc] = (core.get(note.loc, (len(core),))[0], (position, n))
        made = [(position, n) for position, found in enumerate(notes) for n, note in enumerate(found)
                if not note.core or core[note.loc][1] == (position, n)]
        by_loc, counts = {}, defaultdict(int)
        for ident in made:
            note = at(ident)
            counts[note.key] += 1
            if not note.core or note.loc not in by_loc or at(by_loc[note.loc]).core:
                by_loc[note.loc] = ident  # a class's table is found before a Table()'s
        wanted = {at(by_loc[w]).key[1] if w in by_loc else None if isinstance(w, Location) else w
                  for ident in made for w in at(ident).wants}
        tied = {ident for ident in made
                if at(ident).key_only or counts[at(ident).key] > 1
                or at(ident).loc in self.extended and by_loc[at(ident).loc] == ident}
        changed = True
        while changed:  # a reference to a tied table, or to one made later, ties its draft
            changed = False
            for ident in made:
                if ident not in tied and any(by_loc.get(loc) in tied or by_loc.get(loc, (-1,))[0] > ident[0]
                                             for loc in at(ident).reaches):
                    tied.add(ident)
                    changed = True
        kept = tied | {by_loc[loc] for ident in made for loc in at(ident).reaches if loc in by_loc} \
            | {ident for ident in made if at(ident).key[1] in wanted}
        lone, mixed = defaultdict(list), set()
        for position, found in enumerate(notes):
            for n, note in enumerate(found):
                if note.core or note.key_only or note.reaches or note.loc in self.extended or (position, n) in tied:
                    mixed.add(note.key[0])
                lone[note.key[0]].append((position, note.loc.line, n))
        return _Ties(self.positions, core, tied, kept,
                     {loc: ident for loc, ident in by_loc.items() if ident in kept},
                     {name: [(position, n) for position, _, n in sorted(drafts)]
                      for name, drafts in lone.items() if name not in mixed})


@dataclass
class _Ties:
    positions: dict  # module -> its unit's position (a module has one unit)
    core: dict  # a Table()'s location -> (first listed, the draft made)
    tied: set  # drafts made at the end, together
    kept: set  # drafts held to the end: tied, or reached by others
    located: dict  # location -> the kept draft a reference by location finds
    # database -> its drafts in model order, for each database that only its own drafts make
    # (see `assembled`): no Table() shared by units, key-only column, reference by location,
    # extension, or table defined twice
    lone: dict

    def place(self, ident, core: bool, draft: TableDraft):
        """Where a draft's table goes in the model (by module, line, then as the drafts are
        listed), or None for a Table() that another unit's draft makes."""
        if core:
            first, made = self.core[draft.loc]
            if made != ident:
                return None
        return self.positions.get(draft.module, len(self.positions)), draft.loc.line, (1, first) if core else (0, *ident)


def assemble(project, units, plan: Plan, kept=None) -> tuple[Sequence[model.Database], list, dict]:
    """Every module's tables and what the others add to them, as databases: `units` (a
    `units.Waiting`: in order, each given once and let go) are those `plan` has seen. Also the
    diagnostics, and the digests (`Schema.digest`) known on the way.

    With `kept` (an `assembled.KeptDatabases`: there is a cache), a lone database is read back
    whole when its units are those it was made of, and kept when it is made; a unit that only
    such databases need is not decoded. A scan of many tables, or one that read databases
    back, keeps each table as text (in a temporary file if there is a cache), and its
    databases are `spill.SpooledDatabases`."""
    from ..spill import SpooledDatabases, spool_for
    from ..store import Spool

    ctx = Context(project)
    ctx.origins.update(plan.origins)
    sizes = [len(notes) for notes in plan.notes]
    ties = plan.ties()
    keys = {} if kept is None else _keys(kept, plan, ties, units.digests)
    large = spool_for(sum(sizes), kept is not None)
    spool = large or (Spool(on_disk=True) if keys else None)
    found = {name: entry for name, key in keys.items() if (entry := kept.load(key, name, spool)) is not None}
    spool = spool if large or found else None
    keep = (lambda table: table) if spool is None else (lambda table: SpooledDatabases.put(spool, table))
    read_back = Counter(position for name in found for position, _ in ties.lone[name])
    skipped = {position for position, size in enumerate(sizes)  # each unit is still checked against its outline
               if read_back[position] == size > 0 and position not in plan.extending} - {p for p, _ in ties.kept}
    contexts = {name: Context(project) for name in keys if name not in found}  # what making each reports, kept
    made, waiting, conventions = [], [], []  # (place, table), (place, draft), (place, database, convention)
    by_loc, named, extensions = {}, [], []
    for position, unit in enumerate(units.given(skipped)):
        if unit is None:
            continue
        mine = [(place, (position, n), draft) for n, (core, draft) in enumerate(_drafts(unit))
                if (place := ties.place((position, n), core, draft)) is not None]
        for place, ident, draft in mine:
            if draft.metadata.naming_convention and draft.database not in found:
                conventions.append((place, draft.database, draft.metadata.naming_convention))
            if ident in ties.kept:
                if ties.located.get(draft.loc) == ident:
                    by_loc[draft.loc] = draft
                if ident not in ties.tied:
                    named.append((place, draft))
        extensions += unit.extensions
        for place, ident, draft in mine:
            if draft.database in found:
                continue
            if ident in ties.tied:
                waiting.append((place, draft))
            else:  # no key-only column: no names
                made.append((place, keep(finalize(contexts.get(draft.database, ctx), [draft], by_loc, {})[0])))
    applied = set()
    for extension in extensions:
        target = by_loc.get(extension.table)
        if target is None or (extension.table, extension.by) in applied:
            continue
        applied.add((extension.table, extension.by))
        target.columns += extension.columns
        target.items += extension.items
        target.relationships += extension.relationships
        target.attributes.update(extension.attributes)
    waiting.sort(key=lambda pair: pair[0])
    place_of = {id(draft): place for place, draft in waiting}
    merged = merge_redefinitions(ctx, [draft for _, draft in waiting])
    by_name = _by_name(sorted([*named, *((place_of[id(d)], d) for d in merged)], key=lambda pair: pair[0]))
    made += zip((place_of[id(d)] for d in merged), map(keep, finalize(ctx, merged, by_loc, by_name)), strict=True)
    made.sort(key=lambda pair: pair[0])
    conventions.sort(key=lambda triple: triple[0])
    grouped = _databases(ctx, [table for _, table in made], conventions, contexts)
    digests = {} if kept is None else _keep(kept, keys, grouped, contexts, spool)
    digests.update((name, entry.digest) for name, (entry, _) in found.items())
    diagnostics = [*ctx.diagnostics, *(d for c in contexts.values() for d in c.diagnostics),
                   *(d for entry, _ in found.values() for d in entry.diagnostics)]
    if spool is None:
        return tuple(model.Database(*each) for each in grouped), diagnostics, digests
    grouped = sorted([*grouped, *(SpooledDatabases.read_back(*each) for each in found.values())],
                     key=lambda each: each[0])
    return SpooledDatabases(spool, grouped), diagnostics, digests


def _keys(kept, plan: Plan, ties: _Ties, digests: list) -> dict[str, str]:
    """The key (`assembled.KeptDatabases.key`) of each lone database whose units all have digests."""
    modules = {position: module for module, position in plan.positions.items()}
    keys = {}
    for name, drafts in ties.lone.items():
        contributors = [(modules[position], digests[position], n) for position, n in drafts]
        if all(digest is not None for _, digest, _ in contributors):
            keys[name] = kept.key(name, plan.origins.get(name), contributors)
    return keys


def _keep(kept, keys: dict, grouped: list, contexts: dict, spool) -> dict[str, str]:
    """Keep each lone database made now under its key; their digests, by name."""
    from ..assembled import Entry
    from ..cache import encode
    from ..graph import targets
    from ..spill import database_digest

    digests = {}
    for name, tables, *rest in grouped:
        if name not in contexts:
            continue
        # held, each table is encoded once (a held scan's text is at most some 40 MB); kept as
        # text, it is read from the spool as needed, twice
        held = [encode(table).encode("ascii") for table in tables] if spool is None else None
        named = tuple((t.fullname, t.module, targets(t) if spool is None else t.targets) for t in tables)
        digests[name] = database_digest(name, tuple(rest), held if spool is None else _spooled(spool, tables))
        kept.save(keys[name], Entry(name, tuple(rest), named, tuple(contexts[name].diagnostics), digests[name]),
                  held if spool is None else _spooled(spool, tables))
    return digests


def _spooled(spool, tables):
    return (spool.get(table.place) for table in tables)


def _by_name(drafts) -> dict[str, list[TableDraft]]:
    found: dict[str, list[TableDraft]] = {}
    for _, draft in drafts:
        found.setdefault(fullname(draft), []).append(draft)
    return found


def _databases(ctx: Context, tables: list, conventions, contexts: dict) -> list[tuple]:
    """(name, tables, naming convention, modules, location) of each database, in name order:
    its tables are `model.Table`s, or what `SpooledDatabases.put` kept of them. What is found
    wrong with a database goes to its own context in `contexts`, if it has one."""
    members_of, conventions_of = defaultdict(list), defaultdict(dict)  # grouped once: thousands of databases
    for table in tables:
        members_of[table.database].append(table)
    for _, database, convention in conventions:
        conventions_of[database].setdefault(convention)
    databases = []
    for name in sorted(members_of):
        members = members_of[name]
        found = list(conventions_of[name])
        if len(found) > 1:
            contexts.get(name, ctx).report(
                "AS204", f"tables of database {name!r} use different naming conventions; the first is used", None)
        databases.append((name, tuple(members), found[0] if found else (),
                          tuple(dict.fromkeys(t.module for t in members)), ctx.origins.get(name)))
    return databases
