"""Every rule astschema checks, by code. `python -m astschema rules` lists them."""

from .base import CheckContext, DatabaseRule, Invalid, Rule, ScanRule, Valid
from .keys import (CrossDatabaseCycle, CrossDatabaseForeignKey, ForeignKeyCycle, SetNullOnNonNullable,
                   TargetNotUnique, TypeMismatch, UnknownForeignKeyTarget)
from .safety import RawSqlFragment, UnsafeDatabaseName
from .scan import (DatabaseNameDisagreesWithBase, DeprecatedGetDatabaseBase, MissingDatabaseName,
                   MissingExtendExisting, NonStaticArgument, NonStaticDatabaseName, SyntaxErrorRule,
                   TableDefinedTwice, TypeAssumed, UnknownColumn, UnknownTableName, UnreadableFile, UnresolvedName,
                   UnresolvedType)
from .snapshot import SchemaDiffersFromSnapshot
from .suppression import UnusedSuppression
from .tables import (DuplicateColumn, DuplicateConstraintName, NoPrimaryKey, NotBuildable, NotExpressible,
                     SameTableInTwoDatabases, SchemaDisagreesWithDatabase)

ALL_RULES: tuple[type[Rule], ...] = tuple(sorted(
    [
        UnusedSuppression,
        UnreadableFile, SyntaxErrorRule, MissingDatabaseName, NonStaticDatabaseName, DatabaseNameDisagreesWithBase,
        UnresolvedType, UnresolvedName, UnknownTableName, NonStaticArgument, TypeAssumed, UnknownColumn,
        NotExpressible, TableDefinedTwice, NotBuildable, SameTableInTwoDatabases, NoPrimaryKey, DuplicateColumn,
        DuplicateConstraintName,
        CrossDatabaseForeignKey, UnknownForeignKeyTarget, TargetNotUnique, TypeMismatch, SetNullOnNonNullable,
        SchemaDisagreesWithDatabase, ForeignKeyCycle, CrossDatabaseCycle,
        DeprecatedGetDatabaseBase, MissingExtendExisting,
        RawSqlFragment, UnsafeDatabaseName,
        SchemaDiffersFromSnapshot,
    ],
    key=lambda rule: rule.code,
))
BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "BY_CODE", "CheckContext", "DatabaseRule", "Invalid", "Rule", "ScanRule", "Valid"]
