"""Generate an application tree in the layout of fixtures/hub, at any size.

    python bench/make_tree.py --modules N --tables-per-module T --seed S OUT

OUT gets core/database/__init__.py (DatabaseBase, SQLiteJSON, TimestampMixin, SoftDeleteMixin)
and N model modules: modules/core/database/db_models.py (framework tables and the deprecated
get_database_base), the rest in modules/core/<name>/ and modules/standard/<name>/. A third of
the modules share the "framework" database, the others have one each. The files are meant to
read like hand-written code and every tree imports with SQLAlchemy 2.x, so that
bench/import_bootstrap.py can serve as the reference for astschema on it.

The same arguments give a byte-identical tree: every choice comes from random.Random(seed), and
nothing is written in set or hash order.
"""

import argparse
import random
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

FRAMEWORK = "framework"

# core/database is the bundled example's, as it is: the same DatabaseBase, SQLiteJSON and mixins.
CORE_DATABASE = (Path(__file__).resolve().parent.parent / "fixtures/hub/core/database/__init__.py").read_text()

GET_DATABASE_BASE = '''\
def get_database_base(database_name):
    """Deprecated: use ``core.database.DatabaseBase(database_name)``.

    Kept during the transition; it returns the very same base as ``DatabaseBase``.
    """
    return DatabaseBase(database_name)
'''

# Columns the shared mixins of core.database add.
SHARED_MIXINS = {
    "TimestampMixin": ("created_at", "updated_at"),
    "SoftDeleteMixin": ("is_deleted", "deleted_at"),
}


class LocalMixin(NamedTuple):
    """A mixin class a module defines for its own tables."""

    name: str
    doc: str
    columns: list[tuple[str, str]]  # attribute, Column(...) source
    imports: list[str]  # from sqlalchemy


class LocalType(NamedTuple):
    """A TypeDecorator a module defines for its own columns."""

    source: str
    usage: str  # the column type expression; {length} is filled in
    columns: list[str]  # column names it suits
    imports: list[str]  # from sqlalchemy
    datetime_imports: list[str]  # from datetime


LOCAL_MIXINS = [
    LocalMixin("AuditMixin", "Who created a row and who changed it last.",
               [("created_by", 'Column(String(100), nullable=False, server_default="system")'),
                ("updated_by", "Column(String(100))")], ["Column", "String"]),
    LocalMixin("TenantMixin", "Rows scoped to one tenant.",
               [("tenant_id", "Column(String(36), nullable=False, index=True)")], ["Column", "String"]),
    LocalMixin("RevisionMixin", "An optimistic-locking revision counter.",
               [("revision", 'Column(Integer, nullable=False, default=1, server_default="1")')],
               ["Column", "Integer"]),
]

LOCAL_TYPES = [
    LocalType('''\
class CommaSeparatedList(TypeDecorator):
    """A list of short strings stored as one comma-separated VARCHAR."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return ",".join(value)

    def process_result_value(self, value, dialect):
        if not value:
            return []
        return value.split(",")
''', "CommaSeparatedList({length})", ["aliases", "keywords", "recipients", "scopes"], ["String"], []),
    LocalType('''\
class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime, always stored in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value
''', "UTCDateTime(timezone=True)", ["observed_at", "acknowledged_at", "last_synced_at"], ["DateTime"],
              ["timezone"]),
    LocalType('''\
class EmailAddress(TypeDecorator):
    """An e-mail address, compared and stored in lower case."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value.strip().lower() if value else value
''', "EmailAddress({length})", ["contact_email", "reply_to", "notify_email"], ["String"], []),
]

CORE_MODULE_NAMES = [
    "error_handler", "settings", "event_bus", "scheduler", "permissions", "audit_log",
    "notifications", "health_monitor", "plugin_loader", "task_queue", "cache_manager",
    "config_store", "secrets", "feature_flags", "session_manager", "api_gateway",
    "user_accounts", "backup", "migrations", "telemetry", "rate_limiter", "webhooks",
]
NAME_FIRST = [
    "semantic", "vector", "document", "search", "billing", "media", "workflow", "identity",
    "analytics", "content", "report", "inventory", "catalog", "payment", "message", "storage",
    "policy", "knowledge", "pipeline", "prompt", "quota", "translation", "upload", "graph",
    "agent", "dataset", "feed", "crawler", "invoice", "lead", "ticket", "survey",
]
NAME_SECOND = [
    "core", "operations", "registry", "manager", "service", "engine", "store", "tracker",
    "hub", "sync", "monitor", "indexer", "planner", "broker", "builder", "processor",
    "router", "validator", "archive", "insights",
]
# (singular, plural) of the things a module keeps: its tables.
ENTITIES = [
    ("record", "records"), ("event", "events"), ("job", "jobs"), ("entry", "entries"),
    ("item", "items"), ("tag", "tags"), ("run", "runs"), ("snapshot", "snapshots"),
    ("token", "tokens"), ("session", "sessions"), ("log", "logs"), ("metric", "metrics"),
    ("rule", "rules"), ("template", "templates"), ("attachment", "attachments"),
    ("subscription", "subscriptions"), ("hook", "hooks"), ("profile", "profiles"),
    ("revision", "revisions"), ("report", "reports"), ("account", "accounts"),
    ("batch", "batches"), ("channel", "channels"), ("comment", "comments"),
    ("dataset", "datasets"), ("endpoint", "endpoints"), ("invoice", "invoices"),
    ("link", "links"), ("note", "notes"), ("policy", "policies"), ("queue", "queues"),
    ("request", "requests"), ("result", "results"), ("task", "tasks"), ("topic", "topics"),
    ("alert", "alerts"), ("artifact", "artifacts"), ("checkpoint", "checkpoints"),
    ("schedule", "schedules"), ("step", "steps"), ("plan", "plans"), ("asset", "assets"),
]
CORE_DATABASE_ENTITIES = [("module", "modules"), ("database_version", "database_versions"),
                          ("migration", "migrations")]

# Column names by kind. None is an SQL keyword, a mixin's column or a foreign key's name.
NAMES = {
    "string": ["name", "title", "slug", "code", "label", "source", "external_ref", "checksum",
               "mime_type", "locale", "owner", "category", "hostname", "file_path", "url", "email",
               "version_tag", "kind", "channel_name", "region", "handle", "display_name",
               "provider", "file_format", "language", "username", "content_hash", "country_code"],
    "text": ["description", "notes", "body", "summary", "message", "details", "error_message",
             "instructions", "content", "raw_text"],
    "boolean": ["is_active", "enabled", "is_public", "archived", "verified", "is_default",
                "processed", "locked", "is_system", "visible", "requires_review"],
    "datetime": ["started_at", "finished_at", "last_seen_at", "expires_at", "scheduled_for",
                 "published_at", "processed_at", "synced_at", "recorded_at", "completed_at",
                 "reviewed_at"],
    "integer": ["item_count", "priority", "retries", "sort_index", "size_bytes", "attempts",
                "quantity", "duration_seconds", "sequence_no", "max_retries", "page_count"],
    "float": ["score", "weight", "ratio", "latency_ms", "confidence", "progress", "threshold",
              "similarity"],
    "numeric": ["amount", "price", "cost", "balance", "budget", "fee", "total", "unit_price"],
    "date": ["due_date", "valid_from", "valid_until", "effective_date", "start_date", "end_date"],
    "json": ["payload", "settings", "attributes", "extra", "context", "options", "labels",
             "config", "headers", "properties"],
}
# Enum columns: name -> the value lists it may take.
ENUMS = {
    "status": [("pending", "running", "succeeded", "failed"), ("draft", "review", "published", "archived"),
               ("active", "suspended", "closed")],
    "severity": [("info", "warning", "error", "critical")],
    "visibility": [("private", "internal", "public")],
    "direction": [("inbound", "outbound")],
    "frequency": [("hourly", "daily", "weekly", "monthly")],
    "urgency": [("low", "normal", "high", "urgent")],
}
KIND_WEIGHTS = {"string": 26, "text": 8, "boolean": 10, "datetime": 9, "integer": 11, "float": 6,
                "numeric": 5, "date": 4, "json": 9, "enum": 7}
STRING_DEFAULTS = {"mime_type": "application/json", "locale": "en", "source": "api", "region": "eu-west-1",
                   "provider": "local", "kind": "default", "language": "en", "country_code": "US",
                   "category": "general", "version_tag": "1.0", "file_format": "json"}
UNIQUE_CANDIDATES = {"name", "slug", "code", "email", "handle", "external_ref", "username", "content_hash"}
LABEL_COLUMNS = ["name", "title", "code", "slug", "label", "username", "display_name", "handle"]
BETWEEN_0_AND_1 = {"ratio", "confidence", "progress", "threshold", "similarity"}
ORDERED_PAIRS = [("valid_from", "valid_until"), ("start_date", "end_date"), ("started_at", "finished_at")]
COMMENTS = {
    "checksum": "SHA-256 hex digest", "content_hash": "SHA-256 of the content", "locale": "BCP 47 tag",
    "latency_ms": "In milliseconds", "size_bytes": "Size on disk", "external_ref": "Identifier upstream",
    "priority": "Lower runs first", "settings": "Shown in the admin UI", "retries": "Set by the scheduler",
    "amount": "In the account currency", "country_code": "ISO 3166-1 alpha-2", "language": "ISO 639-1 code",
}
TABLE_PHRASES = ["kept by the {module} module.", "as the {module} module records it.",
                 "owned by the {module} module.", "tracked for the {module} module."]
EXTRA_DOC = [
    "Original files are authoritative: the database holds metadata only.",
    "Rows are never updated in place once processed; new rows are appended instead.",
    "Written for the bootstrap's compile-time schema discovery: no side effects at import.",
]
MAX_LINE = 100


class Call(NamedTuple):
    """Source of a call, `head(arg, ...)`, kept in pieces so it can be wrapped."""

    head: str
    args: list[str]


@dataclass(eq=False)
class Table:
    module: "Module"
    singular: str
    plural: str
    name: str
    cls: str
    uuid_key: bool
    mixins: list[str] = field(default_factory=list)
    columns: list[tuple[str, Call, str]] = field(default_factory=list)  # attribute, Column, comment above
    kinds: dict[str, str] = field(default_factory=dict)  # own column name -> kind (for constraints)
    relationships: list[tuple[str, Call]] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)  # attribute and column names in use


@dataclass(eq=False)
class Module:
    name: str
    package: str
    database: str
    short: str = ""  # prefix of its table names
    base: str = "Base"
    deprecated: bool = False  # get_database_base() instead of DatabaseBase()
    local_mixin: LocalMixin | None = None
    local_type: LocalType | None = None
    length_constants: dict[str, int] = field(default_factory=dict)
    enum_constants: dict[str, tuple] | None = None  # None: Enum values written inline
    tables: list[Table] = field(default_factory=list)
    imports: dict[str, set[str]] = field(default_factory=dict)  # from-module -> names
    helpers: set[str] = field(default_factory=set)  # "_utcnow", "_new_uuid"

    @property
    def is_core_database(self) -> bool:
        return (self.package, self.name) == ("core", "database")

    @property
    def dotted(self) -> str:
        return f"{self.package}.{self.name}"

    @property
    def path(self) -> str:
        return f"modules/{self.package}/{self.name}/db_models.py"

    def use(self, source: str, *names: str) -> None:
        self.imports.setdefault(source, set()).update(names)


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def quoted(text: str) -> str:
    return f'"{text}"'


def chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def plan_modules(rng: random.Random, count: int, tables_per_module: int) -> list[Module]:
    """The modules: names, packages, databases, bases, local definitions, table names."""
    modules = [Module("database", "core", FRAMEWORK, short="core", base="FrameworkBase")]
    used = {"database"}
    core_names = rng.sample(CORE_MODULE_NAMES, len(CORE_MODULE_NAMES))
    # Which of the other modules share the framework database (a third of all, with core.database).
    framework_count = max(1, round(count / 3))
    shares = [True] * (framework_count - 1) + [False] * (count - framework_count)
    rng.shuffle(shares)
    for index, framework in enumerate(shares, start=1):
        if framework and core_names:
            name = core_names.pop()
        else:
            name = f"{rng.choice(NAME_FIRST)}_{rng.choice(NAME_SECOND)}"
        if name in used:
            name = f"{name}_{index}"
        used.add(name)
        package = "core" if framework and chance(rng, 0.8) else "standard"
        modules.append(Module(name, package, FRAMEWORK if framework else name))
    shorts = {"core"}
    for module in modules[1:]:
        first = module.name.split("_")[0]
        module.short = first if first not in shorts else module.name
        shorts.add(module.short)
        if module.database == FRAMEWORK:
            module.base = rng.choice(["FrameworkBase", "Base", f"{camel(first)}Base"])
        else:
            module.base = rng.choice(["Base", "ModuleBase", f"{camel(first)}Base", f"{camel(first)}Base"])
    for module in rng.sample(modules[1:], round(count / 8)):
        module.deprecated = True
        module.base = "Base"
    # One module in ten defines a local mixin or a local TypeDecorator, alternately.
    for position, module in enumerate(rng.sample(modules, round(count / 10))):
        if position % 2:
            module.local_type = rng.choice(LOCAL_TYPES)
        else:
            module.local_mixin = rng.choice(LOCAL_MIXINS)
    for module in modules:
        entities = rng.sample(ENTITIES, min(len(ENTITIES), tables_per_module))
        if module.is_core_database:
            entities = (CORE_DATABASE_ENTITIES + entities)[:tables_per_module]
        for extra in range(len(entities), tables_per_module):  # more tables than words
            singular, plural = ENTITIES[extra % len(ENTITIES)]
            entities.append((f"{singular}_{extra}", f"{plural}_{extra}"))
        for singular, plural in entities:
            module.tables.append(Table(module, singular, plural, f"{module.short}_{plural}",
                                       camel(module.short) + camel(singular), uuid_key=chance(rng, 0.15)))
    return modules


class Planner:
    """Decides each table's columns, keys, relationships and __table_args__, as source pieces,
    noting the imports each module needs on the way."""

    def __init__(self, rng: random.Random, modules: list[Module]):
        self.rng = rng
        self.modules = modules

    def plan(self) -> None:
        rng = self.rng
        earlier_framework: list[Table] = []  # keys within framework go backwards only: no cycles
        for position, module in enumerate(self.modules):
            if chance(rng, 0.25):
                module.length_constants = {"NAME_LENGTH": rng.choice([100, 150, 200]),
                                           "CODE_LENGTH": rng.choice([32, 50, 64])}
            module.enum_constants = {} if chance(rng, 0.3) else None
            for table in module.tables:
                self.start_table(module, table)
            # About one module in three has a key into another database (any table there).
            crossing: list[Table] = []
            if position and chance(rng, 1 / 3):
                crossing = rng.sample(module.tables, min(len(module.tables), rng.choice([1, 1, 2])))
            elsewhere = [t for m in self.modules if m.database != module.database for t in m.tables]
            for index, table in enumerate(module.tables):
                self.keys(module, table, module.tables[:index], earlier_framework,
                          elsewhere if table in crossing else [])
                self.columns(module, table)
            if module.database == FRAMEWORK:
                earlier_framework += module.tables

    def start_table(self, module: Module, table: Table) -> None:
        """Mixins and primary key."""
        rng = self.rng
        table.mixins = [m for m, p in (("TimestampMixin", 0.35), ("SoftDeleteMixin", 0.15)) if chance(rng, p)]
        rng.shuffle(table.mixins)
        for mixin in table.mixins:
            module.use("core.database", mixin)
            table.taken.update(SHARED_MIXINS[mixin])
        if module.local_mixin and chance(rng, 0.6):
            table.mixins.insert(0, module.local_mixin.name)
            table.taken.update(name for name, _ in module.local_mixin.columns)
        module.use("sqlalchemy", "Column")
        if table.uuid_key:
            module.helpers.add("_new_uuid")
            module.use("sqlalchemy", "String")
            key = Call("Column", ["String(36)", "primary_key=True", "default=_new_uuid"])
        else:
            module.use("sqlalchemy", "Integer")
            extra = rng.choice([["autoincrement=True"], ["autoincrement=True"], [], ["index=True"]])
            key = Call("Column", ["Integer", "primary_key=True", *extra])
        table.columns.append(("id", key, ""))
        table.taken.add("id")

    def keys(self, module: Module, child: Table, same_module: list[Table], same_database: list[Table],
             other_database: list[Table]) -> None:
        """Foreign keys to earlier tables of the module, sometimes to an earlier table of another
        module in the framework database, and (given `other_database`) one into another database."""
        rng = self.rng
        targets = []
        if same_module and chance(rng, 0.6):
            targets += [(t, "module") for t in rng.sample(same_module, min(len(same_module), rng.choice([1, 1, 2])))]
        if module.database == FRAMEWORK and same_database and chance(rng, 0.2):
            targets.append((rng.choice(same_database), "database"))
        if other_database:
            targets.append((rng.choice(other_database), "cross"))
        for target, scope in targets:
            attr = f"{target.singular}_id"
            if attr in child.taken:
                attr = f"{target.module.short}_{target.singular}_id"
            if attr in child.taken:
                continue
            ondelete = rng.choice(["CASCADE", "CASCADE", "SET NULL", None])
            key = f'ForeignKey("{target.name}.id"' + (f', ondelete="{ondelete}"' if ondelete else "") + ")"
            kind = "String" if target.uuid_key else "Integer"
            module.use("sqlalchemy", "ForeignKey", kind)
            args = ["String(36)" if target.uuid_key else "Integer", key]
            if ondelete != "SET NULL" and chance(rng, 0.6):
                args.append("nullable=False")
            if chance(rng, 0.5):
                args.append("index=True")
            comment = ""
            if scope == "cross":
                comment = (f"# {target.name} lives in the {target.module.database} database:\n"
                           f"# this key cannot exist inside {module.database}.db.")
            elif scope == "database":
                comment = f"# Owned by the {target.module.dotted} module."
            child.columns.append((attr, Call("Column", args), comment))
            child.kinds[attr] = "key"
            child.taken.add(attr)
            if scope == "module":
                self.relationship(module, child, target, ondelete)

    def relationship(self, module: Module, child: Table, parent: Table, ondelete: str | None) -> None:
        """A back_populates pair, a relationship on the child only, or none. The child has one
        key to the parent, so the join is never ambiguous."""
        rng = self.rng
        kind = rng.choices(["pair", "one-sided", None], [35, 15, 50])[0]
        to_parent, to_children = parent.singular, child.plural
        if kind is None or to_parent in child.taken or (kind == "pair" and to_children in parent.taken):
            return
        module.use("sqlalchemy.orm", "relationship")
        if kind == "pair":
            args = [quoted(child.cls), f'back_populates="{to_parent}"']
            if ondelete == "CASCADE" and chance(rng, 0.5):
                args.append('cascade="all, delete-orphan"')
            parent.relationships.append((to_children, Call("relationship", args)))
            parent.taken.add(to_children)
            child.relationships.append(
                (to_parent, Call("relationship", [quoted(parent.cls), f'back_populates="{to_children}"'])))
        else:
            lazy = ['lazy="joined"'] if chance(rng, 0.3) else []
            child.relationships.append((to_parent, Call("relationship", [quoted(parent.cls), *lazy])))
        child.taken.add(to_parent)

    def columns(self, module: Module, table: Table) -> None:
        """The table's other columns."""
        rng = self.rng
        if "TimestampMixin" not in table.mixins and chance(rng, 0.5):
            module.use("sqlalchemy", "DateTime", "func")
            self.add(table, "created_at", "datetime",
                     ["DateTime(timezone=True)", "server_default=func.now()", "nullable=False"])
        if module.local_type and chance(rng, 0.6):
            free = [n for n in module.local_type.columns if n not in table.taken]
            if free:
                usage = module.local_type.usage.format(length=rng.choice([255, 320, 500]))
                self.add(table, rng.choice(free), "local", [usage, "nullable=True"])
        for _ in range(rng.randint(3, 8)):
            kind = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
            free = [n for n in (ENUMS if kind == "enum" else NAMES[kind]) if n not in table.taken]
            if free:
                name = rng.choice(free)
                args = getattr(self, f"column_{kind}")(module, table, name)
                if name in COMMENTS and chance(rng, 0.4):
                    args.append(f'comment="{COMMENTS[name]}"')
                self.add(table, name, kind, args)
        if chance(rng, 0.04) and not table.taken & {"metadata", "extra_metadata"}:
            # "metadata" is reserved on declarative classes: the attribute has another name.
            module.use("core.database", "SQLiteJSON")
            table.columns.append(("extra_metadata", Call("Column", ['"metadata"', "SQLiteJSON", "default=dict"]), ""))
            table.taken.update({"extra_metadata", "metadata"})

    def add(self, table: Table, name: str, kind: str, args: list[str]) -> None:
        comment = "# Kept for the v1 API; new code reads the JSON columns." if chance(self.rng, 0.03) else ""
        table.columns.append((name, Call("Column", args), comment))
        table.kinds[name] = kind
        table.taken.add(name)

    # One method per column kind: the arguments of Column(...) for a column of that kind.

    def column_string(self, module: Module, table: Table, name: str) -> list[str]:
        rng = self.rng
        module.use("sqlalchemy", "String")
        length = rng.choice([32, 50, 64, 100, 120, 200, 255, 500])
        if module.length_constants and name in ("name", "title", "display_name", "username"):
            length = "NAME_LENGTH"
        elif module.length_constants and name in ("code", "slug", "handle"):
            length = "CODE_LENGTH"
        args = [f"String({length})"]
        if chance(rng, 0.5):
            args.append("nullable=False")
        if name in UNIQUE_CANDIDATES and chance(rng, 0.3):
            args.append("unique=True")
        if chance(rng, 0.25):
            args.append("index=True")
        if name in STRING_DEFAULTS:
            if chance(rng, 0.5):
                args.append(f'server_default="{STRING_DEFAULTS[name]}"')
            elif chance(rng, 0.5):
                args.append(f'default="{STRING_DEFAULTS[name]}"')
        return args

    def column_text(self, module: Module, table: Table, name: str) -> list[str]:
        module.use("sqlalchemy", "Text")
        return ["Text"] + (["nullable=False"] if chance(self.rng, 0.3) else [])

    def column_boolean(self, module: Module, table: Table, name: str) -> list[str]:
        rng = self.rng
        module.use("sqlalchemy", "Boolean")
        value = rng.choice([True, False])
        args = ["Boolean"]
        if chance(rng, 0.7):
            args.append("nullable=False")
        if chance(rng, 0.7):
            args.append(f"default={value}")
        style = rng.choice(["function", "text", "string", None])
        if style == "function":
            module.use("sqlalchemy", str(value).lower())
            args.append(f"server_default={str(value).lower()}()")
        elif style == "text":
            module.use("sqlalchemy", "text")
            args.append(f'server_default=text("{int(value)}")')
        elif style == "string":
            args.append(f'server_default="{int(value)}"')
        return args

    def column_datetime(self, module: Module, table: Table, name: str) -> list[str]:
        rng = self.rng
        module.use("sqlalchemy", "DateTime")
        args = ["DateTime(timezone=True)" if chance(rng, 0.75) else "DateTime"]
        if chance(rng, 0.3):
            module.use("sqlalchemy", "func")
            args += ["server_default=func.now()", "nullable=False"]
        elif chance(rng, 0.2):
            module.helpers.add("_utcnow")
            args.append("default=_utcnow")
        if chance(rng, 0.25):
            args.append("index=True")
        return args

    def column_integer(self, module: Module, table: Table, name: str) -> list[str]:
        rng = self.rng
        module.use("sqlalchemy", "Integer")
        args = ["Integer"]
        if chance(rng, 0.5):
            args += ["nullable=False", "default=0"]
            style = rng.choice(["string", "text", None])
            if style == "string":
                args.append('server_default="0"')
            elif style == "text":
                module.use("sqlalchemy", "text")
                args.append('server_default=text("0")')
        if chance(rng, 0.1):
            args.append("index=True")
        return args

    def column_float(self, module: Module, table: Table, name: str) -> list[str]:
        module.use("sqlalchemy", "Float")
        return ["Float"] + (["nullable=False", "default=0.0"] if chance(self.rng, 0.3) else [])

    def column_numeric(self, module: Module, table: Table, name: str) -> list[str]:
        rng = self.rng
        module.use("sqlalchemy", "Numeric")
        args = [rng.choice(["Numeric(10, 2)", "Numeric(10, 2)", "Numeric(12, 4)"])]
        if chance(rng, 0.3):
            args.append("default=0")
        if chance(rng, 0.2):
            args += ['server_default="0"', "nullable=False"]
        return args

    def column_date(self, module: Module, table: Table, name: str) -> list[str]:
        module.use("sqlalchemy", "Date")
        return ["Date"] + (["index=True"] if chance(self.rng, 0.3) else [])

    def column_json(self, module: Module, table: Table, name: str) -> list[str]:
        rng = self.rng
        module.use("core.database", "SQLiteJSON")
        args = ["SQLiteJSON"]
        if chance(rng, 0.4):
            args.append("nullable=False")
        if chance(rng, 0.6):
            args.append(f"default={rng.choice(['dict', 'dict', 'list'])}")
        return args

    def column_enum(self, module: Module, table: Table, name: str) -> list[str]:
        rng = self.rng
        module.use("sqlalchemy", "Enum")
        if module.enum_constants is not None:
            # A module-level tuple, shared by the module's tables (each with a type of its own).
            values = module.enum_constants.setdefault(name, rng.choice(ENUMS[name]))
            members = f"*{name.upper()}_VALUES"
        else:
            values = rng.choice(ENUMS[name])
            members = ", ".join(quoted(v) for v in values)
        # Type names are unique per database: PostgreSQL creates one type per name.
        args = [f'Enum({members}, name="{table.name}_{name}")']
        if chance(rng, 0.6):
            args.append("nullable=False")
        if chance(rng, 0.5):
            args.append(f'default="{values[0]}"')
        if chance(rng, 0.4):
            args.append(f'server_default="{values[0]}"')
        if chance(rng, 0.3):
            args.append("index=True")
        return args

    def table_args(self, module: Module, table: Table) -> list[Call | str]:
        """Named unique and check constraints and a multi-column index, sometimes followed by
        (or instead of them) the dict `{"extend_existing": True}`."""
        rng = self.rng
        kinds = table.kinds
        items: list[Call | str] = []
        pairable = [c for c, k in kinds.items() if k in ("string", "integer", "key", "enum", "date")]
        if len(pairable) >= 2 and chance(rng, 0.3):
            columns = rng.sample(pairable, 2)
            module.use("sqlalchemy", "UniqueConstraint")
            items.append(Call("UniqueConstraint", [*map(quoted, columns), f'name="{name("uq", table, columns)}"']))
        checks = [(c, f"{c} BETWEEN 0 AND 1") for c in kinds if c in BETWEEN_0_AND_1]
        checks += [(c, f"{c} >= 0") for c, k in kinds.items() if k in ("integer", "numeric")]
        checks += [(b, f"{b} >= {a}") for a, b in ORDERED_PAIRS if a in kinds and b in kinds]
        checks += [(c, f"length({c}) > 0") for c, k in kinds.items() if k == "string"]
        if checks and chance(rng, 0.35):
            column, sql = rng.choice(checks)
            module.use("sqlalchemy", "CheckConstraint")
            items.append(Call("CheckConstraint", [quoted(sql), f'name="{name("ck", table, [column])}"']))
        indexable = [c for c, k in kinds.items() if k in ("string", "key", "enum", "datetime", "date", "integer")]
        if "TimestampMixin" in table.mixins:
            indexable.append("created_at")  # a mixin's column, named in the subclass's arguments
        if len(indexable) >= 2 and chance(rng, 0.35):
            columns = rng.sample(indexable, rng.choice([2, 2, 3]) if len(indexable) > 2 else 2)
            module.use("sqlalchemy", "Index")
            items.append(Call("Index", [quoted(name("ix", table, columns)), *map(quoted, columns)]))
        if chance(rng, 0.4):
            comment = f', "comment": "{camel(table.plural)} of {module.dotted}"' if chance(rng, 0.15) else ""
            items.append(f'{{"extend_existing": True{comment}}}')
        return items


def name(prefix: str, table: Table, columns: list[str]) -> str:
    """A constraint or index name, within PostgreSQL's 63 characters. A name too long ends in a
    checksum of the full one, so that it cannot take the automatic name of an indexed column."""
    full = f"{prefix}_{table.name}_{'_'.join(columns)}"
    return full if len(full) <= 63 else f"{full[:54]}_{zlib.crc32(full.encode()):08x}"


def wrap(indent: str, head: str, call: Call, end: str = "") -> str:
    """`head` followed by the call, on one line when it fits, else continued under the opening
    parenthesis as a hand-formatted call would be (or one argument a line when even the first
    does not fit there)."""
    args = call.args
    line = f"{indent}{head}{call.head}({', '.join(args)}){end}"
    if len(line) <= MAX_LINE:
        return line
    pad = " " * (len(indent) + len(head) + len(call.head) + 1)
    if len(pad) + len(args[0]) + 1 > MAX_LINE:  # not even the first argument fits: one per line
        return "\n".join([f"{indent}{head}{call.head}(", *(f"{indent}    {a}," for a in args), f"{indent}){end}"])
    lines = [f"{indent}{head}{call.head}({args[0]}"]
    for position, arg in enumerate(args[1:], start=2):
        closing = 1 + (len(end) if position == len(args) else 0)  # "," or ")" and what ends the last
        if len(lines[-1]) + 2 + len(arg) + closing <= MAX_LINE:
            lines[-1] += f", {arg}"
        else:
            lines[-1] += ","
            lines.append(pad + arg)
    lines[-1] += ")" + end
    return "\n".join(lines)


def import_line(source: str, names: set[str]) -> str:
    """`from source import a, b`, ordered as isort / ruff order them: constants, classes, functions."""
    ordered = sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n.lower()))
    line = f"from {source} import {', '.join(ordered)}"
    if len(line) <= MAX_LINE:
        return line
    return f"from {source} import (\n" + "".join(f"    {n},\n" for n in ordered) + ")"


def render_table(rng: random.Random, module: Module, table: Table, args: list[Call | str]) -> str:
    article = "An" if table.singular[0] in "aeiou" else "A"
    phrase = rng.choice(TABLE_PHRASES).format(module=module.dotted)
    lines = [f"class {table.cls}({', '.join(table.mixins + [module.base])}):",
             f'    """{article} {table.singular.replace("_", " ")} {phrase}"""', "",
             f'    __tablename__ = "{table.name}"']
    if len(args) == 1 and isinstance(args[0], str):
        lines.append(f"    __table_args__ = {args[0]}")
    elif args:
        lines.append("    __table_args__ = (")
        lines += [f"        {a}," if isinstance(a, str) else wrap(" " * 8, "", a, ",") for a in args]
        lines.append("    )")
    lines.append("")
    for attr, column, comment in table.columns:
        lines += [f"    {line}" for line in comment.splitlines()]
        lines.append(wrap("    ", f"{attr} = ", column))
    if table.relationships:
        lines.append("")
        lines += [wrap("    ", f"{attr} = ", call) for attr, call in table.relationships]
    if chance(rng, 0.4):
        label = next((c for c in LABEL_COLUMNS if table.kinds.get(c) == "string"), None)
        shown = f"id={{self.id}}, {label}='{{self.{label}}}'" if label else "id={self.id}"
        lines += ["", "    def __repr__(self):", f'        return f"<{table.cls}({shown})>"']
    return "\n".join(lines) + "\n"


def render_module(rng: random.Random, planner: Planner, module: Module) -> str:
    classes = [render_table(rng, module, table, planner.table_args(module, table)) for table in module.tables]
    if module.deprecated:
        module.use("modules.core.database.db_models", "get_database_base")
    else:
        module.use("core.database", "DatabaseBase")
    if module.local_type:
        module.use("sqlalchemy.types", "TypeDecorator")
        module.use("sqlalchemy", *module.local_type.imports)
    if module.local_mixin:
        module.use("sqlalchemy", *module.local_mixin.imports)

    plurals = [t.plural.replace("_", " ") for t in module.tables]
    listed = len(plurals)
    while True:  # as many of its tables as fit on the docstring's line
        summary = ", ".join(plurals[:listed]) + (" and more" if listed < len(plurals) else "")
        line = f"Database models for the {module.dotted} module: {summary}."
        if len(line) <= MAX_LINE or listed == 1:
            break
        listed -= 1
    doc = [module.path, line]
    if module.is_core_database:
        doc += ["", "It also still offers the deprecated ``get_database_base()``; new code calls",
                "``core.database.DatabaseBase()`` instead."]
    elif module.deprecated:
        doc += ["", "This module has not been migrated yet: it still uses the deprecated",
                "``get_database_base()`` pattern."]
    elif chance(rng, 0.3):
        doc += ["", rng.choice(EXTRA_DOC)]
    head = ['"""', *doc, '"""', "", "# Database configuration for file-based discovery",
            f'DATABASE_NAME = "{module.database}"', ""]

    from_datetime = set(module.local_type.datetime_imports if module.local_type else [])
    if "_utcnow" in module.helpers:
        from_datetime |= {"datetime", "timezone"}
    if "_new_uuid" in module.helpers:
        head.append("import uuid")
    if from_datetime:
        head.append(f"from datetime import {', '.join(sorted(from_datetime))}")
    if from_datetime or "_new_uuid" in module.helpers:
        head.append("")
    head += [import_line(s, module.imports[s]) for s in ("sqlalchemy", "sqlalchemy.orm", "sqlalchemy.types")
             if s in module.imports]
    head.append("")
    head += [import_line(s, module.imports[s]) for s in ("core.database", "modules.core.database.db_models")
             if s in module.imports]

    constants = [f"{k} = {v}" for k, v in module.length_constants.items()]
    constants += [f"{k.upper()}_VALUES = ({', '.join(map(quoted, values))})"
                  for k, values in (module.enum_constants or {}).items()]
    if constants:
        head += ["", *constants]
    factory = "get_database_base" if module.deprecated else "DatabaseBase"
    base = f"# Get database base for this module\n{module.base} = {factory}(DATABASE_NAME)"
    blocks = []
    if module.is_core_database:  # the deprecated factory is defined before the base, as in fixtures/hub
        blocks += [GET_DATABASE_BASE, base + "\n"]
    else:
        head += ["", base]
    if "_utcnow" in module.helpers:
        blocks.append("def _utcnow():\n    return datetime.now(timezone.utc)\n")
    if "_new_uuid" in module.helpers:
        blocks.append('def _new_uuid():\n    """Primary keys are UUID strings, made on the Python side."""\n'
                      "    return str(uuid.uuid4())\n")
    if module.local_type:
        blocks.append(module.local_type.source)
    if module.local_mixin:
        mixin = module.local_mixin
        columns = "".join(f"    {c} = {e}\n" for c, e in mixin.columns)
        blocks.append(f'class {mixin.name}:\n    """{mixin.doc}"""\n\n{columns}')
    # Top-level definitions two blank lines apart (PEP 8).
    return "\n".join(head) + "\n\n\n" + "\n\n".join(blocks + classes)


def package_files(modules: list[Module]) -> dict[str, str]:
    """The packages' __init__.py files and core.database."""
    packages = {"core": "Core modules: their tables live in the framework database.",
                "standard": "Standard modules, most with a database of their own."}
    files = {
        "core/__init__.py": '"""Core utilities shared by every module."""\n',
        "core/database/__init__.py": CORE_DATABASE,
        "modules/__init__.py": '"""Application modules, each with its own db_models.py."""\n',
    }
    for module in modules:
        files[f"modules/{module.package}/__init__.py"] = f'"""{packages[module.package]}"""\n'
        files[f"modules/{module.package}/{module.name}/__init__.py"] = f'"""The {module.dotted} module."""\n'
    return files


def generate(count: int, tables_per_module: int, seed: int) -> tuple[dict[str, str], int]:
    """The tree's files by relative path, and its number of tables."""
    rng = random.Random(seed)
    modules = plan_modules(rng, count, tables_per_module)
    planner = Planner(rng, modules)
    planner.plan()
    files = package_files(modules)
    for module in modules:
        files[module.path] = render_module(rng, planner, module)
    return files, sum(len(m.tables) for m in modules)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, required=True, metavar="N", help="model modules in all")
    parser.add_argument("--tables-per-module", type=int, required=True, metavar="T")
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    parser.add_argument("out", type=Path, metavar="OUT", help="directory to create (absent or empty)")
    args = parser.parse_args()
    if args.modules < 1 or args.tables_per_module < 1:
        parser.error("--modules and --tables-per-module must be at least 1")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        print(f"make_tree: {args.out} exists and is not an empty directory; not writing into it", file=sys.stderr)
        return 2
    files, tables = generate(args.modules, args.tables_per_module, args.seed)
    size = 0
    for path in sorted(files):
        data = files[path].encode("utf-8")
        target = args.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        size += len(data)
    print(f"make_tree: {args.modules} modules, {tables} tables, {len(files)} files, {size} bytes in {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
